"""The ``Fork``: a task's handle and the kernel's record of it, plus the primitive operations
a handle offers (join, abort, exit, resume) written as instruction-yielding generators.

A fork is lazy: nothing runs until it is activated (``yield from fork``, ``await fork``,
``join``, ``activate()``). It is also an awaitable and, for asyncio's ``create_task`` and
``gather``, a coroutine-like object whose driving awaits the task's end.

Uses: _instructions, _mistakes, _report; asyncio lazily (awaiting only).
Never: the scheduler loop, the API.
"""

from __future__ import annotations

import itertools
import sys
import threading
from collections import deque
from types import CodeType, GeneratorType
from typing import TYPE_CHECKING, Any, Callable, Coroutine, Generator, Generic, Iterable, Optional

from typing_extensions import TypeVar

from ._instructions import (
    CURRENT, OP_ABORT, OP_WATCH, PARK, ExitSignal, Failure, Result, Status, Success,
)
from ._mistakes import _MISTAKES, as_generator, message_codes
from ._report import Reporter as _Reporter
from ._report import flush_reports as flush_reports  # (tests flush through here)

if TYPE_CHECKING:
    import asyncio

    from ._kernel import Scheduler

T = TypeVar("T")
#: the error type a fork may fail with (documentation only: Python does not check it)
X = TypeVar("X", default=BaseException)
#: the type of the messages a fork sends
M = TypeVar("M", default=Any)

# Kernel states of a task; finished is ``st >= DONE``.
IDLE, READY, RUNNING, SUSPENDED, SLEEPING, JOINING, DONE, FAILED = range(8)
_STATUS = (Status.IDLE,) + (Status.ACTIVE,) * 5 + (Status.FINISHED,) * 2

_ids = itertools.count(1)


class Extra:
    """What only some tasks need, kept off the per-task fast path."""

    __slots__ = (
        "inbox", "permit", "cause", "awaiters", "reporter", "coro", "coro_owner", "seen",
        "taken", "deferred")

    def __init__(self) -> None:
        self.inbox: deque[Any] = deque()
        self.permit = False
        self.cause: Optional[BaseException] = None
        self.awaiters: list[asyncio.Future[None]] = []
        self.reporter: Optional[_Reporter] = None
        self.coro: Optional[Generator[Any, None, Any]] = None
        self.coro_owner: Any = None
        self.seen = False  # its failure was retrieved by someone
        self.taken = False  # a last waiter that gave up passed its abort down (once)
        self.deferred = 0  # its interrupts waiting on the front stack (see _after_next_step)


def _caused_by(error: BaseException, cause: Optional[BaseException]) -> bool:
    """Whether ``error`` is the abort ``cause`` itself, or a group (a scope's) of only it:
    then whoever aborted the fork knows of it, and it is not reported."""
    if cause is None:
        return False
    if error is cause:
        return True
    return isinstance(error, BaseExceptionGroup) and all(
        _caused_by(e, cause) for e in error.exceptions)


def _no_scheduler() -> Scheduler:
    raise RuntimeError("actress._kernel was not imported")  # pragma: no cover


#: Returns the running scheduler, else the default one; set by ``_kernel`` on import.
scheduler: Callable[[], Scheduler] = _no_scheduler


class _PerThread(threading.local):
    """What each thread has of its own, as each thread has its own asyncio loop: the
    scheduler draining there right now (kept by ``Scheduler.drain``; not for the first
    thread ever to drain, which keeps the global ``active``), and the default scheduler
    (``_kernel.set_default_scheduler``)."""

    active: Optional[Scheduler] = None
    default: Optional[Scheduler] = None


#: This thread's ``active`` and ``default`` schedulers.
here = _PerThread()
#: The scheduler draining right now in the first thread ever to drain one (usually the
#: only one): a global is read and written at a tenth of a thread-local's cost (4% of a
#: spawn + join). Every other thread keeps its own in ``here.active``. ``shared`` turns
#: True for good once a second thread drains: from then on the two hot paths (a fork
#: started inside a task, an ``ask``) ask ``running()`` too. (Until then, plain code in
#: another thread that iterates a fork by hand while the first thread is mid-drain would
#: queue it on the first thread's scheduler: a window left open for the hot path's sake.)
active: Optional[Scheduler] = None
shared = False
#: The first thread that drained: the only one that writes ``active``.
drain_thread: Optional[int] = None


def lands_later(f: Fork[Any, Any, Any]) -> bool:
    """Whether an interrupt thrown at ``f`` now reaches it only at its next wait: it is
    running, or another interrupt waits to be thrown at it first."""
    st = f.st
    if st == RUNNING:
        return True
    if st == IDLE or st >= DONE:
        return False
    return (f.err is not None and f.ftok is not None) or f.sched._deferred(f)


def thrown_in(f: Fork[Any, Any, Any], error: BaseException) -> bool:
    """Whether ``error`` is the abort last thrown at ``f`` from outside (its cause)."""
    x = f.x
    return x is not None and x.cause is error


def cancelled_from_outside(f: Fork[Any, Any, Any], error: Optional[BaseException]) -> bool:
    """Whether ``f`` ends by an asyncio ``CancelledError`` thrown at it from outside (the
    end of ``actress.run`` cancelling what is left): for an actor, a stop, not a crash."""
    asyncio = sys.modules.get("asyncio")  # (no import: this may run at interpreter exit)
    return asyncio is not None and isinstance(error, asyncio.CancelledError) and thrown_in(
        f, error)


def running() -> Optional[Scheduler]:
    """The scheduler draining in this thread right now (None: plain code, no task)."""
    return active if threading.get_ident() == drain_thread else here.active


#: Functions that describe what blocked tasks wait on (channels register one); a
#: deadlock report lists their lines.
diagnostics: list[Callable[[Any], list[str]]] = []
#: Functions that find the tasks of a scheduler parked in a primitive (a channel, an
#: ask), for ``Scheduler.pending``: what ``actress.run`` cancels when it ends.
parked: list[Callable[[Any], list[Fork[Any, Any, Any]]]] = []
#: Called as ``hook(fork, error)`` for each fork an abort is passed down to (the members
#: of a group that ends by it, the fork a last joiner takes along), before it is thrown;
#: ``scope`` counts a ``Cancelled`` as pending there, for ``current_cancelled``.
passed_down: list[Callable[[Any, BaseException], None]] = []


def pass_down(forks: Iterable[Fork[Any, Any, Any]], error: BaseException) -> None:
    """Tell the ``passed_down`` hooks that ``error`` goes down to ``forks`` (those on
    another scheduler are left out: the abort refuses them)."""
    for hook in passed_down:
        for f in forks:
            if f.st == IDLE or f.sched is running():
                hook(f, error)
#: The code of generator functions whose forks a structure owns (a scope's child, an
#: actor's life, a supervisor): a waiter that gives up never takes such a fork along.
OWNED_BODIES: set[CodeType] = set()


class Deadlock(RuntimeError):
    """The task can never finish: nothing is ready, no timer is set, nothing is awaited."""


def deadlock_report(name: str, sched: Any = None) -> str:
    """The message of a ``Deadlock``: why, and what each blocked task (of ``sched``)
    waits on."""
    waits = [line for describe in diagnostics for line in describe(sched)]
    detail = "".join(f"\n  {line}" for line in waits)
    return (f"{name} can never finish: no task is ready, no timer is set and nothing "
            "outside is awaited (a task is suspended with nobody to resume it, or tasks "
            f"wait on each other: joins, channels, asks){detail}")


def awaits_a_fork(waiting: Any) -> bool:
    """Whether the asyncio task ``waiting`` waits on a fork (``await fork``, or a fork
    it drives as its coroutine): it cannot go on unless our tasks do, so it is no outside
    work for a deadlock check."""
    obj = waiting.get_coro()
    for _ in range(64):  # along the chain of awaits, down to what it waits on
        if isinstance(obj, Fork) or getattr(obj, "gi_code", None) in _AWAIT_CODES:
            return True
        obj = getattr(obj, "cr_await", None) or getattr(obj, "gi_yieldfrom", None)
        if obj is None:
            return False
    return False


class Fork(Coroutine[Any, Any, T], Generic[T, X, M]):
    """A handle on a task: join it, abort it, exit it, await it.

    >>> from actress import task
    >>> def work():
    ...     yield from task.sleep(0)
    ...     return 42
    >>> fork = task.fork(work(), name="worker")
    >>> fork.status, fork.name
    (<Status.IDLE: 'idle'>, 'worker')
    >>> fork.activate().result
    Success(value=42, ok=True)
    """

    __slots__ = (
        "gen", "st", "x", "sched", "val", "err", "watchers", "watching", "stale", "ftok",
        "timer", "value", "_id", "_name", "__weakref__",
    )
    # Kernel fields, set when the fork is activated (``prime``): ``sched``; ``val``/``err``,
    # what to send/throw at its next step; ``watchers``, the task (or list of tasks)
    # joining it;
    # ``watching``, what it joins (a fork, or a dict of forks); ``stale``, how many of its
    # run-queue entries are stale; ``ftok``, its live front-stack entry or None. Set when
    # needed:
    # ``timer`` (heap entry while sleeping, zero round while in sleep(0)), ``value``
    # (result, or the error when ``st == FAILED``).

    gen: Any
    st: int
    x: Optional[Extra]
    sched: Scheduler
    val: Any
    err: Optional[BaseException]
    watchers: Any
    watching: Any
    stale: int
    ftok: Optional[tuple[Fork[Any, Any, Any]]]
    timer: Any
    value: Any
    _id: int
    _name: str

    def __init__(self, task: Any, name: str = "") -> None:
        # What the kernel steps is always a generator: other iterables are wrapped now.
        self.gen = task if type(task) is GeneratorType or task is None else as_generator(task)
        self.st = IDLE
        self.x: Optional[Extra] = None
        if name:
            self._name = name

    def prime(self, sched: Scheduler) -> None:
        """Set the kernel fields of a fork that is being activated on ``sched``."""
        self.sched = sched
        self.val = None
        self.err = None
        self.watchers = None
        self.watching = None
        self.stale = 0
        self.ftok = None

    # -- queries ----------------------------------------------------------------------

    @property
    def id(self) -> int:
        """A number unique to this fork."""
        try:
            return self._id
        except AttributeError:
            self._id = next(_ids)
            return self._id

    @property
    def name(self) -> str:
        """The name given to ``fork(..., name=...)``, or ``""``."""
        try:
            return self._name
        except AttributeError:
            return ""

    @name.setter
    def name(self, value: str) -> None:
        self._name = value

    @property
    def status(self) -> Status:
        """``idle`` until activated, ``active`` while running or parked, then ``finished``."""
        return _STATUS[self.st]

    @property
    def error(self) -> Optional[BaseException]:
        """The error the fork failed with (it counts as seen), else ``None``."""
        if self.st != FAILED:
            return None
        self.retrieved()
        return self.value  # type: ignore[no-any-return]

    @property
    def result(self) -> Optional[Result[T]]:
        """``Success(value)`` or ``Failure(error)`` once finished, else ``None``.

        Reading a failure counts as retrieving it: it is then not reported.
        """
        st = self.st
        if st == DONE:
            return Success(self.value)
        if st == FAILED:
            self.retrieved()
            return Failure(self.value)
        return None

    def __repr__(self) -> str:
        name = f", name={self.name!r}" if self.name else ""
        return f"Fork(id={self.id}{name}, status='{self.status}')"

    def extra(self) -> Extra:
        """Return (making it on first use) the fork's rarely used fields."""
        x = self.x
        if x is None:
            x = self.x = Extra()
        return x

    # -- running ----------------------------------------------------------------------

    def activate(self) -> Fork[T, X, M]:
        """Start the task (once). From outside a task it runs now, up to its first wait.

        >>> from actress import task
        >>> def hello():
        ...     print("hello")
        ...     yield from task.sleep(0)
        >>> _ = task.fork(hello()).activate()
        hello
        """
        if self.st == IDLE:
            scheduler().spawn(self)
        return self

    def __iter__(self) -> Generator[Any, Any, Fork[T, X, M]]:
        """``yield from fork`` starts the fork (concurrently) and gives back the handle."""
        if self.st == IDLE:
            sched = running() if shared else active
            if sched is None:
                scheduler().spawn(self)
            else:  # inside a task: queue it (inlined Scheduler.spawn and prime: hot path)
                self.sched = sched
                self.val = self.err = self.watchers = self.watching = self.ftok = None
                self.stale = 0
                self.st = READY
                sched._ready.append(self)
        return self
        yield  # pragma: no cover - makes this a generator

    def join(self) -> Generator[Any, Any, T]:
        """Wait for this fork and return its result (see ``task.join``)."""
        return join(self)

    def abort(self, error: BaseException) -> Generator[Any, Any, None]:
        """Throw ``error`` into this fork (see ``task.abort``)."""
        return abort(self, error)

    def exit_(self, value: Any) -> Generator[Any, Any, None]:
        """End this fork with ``value``, running only ``finally`` blocks (see ``task.exit_``)."""
        return exit_(self, value)

    def resume(self) -> Generator[Any, Any, None]:
        """Wake this fork if it is suspended (see ``task.resume``); sends no message."""
        if self.st != IDLE:
            self.sched.resume(self)
        return
        yield  # pragma: no cover - makes this a generator

    # -- results ----------------------------------------------------------------------

    def take(self) -> T:
        """Return the value of a finished fork or raise its error (marking it retrieved)."""
        if self.st == DONE:
            return self.value  # type: ignore[no-any-return]
        assert self.st == FAILED
        self.retrieved()
        raise self.value

    def watch_unretrieved(self) -> None:
        """Arrange for the failure to be reported unless someone sees it (or caused it)."""
        x = self.extra()
        if x.seen or x.reporter is not None or _caused_by(self.value, x.cause) or hasattr(
                self.value, "_actress_raised"):  # (raised out of the scheduler: seen there)
            return
        sched = self.sched
        loop = sched.clock.loop() if sched is not None else None
        x.reporter = _Reporter(self.value, repr(self), loop)

    def retrieved(self) -> None:
        """Mark the failure as seen (by a joiner, a group, an awaiter, ``.result``)."""
        x = self.extra()
        x.seen = True
        if x.reporter is not None:
            x.reporter.armed = False
            x.reporter = None

    # -- asyncio ----------------------------------------------------------------------

    def settle_awaiters(self) -> None:
        """Wake every asyncio awaiter of this (finished) fork."""
        x = self.x
        assert x is not None
        awaiters, x.awaiters = x.awaiters, []
        for fut in awaiters:
            if not fut.done():
                try:
                    fut.set_result(None)
                except RuntimeError:  # its loop is closed
                    pass

    def __await__(self) -> Generator[Any, None, T]:
        if self.st == IDLE:
            self.activate()  # runs it now, up to its first wait: it may be done already
        if self.st < DONE:
            import asyncio

            loop = asyncio.get_running_loop()
            fut: asyncio.Future[None] = loop.create_future()
            self.extra().awaiters.append(fut)
            self.sched.clock.loop()  # the clock learns its loop (a worker thread may ask)
            try:
                yield from fut
            except BaseException as error:  # cancelled, or closed (GeneratorExit)
                x = self.x
                if x is not None and fut in x.awaiters:
                    x.awaiters.remove(fut)  # this awaiter will not see the result
                if self.st == FAILED:  # it failed meanwhile: this awaiter will not read it
                    self.watch_unretrieved()
                elif (isinstance(error, asyncio.CancelledError) and self.st != IDLE
                        and self.st < DONE and self.watchers is None and not _awaited(self)
                        and _ownable(self)):
                    self.extra().taken = True
                    self.sched.interrupt(self, error)  # the last one waiting gave up
                    yield from self._await_cleanup(loop)
                    if self.st == FAILED and not _caused_by(self.value, self.extra().cause):
                        self.retrieved()
                        raise self.value from error  # its cleanup failed otherwise
                raise
        return self.take()

    def _await_cleanup(self, loop: asyncio.AbstractEventLoop) -> Generator[Any, None, None]:
        """Wait until this fork, aborted by its last awaiter's cancellation, has ended, as
        asyncio waits for a task it cancelled: so ``wait_for``, ``asyncio.timeout`` and
        the end of ``asyncio.run`` never cut its cleanup short. A further cancellation
        meanwhile is passed down to the cleanup too, as asyncio does."""
        import asyncio

        while self.st < DONE:
            fut: asyncio.Future[None] = loop.create_future()
            awaiters = self.extra().awaiters
            awaiters.append(fut)
            try:
                yield from fut
            except BaseException as again:
                if fut in awaiters:
                    awaiters.remove(fut)
                if not isinstance(again, asyncio.CancelledError):
                    raise  # closed (GeneratorExit): stop waiting
                if self.st < DONE:
                    self.sched.interrupt(self, again)

    def send(self, value: None) -> Any:
        """Coroutine protocol (for ``asyncio.create_task(fork)``): step the awaiting.

        One asyncio task at a time may drive a fork this way; once it is done, another
        may (``await fork`` has no such limit).
        """
        return self._drive(value, None)

    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> Any:
        """Coroutine protocol: throw into the awaiting."""
        return self._drive(None, typ if val is None else val)

    def close(self) -> None:
        """Coroutine protocol: stop awaiting (the fork itself keeps running)."""
        x = self.x
        if x is not None and x.coro is not None:
            coro, x.coro, x.coro_owner = x.coro, None, None
            coro.close()

    def _drive(self, value: Any, error: Any) -> Any:
        import asyncio

        x = self.extra()
        owner = asyncio.current_task()
        if x.coro is None:
            x.coro = self.__await__()
            x.coro_owner = owner
        elif x.coro_owner is not owner:
            raise RuntimeError(
                f"{self!r} is already run as a coroutine by another asyncio task; "
                "await the fork (any number of times) instead of creating a second task")
        try:
            if error is None:
                return x.coro.send(value)
            return x.coro.throw(error)
        except BaseException:
            x.coro = x.coro_owner = None  # finished: the fork may be driven again
            raise


_MISTAKES[Fork] = "a fork"
_AWAIT_CODES = (Fork.__await__.__code__, Fork._await_cleanup.__code__)


# -- the operations a handle offers ------------------------------------------------------


def join(fork: Fork[T, Any, Any]) -> Generator[Any, Any, T]:
    """Wait for ``fork`` and return its result, or raise its error.

    Any number of tasks may join the same fork; each gets the result. Messages the fork
    sends after the join flow through the joiner (to every joiner). A fork that is ready
    or was never started runs next. Joining a finished fork costs no scheduler round trip.
    A joiner that is aborted (or exited) while nobody else waits for the fork takes the
    fork with it, as in 0.1 and asyncio: the fork is aborted with the same error (exited
    with ``None``) and its cleanup runs before the joiner's error goes on; if other tasks
    or asyncio awaiters still wait for it, it keeps running. A fork is taken along once
    (joiners cancelled together abort it once); a fork a structure owns (a scope's child,
    an actor, a supervisor) and a ``KeyboardInterrupt``/``SystemExit`` are left alone.

    >>> from actress import task, testing
    >>> def child():
    ...     yield from task.send("hi")
    ...     return "done"
    >>> def parent():
    ...     return (yield from task.join(task.fork(child())))
    >>> testing.run(parent())
    Outcome(ok=True, value='done', error=None, messages=['hi'], time=0.0)
    """
    try:  # (the whole body: a try costs nothing until something raises)
        if fork.st < DONE:
            try:
                got = yield (OP_WATCH, fork)
                while got is not fork:
                    if type(got) is tuple:  # a message: (value,)
                        yield got[0]
                    got = yield PARK
            except BaseException as error:
                if (fork.st < DONE and not isinstance(error, GeneratorExit)
                        and fork.watchers is None):
                    yield from _abandon(fork, error)
                raise
        if fork.st == DONE:
            return fork.value  # type: ignore[no-any-return]
        return fork.take()
    except AttributeError:
        if isinstance(fork, Fork):
            raise
        raise not_a_fork(fork, "join") from None


def not_a_fork(value: Any, where: str) -> TypeError:
    """The error for a join (or group) given something that is not a fork."""
    if type(value) is GeneratorType:
        hint = "a task: run it with `yield from t`, or fork it first (task.fork(t))"
    else:
        hint = f"{type(value).__name__} {value!r}"
    return TypeError(f"task.{where}() takes forks (from `yield from task.fork(t)`), got {hint}")


def wait_end(fork: Fork[Any, Any, Any]) -> Generator[Any, Any, Fork[Any, Any, Any]]:
    """Wait until ``fork`` has ended and return it, passing its messages up, as ``join``
    does; but a waiter aborted meanwhile leaves the fork running (``join`` would take it
    along when alone). For waits that do not own the fork: ``shield``, a supervisor's
    ``join``.

    >>> from actress import task, testing
    >>> def main():
    ...     ended = yield from wait_end(task.fork(task.sleep(5)))
    ...     return ended.result
    >>> testing.run(main()).value
    Success(value=None, ok=True)
    """
    if fork.st < DONE:
        got = yield (OP_WATCH, fork)
        while got is not fork:
            if type(got) is tuple:  # a message: (value,)
                yield got[0]
            got = yield PARK
    return fork


message_codes.update((join.__code__, wait_end.__code__))


def _awaited(fork: Fork[Any, Any, Any]) -> bool:
    """Whether asyncio code still waits for ``fork`` (a cancelled awaiter does not)."""
    x = fork.x
    return x is not None and any(not fut.done() for fut in x.awaiters)


def _ownable(fork: Fork[Any, Any, Any]) -> bool:
    """Whether the last waiter of ``fork`` that gives up may take it along: not a fork a
    structure owns (a scope's child, an actor, a supervisor), nor one a waiter already
    took along (waiters cancelled together pass their abort down once)."""
    x = fork.x
    return not (x is not None and x.taken) and (
        getattr(fork.gen, "gi_code", None) not in OWNED_BODIES)


def _abandon(fork: Fork[Any, Any, Any], error: BaseException) -> Generator[Any, Any, None]:
    """The last joiner of ``fork`` was aborted with ``error`` (not a join error such as
    joining itself): abort the fork too, or exit it with ``None`` for an exit.

    Not when an asyncio awaiter still waits for it, when it is not ``_ownable``, or for
    ``KeyboardInterrupt``/``SystemExit``, which leave the scheduler at once.
    """
    if _awaited(fork) or not _ownable(fork) or isinstance(error, (KeyboardInterrupt, SystemExit)):
        return
    me: Fork[Any, Any, Any] = yield CURRENT
    if thrown_in(me, error):
        fork.extra().taken = True
        pass_down((fork,), error)
        yield (OP_ABORT, (fork,), ExitSignal(None) if type(error) is ExitSignal else error)


def abort(fork: Fork[Any, Any, Any], error: BaseException) -> Generator[Any, Any, None]:
    """Throw ``error`` into ``fork`` now; return once it has ended or reached a new wait.

    ``except`` and ``finally`` blocks run with ``error``; cleanup may itself wait (sleep,
    send, join) and then goes on concurrently. A fork that has not started never runs;
    a finished fork is left as it is. Joiners of the fork are woken with the error.

    >>> from actress import task, testing
    >>> def worker(log):
    ...     try:
    ...         yield from task.sleep(50)
    ...     finally:
    ...         log.append("cleanup")
    >>> def main(log):
    ...     fork = yield from task.fork(worker(log))
    ...     yield from task.sleep(1)
    ...     yield from task.abort(fork, ValueError("stop"))
    ...     log.append("aborted")
    >>> log = []
    >>> _ = testing.run(main(log)); log
    ['cleanup', 'aborted']
    """
    if not isinstance(error, BaseException):
        raise TypeError(f"abort() needs an exception instance, got {error!r}")
    if fork.st < DONE:
        if running() is None:  # iterated by hand from plain code (a callback): no task waits
            interrupt_now(fork, error)
            return
        yield (OP_ABORT, (fork,), error)


def interrupt_now(fork: Fork[Any, Any, Any], error: BaseException) -> None:
    """Throw ``error`` into ``fork`` on its scheduler (the current one if it never
    started); from outside any task its cleanup runs up to its next wait before this
    returns (as 0.1's ``abort`` does when iterated there)."""
    sched = fork.sched if fork.st != IDLE else scheduler()
    sched.interrupt(fork, error)


def exit_(fork: Fork[Any, Any, Any], value: Any) -> Generator[Any, Any, None]:
    """End ``fork`` with result ``value``: only its ``finally`` blocks run (not ``except``).

    Cleanup may wait. If cleanup raises, that error becomes the fork's result.

    >>> from actress import task, testing
    >>> def worker():
    ...     try:
    ...         yield from task.sleep(50)
    ...     except Exception:
    ...         print("never printed")
    ...     finally:
    ...         print("finally")
    >>> def main():
    ...     fork = yield from task.fork(worker())
    ...     yield from task.sleep(1)
    ...     yield from task.exit_(fork, "early")
    ...     return (yield from task.join(fork))
    >>> testing.run(main()).value
    finally
    'early'
    """
    if fork.st < DONE:
        if running() is None:  # iterated by hand from plain code (a callback)
            interrupt_now(fork, ExitSignal(value))
            return
        yield (OP_ABORT, (fork,), ExitSignal(value))


def resume(fork: Fork[Any, Any, Any]) -> None:
    """Wake ``fork`` if it is suspended; from inside a task this only queues it.

    From outside any task (a loop callback) the woken task runs before ``resume``
    returns. Resuming a running task makes its next ``suspend`` return at once.

    >>> from actress import task
    >>> def sleeper():
    ...     yield from task.suspend()
    ...     print("resumed")
    >>> fork = task.fork(sleeper()).activate()
    >>> task.resume(fork)
    resumed
    """
    if fork.st == IDLE:
        raise RuntimeError(f"cannot resume {fork!r}: it was never started")
    fork.sched.resume(fork)


