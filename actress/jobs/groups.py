"""Jobs and groups: what the engine runs, and the handles its users hold.

A ``Job`` is a payload with its context (group, kind, lane, attempt, what the primer
produced); a ``Group`` is a primer and its followers. Both are handles to wait on
(``yield from job.wait()``, ``yield from group.wait()``). The rules of how they run are
the engine's (``jobs.engine``); a group's methods hand their work to it.

Uses: _fork, _instructions, jobs.lanes, jobs.events. Never: the kernel's internals.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Generator, Hashable, Literal, NamedTuple, Optional

from .._fork import Fork
from .._instructions import Waiter, waiter
from .events import EventType
from .lanes import Queued

if TYPE_CHECKING:
    from .engine import Engine

__all__ = ["Counts", "Group", "Job", "JobResult", "Lane", "Status"]

Status = Literal["succeeded", "failed", "cancelled", "quarantined"]
_ids = itertools.count(1)  # job numbers


@dataclass(frozen=True, slots=True)
class Lane:
    """A lane's share of the workers: ``weight``, and an optional hard cap."""

    weight: float = 1.0
    max_inflight: Optional[int] = None


class JobResult(NamedTuple):
    """How a job ended (exactly once); immutable (a tuple: made in C, once per job)."""

    job_id: str
    group_id: str
    kind: str
    status: Status
    output: Any = None
    error: Optional[BaseException] = None
    attempts: int = 0
    reason: str = ""

    @property
    def ok(self) -> bool:
        """Whether the job succeeded.

        >>> JobResult("g/follower-1", "g", "follower", "succeeded").ok
        True
        >>> JobResult("g/follower-2", "g", "follower", "cancelled").ok  # only "succeeded"
        False
        """
        return self.status == "succeeded"


#: ``JobResult(...)`` without the Python ``__new__`` a NamedTuple has
_result: Callable[[type[JobResult], tuple[Any, ...]], JobResult] = tuple.__new__


class Job(Queued):
    """A payload and its context, as the executor sees it; also the handle to wait on.

    Its ``id`` string and its ``result`` tuple are made when first asked for (most jobs
    of a busy engine are never asked: making them was a tenth of an instant job's cost).
    """

    # (a job waits in the lanes as itself: ``Queued`` adds the lanes' three slots)
    __slots__ = ("group", "kind", "payload", "attempt", "_n", "_id", "_status", "_output",
                 "_error", "_reason", "_result", "_fork", "_waiters", "_retrying",
                 "_on_end", "_running", "_cancel")
    # set by the engine when the job ends, with ``_status``
    _output: Any
    _error: Optional[BaseException]
    _reason: str

    def __init__(self, group: Group, kind: str, payload: Any, n: int) -> None:
        self.group = group
        self._queued = 0  # not in the lanes
        self.kind = kind
        self.payload = payload
        self.attempt = 0
        self._n = n  # its number in the process: the id is "<group id>/<kind>-<n>"
        self._id: Optional[str] = None
        #: how it ended (None until then); ``_output``, ``_error``, ``_reason`` are set with it
        self._status: Optional[Status] = None
        self._result: Optional[JobResult] = None
        self._fork: Optional[Fork[Any, Any, Any]] = None
        self._waiters: Optional[list[Waiter]] = None  # made by the first wait()
        self._retrying: Optional[Fork[Any, Any, Any]] = None
        self._on_end: Optional[Callable[[JobResult], None]] = None  # the asyncio face's
        self._running = False  # an attempt holds a worker
        self._cancel: Optional[str] = None  # cancelled while running: why

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.kind} of {self.group.id}>"

    @property
    def id(self) -> str:
        """The job's id: ``"<group id>/<kind>-<n>"``, unique in the process.

        >>> from actress import testing
        >>> from actress.jobs import Engine
        >>> def main():
        ...     engine = Engine(lambda job: job.payload)
        ...     group = yield from engine.submit_group("g", "p", ["q"])
        ...     yield from engine.close()
        ...     return [job.id for job in group.jobs]
        >>> testing.run(main()).value
        ['g/primer-...', 'g/follower-...']
        """
        job_id = self._id
        if job_id is None:
            job_id = self._id = f"{self.group.id}/{self.kind}-{self._n}"
        return job_id

    @property
    def result(self) -> Optional[JobResult]:
        """How the job ended (None until it has): made once, the same tuple every time.

        >>> from actress import testing
        >>> from actress.jobs import Engine
        >>> def main():
        ...     engine = Engine(lambda job: job.payload.upper())
        ...     job = (yield from engine.submit_group("g", None, ["q"])).followers[0]
        ...     print(job.result)  # not run yet
        ...     yield from engine.close()
        ...     return job.result
        >>> testing.run(main()).value
        None
        JobResult(job_id='g/follower-...', group_id='g', kind='follower', status='succeeded',
                  output='Q', error=None, attempts=1, reason='')
        """
        result = self._result
        if result is None and self._status is not None:
            result = self._result = _result(JobResult, (
                self.id, self.group.id, self.kind, self._status, self._output, self._error,
                self.attempt, self._reason))
        return result

    @property
    def group_id(self) -> str:
        """The id of the job's group.

        >>> from actress import testing
        >>> from actress.jobs import Engine
        >>> def main():
        ...     engine = Engine(lambda job: job.group_id)
        ...     group = yield from engine.submit_group("g", None, ["q"])
        ...     yield from engine.close()
        ...     return group.followers[0].result.output
        >>> testing.run(main()).value
        'g'
        """
        return self.group.id

    @property
    def lane(self) -> str:
        """The lane the job's group belongs to.

        >>> from actress import testing
        >>> from actress.jobs import Engine
        >>> def main():
        ...     engine = Engine(lambda job: job.lane, lanes={"bulk": Lane()})
        ...     group = yield from engine.submit_group("g", None, ["q"], lane="bulk")
        ...     yield from engine.close()
        ...     return group.followers[0].result.output
        >>> testing.run(main()).value
        'bulk'
        """
        return self.group.lane

    @property
    def primer_output(self) -> Any:
        """What the group's primer returned (None before it succeeded, or without one).

        >>> from actress import testing
        >>> from actress.jobs import Engine
        >>> def main():
        ...     engine = Engine(lambda job: job.payload.upper())
        ...     follower = (yield from engine.submit_group("g", "session", ["q"])).followers[0]
        ...     before = follower.primer_output  # the primer has not run yet
        ...     yield from engine.close()
        ...     return before, follower.primer_output
        >>> testing.run(main()).value
        (None, 'SESSION')
        """
        return self.group.primer_output

    @property
    def context(self) -> dict[str, Any]:
        """The group's context, as given when it was opened.

        >>> from actress import testing
        >>> from actress.jobs import Engine
        >>> def main():
        ...     engine = Engine(lambda job: f"{job.payload} for {job.context['user']}")
        ...     group = yield from engine.submit_group("g", None, ["q"], context={"user": "ann"})
        ...     yield from engine.close()
        ...     return group.followers[0].result.output
        >>> testing.run(main()).value
        'q for ann'
        """
        return self.group.context

    @property
    def done(self) -> bool:
        """Whether the job has ended.

        >>> from actress import testing
        >>> from actress.jobs import Engine
        >>> def main():
        ...     engine = Engine(lambda job: job.payload)
        ...     job = (yield from engine.submit_group("g", None, ["q"])).followers[0]
        ...     before = job.done  # queued, not run yet
        ...     yield from engine.close()
        ...     return before, job.done
        >>> testing.run(main()).value
        (False, True)
        """
        return self._status is not None

    def wait(self) -> Generator[Any, Any, JobResult]:
        """Wait until the job has ended; return its ``JobResult`` (never raises it).

        >>> from actress import testing
        >>> from actress.jobs import Engine
        >>> def main():
        ...     engine = Engine(lambda job: 1 / job.payload)
        ...     group = yield from engine.submit_group("g", None, [0])
        ...     result = yield from group.followers[0].wait()  # its error is returned, not raised
        ...     yield from engine.close()
        ...     return result.status, result.error
        >>> testing.run(main()).value
        ('failed', ZeroDivisionError('division by zero'))
        """
        if self._status is None:
            w = waiter()
            if self._waiters is None:
                self._waiters = []
            self._waiters.append(w)
            try:
                while self._status is None:
                    yield w
            finally:
                w.task = None
        return self.result  # type: ignore[return-value]  # (ended: not None)


class Group:
    """A primer and its followers; add followers over time while it is open."""

    __slots__ = ("id", "lane", "_context", "engine", "primer", "jobs", "state", "closed",
                 "primer_output", "admitted", "_held", "_backlog", "_left", "_waiters",
                 "_done", "_deps_left", "_after_ok", "_dependents", "cache_key",
                 "_cache_context", "skip_primer_on_hit", "_making", "_timer", "_warmup")

    def __init__(self, engine: Engine, group_id: str, lane: str,
                 context: Optional[dict[str, Any]] = None, cache_key: Optional[Hashable] = None,
                 cache_context: Optional[dict[str, Any]] = None,
                 skip_primer_on_hit: bool = False) -> None:
        self.id = group_id
        self.lane = lane
        self._context = context  # (None: {} made when first asked for, like cache_context)
        self.engine = engine
        self.primer: Optional[Job] = None
        self.jobs: list[Job] = []
        #: "waiting" (for a primer), "warming" (after it, ``warmup_ms``), "ready"
        #: (followers may run), "failed", "cancelled"
        self.state = "waiting"
        self.closed = False
        self.primer_output: Any = None
        self.admitted = False
        # The lists below are made when first needed (None until then): most groups never
        # hold a follower, wait in a backlog, or have waiters or dependents, and every
        # container a group carries is one more object for the garbage collector to walk.
        self._held: Optional[list[Job]] = None  # followers waiting for the primer
        self._backlog: Optional[list[Job]] = None  # jobs of a group not admitted yet
        self._left = 0  # jobs not ended
        self._waiters: Optional[list[Waiter]] = None
        self._done = False
        self._deps_left = 0  # groups it waits for (``after``)
        self._after_ok = False  # ...and needs them to have succeeded
        self._dependents: Optional[list[Group]] = None
        self.cache_key = cache_key
        self._cache_context = cache_context
        self.skip_primer_on_hit = skip_primer_on_hit
        self._making: Optional[Hashable] = None  # the cache fingerprint its primer makes
        self._timer: Optional[Fork[Any, Any, Any]] = None  # its dependency deadline task
        self._warmup: Optional[Fork[Any, Any, Any]] = None  # its warmup task

    def __repr__(self) -> str:
        return f"<Group {self.id} {self.state} jobs={len(self.jobs)} left={self._left}>"

    @property
    def context(self) -> dict[str, Any]:
        """The context the group was opened with (a copy; {} without one).

        >>> from actress import testing
        >>> from actress.jobs import Engine
        >>> def main():
        ...     engine, given = Engine(lambda job: job.payload), {"user": "ann"}
        ...     group = yield from engine.open_group("g", context=given)
        ...     given["user"] = "bob"  # the group took a copy: it keeps "ann"
        ...     yield from engine.close()
        ...     return group.context
        >>> testing.run(main()).value
        {'user': 'ann'}
        """
        context = self._context
        if context is None:
            context = self._context = {}
        return context

    @property
    def cache_context(self) -> dict[str, Any]:
        """The context its cache key was given with (a copy; {} without one).

        >>> from actress import testing
        >>> from actress.jobs import Engine
        >>> def main():
        ...     engine = Engine(lambda job: job.payload)
        ...     plain = yield from engine.open_group("plain")
        ...     cached = yield from engine.open_group("cached", cache_key="docs",
        ...                                           cache_context={"model": "m1"})
        ...     yield from engine.close()
        ...     return plain.cache_context, cached.cache_context
        >>> testing.run(main()).value
        ({}, {'model': 'm1'})
        """
        context = self._cache_context
        if context is None:
            context = self._cache_context = {}
        return context

    @property
    def done(self) -> bool:
        """Whether the group is closed and every job has ended.

        >>> from actress import testing
        >>> from actress.jobs import Engine
        >>> def main():
        ...     engine = Engine(lambda job: job.payload)
        ...     group = yield from engine.submit_group("g", "p", ["q"])  # submitted: closed
        ...     before = group.done  # its jobs have not run yet
        ...     yield from engine.close()
        ...     return before, group.done
        >>> testing.run(main()).value
        (False, True)
        """
        return self._done

    @property
    def ok(self) -> bool:
        """Whether the group is done and every job succeeded.

        >>> from actress import testing
        >>> from actress.jobs import Engine
        >>> def main():
        ...     engine = Engine(lambda job: 1 / job.payload)
        ...     good = yield from engine.submit_group("good", None, [1, 2])
        ...     bad = yield from engine.submit_group("bad", None, [1, 0])
        ...     yield from engine.close()
        ...     return good.ok, bad.ok
        >>> testing.run(main()).value
        (True, False)
        """
        return self._done and all(j._status == "succeeded" for j in self.jobs)

    @property
    def followers(self) -> list[Job]:
        """The followers, in the order they were added.

        >>> from actress import testing
        >>> from actress.jobs import Engine
        >>> def main():
        ...     engine = Engine(lambda job: job.payload)
        ...     group = yield from engine.submit_group("g", "p", ["q1", "q2"])
        ...     yield from engine.close()
        ...     return [job.payload for job in group.followers], len(group.jobs)
        >>> testing.run(main()).value  # the primer is a job, not a follower
        (['q1', 'q2'], 3)
        """
        return [j for j in self.jobs if j.kind == "follower"]

    def add_primer(self, payload: Any) -> Generator[Any, Any, Job]:
        """Add the group's primer (once). It does not wait for intake room: it is what
        lets the followers waiting for it go.

        >>> from actress import testing
        >>> from actress.jobs import Engine
        >>> def main():
        ...     engine = Engine(lambda job: job.payload.upper())
        ...     group = yield from engine.open_group("g")
        ...     primer = yield from group.add_primer("session")
        ...     print((yield from primer.wait()).output)
        ...     yield from group.add_primer("another")  # a group has one primer at most
        >>> testing.run(main()).error
        SESSION
        ValueError('<Group g ready jobs=1 left=0> already has a primer, or runs without one')
        """
        return self._add_primer(payload)
        yield  # pragma: no cover - a generator, like add_follower, though it never waits

    def _add_primer(self, payload: Any) -> Job:
        if self.primer is not None or self.state in ("ready", "warming"):
            raise ValueError(f"{self!r} already has a primer, or runs without one")
        if self.closed:
            raise RuntimeError(f"{self!r} is closed")
        job = self.engine._new_job(self, "primer", payload)
        self.primer = job
        self.engine._enqueue(job)
        return job

    def add_follower(self, payload: Any) -> Generator[Any, Any, Job]:
        """Add a follower; it runs once the primer succeeded. Waits while the intake is full.

        >>> from actress import testing
        >>> from actress.jobs import Engine
        >>> def main():
        ...     engine = Engine(lambda job: f"{job.payload} with {job.primer_output}")
        ...     group = yield from engine.open_group("g")
        ...     follower = yield from group.add_follower("q")  # no primer yet: it waits
        ...     yield from group.add_primer("session")
        ...     group.close()
        ...     yield from engine.close()
        ...     return follower.result.output
        >>> testing.run(main()).value
        'q with session with None'
        """
        if self.closed:
            raise RuntimeError(f"{self!r} is closed")
        if self.engine.intake is not None:
            yield from self.engine._room(1)
        if self.closed:  # closed while we waited for room
            raise RuntimeError(f"{self!r} was closed while the follower waited for room")
        job = self.engine._new_job(self, "follower", payload)
        self.engine._enqueue(job)
        return job

    def close(self) -> None:
        """No more jobs; the group is done once every job has ended.

        >>> from actress import testing
        >>> from actress.jobs import Engine
        >>> def main():
        ...     engine = Engine(lambda job: job.payload)
        ...     group = yield from engine.open_group("g")
        ...     follower = yield from group.add_follower("q")
        ...     group.close()                      # no primer came: the follower fails
        ...     yield from engine.close()
        ...     return follower.result.status, follower.result.reason
        >>> testing.run(main()).value
        ('failed', 'the group was closed without a primer')
        """
        if self.closed:
            return
        self.closed = True
        if self.engine._logging:
            self.engine._emit(EventType.GROUP_CLOSED, group_id=self.id, lane=self.lane)
        if self.primer is None and self.state == "waiting":
            self.engine._closed_without_primer(self)
        if not self._left:  # (else its last job's end makes it done)
            self.engine._check_done(self)

    def wait(self) -> Generator[Any, Any, list[JobResult]]:
        """Wait until the group is closed and every job has ended; return the results.

        >>> from actress import testing
        >>> from actress.jobs import Engine
        >>> def main():
        ...     engine = Engine(lambda job: 1 / job.payload)
        ...     group = yield from engine.submit_group("g", None, [2, 0])  # submitted: closed
        ...     results = yield from group.wait()  # a failed job is a result, not an error
        ...     yield from engine.close()
        ...     return [(r.status, r.output) for r in results]
        >>> testing.run(main()).value
        [('succeeded', 0.5), ('failed', None)]
        """
        if not self._done:
            w = waiter()
            if self._waiters is None:
                self._waiters = []
            self._waiters.append(w)
            try:
                while not self._done:
                    yield w
            finally:
                w.task = None
        return [j.result for j in self.jobs if j.result is not None]


def _wake(waiters: list[Waiter]) -> None:
    woken = waiters[:]
    waiters.clear()  # (one woken may wait again at once, from outside a drain)
    for w in woken:
        f = w.task
        if f is not None:
            f.sched.resume(f)


@dataclass
class Counts:
    """How many jobs ended in each terminal state (``engine.counts``)."""

    succeeded: int = 0
    failed: int = 0
    cancelled: int = 0
    quarantined: int = 0
