"""The asyncio face of the job engine, shaped like acty's so its users move with small changes.

``AsyncEngine`` wraps ``Engine``: every call runs the engine's generator face as a
top-level fork on the running loop, and every job gets an ``asyncio.Future`` that resolves
to its ``JobResult`` (it never raises: look at ``result.ok``), as acty's futures do.

acty -> actress:
``ActyEngine(executor=..., config=EngineConfig(...))`` -> ``AsyncEngine(executor, workers=...,
lanes={"a": Lane(2)}, ...)``; ``await engine.submit_group(gid, primer, followers,
group_context={"lane": "a"})`` -> ``await engine.submit_group(gid, primer, followers,
lane="a")``; ``async with engine.open_group(gid) as g: await g.submit_primer(p); await
g.add_follower(f)`` -> the same; ``await engine.close()`` -> the same (drains; ``mode="drop"``
cancels what has not started). An executor is ``executor(job)`` returning a value, an
awaitable or a generator, rather than an object with ``async execute(job, pool=...)``.

Uses: asyncio, task, jobs.engine. Never: the kernel's internals.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Iterable, Literal, Optional

from ..task import fork
from .engine import Engine, Group, Job, JobResult

__all__ = ["AsyncEngine", "AsyncGroup", "GroupFutures"]


def _future_of(job: Job) -> asyncio.Future[JobResult]:
    fut: asyncio.Future[JobResult] = asyncio.get_running_loop().create_future()
    if job.result is not None:
        fut.set_result(job.result)
    else:
        def settle(result: JobResult) -> None:
            if not fut.done():
                fut.set_result(result)
        job._on_end = settle
    return fut


@dataclass
class GroupFutures:
    """The futures of a submitted group: its primer's (None without one) and followers'."""

    group: Group
    primer: Optional[asyncio.Future[JobResult]]
    followers: list[asyncio.Future[JobResult]]

    async def wait(self) -> list[JobResult]:
        """Every result of the group, primer first.

        >>> import asyncio
        >>> async def main():
        ...     engine = AsyncEngine(lambda job: 10 // job.payload)
        ...     futures = await engine.submit_group("g", 5, [2, 0])
        ...     results = await futures.wait()   # a failed job is a result, not an error
        ...     await engine.close()
        ...     return [(r.kind, r.status, r.output) for r in results]
        >>> asyncio.run(main())
        [('primer', 'succeeded', 2), ('follower', 'succeeded', 5), ('follower', 'failed', None)]
        """
        futures = ([self.primer] if self.primer is not None else []) + self.followers
        # shielded: cancelling this wait cancels the wait only, never the jobs' futures
        return list(await asyncio.gather(*(asyncio.shield(f) for f in futures)))


class AsyncGroup:
    """An open group, used as ``async with engine.open_group(gid) as group``."""

    def __init__(self, engine: AsyncEngine, group_id: str, lane: str,
                 context: Optional[dict[str, Any]]) -> None:
        self._engine = engine
        self._args = (group_id, lane, context)
        self.group: Optional[Group] = None
        self._first = True

    async def __aenter__(self) -> AsyncGroup:
        group_id, lane, context = self._args
        self.group = await fork(self._engine.engine.open_group(group_id, lane=lane,
                                                                context=context))
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    async def submit_primer(self, payload: Any) -> asyncio.Future[JobResult]:
        """Add the primer; its future.

        >>> import asyncio
        >>> async def main():
        ...     engine = AsyncEngine(lambda job: job.payload.upper())
        ...     async with engine.open_group("g") as group:
        ...         future = await group.submit_primer("session")
        ...     result = await future
        ...     await engine.close()
        ...     return result.kind, result.output
        >>> asyncio.run(main())
        ('primer', 'SESSION')
        """
        group = self._opened("submit_primer")
        self._first = False
        return _future_of(await fork(group.add_primer(payload)))

    async def add_follower(self, payload: Any) -> asyncio.Future[JobResult]:
        """Add a follower (it waits for the primer); its future. Waits while the intake
        is full.

        >>> import asyncio
        >>> async def main():
        ...     engine = AsyncEngine(lambda job: f"{job.payload} with {job.primer_output}")
        ...     async with engine.open_group("g") as group:
        ...         await group.submit_primer("session")
        ...         future = await group.add_follower("q")
        ...     result = await future
        ...     await engine.close()
        ...     return result.kind, result.output
        >>> asyncio.run(main())
        ('follower', 'q with session with None')
        """
        group = self._opened("add_follower")
        self._first = False
        return _future_of(await fork(group.add_follower(payload)))

    def _opened(self, what: str) -> Group:
        if self.group is None:
            raise RuntimeError(f"{what}() on a group that is not open: use "
                               "`async with engine.open_group(...) as group:`")
        return self.group

    async def submit(self, payload: Any) -> asyncio.Future[JobResult]:
        """The first payload submitted becomes the primer, the others followers.

        >>> import asyncio
        >>> async def main():
        ...     engine = AsyncEngine(lambda job: (job.kind, job.payload))
        ...     async with engine.open_group("g") as group:
        ...         futures = [await group.submit(p) for p in ["session", "q1", "q2"]]
        ...     await engine.close()
        ...     return [(await f).output for f in futures]
        >>> asyncio.run(main())
        [('primer', 'session'), ('follower', 'q1'), ('follower', 'q2')]
        """
        if self._first and self.group is not None and self.group.primer is None:
            return await self.submit_primer(payload)
        return await self.add_follower(payload)

    def close(self) -> None:
        """No more jobs for this group (the end of the ``async with`` block calls it).

        >>> import asyncio
        >>> async def main():
        ...     engine = AsyncEngine(lambda job: job.payload)
        ...     async with engine.open_group("g") as group:
        ...         future = await group.add_follower("q")
        ...         group.close()             # closed before the block ends; no primer came
        ...         result = await future     # so the follower has failed already
        ...     await engine.close()
        ...     return result.status, result.reason
        >>> asyncio.run(main())
        ('failed', 'the group was closed without a primer')
        """
        if self.group is not None:
            self.group.close()


class AsyncEngine:
    """``Engine`` for asyncio code; see the module docstring for the mapping from acty.

    >>> import asyncio
    >>> async def main():
    ...     engine = AsyncEngine(lambda job: f"did {job.payload}", workers=2)
    ...     futures = await engine.submit_group("g", "prime", ["a", "b"])
    ...     results = await futures.wait()
    ...     await engine.close()
    ...     return [r.output for r in results]
    >>> asyncio.run(main())
    ['did prime', 'did a', 'did b']
    """

    def __init__(self, executor: Any, **options: Any) -> None:
        self.engine = Engine(executor, **options)

    async def submit_group(self, group_id: str, primer: Any, followers: Iterable[Any] = (), *,
                           lane: str = "default", context: Optional[dict[str, Any]] = None,
                           ) -> GroupFutures:
        """Submit a closed group; its futures (each resolves to a ``JobResult``).

        >>> import asyncio
        >>> async def main():
        ...     engine = AsyncEngine(lambda job: 1 / job.payload)
        ...     futures = await engine.submit_group("g", None, [2, 0])  # None: no primer
        ...     results = [await f for f in futures.followers]  # each resolves, never raises
        ...     await engine.close()
        ...     return futures.primer, [(r.status, r.output) for r in results]
        >>> asyncio.run(main())
        (None, [('succeeded', 0.5), ('failed', None)])
        """
        group = await fork(self.engine.submit_group(group_id, primer, list(followers),
                                                    lane=lane, context=context))
        primer_future = _future_of(group.primer) if group.primer is not None else None
        return GroupFutures(group, primer_future, [_future_of(j) for j in group.followers])

    def open_group(self, group_id: str, *, lane: str = "default",
                   context: Optional[dict[str, Any]] = None) -> AsyncGroup:
        """An open group, for ``async with``; closed when the block ends.

        >>> import asyncio
        >>> async def main():
        ...     engine = AsyncEngine(lambda job: f"{job.payload} with {job.primer_output}")
        ...     async with engine.open_group("g") as group:
        ...         follower = await group.add_follower("q")  # no primer yet: it waits
        ...         await group.submit_primer("session")
        ...     result = await follower                       # the block closed the group
        ...     await engine.close()
        ...     return result.output
        >>> asyncio.run(main())
        'q with session with None'
        """
        return AsyncGroup(self, group_id, lane, context)

    def cancel_group(self, group: str | Group) -> None:
        """Cancel every unfinished job of a group (by handle, or the id of an open group;
        a finished group is left as it is).

        >>> import asyncio
        >>> async def main():
        ...     engine = AsyncEngine(lambda job: job.payload)
        ...     async with engine.open_group("g") as group:
        ...         future = await group.add_follower("q")  # waits for a primer
        ...         engine.cancel_group("g")                # by id, while it is open
        ...     result = await future
        ...     engine.cancel_group("g")                    # finished: nothing to do
        ...     await engine.close()
        ...     return result.status, result.attempts
        >>> asyncio.run(main())
        ('cancelled', 0)
        """
        if isinstance(group, str):
            found = self.engine.groups.get(group)
            if found is None:
                return
            group = found
        self.engine.cancel_group(group)

    async def close(self, mode: Literal["drain", "drop"] = "drain") -> None:
        """Close: ``drain`` waits for everything submitted, ``drop`` cancels what has not
        started; returns once every job has ended.

        >>> import asyncio
        >>> from actress import task
        >>> def slow(job):
        ...     yield from task.sleep(10)
        ...     return job.payload
        >>> async def main(mode):
        ...     engine = AsyncEngine(slow, workers=1)
        ...     futures = await engine.submit_group("g", None, ["a", "b"])  # a runs, b waits
        ...     await engine.close(mode)
        ...     return [r.status for r in await futures.wait()]
        >>> asyncio.run(main("drain")), asyncio.run(main("drop"))
        (['succeeded', 'succeeded'], ['succeeded', 'cancelled'])
        """
        me = asyncio.current_task()
        if me is not None and id(me.get_coro()) in self.engine._awaited:
            raise RuntimeError("close() called from a job of this engine: it would wait for "
                               "itself to end")
        await fork(self.engine.close(mode))
