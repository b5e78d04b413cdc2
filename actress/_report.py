"""Reports of failures nobody retrieved: a failed fork that nobody joined, awaited or
read is reported once it is garbage collected (or at exit, if the program still holds
it), through its event loop's exception handler, else logging; like asyncio's "exception
was never retrieved".

Uses: nothing of actress. Never: the kernel (reports are written at safe points only).
"""

from __future__ import annotations

import atexit
import logging
import weakref
from collections import deque
from typing import Any

_log = logging.getLogger("actress")


class Reporter:
    """Reports a failure nobody retrieved, once its fork is garbage collected."""

    __slots__ = ("error", "fork", "loop", "armed", "__weakref__")

    def __init__(self, error: BaseException, fork: str, loop: Any) -> None:
        self.error = error
        self.fork = fork
        self.loop = loop
        self.armed = True
        _unreported.add(self)

    def __del__(self) -> None:
        # Garbage collection may run anywhere (even inside the compiler): only queue the
        # report here; it is written at a safe point by flush_reports().
        if self.armed:
            self.armed = False
            _reports.append((self.error, self.fork, self.loop))
            loop = self.loop
            if loop is not None and not loop.is_closed():
                try:
                    loop.call_soon_threadsafe(flush_reports)
                except RuntimeError:  # pragma: no cover - closed meanwhile
                    pass


_reports: deque[tuple[BaseException, str, Any]] = deque()
#: The reporters still armed: at exit, the failures a program still holds (a handle kept
#: in a global) are reported too, since nobody can retrieve them any more.
_unreported: weakref.WeakSet[Reporter] = weakref.WeakSet()


def flush_reports() -> None:
    """Write the queued reports of failures nobody retrieved (loop handler, else logging)."""
    while _reports:
        error, fork, loop = _reports.popleft()
        message = f"{fork} failed and nobody joined or awaited it"
        if loop is not None and not loop.is_closed():
            loop.call_exception_handler({"message": message, "exception": error, "fork": fork})
        else:
            _log.error(message, exc_info=(type(error), error, error.__traceback__))


def _flush_at_exit() -> None:
    import gc

    gc.collect()  # failed forks in reference cycles: collect them to report them
    for reporter in list(_unreported):
        if reporter.armed:
            reporter.armed = False
            _reports.append((reporter.error, reporter.fork, None))  # (the loop is gone)
    flush_reports()


atexit.register(_flush_at_exit)


__all__ = ["Reporter", "flush_reports"]
