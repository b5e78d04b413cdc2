"""Supervisors: restart crashed actors by policy, and give up (escalate) when it is hopeless.

A supervisor is a task that starts its children (actors, from factories: a generator
cannot be restarted) in order, each ready before the next, then waits for them to end:

- ``one_for_one``: a crashed child is restarted alone; ``one_for_all``: the others are
  stopped at once (cancelled, in reverse start order, their cleanup waited for; their
  mailboxes are kept) and all restart together after the backoff. Children that crash
  together (before the supervisor has stopped them) restart the group once.
- ``restart`` per child: ``"on_failure"`` (default: a normal end is final), ``"always"``,
  ``"never"``.
- More than ``max_restarts`` restarts within ``within_ms`` milliseconds: the supervisor
  stops every child for good and fails with ``SupervisorGaveUp`` (whoever joins it, or
  its own supervisor, sees that: the failure escalates).
- ``backoff_ms``: a pause before each restart (a number, or a function of how many
  restarts happened in the window); messages sent meanwhile wait in the mailbox, and the
  supervisor goes on handling other children (and ``stop()``) while one backs off.

A supervisor that is cancelled (or fails) stops its children and waits for their
cleanup, even if cancelled again meanwhile, then ends every child's ref with that error.

Starting is not restarting: a child that ends before it is ready while ``supervise()``
starts the children (its factory or its setup raised) is not retried; the children
already started are stopped, and ``supervise()`` raises that error (``ActorStopped`` if
the child just ended), as ``start()`` does for one actor. At a restart, the same counts
as a crash. A ``supervise()`` given up before its children are ready (cancelled, a
deadline) cancels them, the one still setting up too, and starts no more.

A child cancelled from outside with asyncio's ``CancelledError`` (as ``actress.run``
does to what is left when it ends) is stopped for good, not restarted.

A child keeps its ``ActorRef`` and its mailbox across restarts; the message it was
handling when it crashed is lost with it (an unanswered ``Call`` fails with
``ActorCrashed``). The supervisor ends when every child has ended for good.

Uses: actor, channel, scope, task, _fork, _instructions. Never: the kernel's internals.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Generator, Literal, Optional, Sequence, Union

from . import _fork
from ._fork import DONE, Fork, wait_end
from ._instructions import CURRENT, Waiter, waiter
from .actor import ActorRef, ActorStopped, Inbox, _incarnation, _wake_starter
from .channel import Channel
from .scope import Cancelled, cancel
from .task import fork, sleep

__all__ = ["Child", "Supervisor", "SupervisorGaveUp", "supervise"]

Restart = Literal["on_failure", "always", "never"]
Strategy = Literal["one_for_one", "one_for_all"]


@dataclass(frozen=True)
class Child:
    """How to run one supervised actor: ``body(inbox)`` makes a fresh incarnation."""

    name: str
    body: Callable[[Inbox[Any]], Any]
    restart: Restart = "on_failure"
    capacity: float = math.inf

    def __post_init__(self) -> None:
        if self.restart not in ("on_failure", "always", "never"):
            raise ValueError(f"Child {self.name!r}: restart must be 'on_failure', 'always' or "
                             f"'never', got {self.restart!r}")
        if not callable(self.body):
            raise TypeError(f"Child {self.name!r}: body must be callable (inbox -> generator), "
                            f"got {self.body!r}")


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class SupervisorGaveUp(Exception):
    """Too many restarts in the window; ``__cause__`` is the last child error."""


@dataclass(eq=False)
class Supervisor:
    """A running supervisor: its children's refs, restart counts, and its task.

    >>> from actress import task, testing
    >>> from actress.actor import Call
    >>> def flaky(inbox):
    ...     while True:
    ...         msg = yield from inbox.receive()
    ...         if msg == "crash":
    ...             raise RuntimeError("crashed")
    ...         msg.reply("ok")
    >>> def main():
    ...     sup = yield from supervise([Child("worker", flaky)])
    ...     sup["worker"].tell("crash")
    ...     answer = yield from sup["worker"].ask("ping")
    ...     return answer, sup.restarts["worker"]
    >>> testing.run(main()).value
    ('ok', 1)
    """

    name: str
    refs: dict[str, ActorRef[Any]]
    restarts: dict[str, int]
    fork: Optional[Fork[Any, Any, Any]] = None
    _events: Channel[Any] = field(default_factory=lambda: Channel(math.inf))
    _stopping: bool = False

    def __getitem__(self, name: str) -> ActorRef[Any]:
        return self.refs[name]

    def stop(self) -> None:
        """Stop every child, then the supervisor ends. A running child first drains its
        mailbox; a child backing off before a restart ends at once, and what waits in its
        mailbox is not handled (asks fail with ``ActorStopped``, tells are logged as
        dead letters).

        >>> from actress import testing
        >>> def printer(inbox):
        ...     while True:
        ...         print((yield from inbox.receive()))
        >>> def main():
        ...     sup = yield from supervise([Child("printer", printer)])
        ...     sup["printer"].tell("queued")
        ...     sup.stop()  # the child handles "queued" first; none is restarted
        ...     yield from sup.join()
        >>> _ = testing.run(main())
        queued
        """
        self._stopping = True
        for ref in reversed(list(self.refs.values())):
            ref.stop()
        self._events.send_nowait(None)  # wake the supervisor to notice

    def join(self) -> Generator[Any, Any, None]:
        """Wait until the supervisor has ended; raise ``SupervisorGaveUp`` if it gave up.

        >>> from actress import testing
        >>> def fragile(inbox):
        ...     yield from inbox.receive()
        ...     raise RuntimeError("crashed")
        >>> def main():
        ...     sup = yield from supervise([Child("f", fragile)], max_restarts=0, name="sup")
        ...     sup["f"].tell("crash")  # one restart is more than it allows
        ...     yield from sup.join()
        >>> testing.run(main()).error
        SupervisorGaveUp('supervisor sup: f needed more than 0 restarts within 5000 ms')
        """
        assert self.fork is not None
        (yield from wait_end(self.fork)).take()  # a waiter given up leaves it running


def _start(sup: Supervisor, spec: Child, events: Channel[Any],
           live: dict[str, Fork[Any, Any, Any]]) -> Generator[Any, Any, bool]:
    """Start an incarnation of ``spec`` (``live`` holds it from now on: a supervisor
    stopped meanwhile stops it too); return once it is ready (True) or has ended before
    that (False)."""
    ref = sup.refs[spec.name]
    starter = waiter(False)  # its state: whether the child is ready
    box: list[Fork[Any, Any, Any]] = []  # its end goes to the supervisor, never up

    def ended(reason: Optional[BaseException]) -> None:
        events.send_nowait((spec.name, box[0], reason))

    name = f"actor {spec.name}"
    life = fork(_incarnation(ref, spec.body, starter, ended, True, name), name=name)
    box.append(life)
    ref.fork = life
    live[spec.name] = life
    yield from life
    try:
        while not starter.state and life.st < DONE:
            yield starter
    finally:
        starter.task = None
    return bool(starter.state)


def _start_failure(sup: Supervisor, child: str) -> BaseException:
    """Why ``child`` ended before it was ready, as ``start()`` would raise it: its error
    (its body, or the factory making it, raised), or ``ActorStopped`` (it just ended)."""
    ref = sup.refs[child]
    life = ref.fork
    assert life is not None
    crash: BaseException
    try:
        value = life.take()  # a supervised crash comes back as the value; others raise
    except BaseException as error:
        value = error
    if isinstance(value, BaseException):
        crash = value
    else:
        crash = ActorStopped(f"child {child!r} ended before it was ready")
    crash.add_note(f"(child {child!r} failed to start, so supervisor "
                   f"{sup.name or hex(id(sup))} did not start)")
    return crash


def supervise(
    children: Sequence[Child], *, strategy: Strategy = "one_for_one", max_restarts: int = 3,
    within_ms: float = 5000.0, backoff_ms: Union[float, Callable[[int], float]] = 0.0,
    name: str = "",
) -> Generator[Any, Any, Supervisor]:
    """Start a supervisor over ``children``; return it once every child is ready.

    See the module docstring for the rules.

    >>> from actress import task, testing
    >>> def worker(inbox):
    ...     while True:
    ...         call = yield from inbox.receive()
    ...         call.reply(call.message * 2)
    >>> def main():
    ...     sup = yield from supervise([Child("a", worker), Child("b", worker)],
    ...                                strategy="one_for_all", max_restarts=5)
    ...     return (yield from sup["b"].ask(21)), sorted(sup.refs)
    >>> testing.run(main()).value
    (42, ['a', 'b'])
    """
    names = [c.name for c in children]
    if len(set(names)) != len(names):
        raise ValueError(f"supervise() needs distinct child names, got {names}")
    if strategy not in ("one_for_one", "one_for_all"):
        raise ValueError(f"unknown strategy {strategy!r}: use 'one_for_one' or 'one_for_all'")
    if not isinstance(max_restarts, int) or isinstance(max_restarts, bool) or max_restarts < 0:
        raise ValueError(f"supervise() max_restarts must be an int >= 0, got {max_restarts!r}")
    if not _number(within_ms) or not within_ms >= 0:
        raise ValueError(f"supervise() within_ms must be a number >= 0, got {within_ms!r}")
    if not callable(backoff_ms) and (not _number(backoff_ms) or not 0 <= backoff_ms < math.inf):
        raise ValueError(f"supervise() backoff_ms must be a finite number >= 0 or a function "
                         f"of the restart count, got {backoff_ms!r}")
    sup = Supervisor(name, {c.name: ActorRef(c.name, c.capacity) for c in children},
                     {c.name: 0 for c in children})
    starter = waiter(False)  # its state: whether every child is ready
    sup.fork = fork(_run(sup, list(children), strategy, max_restarts, within_ms,
                         backoff_ms, starter), name=f"supervisor {name}")
    yield from sup.fork
    try:
        while not starter.state and sup.fork.st < DONE:
            yield starter
    except BaseException:  # given up before it was ready: it stops its children now, as
        # start() does with an actor (a child still setting up is cancelled too)
        cancel(sup.fork, Cancelled("supervise() was given up before it was ready", sup))
        raise
    finally:
        starter.task = None
    if not starter.state:
        sup.fork.take()  # it failed while starting its children: raise that
    return sup


def _run(sup: Supervisor, specs: list[Child], strategy: Strategy, max_restarts: int,
         within_ms: float, backoff_ms: Union[float, Callable[[int], float]],
         starter: Waiter) -> Generator[Any, Any, None]:
    me: Fork[Any, Any, Any] = yield CURRENT
    events = sup._events
    by_name = {c.name: c for c in specs}
    live: dict[str, Fork[Any, Any, Any]] = {}
    history: deque[float] = deque()
    pending: set[str] = set()  # children backing off before a restart
    timers: list[Fork[Any, Any, Any]] = []
    try:
        for spec in specs:
            if not (yield from _start(sup, spec, events, live)):  # supervise() fails
                del live[spec.name]
                raise _start_failure(sup, spec.name)
        starter.state = True
        _wake_starter(starter)
        while live or pending:
            event = yield from events.receive()
            if event is None:  # stop(): children are draining; none backing off comes back
                if sup._stopping:
                    for name in pending:
                        sup.refs[name]._end(None)
                    pending.clear()
                continue
            if event[0] is _RESTART:
                names = [n for n in event[1] if n in pending]
                pending.difference_update(names)
                for name in names:
                    if sup._stopping or sup.refs[name]._stopping:  # stopped while backing off
                        sup.refs[name]._end(None)
                for name in names:  # (in start order: one_for_all names every child)
                    if not sup.refs[name]._ended:
                        sup.restarts[name] += 1
                        yield from _start(sup, by_name[name], events, live)
                continue
            child, life, reason = event
            if live.get(child) is not life:
                continue  # an incarnation stopped on purpose (one_for_all)
            del live[child]
            spec = by_name[child]
            ref = sup.refs[child]
            if (sup._stopping or ref._stopping or spec.restart == "never"
                    or (spec.restart == "on_failure" and reason is None)
                    or (life is not None and _fork.cancelled_from_outside(life, reason))):
                ref._end(reason)  # stopped on purpose, or not to be restarted: final
                continue
            now = me.sched.clock.now()
            history.append(now)
            while history and history[0] < now - within_ms:
                history.popleft()
            if len(history) > max_restarts:
                gave_up = SupervisorGaveUp(
                    f"supervisor {sup.name or hex(id(sup))}: {child} needed more than "
                    f"{max_restarts} restarts within {within_ms:g} ms")
                gave_up.__cause__ = reason
                raise gave_up
            delay = backoff_ms(len(history)) if callable(backoff_ms) else backoff_ms
            names = [child]
            if strategy == "one_for_all":  # the others stop now; all restart after the backoff
                yield from _stop_lives(sup, live)  # (their end events are stale: ignored)
                live.clear()
                names = [s.name for s in specs
                         if s.name == child or not sup.refs[s.name]._ended]
            pending.update(names)
            if delay > 0:  # a timer brings them back; meanwhile other events are handled
                timers = [t for t in timers if t.st < DONE]
                timers.append(fork(_after(delay, events, (_RESTART, names)),
                                   name=f"restart {', '.join(names)}").activate())
            else:
                events.send_nowait((_RESTART, names))
    except BaseException as error:
        if isinstance(error, GeneratorExit):  # being closed: no more waiting is possible
            raise
        for timer in timers:
            cancel(timer)
        try:
            yield from _stop_lives(sup, live)
        finally:  # every ref ends, even if stopping was cut short
            for ref in sup.refs.values():
                if not ref._ended:
                    ref._end(error)
            _wake_starter(starter)  # failed while starting: supervise() raises this error
        raise
    for timer in timers:
        cancel(timer)


_fork.OWNED_BODIES.add(_run.__code__)  # stopped by Supervisor.stop, not by a join given up

_RESTART = object()  # an event: these children's backoff is over


def _after(ms: float, events: Channel[Any], event: Any) -> Generator[Any, Any, None]:
    yield from sleep(ms)
    events.send_nowait(event)


def _stop_lives(sup: Supervisor, live: dict[str, Fork[Any, Any, Any]]) -> Generator[Any, Any, None]:
    """Cancel the running incarnations (reverse start order) and wait for their ends.

    Their end events stay queued; the supervisor ignores them (not live any more). If the
    supervisor itself is cancelled meanwhile, it still waits for every child to end (as a
    scope does), then raises that first cancellation.
    """
    for child in reversed(list(live)):
        cancel(live[child], Cancelled("stopped by its supervisor", sup.refs[child]))
    interrupted: Optional[BaseException] = None
    for child in reversed(list(live)):
        life = live[child]
        while life.st < DONE:
            try:
                yield from wait_end(life)
            except (GeneratorExit, KeyboardInterrupt, SystemExit):
                raise
            except BaseException as error:
                if interrupted is None:
                    interrupted = error
        try:
            life.take()
        except BaseException:  # pylint: disable=broad-except
            pass  # its own end went to the events already
    if interrupted is not None:
        raise interrupted
