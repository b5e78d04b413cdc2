"""The kernel's bookkeeping around a step: who joins whom, what wakes them, how an abort
reaches its target and how a task's end reaches its joiners.

``Scheduler`` (``_kernel``) inherits ``_Joins``; its dispatch loop calls these methods on
the less common paths (a join that must wait, a message passed up, an abort, a task's
end). The queue rules they keep are the kernel's (see its module docstring): a task that
must run next goes on the front stack, values and errors are never sent in through the
run queue, and a finished task is never referenced again.

Uses: _instructions, _fork. Never: the task API, effects, asyncio.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any, Optional, cast

from ._fork import DONE, FAILED, IDLE, JOINING, READY, RUNNING, SLEEPING, Extra, Fork
from ._instructions import ExitSignal

if TYPE_CHECKING:
    from ._kernel import Scheduler  # (priming a fork binds it to the scheduler itself)

AnyFork = Fork[Any, Any, Any]


class _Joins:
    """Joining, waking, aborting and ending; mixed into ``Scheduler``, whose queues it uses."""

    __slots__ = ()

    if TYPE_CHECKING:  # the Scheduler's queues, as these methods see them
        _ready: deque[AnyFork]
        _front: list[tuple[Any, ...]]

        def _cancel_timer(self, t: AnyFork) -> None: ...

    def _push_front(self, t: AnyFork, queued: bool = True) -> None:
        """Make ``t`` (ready) run next, before everything queued."""
        if queued:
            self._unqueue(t)
        entry = (t,)
        t.ftok = entry
        self._front.append(entry)

    def _deferred(self, f: AnyFork) -> bool:
        """Whether an interrupt for ``f`` waits on the front stack (it came while ``f``
        ran, and ``f`` has parked since, under other entries)."""
        x = f.x
        return x is not None and x.deferred > 0

    def _after_next_step(self, f: AnyFork, error: BaseException) -> None:
        """Throw ``error`` at ``f`` at its next wait, after what is already on its way to
        it (its queued step, interrupts that came before): under all of its entries on
        the front stack, so that interrupts reach a task in the order they came."""
        front, tok = self._front, f.ftok
        x = f.extra()
        if tok is None and not x.deferred:  # nothing of f's there yet: on top (no scan)
            front.append((f, error))
        else:
            lowest = len(front)
            for i in range(len(front) - 1, -1, -1):
                e = front[i]
                if e is tok or (len(e) == 2 and e[0] is f):
                    lowest = i
            front.insert(lowest, (f, error))
        x.deferred += 1  # (counted down where the run loop takes the entry)

    def _unqueue(self, t: AnyFork) -> None:
        """Forget the place of ``t`` (ready, queued) in the queues: it runs out of turn.

        A queued task is on the front stack (``ftok`` set) or else in the run queue.
        """
        if t.ftok is not None:
            t.ftok = None
            return
        ready = self._ready
        if ready and ready[-1] is t:
            ready.pop()
        else:
            t.stale += 1

    @staticmethod
    def _drop_inbox(x: Extra) -> None:
        """Forget the wake-ups a task did not take; a failure among them is reported."""
        inbox = x.inbox
        while inbox:
            item = inbox.popleft()
            if type(item) is Fork and item.st == FAILED:
                item.watch_unretrieved()

    def _watch(self, t: AnyFork, f: AnyFork) -> Optional[AnyFork]:
        """Make ``t`` watch ``f``; return the task to run now (with its ``val``/``err``).

        ``t`` goes on at once if ``f`` has ended or a wake-up waits in its inbox; a fork
        that is ready or never started runs next; otherwise ``t`` parks (None).
        """
        fst = f.st
        if fst >= DONE:
            t.val = f
            return t
        if f is t or (fst != IDLE and f.sched is not self):
            t.err = RuntimeError(
                "a task cannot join itself" if f is t
                else "cannot join a fork that runs on another scheduler")
            return t
        if fst == IDLE:
            f.prime(cast("Scheduler", self))
        ws = f.watchers
        if ws is None:
            f.watchers = t
        elif type(ws) is list:
            ws.append(t)
        else:
            f.watchers = [ws, t]
        w = t.watching
        if w is None:
            t.watching = f
        elif type(w) is dict:
            w[f] = None
        else:
            t.watching = {w: None, f: None}
        x = t.x
        if x is not None and x.inbox:
            t.val = x.inbox.popleft()
            if fst == IDLE:  # t goes on first; f waits its turn
                f.st = READY
                self._ready.append(f)
            return t
        t.st = JOINING
        if fst == READY:
            self._unqueue(f)  # queued: it runs out of turn, now
        elif fst != IDLE:
            return None
        f.st = READY
        return f

    def _watch_all(self, t: AnyFork, forks: Any, promote: bool) -> Optional[AnyFork]:
        """Watch ``forks`` too; return the task to run now (with its ``val``/``err``) or None.

        With ``promote`` the ready ones run next, in order; ``t`` goes on at once if a
        wake-up waits in its inbox.
        """
        for f in forks:
            if f is t or (f.st != IDLE and f.sched is not self):
                t.err = RuntimeError(
                    "a task cannot join itself" if f is t
                    else "cannot join a fork that runs on another scheduler")
                return t
        w = t.watching
        if w is None:
            w = t.watching = {}
        elif type(w) is not dict:
            w = t.watching = {w: None}
        run_next: list[AnyFork] = []
        fresh: set[int] = set()  # activated here: in no queue yet
        for f in forks:
            if f in w:
                continue
            fst = f.st
            if fst >= DONE:
                t.extra().inbox.append(f)
                continue
            w[f] = None
            if fst == IDLE:
                f.prime(cast("Scheduler", self))
                f.st = READY
                if promote:
                    fresh.add(id(f))
                    run_next.append(f)
                else:
                    self._ready.append(f)
            elif promote and fst == READY:
                run_next.append(f)
            ws = f.watchers
            if ws is None:
                f.watchers = t
            elif type(ws) is list:
                ws.append(t)
            else:
                f.watchers = [ws, t]
        x = t.x
        if x is not None and x.inbox:
            t.val = x.inbox.popleft()  # a wake-up was waiting: t goes on with it
            for f in reversed(run_next):
                self._push_front(f, id(f) not in fresh)
            return t
        t.st = JOINING
        if not run_next:
            return None
        for f in reversed(run_next[1:]):
            self._push_front(f, id(f) not in fresh)
        first = run_next[0]
        if id(first) not in fresh:
            self._unqueue(first)
        return first

    def _wake(self, t: AnyFork, ws: Any) -> Optional[AnyFork]:
        """Tell each task joining ``t`` that it ended; see ``_notify``."""
        return self._notify(t, ws, t, True)

    def _deliver(self, t: AnyFork, ws: Any, message: object) -> Optional[AnyFork]:
        """Hand ``t``'s message to each task joining it; see ``_notify``."""
        return self._notify(t, ws, (message,), False)

    def _notify(self, t: AnyFork, ws: Any, value: object, ended: bool) -> Optional[AnyFork]:
        """Give ``value`` to each task in ``ws`` that watches ``t``: parked ones run next
        (the first is returned, to run right away), busy ones keep it in their inbox.

        When ``t`` has ``ended`` they stop watching it. A task in ``ws`` that no longer
        watches ``t`` (it left a join without saying so) is passed over.
        """
        first: Optional[AnyFork] = None
        later: list[AnyFork] = []
        for j in (ws,) if type(ws) is Fork else ws:
            w = j.watching
            if w is t:
                if ended:
                    j.watching = None
            elif type(w) is dict and t in w:
                if ended:
                    del w[t]
                    if not w:
                        j.watching = None
            else:
                continue
            if j.st == JOINING:
                j.st = READY
                j.val = value
                if first is None:
                    first = j
                else:
                    later.append(j)
            else:
                j.extra().inbox.append(value)
        for j in reversed(later):
            self._push_front(j, False)
        return first

    def _unwatch(self, t: AnyFork) -> None:
        """Stop ``t`` watching anything; drop wake-ups it had not taken yet."""
        w = t.watching
        t.watching = None
        x = t.x
        if x is not None:
            self._drop_inbox(x)
        if w is None:
            return
        for f in ((w,) if type(w) is Fork else list(w)):
            ws = f.watchers
            if ws is t:
                f.watchers = None
            elif type(ws) is list:
                try:
                    ws.remove(t)
                except ValueError:
                    pass
                if not ws:
                    f.watchers = None

    def _interrupt(self, f: AnyFork, error: BaseException, its_turn: bool = False) -> None:
        """Throw ``error`` into ``f`` next; an idle fork ends at once without running.
        ``its_turn``: a deferred interrupt whose turn has come (the front stack keeps them
        in order), not one to queue behind the others again."""
        st = f.st
        if st >= DONE:
            return
        if st != IDLE and st != RUNNING and (
                (f.err is not None and f.ftok is not None) or (
                    not its_turn and self._deferred(f))):
            self._after_next_step(f, error)  # another is on its way: this one comes after
            return
        x = f.extra()
        x.cause = error
        if st == IDLE:
            f.prime(cast("Scheduler", self))
            f.gen.close()  # it never ran: nothing to clean up
            self._finish(f, None, error)
            return
        if st == RUNNING:
            self._after_next_step(f, error)  # delivered once it yields: see _run
            return
        queued = st == READY
        if st == SLEEPING:
            self._cancel_timer(f)
        if f.watching is not None:
            self._unwatch(f)
        self._drop_inbox(x)
        x.permit = False
        f.val = None
        f.err = error
        self._push_front(f, queued)
        f.st = READY

    def _finish(
        self, t: AnyFork, value: Any, error: Optional[BaseException]
    ) -> Optional[AnyFork]:
        """Record ``t``'s result once, release it, and wake whoever waits for it."""
        if t.watching is not None:
            self._unwatch(t)
        x = t.x
        awaited = False
        if x is not None:
            self._drop_inbox(x)
            cause = x.cause
            if type(cause) is ExitSignal and (error is cause or error is None):
                value = cause.value
                error = None
            awaited = bool(x.awaiters)
        t.gen = None
        if error is None:
            t.st = DONE
            t.value = value
        else:
            t.st = FAILED
            t.value = error
        ws = t.watchers
        t.watchers = None
        nxt = self._wake(t, ws) if ws is not None else None
        if awaited:
            t.settle_awaiters()
        if error is not None:
            leaving = isinstance(error, (KeyboardInterrupt, SystemExit)) and not hasattr(
                error, "_actress_raised")  # once: not again as it goes up the joiners
            if leaving:
                error._actress_raised = True  # type: ignore[attr-defined]
            if ws is None and not awaited:
                t.watch_unretrieved()  # (not one raised out of the scheduler: it was seen)
            if leaving:
                if nxt is not None:
                    self._push_front(nxt, False)
                raise error
        return nxt
