"""The job engine: groups of a primer and followers, run on shared workers, by lanes.

A *group* has at most one *primer* (the setup job: open a session, warm a cache) and any
number of *followers*, which start only once the primer succeeded and get its output
(``job.primer_output``). Groups belong to *lanes* that share the workers by weight
(``lanes.LaneQueue``: a weighted fair queue, so shares follow weights whatever the order of
submission). Failures are retried by policy (``retry.RetryPolicy``); a retry waits
*without* holding a worker. Every step is an event (``events.EventLog``).

Everything here is ordinary tasks: one dispatcher task, and one task per running job.

Rules (tests/test_jobs.py holds each):
- every job ends exactly once, with one terminal result and one terminal event:
  succeeded, failed, cancelled or quarantined (a ``Permanent`` error);
- a follower added before its primer waits for it and is never lost; a group closed
  without a primer while followers wait for it has failed (they fail, saying why);
- primer failure: ``"fail_group"`` (followers fail without running, the reason names the
  primer's error) or ``"run_without"`` (followers run, ``primer_output`` None); a cancelled
  primer is not a failure: with ``"fail_group"`` its waiting followers are cancelled;
- follower failure: ``"fail_group"`` (the group's other unfinished jobs are cancelled) or
  ``"skip"`` (the others go on);
- ``close()`` drains: everything submitted runs to its end; ``close("drop")`` cancels what
  has not started (each gets its terminal event) and lets running jobs finish;
- adding a follower suspends while ``intake`` jobs are queued to start (backpressure; a
  primer never waits: it is what lets its followers go, so a full intake cannot lock a
  group out; nor does a follower added by a job the engine is running, which the queued
  jobs may be waiting for, as a primer adding its own group's followers), and at most
  ``max_active_groups`` groups have jobs in the queues at once;
- a group closed while a follower waited for room refuses it (``RuntimeError``);
- a cancel always wins: a job cancelled while its executor runs ends ``cancelled`` even
  if its cleanup raises; work the engine cannot stop (a thread) keeps its worker until it
  really ends, so ``workers`` and ``max_inflight`` are never exceeded;
- a failing event sink is logged and its event dropped; the jobs go on.

The running side (the dispatcher, attempts, retries, the thread executor) is in
``jobs.workers``; when a group's jobs may enter the lanes (the cap on active groups,
dependencies, the cache's single flight) in ``jobs.admission``; how jobs are routed and
how jobs and groups end (``_finish``, ``_check_done``) in ``jobs.lifecycle``.

Uses: task, scope, jobs.groups, jobs.lanes, jobs.retry, jobs.events, jobs.cache,
jobs.workers, jobs.admission, jobs.lifecycle. Never: the kernel's internals.
"""

from __future__ import annotations

import logging
import math
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Generator, Hashable, Iterable, Literal, Optional

from .._fork import DONE, Fork
from .._instructions import CURRENT, waiter
from ..scope import Cancelled, cancel
from ..task import current, fork
from .admission import _Admission
from .lifecycle import _Lifecycle
from .cache import CacheRegistry
from .events import EventLog, EventType, Sink
from .lanes import LaneQueue
from .groups import Counts, Group, Job, JobResult, Lane, _wake
from .retry import NO_RETRY, RetryPolicy
from .workers import ThreadExecutor, _Workers

_log = logging.getLogger("actress.jobs")


def _wall_ms() -> float:
    """Wall-clock time for events: milliseconds, to the microsecond (a float with fewer
    digits is written several times faster)."""
    return time.time_ns() // 1000 / 1000


_RUN_CODE = _Workers._run.__code__

__all__ = ["Counts", "Engine", "Group", "Job", "JobResult", "Lane", "ThreadExecutor"]

@dataclass  # (its running state is in the slots of _Workers)
class Engine(_Admission, _Lifecycle, _Workers):
    """Run groups of jobs with ``executor`` on ``workers`` concurrent jobs.

    ``executor(job)`` returns a generator (run as a task), an awaitable (run on the
    loop), or a plain value (the output). See the module docstring for the rules.

    >>> from actress import task, testing
    >>> def model(job):
    ...     yield from task.sleep(10)
    ...     return f"{job.payload} with {job.primer_output}"
    >>> def main():
    ...     engine = Engine(model, workers=2)
    ...     group = yield from engine.submit_group("g1", "warm cache", ["q1", "q2"])
    ...     results = yield from group.wait()
    ...     yield from engine.close()
    ...     return [r.output for r in results]
    >>> testing.run(main()).value
    ['warm cache with None', 'q1 with warm cache with None', 'q2 with warm cache with None']
    """

    executor: Callable[[Job], Any]
    workers: int = 4
    lanes: dict[str, Lane] = field(default_factory=dict)
    events: Iterable[Sink] = ()
    run_id: Optional[str] = None
    primer_retry: RetryPolicy = NO_RETRY
    follower_retry: RetryPolicy = NO_RETRY
    on_primer_failure: Literal["fail_group", "run_without"] = "fail_group"
    on_follower_failure: Literal["fail_group", "skip"] = "skip"
    warmup_ms: float = 0.0
    intake: Optional[int] = None
    max_active_groups: Optional[int] = None
    cache: Optional[CacheRegistry] = None
    #: Workers that only primers may use (a new group's primer never waits behind
    #: followers for them).
    primer_reserve: int = 0

    def __post_init__(self) -> None:
        self._check_settings()
        self.log = EventLog(self.events, run_id=self.run_id, clock=_wall_ms)
        self._logging = self.log.active  # checked before building any event
        self._lanes = LaneQueue()
        for name, lane in {"default": Lane(), **self.lanes}.items():
            self._lanes.add(name, lane.weight, lane.max_inflight)
        self.groups = {}
        self.counts = Counts()
        self.quarantined = []
        self._free = self.workers
        self._waiting_to_start = 0
        self._unfinished = 0
        self._active_groups = 0
        self._admission = deque()
        self._dispatcher = None
        self._poke_slot = waiter()
        self._room_waiters = []
        self._job_forks = {}
        self._idle_waiters = []
        self._closing = False
        self._drop = False
        self._closed = False
        self._rngs = {}
        self._awaited = set()

    def _check_settings(self) -> None:
        """Refuse settings that would misbehave later (a job that never ends, a typo
        taken for the default), naming the one that is wrong."""
        def whole(name: str, value: Any, low: int, none_ok: bool) -> None:
            if value is None and none_ok:
                return
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                also = " or None" if none_ok else ""
                raise ValueError(f"Engine {name} must be an int >= {low}{also}, got {value!r}")

        if not callable(self.executor):
            raise TypeError(f"Engine executor must be callable (job -> value, awaitable or "
                            f"generator), got {self.executor!r}")
        whole("workers", self.workers, 1, False)
        whole("primer_reserve", self.primer_reserve, 0, False)
        if self.primer_reserve >= self.workers:
            raise ValueError(f"primer_reserve must be >= 0 and below workers={self.workers}, "
                             f"got {self.primer_reserve}")
        whole("intake", self.intake, 0, True)
        whole("max_active_groups", self.max_active_groups, 1, True)
        for name in ("primer_retry", "follower_retry"):
            if not isinstance(getattr(self, name), RetryPolicy):
                raise TypeError(f"Engine {name} must be a RetryPolicy (NO_RETRY for none), "
                                f"got {getattr(self, name)!r}")
        if self.on_primer_failure not in ("fail_group", "run_without"):
            raise ValueError("Engine on_primer_failure must be 'fail_group' or 'run_without', "
                             f"got {self.on_primer_failure!r}")
        if self.on_follower_failure not in ("fail_group", "skip"):
            raise ValueError("Engine on_follower_failure must be 'fail_group' or 'skip', "
                             f"got {self.on_follower_failure!r}")
        if not isinstance(self.warmup_ms, (int, float)) or isinstance(self.warmup_ms, bool) \
                or not 0 <= self.warmup_ms < math.inf:
            raise ValueError(f"Engine warmup_ms must be a finite number >= 0, got "
                             f"{self.warmup_ms!r}")

    # -- the generator face -----------------------------------------------------------------

    def open_group(self, group_id: str, *, lane: str = "default",
                   context: Optional[dict[str, Any]] = None,
                   after: Iterable[Group | str] = (), after_ok: bool = False,
                   after_timeout_ms: Optional[float] = None, cache_key: Optional[Hashable] = None,
                   cache_context: Optional[dict[str, Any]] = None,
                   skip_primer_on_hit: bool = False) -> Generator[Any, Any, Group]:
        """Open a group to add a primer and followers to over time; ``close()`` it after.

        ``cache_key`` (with ``Engine(cache=CacheRegistry(...))``): the primer's output is
        kept in the registry under that key; with ``skip_primer_on_hit``, a group whose key
        is cached (or being made by another group's primer: it waits for that) does not
        run its primer: the primer ends succeeded at once with the cached value.

        ``after``: groups (handles, also of another engine's groups, or ids of this
        engine's groups still open) this one starts after; with ``after_ok`` it runs only
        if they all succeeded, else its jobs fail saying which did not.
        ``after_timeout_ms``: fail the group if they are not done by then. A group can
        wait only on groups that exist already, so no cycle can form.

        >>> from actress import testing
        >>> def main():
        ...     engine = Engine(lambda job: f"{job.payload} with {job.primer_output}")
        ...     group = yield from engine.open_group("g")
        ...     yield from group.add_primer("session")
        ...     yield from group.add_follower("q1")
        ...     group.close()                      # no more jobs: now it can be done
        ...     results = yield from group.wait()
        ...     yield from engine.close()
        ...     return [r.output for r in results]
        >>> testing.run(main()).value
        ['session with None', 'q1 with session with None']
        """
        group = self._open_group(group_id, lane, context, after, after_ok, after_timeout_ms,
                                 cache_key, cache_context, skip_primer_on_hit)
        if self._dispatcher is None:
            yield from self._start()
        return group

    def _open_group(self, group_id: str, lane: str, context: Optional[dict[str, Any]],
                    after: Iterable[Group | str], after_ok: bool,
                    after_timeout_ms: Optional[float], cache_key: Optional[Hashable],
                    cache_context: Optional[dict[str, Any]], skip_primer_on_hit: bool) -> Group:
        """Check, make, register and admit (or queue) a group; the dispatcher is the
        caller's to start."""
        if self._closing:
            raise RuntimeError("the engine is closing: it takes no new groups")
        if type(group_id) is not str:  # (the event log, JSONL, keeps ids as strings)
            raise TypeError(f"a group id must be a str, got {group_id!r}")
        if group_id in self.groups:
            raise ValueError(f"a group {group_id!r} exists already")
        if lane not in self._lanes:
            raise KeyError(f"no lane {lane!r}: add it with Engine(lanes=...) or add_lane()")
        deps = self._dependencies(group_id, after) if after else ()
        group = Group(self, group_id, lane, dict(context) if context else None, cache_key,
                      dict(cache_context) if cache_context else None, skip_primer_on_hit)
        self.groups[group_id] = group
        if self._logging:
            if deps:
                self._emit(EventType.GROUP_OPENED, group_id=group_id, lane=lane,
                           after=[d.id for d in deps])
            else:
                self._emit(EventType.GROUP_OPENED, group_id=group_id, lane=lane)
        if deps:
            group._after_ok = after_ok
            for dep in deps:
                if dep._done:
                    if after_ok and not dep.ok:
                        self._fail_group(group, f"group {dep.id} it depends on did not succeed")
                else:
                    if dep._dependents is None:
                        dep._dependents = []
                    dep._dependents.append(group)
                    group._deps_left += 1
            if group._deps_left and after_timeout_ms is not None:
                group._timer = fork(self._deps_deadline(group, after_timeout_ms)).activate()
        if not group._deps_left and group.state != "failed" and not group._done:
            # (a sink may have cancelled it as it opened: done, it takes no slot)
            if self.max_active_groups is None:
                self._admit(group)
            else:
                self._queue_for_admission(group)
        return group

    def submit_group(self, group_id: str, primer: Any, followers: Iterable[Any] = (), *,
                     lane: str = "default", context: Optional[dict[str, Any]] = None,
                     after: Iterable[Group | str] = (), after_ok: bool = False,
                     after_timeout_ms: Optional[float] = None,
                     cache_key: Optional[Hashable] = None,
                     cache_context: Optional[dict[str, Any]] = None,
                     skip_primer_on_hit: bool = False) -> Generator[Any, Any, Group]:
        """Open a group with ``primer`` (None: no primer) and ``followers``, and close it.

        >>> from actress import testing
        >>> def main():
        ...     engine = Engine(lambda job: f"{job.payload} with {job.primer_output}")
        ...     group = yield from engine.submit_group("g", None, ["q1", "q2"])  # no primer
        ...     results = yield from group.wait()  # closed already: it returns once all ended
        ...     yield from engine.close()
        ...     return [r.output for r in results]
        >>> testing.run(main()).value
        ['q1 with None', 'q2 with None']
        """
        if type(followers) is not list and isinstance(followers, (str, bytes)):
            raise TypeError(f"group {group_id!r}: followers= takes a list of payloads, got "
                            f"{followers!r} (write [{followers!r}] for one follower)")
        group = self._open_group(group_id, lane, context, after, after_ok, after_timeout_ms,
                                 cache_key, cache_context, skip_primer_on_hit)
        if self._dispatcher is None:
            yield from self._start()
        if primer is not None:
            if group.primer is None and not group.closed:  # (as new: _add_primer, inlined)
                group.primer = self._new_job(group, "primer", primer)
                self._enqueue(group.primer)
            else:  # an event sink acted on the group as it opened: add_primer's checks say
                group._add_primer(primer)
        else:
            self._primer_settled(group, None)
        for payload in followers:
            yield from group.add_follower(payload)
        group.close()
        return group

    def add_sink(self, sink: Sink) -> None:
        """Send the events from now on to ``sink`` too.

        >>> from actress import testing
        >>> from actress.jobs import MemorySink
        >>> def main():
        ...     engine, sink = Engine(lambda job: job.payload), MemorySink()
        ...     g1 = yield from engine.submit_group("g1", "p")
        ...     yield from g1.wait()
        ...     engine.add_sink(sink)              # g1's events are past: not sent
        ...     yield from engine.submit_group("g2", "p")
        ...     yield from engine.close()
        ...     return sorted({e.group_id for e in sink.events if e.group_id})
        >>> testing.run(main()).value
        ['g2']
        """
        self.log.add(sink)
        self._logging = self.log.active

    def add_lane(self, name: str, weight: float = 1.0, max_inflight: Optional[int] = None) -> None:
        """Add a lane while running.

        >>> from actress import task, testing
        >>> def slow(job):
        ...     yield from task.sleep(10)
        ...     return job.payload
        >>> def main():
        ...     engine = Engine(slow, workers=4)
        ...     engine.add_lane("bulk", max_inflight=1)  # one job at a time, whatever the workers
        ...     yield from engine.submit_group("g", None, ["a", "b"], lane="bulk")
        ...     yield from engine.close()                # drains: returns once both have run
        >>> testing.run(main()).time
        20.0
        """
        self._lanes.add(name, weight, max_inflight)
        if self._logging:
            self._emit(EventType.LANE_ADDED, lane=name, weight=weight, max_inflight=max_inflight)

    def reweight(self, name: str, weight: float) -> None:
        """Change a lane's weight; it applies to the jobs dispatched from now on.

        >>> from actress import testing
        >>> def main():
        ...     order = []
        ...     engine = Engine(lambda job: order.append(job.lane), workers=1,
        ...                     lanes={"a": Lane(), "b": Lane()})
        ...     yield from engine.submit_group("ga", None, range(4), lane="a")
        ...     yield from engine.submit_group("gb", None, range(4), lane="b")
        ...     engine.reweight("b", 3)  # none has started: all go by the new weight
        ...     yield from engine.close()
        ...     return "".join(order)
        >>> testing.run(main()).value
        'abbbabaa'
        """
        self._lanes.reweight(name, weight)
        if self._logging:
            self._emit(EventType.LANE_CHANGED, lane=name, weight=weight)

    def cancel_job(self, job: Job, reason: str = "cancelled") -> None:
        """Cancel ``job``: if it has not started it never runs; if it runs it is cancelled.

        >>> from actress import testing
        >>> def main():
        ...     engine = Engine(lambda job: job.payload)
        ...     group = yield from engine.submit_group("g", "p", ["q1", "q2"])
        ...     engine.cancel_job(group.followers[0])  # still queued: it never runs
        ...     results = yield from group.wait()
        ...     yield from engine.close()
        ...     return [(r.status, r.attempts) for r in results]
        >>> testing.run(main()).value
        [('succeeded', 1), ('cancelled', 0), ('succeeded', 1)]
        """
        if job.group.engine is not self:
            raise ValueError(f"{job!r} belongs to another engine: cancel it there")
        if job._status is not None:
            return
        job._cancel = reason
        if job._running:  # its attempt ends as cancelled (the executor may be running now)
            if job._fork is not None and job._fork.st < DONE:
                cancel(job._fork, Cancelled(reason, self))
            return
        if self._lanes.cancel(job):  # it was queued
            self._not_waiting()
        group = job.group
        if group._held and job in group._held:
            group._held.remove(job)
        if group._backlog and job in group._backlog:
            group._backlog.remove(job)
        if job._retrying is not None:
            cancel(job._retrying)
            job._retrying = None
        self._finish(job, "cancelled", reason=reason)

    def cancel_group(self, group: Group, reason: str = "group cancelled") -> None:
        """Cancel every unfinished job of ``group`` and close it.

        >>> from actress import task, testing
        >>> def slow(job):
        ...     yield from task.sleep(10)
        ...     return job.payload
        >>> def main():
        ...     engine = Engine(slow)
        ...     group = yield from engine.submit_group("g", "p", ["f1", "f2"])
        ...     yield from task.sleep(15)       # p has ended; f1 and f2 are running
        ...     engine.cancel_group(group)      # p keeps its result
        ...     yield from engine.close()
        ...     return [job.result.status for job in group.jobs]
        >>> testing.run(main()).value
        ['succeeded', 'cancelled', 'cancelled']
        """
        if group.engine is not self:
            raise ValueError(f"{group!r} belongs to another engine: cancel it there")
        if group._done:  # finished: left as it is
            return
        if group.state in ("waiting", "warming", "ready"):
            group.state = "cancelled"
        for job in list(group.jobs):
            self.cancel_job(job, reason)
        group.close()

    def close(self, mode: Literal["drain", "drop"] = "drain") -> Generator[Any, Any, None]:
        """Close the engine: no new groups; ``drain`` runs everything submitted to its end,
        ``drop`` cancels what has not started. Returns once every job has ended.

        >>> from actress import task, testing
        >>> def slow(job):
        ...     yield from task.sleep(10)
        ...     return job.payload
        >>> def main(mode):
        ...     engine = Engine(slow)
        ...     group = yield from engine.submit_group("g", "p", ["f"])
        ...     yield from task.sleep(5)                # p is running; f waits for it
        ...     yield from engine.close(mode)
        ...     return [job.result.status for job in group.jobs]
        >>> testing.run(main("drain")).value, testing.run(main("drop")).value
        (['succeeded', 'succeeded'], ['succeeded', 'cancelled'])
        """
        if mode not in ("drain", "drop"):
            raise ValueError(f"close() mode must be 'drain' or 'drop', got {mode!r}")
        me = yield from current()
        caller = self._own_job_waiting_for(me)
        if caller is not None:
            raise RuntimeError(f"close() called from {caller!r}, a job of this engine: it "
                               "would wait for itself to end")
        self._closing = True
        self._drop = self._drop or mode == "drop"
        for group in list(self.groups.values()):
            if mode == "drop":
                for job in list(group.jobs):
                    if job._fork is None or job._fork.st >= DONE:
                        self.cancel_job(job, "dropped when the engine closed")
            group.close()
        while self._unfinished:
            w = waiter()
            self._idle_waiters.append(w)
            try:
                yield w
            finally:
                w.task = None
        if not self._closed:
            self._closed = True
            self._poke()
            if self._logging:
                self._emit(EventType.ENGINE_CLOSED, **vars(self.counts))
            self._logging = False
            self.log.close()

    # -- bookkeeping --------------------------------------------------------------------

    def _own_job_waiting_for(self, task: Fork[Any, Any, Any]) -> Optional[Job]:
        """The job of this engine whose attempt is ``task``, or joins it (directly or
        through other tasks: a ``shield``, a scope), if any. An attempt runs as its own
        task, whose generator is ``_run``."""
        seen: set[Fork[Any, Any, Any]] = set()
        todo = [task]
        while todo:
            t = todo.pop()
            if t in seen:
                continue
            seen.add(t)
            gen = t.gen
            if getattr(gen, "gi_code", None) is _RUN_CODE and gen.gi_frame is not None \
                    and gen.gi_frame.f_locals.get("self") is self:
                return gen.gi_frame.f_locals.get("job")  # type: ignore[no-any-return]
            ws = t.watchers
            if ws is not None:
                todo += (ws,) if type(ws) is Fork else ws
        return None

    def _emit(self, type_: EventType, **fields: Any) -> None:
        if self._logging:
            try:
                self.log.emit(type_, **fields)
            except Exception:  # a sink failing (a full disk) must not stop the jobs
                _log.exception("an event sink failed; the %s event was not recorded",
                               type_.value)

    def _start(self) -> Generator[Any, Any, None]:
        if self._dispatcher is None:
            self._dispatcher = yield from fork(self._dispatch(), name="job dispatcher")

    def _room(self, n: int) -> Generator[Any, Any, None]:
        """Backpressure: wait while ``intake`` jobs are waiting to start; never in a job
        this engine runs (the jobs queued may wait for it: a primer adding its group's
        followers would lock the engine)."""
        limit = self.intake
        me: Optional[Fork[Any, Any, Any]] = None
        while limit is not None and self._waiting_to_start + n > limit and self._waiting_to_start:
            if me is None:
                me = yield CURRENT
                if me in self._job_forks or self._in_awaited_job():
                    return
            w = waiter()
            self._room_waiters.append(w)
            try:
                yield w
            finally:
                w.task = None

    def _in_awaited_job(self) -> bool:
        """Whether the asyncio task running now drives a job's coroutine (an executor of
        an ``AsyncEngine`` that adds followers from inside a job)."""
        asyncio = sys.modules.get("asyncio")
        if asyncio is None or not self._awaited:
            return False
        try:
            running = asyncio.current_task()
        except RuntimeError:  # no running loop
            return False
        return running is not None and id(running.get_coro()) in self._awaited

    def _not_waiting(self) -> None:
        self._waiting_to_start -= 1
        if self._room_waiters:
            _wake(self._room_waiters)
