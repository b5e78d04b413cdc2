"""How an ``ask`` travels, from a task or from asyncio (public as ``ActorRef.ask``), and
the loop of a server (``inbox.serve``): the two sides of an ask that enters an idle
server.

From a task, ``ask`` puts a ``Call`` in the mailbox and parks on it until the actor
answers (``reply``/``fail``, or the actor's end fails it). From asyncio it waits on a
future, or runs as a top-level fork while a bounded mailbox is full.

An actor idle in ``inbox.serve(handler)`` with a plain-function handler is asked without
a switch, as a Swift actor is entered by the caller when nobody holds it: if it waits in
its receive on an empty mailbox, on the asking task's scheduler, with no abort on its way
to it, the asking task runs ``handler(message)`` itself. Nothing else runs meanwhile, so
the actor still handles one message at a time, in mailbox order. The task then lets the
other ready tasks run once (``sleep(0)``) and returns the answer: an answered ask is
always a point where others run, so a task that polls an actor in a loop cannot starve
them. While the handler runs the actor still counts as waiting in its receive: a message
the handler tells its own actor is handed to it there (it is next), not queued, so a
bounded mailbox takes one more than it would while the actor runs the handler itself.

From asyncio (``await ref.ask(x)``) an idle server whose scheduler is at rest (not
draining, nothing on its way to any task) is asked the same way, the scheduler held as
draining meanwhile (what the handler wakes is queued, not run inside it); then, if the
handler woke a task or timers are set, the scheduler drains (the due timers fire), and
the answer comes back with no turn of the event loop, as from an ``asyncio.Queue`` that
has an item (the mailbox path does not take a turn either: the wake-up drains the
scheduler there and then).

A handler that raises crashes the actor with that error: it is carried to the actor's
receive (``HandlerFailed``), where ``serve`` fails the ask with ``ActorCrashed`` and
raises the error as its own, as when the actor runs the handler itself.

Uses: _call, _fork, _instructions, channel, scope, task; of the kernel its ``running``
flag (read, and held while an asyncio caller runs a handler) and whether its queues and
timers are empty (an empty front stack: no abort waits there).
"""

from __future__ import annotations

import asyncio
import inspect
import types
from typing import TYPE_CHECKING, Any, Callable, Generator, NoReturn, Optional

from . import _fork
from ._call import _ANSWERED, _PENDING, ActorCrashed, ActorStopped, Call
from ._fork import DONE, SUSPENDED, lands_later
from ._instructions import SLEEP0, Waiter
from .channel import _WAITING, Closed, WouldBlock
from .scope import timeout as within
from .task import fork

if TYPE_CHECKING:
    from ._fork import Fork
    from .actor import ActorRef, Inbox

__all__ = ["HandlerFailed", "asking", "check_handler", "not_an_answer", "serving"]


class HandlerFailed(BaseException):
    """An inline handler's ``error`` on its way into the server (thrown at its receive):
    ``inbox.serve`` fails ``call`` and raises ``error`` as its own. Thrown as itself, the
    error would read as an abort from outside (not reported, not a crash)."""

    def __init__(self, error: BaseException, call: Call[Any, Any]) -> None:
        super().__init__(error)
        self.error = error
        self.call = call


@types.coroutine
def asking(ref: ActorRef[Any], message: Any,
           timeout: Optional[float] = None) -> Generator[Any, Any, Any]:
    """Send ``Call(message)`` and wait for the answer; ``timeout`` in ms raises
    ``TimeoutError`` (a late answer is then dropped). This is ``ActorRef.ask``.

    ``yield from ref.ask(x)`` in a task; ``await ref.ask(x)`` in asyncio.

    >>> from actress import task, testing
    >>> from actress.actor import start
    >>> def slow(inbox):
    ...     call = yield from inbox.receive()
    ...     yield from task.sleep(10)
    ...     call.reply("done")
    >>> def main(ms):
    ...     ref = yield from start(slow)
    ...     return (yield from ref.ask("work", timeout=ms))
    >>> testing.run(main(20)).value, testing.run(main(5)).error
    ('done', TimeoutError('deadline of 5 ms passed'))
    """
    sched = _fork.running() if _fork.shared else _fork.active
    if sched is None:  # driven by asyncio
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError(
                f"{ref!r}.ask() was driven from plain code: ask waits for the answer, so "
                "use `yield from ref.ask(x)` in a task or `await ref.ask(x)` in asyncio "
                "(actress.run(main()) runs a task from a script)") from None
        inbox = ref._serving
        if inbox is not None and timeout is None:  # an idle server, its scheduler at rest?
            rs = ref.mailbox._receivers
            f = ref.fork
            if rs and (w := rs[0]).task is f and w.state == _WAITING and f.st == SUSPENDED and (
                    not f.sched.running and not f.sched._front):
                ref._serving = None
                held = f.sched
                held.running = True  # what the handler wakes is queued: nothing runs in it
                try:
                    answer = inbox._handler(message)
                    if type(answer) in _NOT_ANSWERS:
                        raise not_an_answer(inbox._handler, answer)
                except BaseException as error:
                    failure = error
                else:  # (as an answered Queue.get: no turn of the event loop)
                    ref._serving = inbox
                    held.running = False
                    if held._ready or held._front or held._heap:
                        held.drain()  # what the handler woke, and the timers due, run now
                    return answer
                finally:
                    held.running = False
                failed = _crash(ref, inbox, f, message, failure)  # (the server ran)
                if failed._state == _PENDING:  # (it always answers first: to be sure)
                    failed._future = loop.create_future()
                    return (yield from failed._future)
                return failed.result()
        if timeout is None and not ref.mailbox._closed:
            request: Call[Any, Any] = Call(message)
            future = loop.create_future()
            request._future = future
            try:  # an idle actor runs right away (a wake-up from outside drains)
                ref.tell(request)
            except WouldBlock:  # a full mailbox: wait for room as a task
                pass
            else:
                return (yield from future)  # no task of ours needed to wait for it
        return (yield from fork(asking(ref, message, timeout), name=f"ask {ref.name}")
                .__await__())
    if timeout is not None:
        return (yield from within(timeout, asking(ref, message, None)))
    call: Optional[Call[Any, Any]] = None
    inbox = ref._serving
    if inbox is not None:  # a serving actor: is it idle here (see the module's doc)?
        rs = ref.mailbox._receivers
        f = ref.fork  # (set before the actor's body ran: a waiter's task is never None)
        if rs and (w := rs[0]).task is f and w.state == _WAITING and f.st == SUSPENDED and (
                f.sched is sched and (not sched._front or not lands_later(f))):
            ref._serving = None  # the actor is busy: nothing may enter it again meanwhile
            try:
                answer = inbox._handler(message)
                if type(answer) in _NOT_ANSWERS:
                    raise not_an_answer(inbox._handler, answer)
            except BaseException as error:
                failure = error  # (handled below, out of the except: see _detach)
            else:
                ref._serving = inbox
                yield SLEEP0  # the others run once, as if the actor had run then
                return answer
            call = _crash(ref, inbox, f, message, failure)
    if call is None:
        call = Call(message)
        try:
            ref.tell(call)  # raises ActorStopped once it is stopping
        except WouldBlock:  # a full mailbox: wait for room
            try:
                yield from ref.mailbox.send(call)
            except Closed:
                raise ActorStopped(f"{ref!r} does not take messages any more") from None
    parked = Waiter()
    parked.task = None
    call._waiter = parked
    try:
        while call._state == _PENDING:
            yield parked
    finally:
        call._waiter = None  # a late answer (after a timeout) wakes nobody
    if call._state == _ANSWERED:
        return call._value
    raise call._value


_NOT_ANSWERS = (types.GeneratorType, types.CoroutineType)


def _crash(ref: ActorRef[Any], inbox: Inbox[Any], server: Fork[Any, Any, Any], message: Any,
           failure: BaseException) -> Call[Any, Any]:
    """An inline handler raised ``failure``: carry it to the server (which fails the
    returned call with ``ActorCrashed`` and crashes); from outside any task that happens
    before this returns."""
    _detach(failure)
    call: Call[Any, Any] = Call(message)  # held by the server (if it ends before serve
    call._holder = inbox  # fails the call, its end fails it with ActorCrashed)
    if server.st >= DONE:  # (it cannot have ended meanwhile: to be sure)
        _fail(ref, call, failure)
        return call
    inbox._held.append(call)
    _fork.interrupt_now(server, HandlerFailed(failure, call))
    return call


class _Probe(Exception):
    pass


def _detach(error: BaseException) -> None:
    """Make an inline handler's ``error`` look raised in the server: drop ``asking``'s
    frame from its traceback (it would keep the asker's frames alive) and the asker's own
    handled exception from the end of its context chain (the asker may ask inside an
    ``except`` block; the handler's own context is kept)."""
    tb = error.__traceback__
    if tb is not None and tb.tb_frame.f_code is asking.__code__:
        error.__traceback__ = tb.tb_next
    try:  # a new exception's context is the asker's handled exception, if any
        raise _Probe
    except _Probe as probe:
        outer = probe.__context__
    if outer is None:
        return
    link = error
    for _ in range(1000):  # (a context chain has no cycle through ``error``'s own links)
        context = link.__context__
        if context is None:
            return
        if context is outer:
            link.__context__ = None
            return
        link = context


def not_an_answer(handler: Any, answer: Any) -> TypeError:
    """The error for a plain-function handler that returned a generator or coroutine
    (closed here: it never runs)."""
    answer.close()
    kind = "generator" if type(answer) is types.GeneratorType else "coroutine"
    return TypeError(
        f"the handler {getattr(handler, '__qualname__', handler)!r} given to serve() returned "
        f"a {kind}: a plain function answers at once; to wait while handling a message, "
        "serve a generator function (it runs in the actor)")


def serving(inbox: Inbox[Any], handler: Callable[[Any], Any]) -> Generator[Any, Any, NoReturn]:
    """The loop of ``inbox.serve(handler)`` (see there): the server's side of the inline
    ask. Idle in its receive, the actor is marked ``_serving``; a ``HandlerFailed`` thrown
    there is an inline handler's error, raised here as the actor's own."""
    check_handler(handler)
    ref = inbox.ref
    target = inspect.unwrap(handler)  # (a decorated generator function waits too)
    waits = inspect.isgeneratorfunction(target) or inspect.isgeneratorfunction(
        getattr(type(target), "__call__", None))  # (or an object whose __call__ is one)
    inbox._handler = handler
    while True:
        if not waits:
            ref._serving = inbox  # idle from here until a message comes
        failed: Optional[HandlerFailed] = None
        try:
            message = yield from inbox.receive()
        except HandlerFailed as handed:  # an ask ran the handler here, and it raised
            failed = handed
        finally:
            ref._serving = None
        if failed is not None:
            _fail(ref, failed.call, failed.error)
            raise failed.error  # (outside the except: its context stays its own)
        call: Optional[Call[Any, Any]] = message if type(message) is Call else None
        try:
            answer = handler(call.message if call is not None else message)
            if waits:
                answer = yield from answer
            elif type(answer) in _NOT_ANSWERS:
                raise not_an_answer(handler, answer)
        except BaseException as error:
            if call is not None and ref.fork is not None and not _fork.thrown_in(
                    ref.fork, error):  # (not a stop or cancel that came meanwhile)
                _fail(ref, call, error)
            raise
        if call is not None:
            call.reply(answer)


def check_handler(handler: Any) -> None:
    """``serve`` takes a function: say so at once otherwise."""
    if not callable(handler):
        raise TypeError(f"serve() takes a function to handle each message, got {handler!r}")


def _fail(ref: ActorRef[Any], call: Call[Any, Any], error: BaseException) -> None:
    """Fail ``call`` as one the server crashed on, with ``error`` as the cause."""
    failure = ActorCrashed(f"{ref!r} crashed while handling {call!r}")
    failure.__cause__ = error
    call.fail(failure)
