"""Requests and the end of actors: ``Call`` (what ``ask`` sends, answered once),
``Down`` (what a monitor is told) and the errors ``ActorStopped`` and ``ActorCrashed``.

Public through ``actress.actor``; here so that an actor's module holds the actor itself.
A ``Call`` wakes its asker through the ``Waiter`` it parks in (a task) or the asyncio
future it awaits (``await ref.ask()``).

Uses: _instructions. Never: the kernel's internals, asyncio (a future is only called).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Optional, TypeVar

from ._instructions import Waiter

if TYPE_CHECKING:
    from .actor import ActorRef

M = TypeVar("M")
R = TypeVar("R")

__all__ = ["ActorCrashed", "ActorStopped", "Call", "Down"]


class ActorStopped(Exception):
    """The actor is stopping or has stopped: the message was not accepted / not answered."""


class ActorCrashed(Exception):
    """The actor crashed while it held this ``Call``; ``__cause__`` is its error."""


@dataclass(frozen=True)
class Down:
    """Told to a monitor when an actor has ended for good (``reason`` None: normally)."""

    ref: ActorRef[Any]
    reason: Optional[BaseException]


_PENDING, _ANSWERED, _FAILED = range(3)


class Call(Generic[M, R]):
    """A request sent by ``ask``: ``message``, answered once with ``reply`` or ``fail``.

    >>> call = Call("get")
    >>> call.reply(42)
    >>> call.reply(43)  # a second answer is ignored
    >>> call.result()
    42
    """

    __slots__ = ("message", "_state", "_value", "_waiter", "_future", "_holder",
                 "_forwarders")

    def __init__(self, message: M) -> None:
        self.message = message
        self._state = _PENDING
        self._value: Any = None
        #: the actor's ``Inbox`` that received it last (set by ``receive``); every actor
        #: that received it answers for it (if it ends first, the call fails) unless it is
        #: in ``_forwarders`` (set by ``forward``, a tuple of inboxes)
        self._holder: Any
        self._forwarders: tuple[Any, ...]
        #: the asker's ``Waiter`` while it waits (the kernel fills in ``task``), else None
        self._waiter: Optional[Waiter] = None
        #: the asyncio future an ``await ref.ask()`` waits on, else None
        self._future: Any = None

    def __repr__(self) -> str:
        return f"Call({self.message!r})"

    @property
    def answered(self) -> bool:
        """Whether ``reply`` or ``fail`` was called.

        >>> call = Call("get")
        >>> call.answered
        False
        >>> call.fail(KeyError("get")); call.answered  # a failure is an answer too
        True
        """
        return self._state != _PENDING

    def reply(self, value: R) -> None:
        """Answer the call with ``value`` (a later answer is ignored).

        >>> from actress import testing
        >>> from actress.actor import start
        >>> def greeter(inbox):
        ...     call = yield from inbox.receive()
        ...     call.reply(f"hello {call.message}")  # wakes the asker
        ...     call.reply("ignored: a call is answered once")
        >>> def main():
        ...     ref = yield from start(greeter)
        ...     return (yield from ref.ask("ann"))
        >>> testing.run(main()).value
        'hello ann'
        """
        if self._state == _PENDING:
            self._state = _ANSWERED
            self._value = value
            w = self._waiter
            if w is not None and w.task is not None:
                f = w.task
                f.sched.resume(f)
            elif self._future is not None and not self._future.done():
                self._future.set_result(value)

    def fail(self, error: BaseException) -> None:
        """Answer the call with an error, raised in the asker.

        >>> from actress import testing
        >>> from actress.actor import start
        >>> def strict(inbox):
        ...     while True:
        ...         call = yield from inbox.receive()
        ...         call.fail(ValueError(f"bad request {call.message!r}"))  # the actor goes on
        >>> def main():
        ...     ref = yield from start(strict)
        ...     return (yield from ref.ask("x"))
        >>> testing.run(main()).error
        ValueError("bad request 'x'")
        """
        if self._state == _PENDING:
            self._state = _FAILED
            self._value = error
            w = self._waiter
            if w is not None and w.task is not None:
                f = w.task
                f.sched.resume(f)
            elif self._future is not None and not self._future.done():
                self._future.set_exception(error)

    def forward(self, ref: ActorRef[Any]) -> None:
        """Hand the call on to the actor ``ref`` (``ref.tell(call)``): from now on it is
        that actor's to answer, and the end of the actor forwarding it (a crash of a
        router, say) no longer fails it. Raises as ``tell`` does (then nothing changed).

        >>> from actress import task, testing
        >>> from actress.actor import start
        >>> def worker(inbox):
        ...     call = yield from inbox.receive()
        ...     yield from task.sleep(10)
        ...     call.reply(f"done {call.message}")
        >>> def router(target):
        ...     def body(inbox):
        ...         (yield from inbox.receive()).forward(target)
        ...         raise RuntimeError("the router crashes")  # the worker still answers
        ...     return body
        >>> def main():
        ...     work = yield from start(worker)
        ...     route = yield from start(router(work))
        ...     answer = yield from route.ask("job")
        ...     return answer, repr((yield from route.join()))
        >>> testing.run(main()).value
        ('done job', "RuntimeError('the router crashes')")
        """
        before: tuple[Any, ...] = getattr(self, "_forwarders", ())
        self._forwarders = (*before, getattr(self, "_holder", None))
        try:
            ref.tell(self)
        except BaseException:  # not handed on: still the forwarding actor's to answer
            self._forwarders = before
            raise

    def result(self) -> R:
        """The answer (raising a failure); ``RuntimeError`` if not answered yet.

        >>> call = Call("get")
        >>> call.result()
        Traceback (most recent call last):
        ...
        RuntimeError: Call('get') has not been answered
        >>> call.fail(KeyError("get"))
        >>> call.result()
        Traceback (most recent call last):
        ...
        KeyError: 'get'
        """
        if self._state == _ANSWERED:
            return self._value  # type: ignore[no-any-return]
        if self._state == _FAILED:
            raise self._value
        raise RuntimeError(f"{self!r} has not been answered")
