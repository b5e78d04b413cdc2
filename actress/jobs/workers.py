"""The running side of the job engine: the dispatcher task, one task per attempt,
retries that back off without a worker, and the thread-pool executor.

``Engine`` inherits ``_Workers``; the rules of how jobs and groups end are in
``jobs.lifecycle`` (``_finish``), which these methods call.

Uses: task, scope, jobs.groups, jobs.lanes, jobs.retry, jobs.events. Never: the kernel's
internals.
"""

from __future__ import annotations

import logging
from types import CoroutineType, GeneratorType
from typing import TYPE_CHECKING, Any, Callable, Generator, Optional

from .._instructions import Waiter
from ..scope import Cancelled, timeout
from ..task import fork, sleep, wait
from .events import EventType, safe_repr
from .groups import Job, Status, _wake
from .retry import RetryPolicy

if TYPE_CHECKING:
    from collections import deque

    from .._fork import Fork
    from .events import EventLog
    from .groups import Counts, Group
    from .lanes import LaneQueue

__all__ = ["ThreadExecutor"]

_log = logging.getLogger("actress.jobs")


def _is_cancel(error: BaseException) -> bool:
    return isinstance(error, (Cancelled, GeneratorExit)) or type(error).__name__ == "CancelledError"


class _Workers:
    """The dispatcher and the attempts; mixed into ``Engine``, whose state it uses."""

    # The engine's running state (set by ``Engine.__post_init__``) lives in these slots:
    # it is read on every job, and an engine has more attributes than CPython's shared
    # instance dicts hold. ``__dict__`` keeps attributes of the user's own possible.
    __slots__ = ("log", "_logging", "_lanes", "groups", "counts", "quarantined", "_free",
                 "_waiting_to_start", "_unfinished", "_active_groups", "_admission",
                 "_dispatcher", "_poke_slot", "_room_waiters", "_idle_waiters", "_closing",
                 "_drop", "_closed", "_rngs", "_awaited", "_job_forks", "__dict__",
                 "__weakref__")

    if TYPE_CHECKING:  # Engine's fields, its running state, as these methods see them
        executor: Callable[[Job], Any]
        primer_reserve: int
        primer_retry: RetryPolicy
        follower_retry: RetryPolicy
        log: EventLog
        _logging: bool
        _lanes: LaneQueue[Job]
        groups: dict[str, Group]
        counts: Counts
        #: Jobs that ended with a ``Permanent`` error, or one their policy's ``give_up_on``
        #: names (running out of attempts ends a job ``failed``, not quarantined).
        quarantined: list[Job]
        _free: int
        _waiting_to_start: int  # jobs in the lanes, ready to start (what intake bounds)
        _unfinished: int
        _active_groups: int
        _admission: deque[Group]
        _dispatcher: Optional[Fork[Any, Any, Any]]
        _poke_slot: Waiter
        _room_waiters: list[Waiter]
        _idle_waiters: list[Waiter]
        _closing: bool
        _drop: bool
        _closed: bool
        _rngs: dict[int, Any]
        #: ids of the awaitables the attempts running now wait on (what executors returned)
        _awaited: set[int]
        #: the tasks running attempts now, and their jobs (a job's own submissions: _room)
        _job_forks: dict[Fork[Any, Any, Any], Job]

        def _emit(self, type_: EventType, **fields: Any) -> None: ...
        def _not_waiting(self) -> None: ...
        def _finish(self, job: Job, status: Status, output: Any = None,
                    error: Optional[BaseException] = None, reason: str = "") -> None: ...

    def _poke(self) -> None:
        f = self._poke_slot.task
        if f is not None:
            self._poke_slot.task = None
            f.sched.resume(f)

    def _dispatch(self) -> Generator[Any, Any, None]:
        lanes = self._lanes
        executor = self.executor
        while not self._closed:
            reserve = self.primer_reserve
            while self._free:
                job = lanes.pop(self._free <= reserve)
                if job is None:
                    break
                self._free -= 1
                self._waiting_to_start -= 1
                if self._room_waiters:
                    _wake(self._room_waiters)
                job.attempt += 1
                job._running = True
                group = job.group
                if self._logging:
                    self._emit(EventType.JOB_STARTED, job_id=job.id, group_id=group.id,
                               lane=group.lane, kind=job.kind, attempt=job.attempt)
                try:
                    out = executor(job)
                except Exception as error:
                    self._release(job)
                    self._attempt_failed(job, error)
                    continue
                except BaseException as error:  # CancelledError, KeyboardInterrupt...
                    self._release(job)
                    self._finish(job, "cancelled" if _is_cancel(error) else "failed",
                                 error=error)
                    if isinstance(error, (KeyboardInterrupt, SystemExit)):
                        raise
                    continue
                work: Generator[Any, Any, Any]
                future: Any = None
                if type(out) is GeneratorType:
                    work = out
                elif type(out) is CoroutineType or hasattr(out, "__await__"):
                    future = out
                    self._awaited.add(id(out))  # (how AsyncEngine.close knows its own jobs; an id:
                    # an awaitable need not be hashable, and this one lives until _release)
                    work = wait(out)
                else:  # a plain value: done already, no task needed (nor a fork to forget)
                    job._running = False
                    lanes.done(group.lane)  # (_free_slot, without the poke: this is the
                    self._free += 1         # dispatcher, and it is running)
                    if job._cancel is not None:
                        self._finish(job, "cancelled", reason=job._cancel)
                    else:
                        self._finish(job, "succeeded", out)
                    continue
                if job._cancel is not None:  # cancelled by the executor call itself
                    work.close()
                    self._release(job, future)
                    self._finish(job, "cancelled", reason=job._cancel)
                    continue
                runner = self._run(job, work, future)
                next(runner)  # into its ``try``: see _run
                job._fork = yield from fork(runner, name=job.id)
                self._job_forks[job._fork] = job
            yield self._poke_slot

    def _release(self, job: Job, future: Any = None) -> None:
        """The attempt is over: free its worker and lane slot. Work the engine cannot stop
        (a thread's future) keeps its slot until it really ends."""
        job._running = False
        if job._fork is not None:
            self._job_forks.pop(job._fork, None)
        job._fork = None
        if future is not None:
            self._awaited.discard(id(future))
        if future is not None and hasattr(future, "done") and not future.done() \
                and hasattr(future, "add_done_callback"):
            lane = job.group.lane
            future.add_done_callback(lambda ended: self._free_abandoned(ended, lane))
            return
        self._free_slot(job.group.lane)

    def _free_abandoned(self, future: Any, lane: str) -> None:
        """Work the job no longer waits for (cancelled, timed out) has really ended: its
        slot is free. What it raised is read, and dropped: its job ended already."""
        try:
            if not future.cancelled():
                future.exception()  # (else asyncio logs "exception was never retrieved")
        except Exception:  # pragma: no cover - a future-like object without these
            pass
        self._free_slot(lane)

    def _free_slot(self, lane: str) -> None:
        self._lanes.done(lane)
        self._free += 1
        if self._poke_slot.task is not None:  # the dispatcher waits for a worker
            self._poke()

    def _run(self, job: Job, work: Generator[Any, Any, Any], future: Any) -> Generator[Any, Any, None]:
        """Run one attempt's work as a task (a generator, or an awaitable being waited)."""
        try:
            yield  # primed by the dispatcher: a cancel before the first step lands here
        except BaseException as error:
            work.close()
            self._release(job, future)
            self._finish(job, "cancelled", reason=job._cancel or str(error))
            if isinstance(error, Cancelled):
                return
            raise
        policy = self.primer_retry if job.kind == "primer" else self.follower_retry
        try:
            try:
                out = yield from (timeout(policy.timeout_ms, work)
                                  if policy.timeout_ms is not None else work)
            finally:
                self._release(job, future)
        except Cancelled as stop:
            self._finish(job, "cancelled", reason=job._cancel or str(stop))
            return
        except Exception as error:
            self._attempt_failed(job, error)
            return
        except BaseException as error:  # KeyboardInterrupt, a close: it still ends once
            self._finish(job, "cancelled" if _is_cancel(error) else "failed", error=error)
            raise
        if job._cancel is not None:
            self._finish(job, "cancelled", reason=job._cancel)
        else:
            self._finish(job, "succeeded", output=out)

    def _attempt_failed(self, job: Job, error: Exception) -> None:
        """Retry later (the worker is free meanwhile), or end the job by its verdict."""
        if job._cancel is not None:  # its cleanup raised: it was cancelled all the same
            self._finish(job, "cancelled", error=error, reason=job._cancel)
            return
        policy = self.primer_retry if job.kind == "primer" else self.follower_retry
        verdict = policy.classify(error)
        if verdict == "retry" and job.attempt < policy.attempts and not self._drop:
            delay = policy.delay_ms(job.attempt, self._rng(policy))
            if self._logging:
                group = job.group
                if self._logging:
                    self._emit(EventType.JOB_RETRYING, job_id=job.id, group_id=group.id,
                               lane=group.lane, kind=job.kind, attempt=job.attempt,
                               error=safe_repr(error), delay_ms=delay)
            job._retrying = fork(self._retry_later(job, delay), name=f"retry {job.id}")
            job._retrying.activate()
            return
        status: Status = "quarantined" if verdict == "permanent" else "failed"
        self._finish(job, status, error=error,
                     reason="invalid input" if verdict == "invalid" else "")

    def _retry_later(self, job: Job, delay: float) -> Generator[Any, Any, None]:
        """Back off without a worker, then queue the job again."""
        yield from sleep(delay)
        job._retrying = None
        if job._status is None:
            if job._cancel is not None:
                self._finish(job, "cancelled", reason=job._cancel)
                return
            group = job.group
            self._lanes.queue(job, group.lane, group, job.kind == "primer")
            self._waiting_to_start += 1
            self._poke()

    def _rng(self, policy: RetryPolicy) -> Any:
        key = id(policy)
        rng = self._rngs.get(key)
        if rng is None:
            rng = self._rngs[key] = policy.rng()
        return rng


class ThreadExecutor:
    """Run a blocking ``fn(job)`` in a thread pool; the job waits on the loop meanwhile.

    The executor protocol is just ``executor(job) -> generator | awaitable | value``; a
    remote backend (Dask, Ray) plugs in by returning an awaitable.
    """

    def __init__(self, fn: Callable[[Job], Any], max_workers: Optional[int] = None) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._fn = fn
        self._pool = ThreadPoolExecutor(max_workers, thread_name_prefix="actress-job")

    def __call__(self, job: Job) -> Any:
        import asyncio

        job.group.context  # made here if it is not yet (on first use): threads then only read it
        return asyncio.get_running_loop().run_in_executor(self._pool, self._fn, job)

    def shutdown(self) -> None:
        """Stop the threads (after the jobs running in them).

        It blocks until they have ended; call it once the engines using it have closed.

        >>> import actress, threading
        >>> from actress.jobs import Engine
        >>> pool = ThreadExecutor(lambda job: threading.current_thread(), max_workers=2)
        >>> def main():
        ...     engine = Engine(pool, workers=2)
        ...     group = yield from engine.submit_group("g", None, [1, 2, 3])
        ...     yield from engine.close()
        ...     return [r.output for r in (yield from group.wait())]
        >>> threads = actress.run(main())
        >>> pool.shutdown(); any(t.is_alive() for t in threads)
        False
        """
        self._pool.shutdown(wait=True)
