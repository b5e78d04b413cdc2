"""Review findings on actress.jobs, kept as regression tests: each states the behaviour
that was wrong before its fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from actress import task, testing
from actress.jobs.engine import Engine
from actress.jobs.events import CallbackSink, EventType


def sleeper(ms=10):
    def run(job):
        yield from task.sleep(ms)
        return job.payload
    return run


def settled(engine):
    """The bookkeeping an idle, closed engine must be back to."""
    return (engine._free, engine._waiting_to_start, engine._unfinished,
            [engine._lanes.inflight(n) for n in engine._lanes.names()])


# 1 -------------------------------------------------------------------------------------------
def test_intake_full_of_early_followers_does_not_block_the_primer_forever():
    """Followers added before the primer count as 'waiting to start'; with intake=1 the
    primer's add_primer then waits for room that only the primer itself can make."""
    def main():
        engine = Engine(sleeper(), workers=2, intake=1)
        group = yield from engine.open_group("g")
        yield from group.add_follower("early")   # held for the primer: intake now full
        yield from group.add_primer("P")         # waits for room forever
        group.close()
        results = yield from group.wait()
        yield from engine.close()
        return [r.status for r in results]

    outcome = testing.run(main())               # raises testing.Deadlock today
    assert outcome.value == ["succeeded", "succeeded"]


# 2 -------------------------------------------------------------------------------------------
def test_a_follower_waiting_for_intake_room_is_not_added_to_a_group_closed_meanwhile():
    """add_follower checks ``closed`` before waiting in _room, never after: a follower
    admitted once the group closed is held for a primer that can never come."""
    def adder(group, out):
        try:
            out.append((yield from group.add_follower("late")))
        except RuntimeError as error:
            out.append(error)

    def main():
        engine = Engine(sleeper(), workers=1, intake=1)
        group = yield from engine.open_group("g")
        yield from group.add_follower("early")               # held: intake now full
        out = []
        t = yield from task.fork(adder(group, out))          # blocks in _room
        yield from task.sleep(1)
        group.close()  # fails "early" (no primer) -> room -> the adder adds to a done group
        yield from task.join(t)
        if isinstance(out[0], RuntimeError):
            yield from engine.close()
            return "refused"
        result = yield from out[0].wait()                    # hangs today
        yield from engine.close()
        return result.status

    outcome = testing.run(main())
    assert outcome.value in ("refused", "failed")


# 3 -------------------------------------------------------------------------------------------
def test_a_raising_event_sink_does_not_wedge_the_engine():
    """A sink error raised from emit() inside the dispatcher kills the dispatcher task:
    the job it was starting never ends and no later job ever starts."""
    calls = {"n": 0}

    def flaky_sink(event):
        if event.type is EventType.JOB_STARTED and calls["n"] == 0:
            calls["n"] += 1
            raise OSError("disk full")

    def main():
        engine = Engine(sleeper(), workers=1, events=[CallbackSink(flaky_sink)])
        group = yield from engine.submit_group("g", None, ["a", "b"])
        results = yield from group.wait()
        yield from engine.close()
        return len(results), settled(engine)

    outcome = testing.run(main())               # Deadlock today
    assert outcome.value[0] == 2


# 4 -------------------------------------------------------------------------------------------
def test_a_sync_executor_raising_a_base_exception_does_not_kill_the_dispatcher():
    """``except Exception`` around executor(job) in _dispatch: asyncio.CancelledError
    (a BaseException, e.g. from fut.result() on a cancelled future) escapes and ends the
    dispatcher; _free stays decremented and every job waits forever."""
    import asyncio

    def executor(job):
        if job.payload == "a":
            raise asyncio.CancelledError()
        return job.payload

    def main():
        engine = Engine(executor, workers=1)
        group = yield from engine.submit_group("g", None, ["a", "b"])
        results = yield from group.wait()
        yield from engine.close()
        return [r.status for r in results], settled(engine)

    outcome = testing.run(main())               # Deadlock today
    assert outcome.value[0][1] == "succeeded"


# 1b ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("blocker", ["dependency", "admission"])
def test_jobs_parked_behind_a_dependency_or_admission_do_not_fill_the_intake_forever(blocker):
    """Jobs in a group's backlog (waiting for ``after`` groups or for an admission slot)
    count as waiting to start, so they can fill the intake and block the very jobs of
    the group they wait for."""
    def main():
        kw = {"max_active_groups": 1} if blocker == "admission" else {}
        engine = Engine(sleeper(), workers=2, intake=1, **kw)
        first = yield from engine.open_group("first")
        second = yield from engine.open_group(
            "second", **({"after": [first]} if blocker == "dependency" else {}))
        yield from second.add_primer("P2")      # parked in second's backlog: intake full
        second.close()
        yield from first.add_primer("P1")       # waits for room forever
        first.close()
        yield from second.wait()
        yield from engine.close()
        return "ok"

    assert testing.run(main()).value == "ok"    # Deadlock today


# 5 -------------------------------------------------------------------------------------------
def test_cancelling_the_primer_of_a_group_waiting_on_a_dependency_ends_its_followers():
    """_primer_settled fails only ``_held``; followers of a not-admitted group sit in
    ``_backlog``. The group is now 'failed', so _dependency_done returns early and never
    admits it: the followers never end, and engine.close() (drain) hangs."""
    def main():
        engine = Engine(sleeper(), workers=2)              # on_primer_failure="fail_group"
        first = yield from engine.open_group("first")
        second = yield from engine.open_group("second", after=[first])
        primer = yield from second.add_primer("P")
        follower = yield from second.add_follower("f")
        second.close()
        engine.cancel_job(primer)
        first.close()                                     # dependency done
        result = yield from follower.wait()              # hangs today
        yield from engine.close()
        return primer.result.status, result.status

    assert testing.run(main()).value == ("cancelled", "cancelled")  # (a cancelled primer
    # is not a failure: since the fourth session, what waited for it is cancelled with it)


# 6 -------------------------------------------------------------------------------------------
SPIN = r'''
import asyncio
from actress.jobs.aio import AsyncEngine

async def main():
    gate = asyncio.get_running_loop().create_future()

    async def work(job):
        if job.payload == "X":
            await gate
        return job.payload

    engine = AsyncEngine(lambda job: work(job), workers=1, intake=1)
    h = engine.open_group("h"); await h.__aenter__()
    await (await h.submit_primer("P"))          # h is ready
    await h.add_follower("X")                   # holds the only worker
    await asyncio.sleep(0.01)
    g = engine.open_group("g"); await g.__aenter__()
    await g.add_follower("f0")                  # held for a primer: intake full
    t1 = asyncio.create_task(h.add_follower("a"))
    t2 = asyncio.create_task(h.add_follower("b"))
    await asyncio.sleep(0.01)                   # both wait for intake room
    g.close()                                   # what `async with` does on exit: never returns
    gate.set_result(None)
    h.close()
    await asyncio.wait_for(asyncio.gather(t1, t2, return_exceptions=True), 5)  # closed: refused
    await engine.close()
    print("ok")

asyncio.run(main())
'''


def test_closing_a_group_from_asyncio_code_with_two_submitters_waiting_returns():
    """Engine calls made from asyncio code (AsyncGroup.close/__aexit__, cancel_group) run
    outside a drain, so _wake's resume() drains at once: a woken _room waiter that finds
    the intake full again appends a new waiter to the very list _wake is iterating,
    which resumes it again... forever. The event loop spins; g.close() never returns."""
    import subprocess
    import sys

    try:
        proc = subprocess.run([sys.executable, "-c", SPIN], capture_output=True, text=True,
                              timeout=10, cwd=Path(__file__).resolve().parents[1])
    except subprocess.TimeoutExpired:
        pytest.fail("AsyncGroup.close() spun forever in Engine._wake (killed after 10 s)")
    assert proc.stdout.strip() == "ok", proc.stderr


# 7 -------------------------------------------------------------------------------------------
def test_a_follower_added_during_warmup_waits_for_the_warmup_too():
    """warmup_ms holds the followers that were waiting when the primer ended, but one
    added during the warmup (state already 'ready') goes straight to the lanes: it starts
    inside the warmup, ahead of the followers that were there first."""
    starts = []

    def run_job(job):
        starts.append((job.payload, task_now()))
        yield from task.sleep(10)

    def task_now():
        from actress import current_scheduler
        return current_scheduler().clock.now()

    def main():
        engine = Engine(run_job, workers=4, warmup_ms=25)
        group = yield from engine.open_group("g")
        yield from group.add_primer("P")
        yield from group.add_follower("early")   # held; released at 10 + 25 = 35
        yield from task.sleep(15)                 # primer done at 10: warming up
        yield from group.add_follower("late")
        group.close()
        yield from group.wait()
        yield from engine.close()

    testing.run(main())
    assert starts == [("P", 0.0), ("early", 35.0), ("late", 35.0)]   # late: 15.0 today


# 8 -------------------------------------------------------------------------------------------
def test_cancelling_a_job_from_its_executor_call_does_not_skew_the_intake_count():
    """Between popping a job (its _not_waiting) and storing job._fork, the dispatcher calls
    executor(job). A cancel_job made there (a sink on JOB_STARTED, an executor that gives
    up on the group) takes the 'not started' path: it calls _not_waiting() a second time
    and ends the job cancelled, and then the dispatcher still runs the work."""
    ran = []
    holder = {}

    def executor(job):
        if job.payload == "a":
            holder["engine"].cancel_group(job.group, "abandon batch")

        def work():
            ran.append(job.payload)
            yield from task.sleep(1)
            return job.payload
        return work()

    def main():
        engine = holder["engine"] = Engine(executor, workers=1)
        group = yield from engine.submit_group("g", None, ["a", "b"])
        results = yield from group.wait()
        yield from engine.close()
        return [r.status for r in results], engine._waiting_to_start

    statuses, waiting = testing.run(main()).value
    assert statuses == ["cancelled", "cancelled"]
    # today: waiting == -1 and ran == ["a"] (a job reported cancelled still ran)
    assert (waiting, ran) == (0, [])


# 9 -------------------------------------------------------------------------------------------
def test_a_cancelled_job_whose_cleanup_raises_is_not_retried():
    """cancel_job/cancel_group throw Cancelled into the running work; if its cleanup turns
    that into an ordinary error (a connection dropped while closing), _run sends it to
    _attempt_failed and the job is retried: it runs again, in a group that was cancelled,
    and ends 'succeeded'."""
    from actress.jobs.retry import RetryPolicy

    starts = []

    def run_job(job):
        starts.append((job.payload, job.attempt))
        try:
            yield from task.sleep(50)
        except BaseException:
            raise ConnectionResetError("connection dropped while closing")
        return job.payload

    def main():
        engine = Engine(run_job, workers=1,
                        follower_retry=RetryPolicy(attempts=3, backoff="fixed", base_ms=5))
        group = yield from engine.submit_group("g", None, ["a"])
        yield from task.sleep(10)
        engine.cancel_group(group)
        results = yield from group.wait()
        job = group.jobs[0]
        result = yield from job.wait()
        yield from engine.close()
        return result.status, len(results)

    outcome = testing.run(main())
    assert starts == [("a", 1)]                 # [("a", 1), ("a", 2)] today
    assert outcome.value == ("cancelled", 1)    # ("succeeded", 1) today


# 10 ------------------------------------------------------------------------------------------
def test_a_timed_out_thread_attempt_still_counts_against_max_inflight():
    """With ThreadExecutor (an awaitable the engine does not own), a per-attempt timeout
    cancels only the wait: the thread keeps running, but _run releases the worker and the
    lane slot at once and the retry starts beside it. A max_inflight=1 lane runs 3 at once."""
    import asyncio
    import threading
    import time

    from actress.jobs.aio import AsyncEngine
    from actress.jobs.engine import Lane, ThreadExecutor
    from actress.jobs.retry import RetryPolicy

    lock = threading.Lock()
    state = {"now": 0, "max": 0}

    def blocking(job):
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        time.sleep(0.3)
        with lock:
            state["now"] -= 1
        return job.payload

    async def main():
        pool = ThreadExecutor(blocking, max_workers=8)
        engine = AsyncEngine(pool, workers=4, lanes={"gpu": Lane(1, max_inflight=1)},
                             follower_retry=RetryPolicy(attempts=3, backoff="fixed", base_ms=1,
                                                        timeout_ms=100))
        futures = await engine.submit_group("g", None, ["a"], lane="gpu")
        await futures.wait()
        await engine.close()
        pool.shutdown()

    asyncio.run(main())
    assert state["max"] == 1     # 3 today


# 11 ------------------------------------------------------------------------------------------
def test_a_warmup_started_while_the_group_waits_on_dependencies_is_not_taken_for_their_deadline():
    """A primer cancelled while its group waits on ``after=`` (with ``run_without`` and a
    warmup) starts the warmup; the dependency deadline and the warmup shared one slot, so
    the dependency ending cancelled the warmup instead, and the group stayed 'warming'
    with its follower held: ``engine.close()`` never returned."""
    def main():
        engine = Engine(sleeper(1), warmup_ms=3, on_primer_failure="run_without")
        yield from engine.submit_group("g0", "p0")
        g1 = yield from engine.submit_group("g1", "p1", ["f1"], after=["g0"],
                                            after_timeout_ms=100)
        engine.cancel_job(g1.primer)  # at 0 ms: g1 warms up until 3 ms
        yield from engine.close()     # g0 ends at 1 ms: g1 is admitted, f1 waits for 3 ms
        return [(job.kind, job.result.status) for job in g1.jobs], settled(engine)

    out = testing.run(main())
    assert out.value == ([("primer", "cancelled"), ("follower", "succeeded")],
                         (4, 0, 0, [0]))
    assert out.time == 4.0  # f1 ran from 3 to 4 ms


# 12 ------------------------------------------------------------------------------------------
def test_a_group_cancelled_by_an_event_sink_as_it_opens_gets_no_primer():
    """submit_group adds its primer without add_primer's checks (the group is new); a sink
    that cancels the group on 'group.opened' made it run the primer of a cancelled group."""
    ran = []
    box = {}

    def on_event(event):
        if event.type is EventType.GROUP_OPENED:
            box["engine"].cancel_group(box["engine"].groups[event.group_id])

    def main():
        engine = box["engine"] = Engine(lambda job: ran.append(job.payload),
                                        events=[CallbackSink(on_event)])
        with pytest.raises(RuntimeError, match="is closed"):
            yield from engine.submit_group("g", "primer")
        yield from engine.close()
        return vars(engine.counts)

    assert testing.run(main()).value == {"succeeded": 0, "failed": 0, "cancelled": 0,
                                         "quarantined": 0}
    assert ran == []
