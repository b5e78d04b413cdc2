"""Clocks: what time it is, in milliseconds, and a single pending wake-up.

The kernel keeps its own timer heap; a clock only has to call it back once, when the
earliest timer is due. ``LoopClock`` does that through the running asyncio loop;
``VirtualClock`` leaves it to whoever drives the tests, who moves time forward at once.

Uses: asyncio (LoopClock only). Never: the kernel.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Callable, Optional, Protocol


class Clock(Protocol):
    """Time source and wake-up service for a scheduler."""

    def now(self) -> float:
        """Return the current time in milliseconds."""
        ...

    def check(self) -> None:
        """Raise ``RuntimeError`` if a timer set now could never fire."""
        ...

    def arm(self, due: float, wake: Callable[[], None]) -> None:
        """Call ``wake`` at time ``due`` (ms), replacing any wake-up armed before."""
        ...

    def disarm(self) -> None:
        """Forget the wake-up armed before, if any (no timer is left)."""
        ...

    def loop(self) -> Optional[asyncio.AbstractEventLoop]:
        """Return the event loop this clock serves timers on, if any."""
        ...

    def home(self) -> Optional[asyncio.AbstractEventLoop]:
        """Return the loop the scheduler was last seen running on, whatever thread asks
        (None for virtual time, or when none is known)."""
        ...


NO_LOOP = (
    "task.sleep() needs a running asyncio event loop to wake the task up: run the task "
    "with actress.run(main()), await the fork from asyncio, or drive it with "
    "actress.testing.run() on virtual time"
)


class LoopClock:
    """Real time; wake-ups are served by the running asyncio event loop.

    >>> clock = LoopClock()
    >>> clock.now() > 0
    True
    """

    __slots__ = ("_handle", "_due", "_loop", "_on", "_wake")

    def __init__(self) -> None:
        self._handle: Optional[asyncio.TimerHandle] = None
        self._due = 0.0
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._on: Optional[asyncio.AbstractEventLoop] = None  # the loop ``_handle`` is on
        self._wake: Optional[Callable[[], None]] = None

    def now(self) -> float:
        return time.monotonic() * 1000.0

    def check(self) -> None:
        if asyncio._get_running_loop() is None:
            raise RuntimeError(NO_LOOP)

    def loop(self) -> Optional[asyncio.AbstractEventLoop]:
        running = asyncio._get_running_loop()
        if running is not None:
            self._loop = running
            on = self._on
            if (self._handle is not None and on is not running and on is not None
                    and not on.is_running() and self._wake is not None):
                self.arm(self._due, self._wake)  # its loop is gone (closed, stopped): move
        elif self._loop is not None and self._loop.is_closed():
            self._loop = None
        return self._loop

    def home(self) -> Optional[asyncio.AbstractEventLoop]:
        """The loop last seen (by ``loop``, ``arm``), unless it is closed.

        >>> LoopClock().home() is None
        True
        """
        loop = self._loop
        return loop if loop is not None and not loop.is_closed() else None

    def arm(self, due: float, wake: Callable[[], None]) -> None:
        loop = asyncio._get_running_loop()
        handle = self._handle
        if handle is not None:
            if self._due <= due and self._on is loop and not handle.cancelled():
                return  # an earlier (or equal) wake-up is already armed on this loop
            handle.cancel()
        if loop is None:
            loop = self._loop
            if loop is None or loop.is_closed():
                self._handle = None
                return  # nothing can wake us; sleeps already checked for a loop
        self._loop = self._on = loop
        self._due = due
        self._wake = wake
        delay = max(0.0, (due - self.now()) / 1000.0)
        self._handle = loop.call_later(delay, self._fire, wake)

    def disarm(self) -> None:
        handle = self._handle
        if handle is not None:
            self._handle = None
            handle.cancel()

    def _fire(self, wake: Callable[[], None]) -> None:
        self._handle = None
        wake()


class VirtualClock:
    """Virtual time for tests: nothing really sleeps, ``advance`` jumps to the next timer.

    >>> clock = VirtualClock()
    >>> clock.arm(50.0, lambda: print("woke at", clock.now()))
    >>> clock.advance()
    woke at 50.0
    True
    """

    __slots__ = ("_now", "_due", "_wake")

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._due: Optional[float] = None
        self._wake: Optional[Callable[[], None]] = None

    def now(self) -> float:
        return self._now

    def check(self) -> None:
        return None

    def loop(self) -> Optional[asyncio.AbstractEventLoop]:
        return asyncio._get_running_loop()

    def home(self) -> Optional[asyncio.AbstractEventLoop]:
        """None: virtual time wakes the scheduler through ``arm``.

        >>> VirtualClock().home() is None
        True
        """
        return None

    def arm(self, due: float, wake: Callable[[], None]) -> None:
        self._due = due
        self._wake = wake

    def disarm(self) -> None:
        """Forget the armed wake-up: time does not move to it any more.

        >>> clock = VirtualClock()
        >>> clock.arm(50.0, lambda: None)
        >>> clock.disarm()
        >>> clock.pending, clock.advance(), clock.now()
        (False, False, 0.0)
        """
        self._due = self._wake = None

    @property
    def pending(self) -> bool:
        """Whether a wake-up is armed."""
        return self._wake is not None

    def advance(self) -> bool:
        """Move time to the armed wake-up and run it; return False if none was armed."""
        wake, due = self._wake, self._due
        if wake is None or due is None:
            return False
        self._wake = self._due = None
        if due > self._now:
            self._now = due
        wake()
        return True


def loop_busy(loop: asyncio.AbstractEventLoop,
              ours: Callable[[asyncio.Task[Any]], bool] = lambda task: False) -> bool:
    """Whether ``loop`` has outside work pending (True when it cannot tell): callbacks
    ready, timers set, I/O it watches besides its own wake-up pipe (a socket, a pipe), or
    an asyncio task other than the current one that waits on something not ``ours``.
    Call it from the loop's thread.

    >>> async def idle():
    ...     return loop_busy(asyncio.get_running_loop())
    >>> asyncio.run(idle())
    False
    """
    scheduled = getattr(loop, "_scheduled", None)
    ready = getattr(loop, "_ready", None)
    selector = getattr(loop, "_selector", None)
    if scheduled is None or ready is None or selector is None:
        return True  # cannot tell: assume outside work is pending
    if any(not h.cancelled() for h in scheduled) or len(ready) > 0:
        return True
    get_map = getattr(selector, "get_map", None)
    if get_map is None:
        return True  # (a proactor loop, on Windows: cannot tell)
    wakeup = getattr(loop, "_ssock", None)
    own = wakeup.fileno() if wakeup is not None else None
    if any(fd != own for fd in get_map()):
        return True
    current = asyncio.current_task(loop)
    return any(t is not current and not t.done() and not ours(t)
               for t in asyncio.all_tasks(loop))
