"""``actress.run``: the synchronous entry point for scripts that do not start asyncio.

Uses: asyncio, _fork, task. Never: the kernel's internals.
"""

from __future__ import annotations

import asyncio
from typing import Any

from . import _fork
from ._fork import Fork


def run(task: Any, *, debug: bool = False) -> Any:
    """Run ``task`` (a generator or a fork) on a new asyncio loop; return its result.

    Its error, if any, is raised. Call it from plain code, not from a running loop
    (there, ``await task.fork(main())``).

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
    if not isinstance(task, Fork):
        from .task import fork

        task = fork(task)

    async def _main() -> Any:
        return await task

    return asyncio.run(_main(), debug=debug)
