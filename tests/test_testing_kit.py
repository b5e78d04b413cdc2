"""actress.testing: virtual time, exact outcomes, deadlocks found instead of hanging."""

from __future__ import annotations

import asyncio

import pytest

from actress import task, testing


def test_outcome_of_a_success(run):
    def main():
        yield from task.send("m")
        yield from task.sleep(90_000)
        return "v"

    assert run(main()) == testing.Outcome(True, "v", None, ["m"], 90_000.0)


def test_outcome_of_a_failure(run):
    boom = ValueError("boom")

    def main():
        yield from task.send("before")
        raise boom

    assert run(main()) == testing.Outcome(False, None, boom, ["before"], 0.0)


def test_virtual_time_takes_no_real_time(run, monkeypatch):
    import selectors

    waits = []  # every timeout the event loop gave its selector: 0 is a poll, not a wait
    select = selectors.DefaultSelector.select

    def recording(self, timeout=None):
        waits.append(timeout)
        return select(self, timeout)

    monkeypatch.setattr(selectors.DefaultSelector, "select", recording)

    def main():
        for _ in range(100):
            yield from task.sleep(60_000)

    assert run(main()).time == 6_000_000.0  # an hour and a half of virtual time
    assert waits and set(waits) == {0}


def test_settle_runs_detached_tasks_to_the_end(run, log):
    def bg():
        yield from task.sleep(50)
        log.append("bg")

    def main():
        yield from task.spawn(bg())

    assert run(main()).time == 0.0
    assert log == []
    assert run(main(), settle=True).time == 50.0
    assert log == ["bg"]


def test_start_sets_the_virtual_clock(run):
    def main():
        yield from task.sleep(5)

    assert run(main(), start=100.0).time == 105.0


def test_a_task_nobody_resumes_is_a_deadlock(run):
    def main():
        yield from task.suspend()

    with pytest.raises(testing.Deadlock, match="can never finish"):
        run(main())


def test_tasks_joining_each_other_are_a_deadlock(run):
    forks = {}

    def a():
        yield from task.sleep(1)
        yield from task.join(forks["b"])

    def b():
        yield from task.sleep(1)
        yield from task.join(forks["a"])

    def main():
        forks["a"] = yield from task.fork(a())
        forks["b"] = yield from task.fork(b())
        yield from task.join(forks["a"])

    with pytest.raises(testing.Deadlock):
        run(main())


def test_real_futures_still_work_under_the_kit(run):
    def main():
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        loop.call_later(0.001, future.set_result, "outside")
        return (yield from task.wait(future))

    assert run(main()).value == "outside"


def test_runs_are_independent(run):
    def main():
        yield from task.sleep(10)
        return "x"

    assert [run(main()).time for _ in range(3)] == [10.0, 10.0, 10.0]


def test_the_kit_rejects_a_non_task(run):
    with pytest.raises(TypeError, match="lack a `yield`"):
        run([1, 2])


def test_a_keyboard_interrupt_ends_the_run_after_the_others_cleanup(run, log, caplog):
    def sibling():
        try:
            yield from task.sleep(1000)
        finally:
            log.append("sibling cleanup starts")
            yield from task.sleep(5)  # cleanup may wait (virtual time)
            log.append("sibling cleanup done")

    def main():
        yield from task.fork(sibling())
        yield from task.sleep(10)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(main())
    assert log == ["sibling cleanup starts", "sibling cleanup done"]
    # raised to the caller, so not reported as unretrieved (other tests' forks, collected
    # by a garbage-collector pass during this one, may be reported here: not counted)
    assert not [r for r in caplog.records if r.exc_info and r.exc_info[0] is KeyboardInterrupt]


def test_virtual_time_does_not_jump_to_a_timer_cancelled_since(run):
    import asyncio

    def wakes(t):
        yield from task.wait(asyncio.sleep(0))  # a later drain, from an event-loop callback
        task.resume(t)

    def main():
        me = yield from task.current()
        yield from task.spawn(wakes(me))
        yield from task.sleep(1000)  # woken early: its timer is cancelled
        return "woken"

    outcome = run(main(), settle=True)
    assert (outcome.value, outcome.time) == ("woken", 0.0)


def test_testing_run_from_a_running_loop_or_a_task_is_a_clear_error():
    def inner():
        yield from task.sleep(1)

    async def from_a_loop():
        with pytest.raises(RuntimeError, match="running event loop"):
            testing.run(inner())

    def from_a_task():
        with pytest.raises(RuntimeError, match="inside a task"):
            testing.run(inner())
        yield from task.sleep(0)
        return "refused"

    asyncio.run(from_a_loop())
    assert testing.run(from_a_task()).value == "refused"


def test_a_fork_asyncio_still_awaits_when_the_run_ends_gets_its_cleanup_on_virtual_time():
    log = []

    def child():
        try:
            yield from task.sleep(1000)
        finally:
            log.append("cleanup starts")
            yield from task.sleep(10)  # virtual time moves for it as the run closes
            log.append("cleanup ends")

    def main():
        f = yield from task.fork(child())
        asyncio.ensure_future(f)  # some asyncio code awaits the fork
        yield from task.sleep(1)
        return "main done"

    assert testing.run(main()).value == "main done"
    assert log == ["cleanup starts", "cleanup ends"]


def test_asyncio_cleanup_left_when_the_run_ends_runs_to_its_end():
    log = []

    async def helper():
        try:
            await asyncio.sleep(10)
        finally:
            await asyncio.sleep(0.005)  # real time: waited for, as asyncio.run does
            log.append("cleaned")

    def main():
        asyncio.get_running_loop().create_task(helper())
        yield from task.sleep(0)
        return "done"

    assert testing.run(main()).value == "done"
    assert log == ["cleaned"]
