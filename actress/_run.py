"""``actress.run``: the synchronous entry point for scripts that do not start asyncio.

Uses: asyncio, _fork, _kernel (a scheduler per run), task. Never: the kernel's internals.
"""

from __future__ import annotations

import asyncio
from typing import Any

from . import _fork
from ._clock import loop_busy
from ._fork import DONE, Deadlock, Fork, awaits_a_fork, deadlock_report
from ._kernel import Scheduler, set_default_scheduler


def run(task: Any, *, debug: bool = False, detect_deadlock: bool = True) -> Any:
    """Run ``task`` (a generator or a fork) on a new asyncio loop; return its result.

    Its error, if any, is raised. A run that can never go on (tasks blocked on channels
    or asks, nothing else ready, no timer, nothing outside awaited, the loop idle: no
    callbacks, timers, I/O or asyncio tasks of its own, for half a second) raises
    ``Deadlock`` listing who waits on what; pass ``detect_deadlock=False``
    if other threads feed the run with ``loop.call_soon_threadsafe``. Like
    ``asyncio.run``, tasks it leaves behind (detached
    forks still running: queued, sleeping, waiting on a channel, an ask, an awaitable, and
    whoever joins those; a task suspended with nobody holding it is out of reach) are then
    aborted with ``CancelledError`` and their cleanup runs before ``run`` returns. Call it from plain code, not from a running loop (there,
    ``await task.fork(main())``) nor from a task (there, ``yield from``).

    >>> from actress import task
    >>> def main():
    ...     yield from task.sleep(1)
    ...     return "done"
    >>> run(main())
    'done'
    """
    if _fork.running() is not None:
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
        return asyncio.run(_main(sched, task, detect_deadlock), debug=debug)
    finally:
        set_default_scheduler(previous)


async def _main(sched: Scheduler, root: Fork[Any, Any, Any], detect_deadlock: bool) -> Any:
    watchdog = asyncio.ensure_future(_watch_for_deadlock(sched, root)) if detect_deadlock \
        else None
    try:
        return await root
    finally:
        if watchdog is not None:
            watchdog.cancel()
        await _cancel_leftovers(sched)


async def _watch_for_deadlock(sched: Scheduler, root: Fork[Any, Any, Any]) -> None:
    """Throw ``Deadlock`` into the main task if the run can never go on: tasks wait on
    channels, nothing is ready, no timer, nothing outside awaited, and the loop itself is
    idle, at five checks in a row, 100 ms apart."""
    loop = asyncio.get_running_loop()
    idle = 0
    while root.st < DONE:
        await asyncio.sleep(0.1)
        stuck = (root.st < DONE and not sched._ready and not sched._front
                 and not sched.outside and not any(e[2] is not None for e in sched._heap)
                 and not loop_busy(loop, awaits_a_fork))
        idle = idle + 1 if stuck else 0
        if idle >= 5:
            report = deadlock_report(root.name or "actress.run()", sched)
            if "\n" in report:  # someone waits on a channel: that is what we can name
                sched.interrupt(root, Deadlock(report))
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
