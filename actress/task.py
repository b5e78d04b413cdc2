"""The task API: write concurrent work as generators and drive it with ``yield from``.

Names and behaviour follow the published ``actress`` 0.1 package (a port of the JS
library ``actor``), so its programs run unchanged; where that package is wrong this
module is right instead (README, "Differences from actress 0.1").

Time is in milliseconds. A task is a generator: it yields instructions (through these
functions) and messages (anything else, or ``send``); it returns its result.

Uses: _instructions, _fork, _kernel (to find the running scheduler). Never: asyncio at
import time (``wait`` imports it when it meets an awaitable).
"""

from __future__ import annotations

import functools
from types import CoroutineType, GeneratorType
from typing import Any, Generator, Iterable, Optional, Union

from typing_extensions import TypeAlias, TypedDict, TypeVar

from ._effects import (
    NONE_, Tagged, all_, batch, cancel_members, effect, effects, listen, loop, none_, tag, then_,
    with_tag,
)
from ._fork import DONE, FAILED, IDLE, Fork, abort, exit_, join, not_a_fork, resume
from ._mistakes import as_generator, message_codes
from ._mistakes import check_task as _check_task
from ._instructions import (
    CURRENT, OP_SLEEP, OP_WATCH_ALL, PARK, REQUEUE, SLEEP_ZERO, SUSPEND,
    Control, CurrentInstruction, Failure, Result, SleepZero, Status, Success, SuspendInstruction,
    is_instruction, is_message,
)

T = TypeVar("T")
X = TypeVar("X", bound=BaseException)
M = TypeVar("M")
U = TypeVar("U")

#: What a task yields: a control instruction or a message of type ``M``.
Instruction: TypeAlias = Union[Control, M]
#: A task sending messages ``M`` and returning ``T`` (the order is actress 0.1's).
Task: TypeAlias = Generator[Union[Control, M], Any, T]
Controller: TypeAlias = Generator[Union[Control, M], Any, T]
#: An effect: a task that matters for the messages ``M`` it sends.
Effect: TypeAlias = Generator[M, Any, None]
TaskFork: TypeAlias = Union[Task[M, T], Fork[T, X, M]]
ControllerFork: TypeAlias = Union[Controller[M, T], Fork[T, X, M]]


class ForkOptions(TypedDict, total=False):
    """Options for ``fork``: a ``name`` shown in diagnostics."""

    name: Optional[str]


def current() -> Generator[Any, Any, Fork[Any, Any, Any]]:
    """Return the running task's own handle (to ``resume`` it later, for instance).

    >>> from actress import testing
    >>> def me():
    ...     return (yield from current())
    >>> isinstance(testing.run(me()).value, Fork)
    True
    """
    return (yield CURRENT)  # type: ignore[no-any-return]


def suspend() -> Generator[Any, Any, None]:
    """Park the running task until ``resume`` is called on it.

    If ``resume`` came while the task was running, ``suspend`` returns at once (the
    wake-up is kept, never lost). An abort throws here.

    >>> from actress import testing
    >>> def waker(fork):
    ...     yield from sleep(5)
    ...     resume(fork)
    >>> def main():
    ...     me = yield from current()
    ...     yield from spawn(waker(me))
    ...     yield from suspend()
    ...     return "woken"
    >>> testing.run(main())
    Outcome(ok=True, value='woken', error=None, messages=[], time=5.0)
    """
    yield SUSPEND


def _sleep(ms: float = 0, *, duration: Optional[float] = None) -> Generator[Any, Any, None]:
    """Park the running task for ``ms`` milliseconds (``duration=`` is the old name).

    ``sleep(0)`` lets every task that is ready run first, and timers that are due fire,
    then continues. An abort throws here and cancels the timer.

    >>> from actress import testing
    >>> def nap():
    ...     yield from sleep(20)
    ...     return "rested"
    >>> testing.run(nap())
    Outcome(ok=True, value='rested', error=None, messages=[], time=20.0)
    """
    if duration is not None:
        ms = duration
    try:
        ms = float(ms)
    except (TypeError, ValueError):
        raise TypeError(f"task.sleep() takes a number of milliseconds, got {ms!r}") from None
    if ms > 0:
        return SleepZero(((OP_SLEEP, ms),))  # type: ignore[return-value]
    return SLEEP_ZERO  # type: ignore[return-value]


# What sleep returns is immutable (a one-item tuple holding the instruction), so it is
# cached: ``sleep(n)`` again is a C-level lookup, not a Python call.
sleep = functools.wraps(_sleep)(functools.lru_cache(maxsize=512)(_sleep))
del _sleep


def wait(value: Any) -> Generator[Any, Any, Any]:
    """Wait for an awaitable (future, coroutine, asyncio task) and return its result.

    On a plain value, the task still yields: it goes to the back of the run queue and
    continues in the same drain with ``value``. An awaitable resumes the task on a later
    event-loop turn; its error (``CancelledError`` too) is raised in the task. If the
    task is aborted meanwhile, a coroutine it started is cancelled. Waiting on a fork is
    joining it.

    >>> from actress import testing
    >>> def main():
    ...     return (yield from wait(5))
    >>> testing.run(main()).value
    5
    """
    if isinstance(value, Fork):
        return (yield from join(value))
    if type(value) is CoroutineType or hasattr(value, "__await__"):
        return (yield from _wait_awaitable(value))
    yield REQUEUE
    return value


def _wait_awaitable(value: Any) -> Generator[Any, Any, Any]:
    import asyncio

    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        if type(value) is CoroutineType:
            value.close()
        raise RuntimeError(
            "task.wait() on an awaitable needs a running asyncio event loop: run the task "
            "with actress.run(main()) or await the fork from asyncio") from None
    future = asyncio.ensure_future(value, loop=loop)
    owned = future is not value
    me: Fork[Any, Any, Any] = yield CURRENT
    sched = me.sched
    assert sched is not None

    waiting = True

    def wake(_: object) -> None:
        if waiting:  # a callback already queued when the wait ended must not wake us
            sched.resume(me)

    future.add_done_callback(wake)
    sched.outside[me] = None
    try:
        yield SUSPEND  # even a finished future resumes us on a later loop turn
        while not future.done():
            yield SUSPEND
    finally:
        waiting = False
        del sched.outside[me]
        if not future.done():
            future.remove_done_callback(wake)
            if owned:
                future.cancel()
    return future.result()


def send(message: M) -> Generator[M, Any, None]:
    """Send ``message`` to whoever drives this task (its joiners); dropped if nobody does.

    >>> from actress import testing
    >>> def chatty():
    ...     yield from send("one")
    ...     yield from send("two")
    >>> testing.run(chatty()).messages
    ['one', 'two']
    """
    yield message


message_codes.add(send.__code__)


def fork(
    task: Any, options: Optional[ForkOptions] = None, *, name: Optional[str] = None
) -> Fork[Any, Any, Any]:
    """Make a handle for running ``task`` concurrently; nothing runs until it is started.

    ``yield from fork(t)`` starts it and returns the handle: the new task runs once the
    current one waits or ends. ``await fork(t)`` starts it from asyncio, running it up to
    its first wait right away. A fork is detached: its failure does not affect the task
    that started it unless joined, and a failure nobody joins or awaits is reported.

    >>> from actress import testing
    >>> def child():
    ...     return "child"
    ...     yield
    >>> def parent():
    ...     f = yield from fork(child(), name="kid")
    ...     return f.name, (yield from join(f))
    >>> testing.run(parent()).value
    ('kid', 'child')
    """
    if type(task) is not GeneratorType:
        _check_task(task, "fork")
        task = as_generator(task)
    if options is not None and name is None:
        name = options.get("name")
    if name:
        return Fork(task, name)
    f = _new(Fork)  # Fork.__init__ inlined: this is on every spawn's path
    f.gen = task
    f.st = IDLE
    f.x = None
    return f


_new = object.__new__


def group(forks: Iterable[Fork[Any, Any, Any]]) -> Generator[Any, Any, None]:
    """Join several forks: wait for all; the first failure aborts the others and is raised.

    Messages of every member flow through the caller. Forks not started yet run next,
    in list order. If a member had already failed, the error is raised at once and the
    other members are aborted (those not started never run). Aborted members run their
    ``except``/``finally`` in list order before the error reaches the caller.

    >>> from actress import testing
    >>> def tick(name, ms):
    ...     yield from sleep(ms)
    ...     yield from send(name)
    >>> def main():
    ...     a = yield from fork(tick("a", 20))
    ...     b = yield from fork(tick("b", 10))
    ...     yield from group([a, b])
    >>> testing.run(main()).messages
    ['b', 'a']
    """
    members = list(dict.fromkeys(forks))
    for f in members:
        if not isinstance(f, Fork):
            raise not_a_fork(f, "group")
    pending = []
    for f in members:
        if f.st == FAILED:
            error = f.error
            assert error is not None
            yield from cancel_members(members, error)
            raise error
        if f.st < DONE:
            pending.append(f)
    left = len(pending)
    if not left:
        return
    try:
        got = yield (OP_WATCH_ALL, pending, True)
        while True:
            if type(got) is tuple:  # a message: (value,)
                yield got[0]
            elif type(got) is Fork:
                if got.st == FAILED:
                    raise got.error  # type: ignore[misc]
                left -= 1
                if not left:
                    return
            got = yield PARK
    except BaseException as error:
        yield from cancel_members(members, error)
        raise


message_codes.add(group.__code__)


def terminate(fork: Fork[Any, Any, Any]) -> Generator[Any, Any, None]:
    """End ``fork`` with result ``None``, running only its ``finally`` blocks.

    >>> from actress import testing
    >>> def forever():
    ...     while True:
    ...         yield from sleep(10)
    >>> def main():
    ...     f = yield from fork(forever())
    ...     yield from sleep(25)
    ...     yield from terminate(f)
    ...     return f.result
    >>> testing.run(main()).value
    Success(value=None, ok=True)
    """
    return exit_(fork, None)


def spawn(task: Any) -> Generator[Any, Any, None]:
    """Start ``task`` detached: it may outlive its parent; its failure is reported, not raised.

    >>> from actress import testing
    >>> log = []
    >>> def bg():
    ...     yield from sleep(5)
    ...     log.append("bg done")
    >>> def main():
    ...     yield from spawn(bg())
    ...     log.append("main done")
    >>> _ = testing.run(main(), settle=True); log
    ['main done', 'bg done']
    """
    if type(task) is not GeneratorType:
        _check_task(task, "spawn")
    Fork(task).activate()
    return
    yield  # pragma: no cover - makes this a generator


def main(task: Any) -> None:
    """Start ``task`` as a top-level task, from anywhere; from outside a task it runs now.

    >>> def hello():
    ...     print("hello from main")
    ...     yield from sleep(0)
    >>> main(hello())
    hello from main
    """
    if type(task) is not GeneratorType:
        _check_task(task, "main")
    Fork(task).activate()


__all__ = [
    "CURRENT", "SUSPEND", "Control", "Controller", "ControllerFork", "CurrentInstruction",
    "Effect", "Failure", "Fork", "ForkOptions", "Instruction", "M", "NONE_", "Result",
    "Status", "Success", "SuspendInstruction", "T", "Tagged", "Task", "TaskFork", "U", "X",
    "abort", "all_", "batch", "current", "effect", "effects", "exit_", "fork", "group",
    "is_instruction", "is_message", "join", "listen", "loop", "main", "none_", "resume",
    "send", "sleep", "spawn", "suspend", "tag", "terminate", "then_", "wait", "with_tag",
]
