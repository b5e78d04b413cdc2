"""Instructions a task yields to the kernel, and the results a task ends with.

A task is a generator. Whatever it yields is either an *instruction* for the kernel or a
*message* for whoever drives it. Instructions are a few singletons (``CURRENT``,
``SUSPEND``, ...) and small tuples headed by a private opcode (``(OP_SLEEP, 5.0)``):
tuples cost a fraction of an object with ``__init__`` on the hot path, and a user's own
tuple can never start with one of our opcodes.

Uses: nothing of ours. Never: the kernel, asyncio.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar, Union

from typing_extensions import TypeAlias

T = TypeVar("T")
X = TypeVar("X", bound=BaseException)


class _Singleton:
    """A named marker object; compared by identity."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"<{self._name}>"


class CurrentInstruction(_Singleton):
    """Ask the kernel for the running task's :class:`Fork` handle."""

    __slots__ = ()


class SuspendInstruction(_Singleton):
    """Park the running task until someone calls ``resume`` on it."""

    __slots__ = ()


class _Op(_Singleton):
    """Head of an instruction tuple."""

    __slots__ = ()


CURRENT: Final = CurrentInstruction("CURRENT")
SUSPEND: Final = SuspendInstruction("SUSPEND")
#: sleep(0): run again after every task that is ready now and every timer already due.
SLEEP0: Final = _Singleton("SLEEP0")
#: wait(value) on a plain value: go to the back of the run queue, in the same drain.
REQUEUE: Final = _Singleton("REQUEUE")


class SleepZero(tuple):  # type: ignore[type-arg]
    """What ``sleep(0)`` returns: a one-item tuple holding ``SLEEP0``.

    ``yield from`` walks a tuple in C, several times cheaper than starting a generator;
    ``sleep(0)`` is the task switch, so that matters. Being its own type, it is still
    caught when yielded without ``from``. ``fork(sleep(0))`` runs it like any iterable.
    """

    __slots__ = ()


#: the one ``sleep(0)`` task
SLEEP_ZERO: Final = SleepZero((SLEEP0,))
#: stay parked, still watching the same forks (after passing a message up).
PARK: Final = _Singleton("PARK")
#: stop watching every fork this task watches; continue at once.
UNWATCH: Final = _Singleton("UNWATCH")

#: (OP_SLEEP, ms) -- park for ``ms`` milliseconds.
OP_SLEEP: Final = _Op("sleep")
#: (OP_WATCH, fork) -- watch one fork (its messages and its end) and park; a ready or
#: never-started fork runs next.
OP_WATCH: Final = _Op("watch")
#: (OP_WATCH_ALL, forks, promote) -- watch several forks and park; with ``promote``
#: the ready ones run next, in list order.
OP_WATCH_ALL: Final = _Op("watch_all")
#: (OP_ABORT, forks, error) -- throw ``error`` into each fork now, in order; continue
#: once each has reached its next suspension.
OP_ABORT: Final = _Op("abort")



class Waiter:
    """What a parking primitive (a channel, a mailbox, a reply slot) yields to park the
    running task: the kernel puts that task in ``task`` and suspends it. Whoever wakes it
    calls ``task.sched.resume(task)``; the task, woken, checks the primitive's state and
    waits again if it is not done (a wake-up may come from elsewhere).

    Why it is an instruction: a primitive must register the task it parks; asking for it
    with ``CURRENT`` first would cost a kernel round trip per wait. Why an object of its
    own type: the kernel tells it by type, before any tuple instruction, and it is made
    and read as cheaply as a list while its fields have names. ``item``, ``state`` and
    ``source`` belong to the primitive (what it hands over, how the wait ended, who served
    it); a field is unset until the primitive sets it (``waiter()`` sets them all).

    >>> from actress import task, testing
    >>> def parked(box):
    ...     w = waiter()
    ...     box.append(w)
    ...     while w.state is None:  # woken by someone else: wait on
    ...         yield w
    ...     return w.item
    >>> def main():
    ...     box = []
    ...     f = yield from task.fork(parked(box))
    ...     yield from task.sleep(5)
    ...     w = box[0]
    ...     w.item, w.state = "handed over", "done"
    ...     w.task.sched.resume(w.task)
    ...     return (yield from task.join(f))
    >>> testing.run(main()).value
    'handed over'
    """

    __slots__ = ("task", "item", "state", "source")

    task: Any
    item: Any
    state: Any
    source: Any


def waiter(state: Any = None) -> Waiter:
    """A ``Waiter`` with every field None, but ``state`` as given.

    >>> w = waiter(False)
    >>> w.task, w.item, w.state, w.source
    (None, None, False, None)
    """
    w = Waiter()
    w.task = w.item = w.source = None
    w.state = state
    return w


Control: TypeAlias = Union[CurrentInstruction, SuspendInstruction]
#: The types of the singleton instructions: a value of one of these is an instruction.
CONTROL_TYPES: Final = frozenset({CurrentInstruction, SuspendInstruction, _Singleton, Waiter})


def is_instruction(value: object) -> bool:
    """Tell whether ``value``, yielded by a task, is meant for the scheduler.

    Hand-written drivers (a generator that steps another one itself) pass instructions
    up to their own driver and treat everything else as a message. To pass a message on,
    a driver writes ``yield from task.send(message)``, not ``yield message``: a plain
    ``yield`` of a generator, a fork or ``sleep(...)`` is taken for a forgotten ``from``.

    >>> from actress import task
    >>> is_instruction(task.CURRENT), is_instruction("hello")
    (True, False)
    """
    kind = type(value)
    if kind in CONTROL_TYPES:
        return True
    return kind is tuple and len(value) > 0 and type(value[0]) is _Op  # type: ignore[arg-type,index]


def is_message(value: object) -> bool:
    """Tell whether ``value``, yielded by a task, is a message (not an instruction).

    >>> is_message({"type": "ping"})
    True
    """
    return not is_instruction(value)


class Msg:
    """A message delivered to a task watching the fork that sent it."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"Msg({self.value!r})"


class Status(str, enum.Enum):
    """Where a fork is in its life."""

    IDLE = "idle"
    ACTIVE = "active"
    FINISHED = "finished"

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


@dataclass(frozen=True, slots=True)
class Success(Generic[T]):
    """The result of a task that returned ``value``."""

    value: T
    ok: bool = True


@dataclass(frozen=True, slots=True)
class Failure(Generic[X]):
    """The result of a task that raised ``error``."""

    error: X
    ok: bool = False


Result: TypeAlias = Union[Success[T], Failure[Any]]


class ExitSignal(BaseException):
    """Thrown into a task by ``exit_``: only ``finally`` blocks run; the result is ``value``.

    A ``BaseException`` so that ``except Exception`` does not catch it.
    """

    def __init__(self, value: object) -> None:
        super().__init__(value)
        self.value = value
