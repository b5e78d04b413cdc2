"""``actress.run``: the synchronous entry point for scripts that do not start asyncio.

Uses: asyncio, _fork, _kernel (a scheduler per run), task. Never: the kernel's internals.
"""

from __future__ import annotations

import asyncio
from typing import Any

from . import _fork
from ._clock import loop_busy
from ._fork import DONE, Deadlock, Fork, deadlock_report
from ._kernel import Scheduler, set_default_scheduler


def run(task: Any, *, debug: bool = False) -> Any:
    """Run ``task`` (a generator or a fork) on a new asyncio loop; return its result.

    Its error, if any, is raised; a run that can never go on (every task blocked, no
    timer, nothing outside awaited) raises ``Deadlock`` listing who waits on what. Like
    ``asyncio.run``, tasks it leaves behind (detached
    forks still running) are then aborted with ``CancelledError`` and their cleanup runs
    before ``run`` returns. Call it from plain code, not from a running loop (there,
    ``await task.fork(main())``) nor from a task (there, ``yield from``).

    >>> from actress import task
    >>> def main():
    ...     yield from task.sleep(1)
    ...     return "done"
    >>> run(main())
    'done'
    """
    if _fork.active is not None:
        raise RuntimeError(
            "actress.run() cannot be called from inside a task; use `yield from` there")
    if asyncio._get_running_loop() is not None:
        raise RuntimeError(
            "actress.run() cannot be called from a running event loop; "
            "use `await task.fork(main())` there")
    sched = Scheduler()
    previous = set_default_scheduler(sched)
    try:
        if not isinstance(task, Fork):
            from .task import fork

            task = fork(task)
        return asyncio.run(_main(sched, task), debug=debug)
    finally:
        set_default_scheduler(previous)


async def _main(sched: Scheduler, root: Fork[Any, Any, Any]) -> Any:
    watchdog = asyncio.ensure_future(_watch_for_deadlock(sched, root))
    try:
        return await root
    finally:
        watchdog.cancel()
        await _cancel_leftovers(sched)


async def _watch_for_deadlock(sched: Scheduler, root: Fork[Any, Any, Any]) -> None:
    """Throw ``Deadlock`` into the main task if the run can never go on: nothing ready,
    no timer, nothing outside awaited, and the loop itself idle (checked every 100 ms)."""
    loop = asyncio.get_running_loop()
    while root.st < DONE:
        await asyncio.sleep(0.1)
        if (root.st < DONE and not sched._ready and not sched._front and sched.outside == 0
                and not any(e[2] is not None for e in sched._heap) and not loop_busy(loop)):
            sched.interrupt(root, Deadlock(deadlock_report(root.name or "actress.run()", sched)))
            return



async def _cancel_leftovers(sched: Scheduler) -> None:
    """Abort what the run left behind; wait for every cleanup (cleanup may start more)."""
    while True:
        leftovers = sched.pending()
        if not leftovers:
            return
        for fork in leftovers:
            sched.interrupt(fork, asyncio.CancelledError())
        await asyncio.gather(*leftovers, return_exceptions=True)
