"""A test kit: run a task on virtual time and get its result, messages and outcome.

``run(task)`` drives ``task`` on a fresh scheduler whose clock is virtual: ``sleep``
takes no real time, timers fire in exact order, and the result says what happened.
Awaitables (futures, coroutines) still run on a private asyncio loop, in real time;
virtual time moves only when no task is ready.

Uses: _kernel, _clock, _fork, asyncio. Never: anything above the task API.
"""

from __future__ import annotations

import asyncio
from types import GeneratorType
from dataclasses import dataclass, field
from typing import Any, Generator, Generic, NamedTuple, Optional, TypeVar

from ._clock import VirtualClock, loop_busy
from ._fork import DONE, FAILED, Deadlock, Fork, awaits_a_fork, deadlock_report, running
from ._mistakes import _MISTAKES, as_generator, mistake
from ._instructions import CONTROL_TYPES, _Op
from ._kernel import Scheduler, set_default_scheduler

T = TypeVar("T")


@dataclass
class Outcome(Generic[T]):
    """How a task run by ``run`` ended: its result or error, its messages, the time."""

    ok: bool
    value: Optional[T]
    error: Optional[BaseException]
    messages: list[Any] = field(default_factory=list)
    time: float = 0.0


class _Ended(NamedTuple):
    ok: bool
    value: Any
    error: Optional[BaseException]


def _collect(task: Any, messages: list[Any]) -> Generator[Any, Any, _Ended]:
    """Drive ``task`` by hand: pass instructions up, keep its messages."""
    gen = as_generator(task)
    send, throw = gen.send, gen.throw
    controls = CONTROL_TYPES
    value: Any = None
    error: Optional[BaseException] = None
    while True:
        try:
            if error is None:
                out = send(value)
            else:
                error, e = None, error
                out = throw(e)
        except StopIteration as stop:
            return _Ended(True, stop.value, None)
        except Exception as failure:
            return _Ended(False, None, failure)
        kind = type(out)
        if kind in controls or (kind is tuple and out and type(out[0]) is _Op):
            try:
                value = yield out
            except BaseException as thrown:
                error = thrown
                value = None
        else:
            error = mistake(out, gen) if type(out) in _MISTAKES else None
            if error is None:
                messages.append(out)
            value = None


def run(task: Any, *, settle: bool = False, start: float = 0.0) -> Outcome[Any]:
    """Run ``task`` on virtual time; return its ``Outcome`` (never raises its error).

    With ``settle=True``, keep going after the task ends until every timer has fired
    (so detached tasks finish too). Raises ``Deadlock`` if the task can never finish. A
    ``KeyboardInterrupt`` or ``SystemExit`` raised in a task ends the run: as with
    ``asyncio.run``, the tasks left (ready, sleeping, parked on a channel, an ask or an
    awaitable, and those joining them) are aborted with ``CancelledError`` and their
    cleanup runs first, then it propagates. Call it from plain code, not from a task nor
    from a running event loop.

    >>> from actress import task
    >>> def main():
    ...     yield from task.send("start")
    ...     yield from task.sleep(1500)
    ...     return "done"
    >>> run(main())
    Outcome(ok=True, value='done', error=None, messages=['start'], time=1500.0)
    """
    if running() is not None:
        raise RuntimeError(
            "testing.run() cannot be called from inside a task; use `yield from` there")
    if asyncio._get_running_loop() is not None:
        raise RuntimeError(
            "testing.run() cannot be called from a running event loop (it runs its own): "
            "call it from plain code, such as a test function that is not async")
    if type(task) is not GeneratorType:
        from ._mistakes import check_task as _check_task

        _check_task(task, "testing.run")
    clock = VirtualClock(start)
    sched = Scheduler(clock)
    sched.budget_ms = float("inf")  # virtual time: never yield to the loop mid-drain
    messages: list[Any] = []
    root: Fork[Any, Any, Any] = Fork(_collect(task, messages), name="testing.run")
    previous = set_default_scheduler(sched)
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(_drive(sched, clock, root, settle))
    except BaseException:  # KeyboardInterrupt, SystemExit, Deadlock: the run is over
        if root.st == FAILED:
            root.retrieved()  # it is raised right here: not a failure nobody saw
        _cancel_leftovers(sched, clock)
        raise
    finally:
        set_default_scheduler(previous)
        _close(loop, clock)
    if root.st == FAILED:  # a BaseException the driver let through
        return Outcome(False, None, root.error, messages, clock.now())  # (now retrieved)
    result = root.value
    if type(result) is _Ended:
        return Outcome(result.ok, result.value, result.error, messages, clock.now())
    return Outcome(True, result, None, messages, clock.now())  # the task was exited


async def _drive(sched: Scheduler, clock: VirtualClock, root: Fork[Any, Any, Any], settle: bool) -> None:
    sched.spawn(root)
    loop = asyncio.get_running_loop()
    while root.st < DONE or (settle and clock.pending):
        await asyncio.sleep(0)  # let outside work (futures, callbacks) move first
        if root.st >= DONE and not settle:
            break
        if sched.outside:
            for _ in range(10):
                await asyncio.sleep(0)
                if not sched.outside:
                    break
        if clock.pending:
            clock.advance()
            continue
        if root.st >= DONE:
            break
        if sched.outside or loop_busy(loop, awaits_a_fork):
            await asyncio.sleep(0.001)
            continue
        raise Deadlock(deadlock_report(root.name, sched))



def _cancel_leftovers(sched: Scheduler, clock: VirtualClock) -> None:
    """As ``asyncio.run`` does when interrupted: abort what the run leaves behind with
    ``CancelledError`` and run its cleanup, on virtual time (cleanup may sleep). Bounded:
    cleanup that starts more tasks, or waits on what never comes, is given up on."""
    for _ in range(100):
        left = sched.pending()
        if not left:
            return
        for fork in left:
            if fork.st < DONE:
                sched.interrupt(fork, asyncio.CancelledError())
        for _ in range(10_000):
            if not (clock.pending and any(fork.st < DONE for fork in left)):
                break
            clock.advance()


def _close(loop: asyncio.AbstractEventLoop, clock: VirtualClock) -> None:
    """Cancel the asyncio tasks left and let them end (one awaiting a fork waits for the
    fork's cleanup, which may sleep: virtual time moves for it, a bounded number of
    steps), then close the loop."""
    pending = asyncio.all_tasks(loop)
    for t in pending:
        t.cancel()
    if pending:
        ended = asyncio.gather(*pending, return_exceptions=True)
        steps = 0
        while not ended.done():  # (real-time cleanup is waited for, as asyncio.run does)
            loop.run_until_complete(asyncio.wait([ended], timeout=0.001))
            if not ended.done() and clock.advance():
                steps += 1
                if steps > 10_000:  # a cleanup that keeps sleeping: given up on
                    ended.cancel()
                    loop.run_until_complete(asyncio.wait([ended], timeout=0.01))
                    break
        if ended.done() and not ended.cancelled():
            ended.exception()  # (read: nothing to report)
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()


__all__ = ["Deadlock", "Outcome", "run"]
