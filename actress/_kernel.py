"""The kernel: one cooperative scheduler, the only place that calls ``gen.send``/``gen.throw``.

A run queue (FIFO deque), a *front* stack for work that must run next (a fork that was
just joined, the target of an abort, a task whose message is being passed up), and a heap
of timers. A ``ROUND`` marker in the run queue ends each pass over it: there the due timers
join the queue and the time budget is checked: each end of pass reads ``perf_counter``
once and compares it with ``wake``, the earlier of the budget's deadline and the earliest
timer's due time (converted to ``perf_counter`` time), so the scheduler's clock is asked
only when a timer may be due. ``sleep(0)`` is the back of the queue. ``drain`` runs until
nothing is ready; the clock calls it back when the earliest timer is due.

Rules kept here (see ARCHITECTURE.md, decisions 1, 2, 4):
- the run queue is FIFO; a task is in it at most once (stale entries are skipped);
- a task in the run queue has nothing to be sent or thrown in: values (a join's end, a
  message) and errors (an abort) always come through the front stack;
- a joined fork that is ready runs next; when a fork ends, its joiners run next;
- an abort throws into its targets at once, the aborter continues after their cleanup;
- a message passes up through every joiner before the sender continues;
- a finished task is never referenced by the scheduler again;
- a drain never starts inside a garbage collection: tasks a finalizer wakes run after it.

Uses: _instructions, _clock, _fork, _joins (joins, wake-ups, aborts and ends, the
bookkeeping around a step). Never: the task API, effects, asyncio.
"""

from __future__ import annotations

import gc
import heapq
import time
from collections import deque
from threading import Lock, get_ident
from typing import Any, Optional

from . import _fork, _report
from ._clock import Clock, LoopClock
from ._joins import _Joins
from ._fork import DONE, IDLE, JOINING, READY, RUNNING, SLEEPING, SUSPENDED, Fork
from ._mistakes import _MISTAKES, mistake
from ._instructions import (
    CURRENT, OP_ABORT, OP_SLEEP, OP_WATCH, OP_WATCH_ALL, PARK, REQUEUE, SLEEP0 as I_SLEEP0,
    SUSPEND, UNWATCH, CONTROL_TYPES, _Op, Waiter,
)

#: Time a drain may run, when an event loop is waiting, before it yields to the loop.
BUDGET_MS = 5.0


AnyFork = Fork[Any, Any, Any]


#: The run-queue entry that ends a round; it reads as a stale entry (see ``_run``). It is
#: a ``Fork`` so that the run loop's ``t.stale`` reads one type only: a second type there
#: makes CPython's specialised attribute read miss at every end of a pass (measured: 4.6%
#: of a two-task switch).
ROUND: Any = Fork(None, "end of round")
ROUND.stale = 1
#: Types the run loop tells apart after tuples and ``Waiter``: the instructions without
#: operands, and the mistakes (a generator yielded without ``from``...). Anything else is
#: a message, told with this one test.
_SPECIAL = frozenset(CONTROL_TYPES | set(_MISTAKES))


class Scheduler(_Joins):
    """Drive generator tasks cooperatively; see the module docstring for the rules.

    >>> from actress import task
    >>> sched = Scheduler()
    >>> def hello():
    ...     return "hi"
    ...     yield
    >>> sched.spawn(task.fork(hello())).result
    Success(value='hi', ok=True)
    """

    __slots__ = (
        "_ready", "_front", "_heap", "_seq", "_dead_timers",
        "clock", "running", "budget_ms", "outside", "_soon", "__weakref__",
    )

    def __init__(self, clock: Optional[Clock] = None) -> None:
        self._ready: deque[AnyFork] = deque()
        #: Entries ``(task,)``; an entry is live while ``task.ftok`` is that very tuple.
        self._front: list[tuple[Any, ...]] = []
        #: Timers ``[due_ms, seq, task]``; a cancelled one has ``task`` set to None.
        self._heap: list[list[Any]] = []
        self._seq = 0
        self._dead_timers = 0
        self.clock: Clock = clock if clock is not None else LoopClock()
        self.running = False
        self.budget_ms = BUDGET_MS
        #: The tasks waiting on an outside awaitable (kept by ``task.wait``).
        self.outside: dict[AnyFork, None] = {}
        #: The loop on which a call-back to go on draining waits (after a drain spent its
        #: budget), else None: one at a time, however many drains stop for the budget.
        self._soon: Optional[Any] = None

    # -- entry points -----------------------------------------------------------------

    def spawn(self, fork: AnyFork) -> AnyFork:
        """Activate ``fork`` on this scheduler; run it now unless a task is running.

        Returns ``fork``; a fork activated already is left as it is.

        >>> from actress import task
        >>> def hello():
        ...     print("running")
        ...     return "hi"
        ...     yield
        >>> fork = task.fork(hello())
        >>> Scheduler().spawn(fork) is fork  # no task is running: it runs now
        running
        True
        >>> fork.result
        Success(value='hi', ok=True)
        """
        if fork.st == IDLE:
            fork.prime(self)
            fork.st = READY
            self._ready.append(fork)
            if not self.running:
                self.drain()
        return fork

    def resume(self, fork: AnyFork) -> None:
        """Wake a suspended (or sleeping) task; a running one keeps the wake-up for later.

        >>> from actress import task
        >>> def sleeper():
        ...     yield from task.suspend()
        ...     return "woken"
        >>> sched = Scheduler()
        >>> fork = sched.spawn(task.fork(sleeper()))
        >>> fork.status
        <Status.ACTIVE: 'active'>
        >>> sched.resume(fork); fork.result  # no task is running: it runs now
        Success(value='woken', ok=True)
        """
        st = fork.st
        if st != SUSPENDED:
            if st == SLEEPING:
                self._cancel_timer(fork)
            elif st == RUNNING:
                fork.extra().permit = True
                return
            else:
                return
        fork.st = READY  # (its val is None: a parked task has nothing to be sent in)
        self._ready.append(fork)
        if not self.running:
            self.drain()

    def interrupt(self, fork: AnyFork, error: BaseException) -> None:
        """Throw ``error`` into ``fork`` now and run its cleanup up to its next wait.

        Called while ``fork`` itself runs, the error is thrown once it next yields.

        >>> from actress import task
        >>> def worker():
        ...     try:
        ...         yield from task.suspend()
        ...     finally:
        ...         print("cleanup")
        >>> sched = Scheduler()
        >>> fork = sched.spawn(task.fork(worker()))
        >>> sched.interrupt(fork, ValueError("stop"))
        cleanup
        >>> fork.result
        Failure(error=ValueError('stop'), ok=False)
        """
        self._interrupt(fork, error)
        if not self.running:
            self.drain()

    def pending(self) -> list[AnyFork]:
        """Return the unfinished tasks this scheduler can reach: queued, sleeping, waiting
        on an outside awaitable, parked where a ``_fork.parked`` finder looks (a channel,
        an ask), and the tasks joining those. A task suspended with nobody holding it is
        out of reach.

        >>> Scheduler().pending()
        []
        """
        found: dict[AnyFork, None] = {}
        todo: list[AnyFork] = [e[0] for e in self._front if e[0].ftok is e]
        todo += [t for t in self._ready if t is not ROUND]
        todo += [e[2] for e in self._heap if e[2] is not None]
        todo += self.outside
        for finder in _fork.parked:
            todo += finder(self)
        while todo:
            t = todo.pop()
            if t.st >= DONE or t in found:
                continue
            found[t] = None
            ws = t.watchers
            if ws is not None:
                todo += (ws,) if type(ws) is Fork else ws
        return list(found)

    def drain(self) -> None:
        """Run every ready task until none is ready; arm the clock for the next timer.

        ``spawn``, ``resume`` and ``interrupt`` call it when no task is running; the clock
        calls it back when the timer it armed is due.

        >>> from actress import task
        >>> from actress._clock import VirtualClock
        >>> def nap():
        ...     yield from task.sleep(50)
        ...     print("woke at", clock.now())
        >>> clock = VirtualClock()
        >>> _ = Scheduler(clock).spawn(task.fork(nap()))  # runs up to its sleep; arms the clock
        >>> clock.advance()  # moves time to 50 ms and calls drain
        woke at 50.0
        True
        """
        if self.running:
            return
        thread = get_ident()
        if _collecting is not None and _collecting == thread:
            self._drain_later()  # a finalizer run by a garbage collection: no place for tasks
            return
        if thread != _fork.drain_thread and not _fork.shared:
            with _first_drains:  # (two threads' first drains must not both see "only one")
                if _fork.drain_thread is None:
                    _fork.drain_thread = thread
                elif _fork.drain_thread != thread:
                    _fork.shared = True  # a second thread drains: each reads its own
        # The first thread ever to drain keeps the global, every other its thread-local: a
        # hot read of the global that began before ``shared`` flipped finds the first
        # thread's own scheduler.
        first = thread == _fork.drain_thread
        if first:
            outer = _fork.active
            _fork.active = self
        else:
            here = _fork.here
            outer = here.active
            here.active = self
        self.running = True
        try:
            self._run()
        except BaseException:  # KeyboardInterrupt/SystemExit: the round marker goes too
            if ROUND in self._ready:
                self._ready.remove(ROUND)
            loop = self.clock.loop()
            if (self._ready or self._front) and loop is not None and self._soon is not loop:
                self._soon = loop  # the others go on if the loop does (a REPL, a notebook)
                loop.call_soon(self._drain_soon)
            raise
        finally:
            self.running = False
            if first:
                _fork.active = outer
            else:
                here.active = outer
            self._arm()
            if _report._reports:
                _report.flush_reports()

    # -- the loop ---------------------------------------------------------------------

    def _run(self) -> None:  # noqa: C901 - the one dispatch loop, kept flat for speed
        ready = self._ready
        front = self._front
        popleft = ready.popleft
        fpop = front.pop
        fpush = front.append
        heap = self._heap
        perf_counter = time.perf_counter
        clock = self.clock
        # ``seen``: perf_counter as last read; a timer set from it falls due early, never late
        seen = perf_counter()
        deadline = seen + self.budget_ms / 1000.0
        wake = self._wake_time(deadline)  # when an end of pass must look at timers and budget
        ready.append(ROUND)  # ends the first round: due timers fire there
        t: AnyFork
        # Invariant at the top of this loop: val is None and err is None (nothing is ever
        # sent in through the run queue; each path that parks a task leaves them so).
        val: Any = None
        err: Optional[BaseException] = None
        while True:
            if front:
                entry = fpop()
                t = entry[0]
                if t.ftok is not entry:
                    if len(entry) == 2:  # an abort that came while t ran: deliver it now
                        t.x.deferred -= 1  # type: ignore[union-attr]  # (made with the entry)
                        if t.st == RUNNING:  # it still "runs": its step was cut short
                            t.st = SUSPENDED  # (parked, in no queue)
                        self._interrupt(t, entry[1], True)
                    continue
                t.ftok = None
                val = t.val
                if val is not None:
                    t.val = None
                err = t.err
                if err is not None:
                    t.err = None
            else:
                t = popleft()  # never empty while running: ROUND is in it
                if t.stale:  # a stale entry (the task ran out of turn since), or ROUND
                    if t is ROUND:
                        if ready:
                            seen = perf_counter()
                            if seen < wake:  # the common case, inlined
                                ready.append(ROUND)
                                continue
                        after = self._next_round(deadline)
                        if after is None:
                            return
                        deadline = after
                        wake = self._wake_time(deadline)
                        continue
                    t.stale -= 1
                    continue
            while True:  # step t; a hand-off replaces t and goes on
                t.st = RUNNING
                try:
                    if err is None:
                        instr = t.gen.send(val)
                    else:
                        e, err = err, None
                        instr = t.gen.throw(e)
                except StopIteration as stop:
                    if t.x is None and t.watching is None:
                        t.st = DONE
                        t.gen = None
                        t.value = stop.value
                        ws = t.watchers
                        if ws is None:
                            val = None
                            break
                        t.watchers = None
                        if type(ws) is Fork and ws.st == JOINING and ws.watching is t:
                            ws.watching = None  # its one joiner goes on right away
                            val = t
                            t = ws
                            continue
                        nxt = self._wake(t, ws)
                    else:
                        nxt = self._finish(t, stop.value, None)
                    if nxt is None:
                        val = None
                        break
                    t = nxt
                    val = t.val
                    t.val = None
                    continue
                except BaseException as error:  # KeyboardInterrupt/SystemExit: re-raised
                    tb = error.__traceback__
                    if tb is not None and tb.tb_frame.f_code is _RUN_CODE:
                        error.__traceback__ = tb.tb_next  # the kernel frame holds t: no cycle
                    nxt = self._finish(t, None, error)
                    if nxt is None:
                        val = None
                        break
                    t = nxt
                    val = t.val
                    t.val = None
                    continue
                val = None
                if instr is I_SLEEP0:  # to the back of the run queue
                    t.st = READY
                    ready.append(t)
                    break
                kind = type(instr)
                if kind is tuple and instr:  # (opcode, ...) or a tuple message
                    op = instr[0]
                    if op is OP_WATCH:
                        f = instr[1]
                        if (f.st == READY and t.x is None and f.ftok is None
                                and ready[-1] is f):  # (never empty: ROUND is in it)
                            # joining the fork just started: it runs now (fast path;
                            # a fork at the tail of the queue has nothing to send in)
                            ready.pop()
                            ws = f.watchers
                            if ws is None:
                                f.watchers = t
                            elif type(ws) is list:
                                ws.append(t)
                            else:
                                f.watchers = [ws, t]
                            t.watching = f
                            t.st = JOINING
                            t = f
                            continue
                        nxt = self._watch(t, f)
                        if nxt is None:
                            break
                        t = nxt
                        val = t.val
                        if val is not None:
                            t.val = None
                        err = t.err
                        if err is not None:
                            t.err = None
                        continue
                    if op is OP_SLEEP:
                        ms = instr[1]
                        if ms <= 0:
                            t.st = READY
                            ready.append(t)
                            break
                        try:
                            clock.check()
                        except RuntimeError as no_loop:
                            err = no_loop
                            continue
                        self._seq += 1
                        timer = [clock.now() + ms, self._seq, t]
                        heapq.heappush(heap, timer)
                        t.timer = timer
                        t.st = SLEEPING
                        due = seen + ms / 1000.0
                        if due < wake:
                            wake = due
                        break
                    if op is OP_WATCH_ALL:
                        nxt = self._watch_all(t, instr[1], instr[2])
                        if nxt is None:
                            break
                        t = nxt
                        val = t.val
                        err = t.err
                        t.val = t.err = None
                        continue
                    if op is OP_ABORT:
                        if any(f.sched is not self for f in instr[1] if f.st != IDLE):
                            err = RuntimeError(
                                "cannot abort a fork that runs on another scheduler")
                            continue
                        t.st = READY
                        entry = (t,)
                        t.ftok = entry
                        fpush(entry)
                        cause = instr[2]
                        for f in reversed(instr[1]):
                            self._interrupt(f, cause)
                        break
                    if type(op) is _Op:
                        err = RuntimeError(f"unknown instruction {instr!r}")
                        continue
                elif kind is Waiter:  # a parking primitive (channel, mailbox) parks t in it
                    # (SUSPEND's lines again: one shared branch costs 1-2% per message)
                    instr.task = t
                    x = t.x
                    if x is not None and x.permit:
                        x.permit = False
                        t.st = READY
                        ready.append(t)
                    else:
                        t.st = SUSPENDED
                    break
                elif kind in _SPECIAL:  # an instruction without operands, or a mistake
                    if instr is PARK:
                        x = t.x
                        if x is not None and x.inbox:
                            val = x.inbox.popleft()
                            continue
                        t.st = JOINING
                        break
                    if instr is CURRENT:
                        val = t
                        continue
                    if instr is SUSPEND:
                        x = t.x
                        if x is not None and x.permit:
                            x.permit = False
                            t.st = READY
                            ready.append(t)
                        else:
                            t.st = SUSPENDED
                        break
                    if instr is REQUEUE:
                        t.st = READY
                        ready.append(t)
                        break
                    if instr is UNWATCH:
                        self._unwatch(t)
                        continue
                    if kind in _MISTAKES:
                        err = mistake(instr, t.gen)  # (None: task.send sent it)
                        if err is not None:
                            continue
                # a message: hand it to each joiner, then go on
                ws = t.watchers
                if ws is None:
                    continue  # nobody joins: dropped
                t.st = READY
                entry = (t,)
                t.ftok = entry
                fpush(entry)
                if type(ws) is Fork and ws.st == JOINING:  # one joiner, parked: hand over
                    w = ws.watching
                    if w is t or (type(w) is dict and t in w):
                        val = (instr,)
                        t = ws
                        continue
                nxt = self._deliver(t, ws, instr)
                if nxt is None:
                    break
                t = nxt
                val = t.val
                t.val = None

    # -- helpers ----------------------------------------------------------------------

    def _cancel_timer(self, t: AnyFork) -> None:
        timer = t.timer
        t.timer = None
        timer[2] = None
        self._dead_timers += 1
        if self._dead_timers > 64 and self._dead_timers * 2 > len(self._heap):
            self._heap[:] = [e for e in self._heap if e[2] is not None]  # in place: _run holds it
            heapq.heapify(self._heap)
            self._dead_timers = 0

    def _drain_soon(self) -> None:
        self._soon = None
        self.drain()

    def _drain_later(self) -> None:
        """Drain at the next safe point: a call-back on the loop this scheduler runs on
        (posted safely from any thread: a collection may run in a worker thread), or
        (virtual time, or no loop known yet) the clock's next wake-up; with neither, at
        the next drain from outside."""
        loop = self.clock.home()
        if loop is not None:
            if self._soon is not loop:
                self._soon = loop
                loop.call_soon_threadsafe(self._drain_soon)
        else:
            self.clock.arm(self.clock.now(), self.drain)

    def _wake_time(self, deadline: float) -> float:
        """The ``perf_counter`` time at which an end of pass must next look at the timers
        and the budget: the deadline, or the earliest timer's due time if sooner (a
        virtual clock's timer converts to real time too: looking early is only slower)."""
        heap = self._heap
        if not heap:
            return deadline
        due = time.perf_counter() + (heap[0][0] - self.clock.now()) / 1000.0
        return due if due < deadline else deadline

    def _next_round(self, deadline: float) -> Optional[float]:
        """End of a round (one pass over the run queue): fire the timers that are due and
        start the next round; None when nothing is left, or to let the event loop run.

        Returns the deadline to go on with: past it with no running loop to yield to, there
        is none any more, so the ends of pass that follow stay on ``_run``'s fast path.
        """
        ready = self._ready
        heap = self._heap
        now = self.clock.now()
        if heap and heap[0][0] <= now:
            pop = heapq.heappop
            while heap and heap[0][0] <= now:
                t = pop(heap)[2]
                if t is None:
                    self._dead_timers -= 1
                    continue
                t.timer = None
                t.st = READY
                ready.append(t)
        if not ready:
            return None
        if time.perf_counter() > deadline:
            loop = self.clock.loop()
            if loop is not None and loop.is_running():
                if self._soon is not loop:  # let the event loop breathe; go on after
                    self._soon = loop
                    loop.call_soon(self._drain_soon)
                return None
            deadline = float("inf")
        ready.append(ROUND)
        return deadline

    def _arm(self) -> None:
        heap = self._heap
        while heap and heap[0][2] is None:
            heapq.heappop(heap)
            self._dead_timers -= 1
        if heap:
            self.clock.arm(heap[0][0], self.drain)
        else:
            self.clock.disarm()  # (virtual time must not jump to a timer cancelled since)


_first_drains = Lock()

#: The thread running a garbage collection, else None. Its finalizers (a task's
#: generator closed because nothing could ever wake it, an object's ``__del__``) may wake
#: tasks, but a drain started there would run them in the middle of whatever the
#: collection interrupted (even the compiler): ``drain`` defers to a safe point instead.
_collecting: Optional[int] = None


def _gc_phase(phase: str, info: dict[str, int]) -> None:
    global _collecting
    _collecting = get_ident() if phase == "start" else None


gc.callbacks.append(_gc_phase)


def current_scheduler() -> Scheduler:
    """Return the scheduler that is running now, else the default one (made on first use).

    >>> isinstance(current_scheduler(), Scheduler)
    True
    """
    here = _fork.here
    active = _fork.active if get_ident() == _fork.drain_thread else here.active  # (running())
    if active is not None:
        return active
    default = here.default
    if default is None:
        default = here.default = Scheduler()
    return default


_fork.scheduler = current_scheduler
_RUN_CODE = Scheduler._run.__code__


def set_default_scheduler(sched: Optional[Scheduler]) -> Optional[Scheduler]:
    """Make ``sched`` the default scheduler; return the previous one.

    The default is what ``current_scheduler`` returns outside of a running scheduler;
    ``None`` makes a new one on the next use.

    >>> mine = Scheduler()
    >>> previous = set_default_scheduler(mine)
    >>> current_scheduler() is mine
    True
    >>> set_default_scheduler(previous) is mine  # put the previous one back
    True
    """
    here = _fork.here
    previous, here.default = here.default, sched
    return previous


__all__ = ["Scheduler", "current_scheduler", "set_default_scheduler"]
