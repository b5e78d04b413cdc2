"""When a group's jobs may enter the lanes: the cap on active groups, dependencies
between groups (with their deadline), and the cache's single flight for primers.

``Engine`` inherits ``_Admission``; the rules of how jobs and groups end are in
``jobs.lifecycle`` (``_finish``, ``_check_done``, ``_fail_group``), which these methods call.

Uses: scope, task, jobs.groups. Never: the kernel's internals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generator, Iterable, Optional

from .._fork import DONE, Fork
from ..scope import cancel
from ..task import sleep
from .groups import Group, Job, Status

if TYPE_CHECKING:
    from collections import deque

    from .cache import CacheRegistry


class _Admission:
    """Admission, dependencies and the primer cache; mixed into ``Engine``."""

    if not TYPE_CHECKING:  # no instance dict of its own (Engine's state is in slots);
        __slots__ = ()     # the checker reads the declarations below instead

    if TYPE_CHECKING:  # Engine's fields and bookkeeping, as these methods see them
        groups: dict[str, Group]
        cache: Optional[CacheRegistry]
        max_active_groups: Optional[int]
        _active_groups: int
        _admission: deque[Group]

        def _enqueue(self, job: Job) -> None: ...
        def _finish(self, job: Job, status: Status, output: Any = None,
                    error: Optional[BaseException] = None, reason: str = "") -> None: ...
        def _closed_without_primer(self, group: Group) -> None: ...
        def _fail_group(self, group: Group, why: str) -> None: ...
        def _check_done(self, group: Group) -> None: ...

    def _admit(self, group: Group) -> None:
        group.admitted = True
        self._active_groups += 1
        if group._backlog:
            backlog, group._backlog = group._backlog, None
            for job in sorted(backlog, key=lambda j: j.kind != "primer"):
                self._enqueue(job)
        if group.closed:  # (an open group cannot be done)
            if group.primer is None and group.state == "waiting":
                self._closed_without_primer(group)
            self._check_done(group)

    def _queue_for_admission(self, group: Group) -> None:
        if self.max_active_groups is None or self._active_groups < self.max_active_groups:
            self._admit(group)
        else:
            self._admission.append(group)

    def _dependency_done(self, group: Group, dep: Group) -> None:
        if group.state in ("failed", "cancelled") or group._done:  # (it will not run)
            return
        if group._after_ok and not dep.ok:
            self._fail_group(group, f"group {dep.id} it depends on did not succeed")
            return
        group._deps_left -= 1
        if not group._deps_left:
            _stop(group._timer)  # the deadline (not a warmup: that one still matters)
            group._timer = None
            self._queue_for_admission(group)

    @staticmethod
    def _stop_timers(group: Group) -> None:
        """The group is done: its deadline and warmup go now, not when they would fire."""
        timer, group._timer = group._timer, None
        _stop(timer)
        timer, group._warmup = group._warmup, None
        _stop(timer)

    def _deps_deadline(self, group: Group, ms: float) -> Generator[Any, Any, None]:
        yield from sleep(ms)
        group._timer = None
        if group._deps_left and group.state not in ("failed", "cancelled") and not group._done:
            self._fail_group(group, f"the groups it depends on were not done after {ms:g} ms")

    def _admit_next(self) -> None:
        while self._admission and (self.max_active_groups is None
                                   or self._active_groups < self.max_active_groups):
            group = self._admission.popleft()
            if not group._done:
                self._admit(group)

    def _dependencies(self, group_id: str, after: Iterable[Group | str]) -> list[Group]:
        """The groups named by ``after`` (handles, or ids of open groups)."""
        if isinstance(after, (str, Group)):
            raise TypeError(f"group {group_id!r}: after= takes a list of groups or group ids, "
                            f"got {after!r} (write after=[{after!r}])")
        deps = []
        for dep in after:
            if isinstance(dep, str):
                if dep not in self.groups:
                    raise KeyError(f"group {group_id!r} cannot wait on {dep!r}: no open group has "
                                   "that id (pass the Group handle of a finished one)")
                dep = self.groups[dep]
            elif not isinstance(dep, Group):
                raise TypeError(f"group {group_id!r}: after= takes groups or group ids, "
                                f"got {dep!r}")
            deps.append(dep)
        return deps

    def _primer_from_cache(self, job: Job) -> bool:
        """A cached group's primer: a hit ends it at once (if skipping), a making in
        progress elsewhere holds it (single flight); else it runs and makes the entry."""
        cache = self.cache
        group = job.group
        assert cache is not None
        fp = cache.fingerprint(group.cache_key, group.cache_context)
        if group.skip_primer_on_hit:
            entry = cache.peek(group.cache_key, group.cache_context)
            if entry is not None:
                cache.hits += 1
                self._finish(job, "succeeded", output=entry.value, reason="cache hit")
                return True
            if cache.creating(group.cache_key, group.cache_context):
                cache.when_made(fp, lambda: self._enqueue(job) if job._status is None else None)
                return True
        if not cache.creating(group.cache_key, group.cache_context):
            cache.misses += 1
            cache.begin(fp)
            group._making = fp
        return False


def _stop(timer: Optional[Fork[Any, Any, Any]]) -> None:
    if timer is not None and timer.st < DONE:
        cancel(timer)
