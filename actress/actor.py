"""Actors: long-lived tasks with a mailbox and private state, addressed by an ``ActorRef``.

An actor is a task that receives from its mailbox (a ``Channel``). ``start`` returns the
``ActorRef`` once the actor says it is ready (its first ``receive``, or ``inbox.ready()``).
``tell`` is fire and forget; ``ask`` sends a ``Call`` the actor answers with
``call.reply(value)``. Both work from tasks (``yield from ref.ask(x)``) and from asyncio
(``await ref.ask(x)``). Three styles: a receive loop written as a generator (``start``);
a server, ``serve(handler)``, that hands each message to a function and answers an ask
with what it returns (an ask that finds it idle runs the handler without a switch: see
``_ask``); and Elm-style ``init``/``update(state, msg) -> (state, effect)`` whose
effects' messages are fed back to ``update`` (``start_loop``, the original ``loop``
generalised).

Rules:
- ``tell`` raises ``ActorStopped`` once the actor is stopping; a message it accepted is
  handled, or (if the actor crashes or is stopped without draining) it is a *dead letter*:
  logged and kept in ``ref.dead_letters``, and an unanswered ``Call`` fails with
  ``ActorStopped``. Nothing accepted disappears silently.
- ``stop()`` closes the mailbox: the actor drains what is queued, then its ``receive``
  raises ``Closed`` and it ends normally. ``stop(drain=False)`` cancels it now.
- A ``Call`` the actor received and did not answer when it crashed fails with
  ``ActorCrashed`` (its ``__cause__`` is the actor's error), even if it told the call on
  to another actor (as Erlang's ``call`` watches the server it called; every actor that
  received a call answers for it); ``call.forward(other)`` hands it on: then it is the
  other actor's alone to answer.
- ``monitor(target)`` tells ``Down(ref, reason)`` to ``target`` (an ``ActorRef`` or a
  ``Channel``) when the actor has ended for good; ``reason`` is ``None`` for a normal end,
  else the error. ``yield from ref.join()`` waits for that and returns the reason.

The mailbox outlives an incarnation: under a supervisor (``actress.supervisor``) a
restarted actor keeps its ``ActorRef`` and the messages queued for it.

Uses: task, scope, channel, _fork, _instructions. Never: the kernel's internals.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from typing import Any, Callable, Generator, Generic, NoReturn, Optional, TypeVar, Union

from . import _fork
from ._ask import HandlerFailed, asking, check_handler, serving
from ._call import _PENDING, ActorCrashed, ActorStopped, Call, Down
from ._fork import DONE, Fork
from ._instructions import CURRENT, Waiter, is_instruction, waiter
from .channel import _GOT, _NO_BUF, _WAITING, Channel, Closed, WouldBlock, _channels
from .scope import Cancelled, Scope, cancel, scope
from ._mistakes import check_task as _check_task
from .task import fork

M = TypeVar("M")
S = TypeVar("S")

__all__ = [
    "ActorCrashed", "ActorRef", "ActorStopped", "Call", "Down", "Inbox",
    "serve", "start", "start_loop",
]

_log = logging.getLogger("actress.actor")


class ActorRef(Generic[M]):
    """The address of an actor: tell it, ask it, stop it, watch it. Stable across
    restarts by a supervisor.

    >>> from actress import testing
    >>> def echo(inbox):
    ...     while True:
    ...         msg = yield from inbox.receive()
    ...         msg.reply(msg.message.upper())
    >>> def main():
    ...     ref = yield from start(echo, name="echo")
    ...     return (yield from ref.ask("hi"))
    >>> testing.run(main()).value
    'HI'
    """

    __slots__ = ("name", "mailbox", "fork", "dead_letters", "_monitors", "_ended", "_reason",
                 "_joiners", "_stopping", "_supervised", "_serving", "__weakref__")

    def __init__(self, name: str, capacity: float) -> None:
        self.name = name
        #: The actor's mailbox; kept across restarts.
        self.mailbox: Channel[Any] = Channel(capacity, name=f"{name or 'actor'} mailbox")
        #: The task running the current incarnation.
        self.fork: Optional[Fork[Any, Any, Any]] = None
        #: Messages accepted but never handled (the actor crashed or was stopped).
        self.dead_letters: list[Any] = []
        self._monitors: Optional[list[Any]] = None  # made by the first monitor()
        self._ended = False
        self._reason: Optional[BaseException] = None
        self._joiners: Optional[list[Waiter]] = None  # made by the first join()
        self._stopping = False
        self._supervised = False
        #: the actor's ``Inbox`` while it waits in ``serve`` with a plain-function handler
        #: (an ``ask`` may then run the handler itself: see ``_ask``), else None
        self._serving: Optional[Inbox[Any]] = None

    def __repr__(self) -> str:
        state = "ended" if self._ended else "stopping" if self._stopping else "alive"
        return f"<ActorRef {self.name or hex(id(self))} {state}>"

    @property
    def alive(self) -> bool:
        """Whether the actor accepts messages (it is not stopping or ended).

        >>> from actress import testing
        >>> def once(inbox):
        ...     yield from inbox.receive()
        >>> def main():
        ...     ref = yield from start(once)
        ...     before = ref.alive
        ...     ref.stop()  # stopping: False at once, before the actor has ended
        ...     return before, ref.alive
        >>> testing.run(main()).value
        (True, False)
        """
        return not self._ended and not self._stopping

    def tell(self, message: M) -> None:
        """Put ``message`` in the mailbox without waiting (from a task or from asyncio).

        Raises ``ActorStopped`` if the actor is stopping, ``WouldBlock`` if a bounded
        mailbox is full (use ``send`` to wait for room).

        >>> from actress import testing
        >>> def once(inbox):
        ...     yield from inbox.receive()
        >>> def main():
        ...     ref = yield from start(once, name="once")
        ...     ref.tell("hello")  # does not wait
        ...     ref.stop()
        ...     ref.tell("too late")
        >>> testing.run(main()).error
        ActorStopped('<ActorRef once stopping> does not take messages any more')
        """
        mailbox = self.mailbox
        if mailbox._closed:
            raise ActorStopped(f"{self!r} does not take messages any more")
        rs = mailbox._receivers
        if rs and rs[0].state == _WAITING:  # the actor waits for it: hand it over (inlined)
            w = rs.popleft()
            w.item = message
            w.state = _GOT
            w.source = mailbox
            f = w.task
            f.sched.resume(f)
            return
        buf = mailbox._buf
        if not rs and len(buf) < mailbox._cap:  # room in the mailbox (inlined)
            if buf is _NO_BUF:
                buf = mailbox._buf = deque()
            buf.append(message)
            return
        mailbox.send_nowait(message)

    def send(self, message: M) -> Generator[Any, Any, None]:
        """Put ``message`` in the mailbox, waiting while a bounded mailbox is full.

        Raises ``ActorStopped`` if the actor is stopping (also while waiting for room).

        >>> from actress import task, testing
        >>> def busy(inbox):
        ...     inbox.ready()
        ...     yield from task.sleep(10)  # busy for 10 ms: its mailbox fills up
        ...     while True:
        ...         yield from inbox.receive()
        >>> def main():
        ...     ref = yield from start(busy, capacity=1)
        ...     yield from ref.send("a")  # room: returns at once
        ...     yield from ref.send("b")  # full: waits until the actor takes "a", at 10 ms
        >>> testing.run(main()).time
        10.0
        """
        try:
            yield from self.mailbox.send(message)
        except Closed:
            raise ActorStopped(f"{self!r} does not take messages any more") from None

    #: ``yield from ref.ask(x)`` in a task, ``await ref.ask(x)`` in asyncio: see ``_ask``
    #: (the generator function itself, not a method that makes it: one call less per ask)
    ask = asking

    def stop(self, drain: bool = True) -> None:
        """Stop taking messages. ``drain``: handle what is queued, then end; otherwise
        cancel the actor now (its ``finally`` runs; what is queued becomes dead letters).

        >>> from actress import testing
        >>> def printer(inbox):
        ...     while True:
        ...         print((yield from inbox.receive()))
        >>> def main():
        ...     ref = yield from start(printer)
        ...     ref.tell("queued")
        ...     ref.stop()  # takes no new messages, but handles the queued ones
        ...     yield from ref.join()
        >>> _ = testing.run(main())
        queued
        """
        self._stopping = True
        self.mailbox.close()
        if not drain and self.fork is not None and self.fork.st < DONE:
            cancel(self.fork, Cancelled(f"{self!r} was stopped", self))

    def monitor(self, target: Union[ActorRef[Any], Channel[Any]]) -> None:
        """Tell ``Down(self, reason)`` to ``target`` once the actor has ended for good.

        >>> from actress import testing
        >>> def once(inbox):
        ...     yield from inbox.receive()  # one message, then a normal end
        >>> def main(downs):
        ...     ref = yield from start(once, name="once")
        ...     ref.monitor(downs)
        ...     ref.tell("bye")
        ...     return (yield from downs.receive())
        >>> testing.run(main(Channel(1))).value
        Down(ref=<ActorRef once ended>, reason=None)
        """
        if not isinstance(target, (ActorRef, Channel)):
            raise TypeError(f"monitor() takes an ActorRef or a Channel to tell Down to, got "
                            f"{target!r}")
        if self._ended:
            _notify(target, Down(self, self._reason))
        else:
            if self._monitors is None:
                self._monitors = []
            self._monitors.append(target)

    def join(self) -> Generator[Any, Any, Optional[BaseException]]:
        """Wait until the actor has ended for good; return the reason (``None``: normal).

        >>> from actress import task, testing
        >>> def once(inbox):
        ...     yield from inbox.receive()
        ...     yield from task.sleep(10)  # then the body returns: a normal end
        >>> def main():
        ...     ref = yield from start(once)
        ...     ref.tell("job")
        ...     return (yield from ref.join())
        >>> testing.run(main())
        Outcome(ok=True, value=None, error=None, messages=[], time=10.0)
        """
        if not self._ended:
            w = waiter()
            if self._joiners is None:
                self._joiners = []
            joiners = self._joiners
            joiners.append(w)
            try:
                while not self._ended:
                    yield w
            finally:  # given up (a deadline, a cancel): nobody wakes this task later
                w.task = None
                if not self._ended:
                    joiners.remove(w)
        life = self.fork
        if self._reason is not None and life is not None and life.st == _fork.FAILED:
            life.retrieved()  # its crash is seen here: not a failure nobody saw
        return self._reason

    # -- the end of the actor, for good --------------------------------------------------

    def _end(self, reason: Optional[BaseException]) -> None:
        self._ended = True
        self._reason = reason
        self.mailbox.close()
        self._drop_queued()
        monitors, self._monitors = self._monitors, None
        for target in monitors or ():
            _notify(target, Down(self, reason))
        joiners, self._joiners = self._joiners, None
        for w in joiners or ():
            if w.task is not None:
                w.task.sched.resume(w.task)

    def _drop_queued(self) -> None:
        while True:
            try:
                message = self.mailbox.receive_nowait()
            except (Closed, WouldBlock):
                return
            if type(message) is Call:
                message.fail(ActorStopped(f"{self!r} stopped before answering {message!r}"))
            else:
                self.dead_letters.append(message)
                _log.warning("dead letter: %r stopped before handling %r", self, message)


def _notify(target: Any, down: Down) -> None:
    try:
        if isinstance(target, ActorRef):
            target.tell(down)
        else:
            target.send_nowait(down)
    except (ActorStopped, Closed, WouldBlock) as error:
        _log.warning("could not deliver %r to %r: %s", down, target, error)


class Inbox(Generic[M]):
    """What an actor's body gets: its mailbox to receive from, and its own ``ref``."""

    __slots__ = ("ref", "_mailbox", "_is_ready", "_starter", "_held", "scope", "_handler")
    _handler: Callable[[Any], Any]  # what serve() hands each message to (set by serving)

    def __init__(self, ref: ActorRef[M], starter: Waiter, actor_scope: Scope) -> None:
        self.ref = ref
        self._mailbox = ref.mailbox
        ref.mailbox.owner = self  # the current incarnation's (deadlock reports find asks)
        self._is_ready = False
        self._starter = starter
        self._held: list[Call[Any, Any]] = []  # Calls received (answered ones pruned)
        #: The actor's scope: ``yield from inbox.scope.fork(t)`` starts a helper task that
        #: ends with the actor.
        self.scope = actor_scope

    def ready(self) -> None:
        """Say the actor is ready: ``start`` returns its ref now (``receive`` says it too).

        >>> from actress import task, testing
        >>> def setup(inbox, early):
        ...     if early:
        ...         inbox.ready()  # start() returns now, not at the first receive
        ...     yield from task.sleep(50)  # slow setup; messages told meanwhile wait
        ...     yield from inbox.receive()
        >>> def started_at(early):
        ...     return testing.run(start(lambda inbox: setup(inbox, early))).time
        >>> started_at(True), started_at(False)
        (0.0, 50.0)
        """
        if not self._is_ready:
            self._is_ready = True
            w = self._starter
            w.state = True  # ready
            if w.task is not None:
                w.task.sched.resume(w.task)

    def receive(self) -> Generator[Any, Any, M]:
        """Take the next message; ``Closed`` once the actor was stopped and drained.

        >>> from actress import testing
        >>> def printer(inbox):
        ...     while True:  # no exit test: once stopped and drained, receive raises Closed
        ...         print((yield from inbox.receive()))
        >>> def main():
        ...     ref = yield from start(printer)
        ...     ref.stop()
        ...     return (yield from ref.join())
        >>> print(testing.run(main()).value)  # the reason: None, a normal end
        None
        """
        if not self._is_ready:
            self.ready()
        ch = self._mailbox
        buf = ch._buf
        if buf and not ch._senders:  # a queued message: no generator needed
            message = buf.popleft()
        else:
            message = yield from ch.receive()
        if type(message) is Call:
            message._holder = self
            held = self._held
            held.append(message)
            if len(held) > 16:
                held[:] = [c for c in held if c._state == _PENDING]
        return message  # type: ignore[no-any-return]

    def serve(self, handler: Callable[[M], Any]) -> Generator[Any, Any, NoReturn]:
        """Handle every message with ``handler(message)``, one at a time, for the rest of
        the actor's life; a ``Call``'s answer is what the handler returns. It never
        returns: once the actor is stopped and drained, ``receive`` raises ``Closed`` and
        the actor ends normally. An error the handler raises fails the call with
        ``ActorCrashed`` and is raised here: the actor crashes, unless its body catches it
        (then it may serve on).

        A plain function answers at once, and an ``ask`` from a task that finds the
        actor idle runs it without a switch (see ``serve()``). A generator function (or
        an object whose ``__call__`` is one) runs in the actor and may wait; the actor
        takes its next message when it is done.

        >>> from actress import task, testing
        >>> def cache(inbox):
        ...     table = {"a": 1}  # set-up first: start() returns at the first receive
        ...     yield from inbox.serve(lambda key: table.get(key))
        >>> def main():
        ...     ref = yield from start(cache)
        ...     return (yield from ref.ask("a")), (yield from ref.ask("b"))
        >>> testing.run(main()).value
        (1, None)
        """
        return serving(self, handler)


def _incarnation(ref: ActorRef[Any], body: Callable[[Inbox[Any]], Any], starter: Waiter,
                 ended: Callable[[Optional[BaseException]], None], supervised: bool = False,
                 name: str = "actor") -> Generator[Any, Any, Optional[BaseException]]:
    """Run one life of an actor; call ``ended(reason)`` (None: a normal end) when over.

    A crash is raised (a failed fork is reported), or, ``supervised``, returned: the
    supervisor handles it. Every ``Call`` it received and did not answer fails:
    ``ActorCrashed`` if it crashed, ``ActorStopped`` if it ended otherwise (stopped,
    cancelled by its supervisor).
    """
    me: Fork[Any, Any, Any] = yield CURRENT
    inbox_box: list[Inbox[Any]] = []

    def in_scope(s: Scope) -> Generator[Any, Any, None]:
        inbox: Inbox[Any] = Inbox(ref, starter, s)
        inbox_box.append(inbox)
        gen = body(inbox)
        _check_task(gen, "actor body")
        try:
            yield from gen
        except Closed:
            if not (ref.mailbox._closed and not ref.mailbox._buf):
                raise  # another channel's Closed: a real error
        except Cancelled as stop:
            if stop.source is not ref:
                raise
        s.cancel("the actor ended")  # its helper tasks go with it

    try:
        yield from scope(in_scope, name=name)
    except BaseException as error:
        crash: Optional[BaseException] = error
        if type(error) is HandlerFailed:  # it came late, as the actor already ended
            crash = error.error
        elif isinstance(error, BaseExceptionGroup):  # a stop may come back inside a group
            _, crash = error.split(lambda e: isinstance(e, Cancelled) and e.source is ref)
            if crash is not None and len(crash.exceptions) == 1:
                crash = crash.exceptions[0]
        elif isinstance(error, Cancelled) and error.source is ref:
            crash = None
        if crash is not None:
            cancelled = _fork.cancelled_from_outside(me, crash)
            for call in _unanswered(inbox_box):
                failure: Exception = (  # (cancelled from outside, as at the end of a run)
                    ActorStopped(f"{ref!r} was cancelled before answering {call!r}")
                    if cancelled else ActorCrashed(f"{ref!r} crashed while handling {call!r}"))
                failure.__cause__ = crash
                call.fail(failure)
            ended(crash)
            _wake_starter(starter)
            if supervised and isinstance(crash, Exception):
                return crash
            if crash is error:
                raise
            raise crash from None
    for call in _unanswered(inbox_box):
        call.fail(ActorStopped(f"{ref!r} stopped before answering {call!r}"))
    ended(None)
    _wake_starter(starter)
    return None


_fork.OWNED_BODIES.add(_incarnation.__code__)  # stopped by its ref, not by a join given up


def _unanswered(inbox_box: list[Inbox[Any]]) -> list[Call[Any, Any]]:
    """The calls this incarnation received, did not answer and did not forward."""
    if not inbox_box:
        return []
    inbox = inbox_box[0]
    return [c for c in inbox._held  # (not the ones it forward()ed)
            if not c.answered and inbox not in getattr(c, "_forwarders", ())]


def _wake_starter(starter: Waiter) -> None:
    f = starter.task
    if f is not None and f.st < DONE:
        f.sched.resume(f)


def start(body: Callable[[Inbox[M]], Any], *, name: str = "",
          capacity: float = math.inf) -> Generator[Any, Any, ActorRef[M]]:
    """Start an actor running ``body(inbox)``; return its ref once it is ready.

    If the body fails before it is ready, that error is raised here. A crash later ends
    the actor (reported like any failed fork nobody joins) unless a supervisor runs it.

    >>> from actress import task, testing
    >>> def counter(inbox):
    ...     n = 0
    ...     while True:
    ...         msg = yield from inbox.receive()
    ...         if msg == "inc":
    ...             n += 1
    ...         else:
    ...             msg.reply(n)
    >>> def main():
    ...     ref = yield from start(counter, name="counter")
    ...     ref.tell("inc")
    ...     ref.tell("inc")
    ...     return (yield from ref.ask("get"))
    >>> testing.run(main()).value
    2
    """
    ref: ActorRef[M] = ActorRef(name, capacity)
    yield from _run_alone(ref, body)
    return ref


def _run_alone(ref: ActorRef[Any], body: Callable[[Inbox[Any]], Any]) -> Generator[Any, Any, Fork[Any, Any, Any]]:
    starter = waiter(False)  # parks the task in start(); its state: whether it is ready
    name = f"actor {ref.name}" if ref.name else "actor"  # (one string for the fork and scope)
    life = fork(_incarnation(ref, body, starter, ref._end, False, name), name=name)
    ref.fork = life
    yield from life
    try:
        while not starter.state and life.st < DONE:
            yield starter
    except BaseException:  # start() given up before the actor was ready: it goes too
        ref.stop(drain=False)
        raise
    finally:
        starter.task = None
    if not starter.state:
        life.take()  # failed before it was ready: raise that
        raise ActorStopped(f"{ref!r} ended before it was ready")
    return life


def start_loop(init: Callable[[], tuple[S, Any]],
               update: Callable[[S, Any], tuple[S, Any]], *, name: str = "",
               capacity: float = math.inf) -> Generator[Any, Any, ActorRef[Any]]:
    """Start an Elm-style actor: ``init() -> (state, effect)``, then for each message
    ``update(state, msg) -> (state, effect)``. An effect (a task, or ``None``) runs
    concurrently; every message it sends is fed back to ``update``, after the ones
    already queued. ``update`` answers a ``Call`` with ``call.reply``.

    >>> from actress import task, testing
    >>> def tick(n):
    ...     yield from task.sleep(10)
    ...     yield from task.send(("tick", n))
    >>> def update(state, msg):
    ...     if isinstance(msg, Call):
    ...         msg.reply(state)
    ...         return state, None
    ...     _, n = msg
    ...     return state + [n], (tick(n + 1) if n < 3 else None)
    >>> def main():
    ...     ref = yield from start_loop(lambda: ([], tick(1)), update)
    ...     yield from task.sleep(100)
    ...     return (yield from ref.ask("state"))
    >>> testing.run(main()).value
    [1, 2, 3]
    """

    def body(inbox: Inbox[Any]) -> Generator[Any, Any, None]:
        state, effect = init()
        yield from _run_effect(inbox, effect)
        while True:
            message = yield from inbox.receive()
            state, effect = update(state, message)
            yield from _run_effect(inbox, effect)

    return start(body, name=name, capacity=capacity)


def serve(handler: Callable[[M], Any], *, name: str = "",
          capacity: float = math.inf) -> Generator[Any, Any, ActorRef[M]]:
    """Start a server: an actor that handles each message with ``handler(message)`` and
    answers an ``ask`` with what it returns (``inbox.serve(handler)`` as its whole body).

    With a plain-function handler, an ``ask`` from a task that finds the server idle (it
    waits for a message on the asking task's scheduler, and no cancel is on its way to
    it) costs no switch to the actor: the asking task runs the handler itself, while
    nothing else runs, then lets the other ready tasks run once before it returns the
    answer. A generator function handler runs in the actor and may wait. An error the
    handler raises crashes the server in its own task, as one raised by a receive loop
    does, and the ask fails with ``ActorCrashed``.

    >>> from actress import task, testing
    >>> def main():
    ...     totals = {}
    ...     def add(item):
    ...         key, n = item
    ...         totals[key] = totals.get(key, 0) + n
    ...         return totals[key]
    ...     ref = yield from serve(add, name="totals")
    ...     ref.tell(("a", 2))  # handled in turn, before the ask that follows
    ...     return (yield from ref.ask(("a", 3)))
    >>> testing.run(main()).value
    5
    """
    check_handler(handler)
    return start(lambda inbox: inbox.serve(handler), name=name, capacity=capacity)


def _run_effect(inbox: Inbox[Any], effect: Any) -> Generator[Any, Any, None]:
    if effect is None:
        return
    _check_task(effect, "start_loop (an effect)")
    yield from inbox.scope.fork(_feed_back(effect, inbox.ref))


def _feed_back(effect: Any, ref: ActorRef[Any]) -> Generator[Any, Any, None]:
    """Drive ``effect``: pass its instructions up, tell its messages to ``ref``."""
    gen = iter(effect)
    value: Any = None
    error: Optional[BaseException] = None
    while True:
        try:
            out = gen.throw(error) if error is not None else gen.send(value)
        except StopIteration:
            return
        value = error = None
        if is_instruction(out):
            try:
                value = yield out
            except GeneratorExit:
                gen.close()
                raise
            except BaseException as thrown:
                error = thrown
        elif ref.alive:
            try:
                yield from ref.send(out)  # waits while a bounded mailbox is full
            except ActorStopped:
                return


def _asks(sched: Any) -> dict[tuple[Fork[Any, Any, Any], ActorRef[Any], Call[Any, Any], str], None]:
    """The tasks (of ``sched``) waiting for an actor to answer their ``ask``: asks an
    actor has received, and asks still in its mailbox; in order, once (incarnations share
    a mailbox)."""
    found: dict[tuple[Fork[Any, Any, Any], ActorRef[Any], Call[Any, Any], str], None] = {}
    for inbox in [ch.owner for ch in list(_channels) if type(ch.owner) is Inbox]:
        # (tuple() copies atomically: another thread's scheduler may run this actor)
        calls = [(call, "") for call in tuple(inbox._held) if call._holder is inbox]
        calls += [(m, " (still in its mailbox)") for m in tuple(inbox._mailbox._buf)
                  if type(m) is Call]
        for call, where in calls:
            asker = getattr(call._waiter, "task", None)
            if call._state == _PENDING and asker is not None and (
                    sched is None or asker.sched is sched):
                found[(asker, inbox.ref, call, where)] = None
    return found


def _asks_waiting(sched: Any) -> list[str]:
    """Describe the tasks waiting for an actor to answer, for deadlock reports."""
    return [f"{asker!r} waits for {ref!r} to answer {call!r}{where}"
            for asker, ref, call, where in _asks(sched)]


_fork.diagnostics.append(_asks_waiting)
_fork.parked.append(lambda sched: [asker for asker, _, _, _ in _asks(sched)])
