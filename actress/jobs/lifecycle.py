"""How jobs are routed and how jobs and groups end: the engine's bookkeeping.

A new job goes to the lanes, or waits: for its group's admission (``_backlog``), for its
primer (``_held``), or for the cache. ``_finish`` is the one place a job ends (once, with
one result and one terminal event); ``_check_done`` the one place a group does; a primer's
end releases or fails its followers (``_primer_settled``).

``Engine`` inherits ``_Lifecycle``; the public methods, the dispatcher and admission call
these.

Uses: task, jobs.groups, jobs.lanes, jobs.events. Never: the kernel's internals.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Generator, Literal, Optional

from ..task import fork, sleep
from .events import EventType, safe_repr
from .groups import Group, Job, Status, _ids, _wake

_log = logging.getLogger("actress.jobs")

if TYPE_CHECKING:
    from collections import deque

    from .._instructions import Waiter
    from .cache import CacheRegistry
    from .groups import Counts
    from .lanes import LaneQueue

_ENDED = {"succeeded": EventType.JOB_SUCCEEDED, "failed": EventType.JOB_FAILED,
          "cancelled": EventType.JOB_CANCELLED, "quarantined": EventType.JOB_QUARANTINED}


class _Lifecycle:
    """Routing and endings of jobs and groups; mixed into ``Engine``."""

    if not TYPE_CHECKING:  # no instance dict of its own (Engine's state is in slots);
        __slots__ = ()     # the checker reads the declarations below instead

    if TYPE_CHECKING:  # Engine's fields and running state, as these methods see them
        cache: Optional[CacheRegistry]
        warmup_ms: float
        on_primer_failure: Literal["fail_group", "run_without"]
        on_follower_failure: Literal["fail_group", "skip"]
        groups: dict[str, Group]
        counts: Counts
        quarantined: list[Job]
        _logging: bool
        _lanes: LaneQueue[Job]
        _waiting_to_start: int
        _unfinished: int
        _active_groups: int
        _admission: deque[Group]
        _poke_slot: Waiter
        _idle_waiters: list[Waiter]

        def _emit(self, type_: EventType, **fields: Any) -> None: ...
        def _poke(self) -> None: ...
        def cancel_job(self, job: Job, reason: str = "cancelled") -> None: ...
        def _primer_from_cache(self, job: Job) -> bool: ...
        @staticmethod
        def _stop_timers(group: Group) -> None: ...
        def _dependency_done(self, group: Group, dep: Group) -> None: ...
        def _admit_next(self) -> None: ...

    def _new_job(self, group: Group, kind: str, payload: Any) -> Job:
        job = Job(group, kind, payload, next(_ids))
        group.jobs.append(job)
        group._left += 1
        self._unfinished += 1
        if self._logging:
            self._emit(EventType.JOB_QUEUED, job_id=job.id, group_id=group.id,
                       lane=group.lane, kind=kind)
        return job

    def _enqueue(self, job: Job) -> None:
        """Route a new or retried job: to the lanes, or held until its primer / admission."""
        if job._status is not None:  # ended already (an event sink cancelled it as it came)
            return
        group = job.group
        if group.state in ("failed", "cancelled") and (job.kind == "follower"
                                                      or not group.admitted):
            self._finish(job, "failed" if group.state == "failed" else "cancelled",
                         reason=f"group {group.id} has {group.state}")
        elif not group.admitted:
            if group._backlog is None:
                group._backlog = []
            group._backlog.append(job)
        elif job.kind == "follower" and group.state in ("waiting", "warming"):
            if group._held is None:
                group._held = []
            group._held.append(job)
        elif job.kind == "primer" and group.cache_key is not None and self.cache is not None \
                and self._cached(job):
            pass
        else:
            self._lanes.queue(job, group.lane, group, job.kind == "primer")
            self._waiting_to_start += 1
            if self._poke_slot.task is not None:  # the dispatcher waits for work
                self._poke()

    def _cached(self, job: Job) -> bool:
        """``_primer_from_cache``; a cache provider that raises fails the primer."""
        try:
            return self._primer_from_cache(job)
        except Exception as error:
            self._finish(job, "failed", error=error, reason="the cache provider failed")
            return True

    def _fail_group(self, group: Group, why: str) -> None:
        """A group that will not run: its waiting jobs fail now, later ones at once."""
        group.state = "failed"
        if self._logging:
            self._emit(EventType.GROUP_FAILED, group_id=group.id, lane=group.lane, reason=why)
        self._end_waiting(group, "failed", why)

    def _cancel_waiting(self, group: Group, why: str) -> None:
        """The primer was cancelled: the group is, and so are the jobs waiting for it."""
        group.state = "cancelled"
        self._end_waiting(group, "cancelled", why)

    def _end_waiting(self, group: Group, status: Status, why: str) -> None:
        """End the jobs waiting for admission or for the primer; the group may be done."""
        for queue in (group._backlog, group._held):
            if queue:
                jobs = list(queue)
                queue.clear()
                for job in jobs:
                    self._finish(job, status, reason=why)
        self._check_done(group)

    def _release_held(self, group: Group) -> None:
        held, group._held = group._held, None
        for job in held or ():
            self._enqueue(job)

    def _closed_without_primer(self, group: Group) -> None:
        """No primer will come: followers waiting for one fail with the group; an empty
        group waits for nothing any more (``"ready"``, as one submitted without one). A
        group not admitted yet decides when it is (its jobs wait in its backlog)."""
        if group._held:
            self._fail_group(group, "the group was closed without a primer")
        elif group.admitted:
            group.state = "ready"

    def _primer_settled(self, group: Group, primer: Optional[Job]) -> None:
        """The primer ended (or there is none): release, or fail, the waiting followers."""
        if group.state != "waiting":
            return
        status = primer._status if primer is not None else None
        ok = status == "succeeded"
        if status is None or ok or self.on_primer_failure == "run_without":
            group.state = "ready"
            group.primer_output = primer._output if ok else None  # type: ignore[union-attr]
            if primer is not None:
                if self._logging:
                    self._emit(EventType.GROUP_PRIMER_DONE, group_id=group.id, lane=group.lane,
                               ok=ok)
            if group._held:
                if self._logging:
                    self._emit(EventType.GROUP_FOLLOWERS_READY, group_id=group.id,
                               lane=group.lane, count=len(group._held))
            if self.warmup_ms > 0:
                group.state = "warming"  # followers, even ones added now, wait for it
                group._warmup = fork(self._after_warmup(group)).activate()
            elif group._held:
                self._release_held(group)
            return
        assert primer is not None  # (status is not None)
        if status == "cancelled":  # not a failure: what waited for it is cancelled too
            self._cancel_waiting(group, f"primer {primer.id} cancelled: {primer._reason}")
            return
        why = f"primer {primer.id} {status}: {safe_repr(primer._error)}"
        self._fail_group(group, why)

    def _after_warmup(self, group: Group) -> Generator[Any, Any, None]:
        yield from sleep(self.warmup_ms)
        group._warmup = None
        if group.state == "warming":
            group.state = "ready"
            self._release_held(group)

    def _finish(self, job: Job, status: Status, output: Any = None,
                error: Optional[BaseException] = None, reason: str = "") -> None:
        """The one place a job ends: once, with one result and one terminal event."""
        if job._status is not None:
            return
        group = job.group
        job._status = status  # (its JobResult is made when asked for: Job.result)
        job._output = output
        job._error = error
        job._reason = reason
        counts = self.counts
        if status == "succeeded":
            counts.succeeded += 1
        else:
            setattr(counts, status, getattr(counts, status) + 1)
            if status == "quarantined":
                self.quarantined.append(job)
        if self._logging:
            kind = _ENDED[status]
            extra: dict[str, Any] = {}
            if error is not None:
                extra["error"] = safe_repr(error)
            if reason:
                extra["reason"] = reason
            self._emit(kind, job_id=job.id, group_id=group.id, lane=group.lane,
                       kind=job.kind, attempt=job.attempt, **extra)
        group._left -= 1
        self._unfinished -= 1
        if job.kind == "primer":
            if group.state == "waiting":
                self._primer_settled(group, job)  # its own followers first, then the cache's
            if group._making is not None:
                fp, group._making = group._making, None
                assert self.cache is not None
                try:
                    if status == "succeeded":
                        self.cache.store(group.cache_key, output, group.cache_context)
                    else:
                        self.cache.end(fp)  # those waiting for it try for themselves
                except Exception:  # the provider failed: the job has ended all the same
                    self.cache.end(fp)
                    _log.exception("the cache provider failed after job %s ended", job.id)
        elif status != "succeeded" and status != "cancelled" \
                and self.on_follower_failure == "fail_group" and group.state == "ready":
            group.state = "failed"
            why = f"follower {job.id} {status}: {safe_repr(error)}"
            if self._logging:
                self._emit(EventType.GROUP_FAILED, group_id=group.id, lane=group.lane, reason=why)
            for other in list(group.jobs):
                self.cancel_job(other, why)
        if not group._left:
            self._check_done(group)
        # Wake-ups last: called from outside a drain (asyncio code), a woken task runs at
        # once, and must see the bookkeeping done.
        if job._waiters:
            _wake(job._waiters)
        if job._on_end is not None:
            job._on_end(job.result)  # type: ignore[arg-type]  # (ended: not None)
        if not self._unfinished and self._idle_waiters:
            _wake(self._idle_waiters)

    def _check_done(self, group: Group) -> None:
        if group._done or not group.closed or group._left:
            return
        group._done = True
        if group._timer is not None or group._warmup is not None:
            self._stop_timers(group)
        if self._logging:
            counts = {"succeeded": 0, "failed": 0, "cancelled": 0, "quarantined": 0}
            for j in group.jobs:
                if j._status is not None:
                    counts[j._status] += 1
            self._emit(EventType.GROUP_DONE, group_id=group.id, lane=group.lane, counts=counts)
        if group._waiters:
            _wake(group._waiters)
        if self.groups.get(group.id) is group:
            del self.groups[group.id]  # finished: forgotten (its handle stays valid)
        if group._dependents:
            dependents, group._dependents = group._dependents, None
            for dependent in dependents:
                dependent.engine._dependency_done(dependent, group)  # (its own engine)
        if group.admitted:
            self._active_groups -= 1
            if self._admission:
                self._admit_next()

