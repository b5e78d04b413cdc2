"""Which task runs when: the orderings actress 0.1 programs rely on, kept exactly."""

from __future__ import annotations

import asyncio

from actress import _fork, task


def test_fork_does_nothing_until_started(log):
    def child():
        log.append("child ran")
        yield from task.sleep(0)

    fork = task.fork(child())
    assert (log, fork.status) == ([], "idle")


def test_forked_child_runs_when_parent_first_waits(run, log):
    def child():
        log.append("c1")
        yield from task.sleep(0)
        log.append("c2")

    def main():
        log.append("m1")
        yield from task.fork(child())
        log.append("m2")
        yield from task.sleep(0)
        log.append("m3")
        yield from task.sleep(0)
        log.append("m4")

    run(main())
    assert log == ["m1", "m2", "c1", "m3", "c2", "m4"]


def test_activate_from_outside_runs_up_to_first_wait(log):
    def main():
        log.append("start")
        yield from task.sleep(0)
        log.append("after sleep(0)")
        yield from task.suspend()
        log.append("never")

    task.fork(main()).activate()
    assert log == ["start", "after sleep(0)"]


def test_await_runs_the_fork_before_the_event_loop_turns(log):
    def main():
        log.append("main started")
        yield from task.sleep(1)
        return "done"

    async def outer():
        asyncio.get_running_loop().call_soon(log.append, "loop turned")
        return await task.fork(main())

    assert asyncio.run(outer()) == "done"
    assert log == ["main started", "loop turned"]


def test_wait_on_plain_value_resumes_after_queued_tasks_in_same_drain(run, log):
    def worker(name):
        log.append(f"{name}1")
        yield from task.wait(None)
        log.append(f"{name}2")

    def main():
        yield from task.fork(worker("A"))
        yield from task.fork(worker("B"))
        log.append("m1")
        value = yield from task.wait(0)
        log.append(f"m2 got {value}")

    run(main())
    assert log == ["m1", "A1", "B1", "m2 got 0", "A2", "B2"]


def test_wait_on_future_resumes_on_a_later_loop_turn(log):
    async def outer():
        future = asyncio.get_running_loop().create_future()
        future.set_result("ready")

        def main():
            log.append("waiting")
            value = yield from task.wait(future)
            log.append(f"got {value}")

        fork = task.fork(main()).activate()
        log.append("activate returned")
        await fork

    asyncio.run(outer())
    assert log == ["waiting", "activate returned", "got ready"]


def test_resume_inside_a_task_only_queues(run, log):
    def sleeper():
        log.append("suspend")
        yield from task.suspend()
        log.append("resumed")

    def main():
        fork = yield from task.fork(sleeper())
        yield from task.sleep(0)
        task.resume(fork)
        log.append("after resume")

    run(main())
    assert log == ["suspend", "after resume", "resumed"]


def test_resume_from_outside_runs_the_task_before_returning(log):
    def sleeper():
        yield from task.suspend()
        log.append("resumed")

    fork = task.fork(sleeper()).activate()
    task.resume(fork)
    log.append("resume returned")
    assert log == ["resumed", "resume returned"]


def test_timers_fire_in_due_order_then_insertion_order(run, log):
    def sleeper(name, ms):
        yield from task.sleep(ms)
        log.append(name)

    def main():
        for name, ms in [("c", 30), ("a", 10), ("b", 10), ("d", 0)]:
            yield from task.fork(sleeper(name, ms))

    outcome = run(main(), settle=True)
    assert log == ["d", "a", "b", "c"]
    assert outcome.time == 30.0


def test_due_timer_fires_before_a_later_sleep_zero(run, log):
    def sleeper():
        yield from task.sleep(5)
        log.append("timer")

    def spinner():
        yield from task.sleep(5)
        yield from task.sleep(0)
        log.append("sleep(0)")

    def main():
        yield from task.fork(spinner())
        yield from task.fork(sleeper())

    run(main(), settle=True)
    assert log == ["timer", "sleep(0)"]


def test_a_timer_that_falls_due_mid_pass_runs_after_that_pass(run, log):
    # Time moves while tasks run on a real clock; here a task moves the virtual clock.
    # As in asyncio, the timer joins the queue at the end of the pass over it.
    def sleeper():
        yield from task.sleep(5)
        log.append("timer")

    def spinner(name):
        for turn in range(2):
            if name == "a" and turn == 0:
                _fork.running().clock._now = 5.0  # the timer falls due now
            log.append(f"{name}{turn}")
            yield from task.sleep(0)

    def main():
        yield from task.fork(sleeper())
        yield from task.fork(spinner("a"))
        yield from task.fork(spinner("b"))

    run(main(), settle=True)
    assert log == ["a0", "b0", "a1", "b1", "timer"]


def test_joining_a_ready_fork_runs_it_next(run, log):
    def child(name):
        log.append(name)
        yield from task.sleep(0)

    def main():
        yield from task.fork(child("first forked"))
        late = yield from task.fork(child("joined"))
        yield from task.join(late)
        log.append("main joined")

    run(main())
    assert log == ["joined", "first forked", "main joined"]


def test_joiner_continues_as_soon_as_the_fork_ends(run, log):
    def child(name):
        log.append(name)
        return name
        yield

    def main():
        a = yield from task.fork(child("a"))
        yield from task.fork(child("b"))
        yield from task.join(a)
        log.append("joined a")

    run(main())
    assert log == ["a", "joined a", "b"]


def test_sleep_takes_milliseconds(run):
    def main():
        yield from task.sleep(250)
        yield from task.sleep(duration=750)

    assert run(main()).time == 1000.0
