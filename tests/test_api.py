"""The rest of the task API: current, suspend/resume, spawn, main, wait on forks."""

from __future__ import annotations

import asyncio
import gc

from actress import Fork, task


def test_current_is_the_running_tasks_fork(run):
    def main():
        me = yield from task.current()
        return me.status

    assert run(main()).value == "active"


def test_fork_resume_method_sends_no_message(run, log):
    def sleeper():
        yield from task.suspend()
        log.append("resumed")

    def main():
        fork = yield from task.fork(sleeper())
        yield from task.sleep(1)
        yield from fork.resume()
        yield from task.sleep(1)

    outcome = run(main())
    assert outcome.messages == []
    assert log == ["resumed"]


def test_resume_before_suspend_is_not_lost(run, log):
    def main():
        me = yield from task.current()
        task.resume(me)  # while running: kept for the next suspend
        yield from task.suspend()
        log.append("went on")

    run(main())
    assert log == ["went on"]


def test_resume_wakes_a_sleeping_task_early(run):
    def main():
        me = yield from task.current()
        yield from task.spawn(_resume_after(me, 5))
        yield from task.sleep(1000)
        return "woke"

    outcome = run(main())
    assert (outcome.value, outcome.time) == ("woke", 5.0)


def _resume_after(fork, ms):
    yield from task.sleep(ms)
    task.resume(fork)


def test_spawned_task_outlives_its_parent(run, log):
    def worker():
        log.append("start fork")
        yield from task.sleep(2)
        log.append("exit fork")

    def main():
        log.append("start main")
        yield from task.spawn(worker())
        log.append("exit main")

    run(main(), settle=True)
    assert log == ["start main", "exit main", "start fork", "exit fork"]


def test_a_failing_spawned_task_is_reported_not_raised():
    seen = []

    async def main():
        asyncio.get_running_loop().set_exception_handler(lambda loop, ctx: seen.append(ctx))

        def boom():
            yield from task.sleep(1)
            raise ValueError("detached")

        def parent():
            yield from task.spawn(boom())
            yield from task.sleep(5)
            return "parent fine"

        result = await task.fork(parent())
        gc.collect()
        await asyncio.sleep(0)
        return result

    assert asyncio.run(main()) == "parent fine"
    assert [str(ctx["exception"]) for ctx in seen] == ["detached"]


def test_main_starts_a_top_level_task(log):
    def hello():
        log.append("hello")
        yield from task.sleep(0)
        log.append("again")

    task.main(hello())
    assert log == ["hello", "again"]


def test_wait_on_a_fork_joins_it(run):
    def child():
        yield from task.sleep(3)
        return "child"

    def main():
        fork = yield from task.fork(child())
        return (yield from task.wait(fork))

    assert run(main()).value == "child"


def test_fork_is_exported_and_typed():
    def child():
        return 1
        yield

    fork = task.fork(child())
    assert isinstance(fork, Fork) and task.Fork is Fork


def test_status_compares_to_plain_strings():
    fork = task.fork(task.sleep(0))
    assert fork.status == "idle" and f"{fork.status}" == "idle"
