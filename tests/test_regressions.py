"""Bugs found in review, each pinned by the smallest program that showed it."""

from __future__ import annotations

import asyncio
import gc

import pytest

from actress import Fork, task


def test_joining_something_that_is_not_a_task_fails_in_the_joiner(run):
    def main():
        try:
            yield from task.join(Fork(42))
        except TypeError as error:
            return str(error)

    assert "must be a generator" in run(main()).value


def test_loop_handler_returning_a_coroutine_fails_the_loop_not_the_scheduler(run):
    async def handler(message):
        return None

    def main():
        try:
            yield from task.loop(task.send("go"), handler)
        except TypeError as error:
            return str(error)

    assert "coroutine" in run(main()).value


def test_loop_handler_error_aborts_live_effects_and_leaks_no_messages(run, log):
    def ticker():
        try:
            for i in range(3):
                yield from task.sleep(10)
                yield from task.send(f"tick{i}")
        finally:
            log.append("ticker finally")

    def start():
        yield from task.send("go")

    def handler(message):
        if message == "go":
            return ticker()
        raise ValueError("handler failed")

    def later():
        yield from task.sleep(100)
        return "later"

    def main():
        try:
            yield from task.loop(start(), handler)
        except ValueError as error:
            log.append(f"caught {error}")
        return (yield from task.join((yield from task.fork(later()))))

    outcome = run(main())
    assert (outcome.value, outcome.messages) == ("later", [])
    assert log == ["ticker finally", "caught handler failed"]


def test_aborting_a_group_aborts_its_members(run, log):
    def member(name):
        try:
            yield from task.sleep(50)
        finally:
            log.append(f"{name} finally")

    def waiter():
        a = yield from task.fork(member("a"))
        b = yield from task.fork(member("b"))
        yield from task.group([a, b])

    def main():
        fork = yield from task.fork(waiter())
        yield from task.sleep(1)
        yield from task.abort(fork, ValueError("stop"))
        log.append("aborted")

    run(main())
    assert log == ["a finally", "b finally", "aborted"]


def test_exiting_a_group_terminates_its_members(run):
    members = []

    def waiter():
        for _ in range(2):
            members.append((yield from task.fork(task.sleep(50))))
        yield from task.group(members)

    def main():
        fork = yield from task.fork(waiter())
        yield from task.sleep(1)
        yield from task.exit_(fork, "done")
        return fork.result, [m.result for m in members]

    assert run(main()).value == (task.Success("done"), [task.Success(None)] * 2)


def test_aborted_wait_is_not_woken_later_by_its_future(run, log):
    def waiter(future):
        try:
            yield from task.wait(future)
        except KeyError:
            yield from task.sleep(1000)
            log.append("cleanup slept in full")

    def main():
        future = asyncio.get_running_loop().create_future()
        fork = yield from task.fork(waiter(future))
        yield from task.sleep(10)
        future.set_result("value")  # queues the future's done-callbacks
        yield from task.abort(fork, KeyError("stop"))
        yield from task.join(fork)

    assert run(main()).time == 1010.0
    assert log == ["cleanup slept in full"]


def test_failure_after_the_awaiter_was_cancelled_is_reported(caplog):
    seen = []

    def work():
        try:
            yield from task.sleep(1000)
        finally:
            raise KeyError("cleanup failed")

    async def main():
        asyncio.get_running_loop().set_exception_handler(lambda loop, ctx: seen.append(ctx))
        fork = task.fork(work())
        waiter = asyncio.ensure_future(_await(fork))
        await asyncio.sleep(0.001)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        del fork, waiter
        gc.collect()
        await asyncio.sleep(0)

    with caplog.at_level("ERROR", logger="actress"):
        asyncio.run(main())
        gc.collect()
        task.fork(task.effect(task.wait(None))).activate()  # a drain flushes reports
    logged = [r.exc_info[0] for r in caplog.records if "nobody" in r.message]
    assert [type(ctx["exception"]) for ctx in seen] + logged == [KeyError]


async def _await(awaitable):
    return await awaitable


def test_a_fork_may_be_run_as_a_task_again_once_done():
    def work():
        yield from task.sleep(1)
        return 42

    async def main():
        fork = task.fork(work())
        first = await asyncio.create_task(fork)
        second = await asyncio.create_task(fork)
        return first, second, await asyncio.wait_for(fork, 1)

    assert asyncio.run(main()) == (42, 42, 42)


def test_two_tasks_running_one_fork_at_once_is_a_clear_error():
    def work():
        yield from task.sleep(5)
        return 42

    async def main():
        fork = task.fork(work())
        one, two = asyncio.create_task(fork), asyncio.create_task(fork)
        return await asyncio.gather(one, two, return_exceptions=True)

    first, second = asyncio.run(main())
    assert first == 42
    assert isinstance(second, RuntimeError) and "await the fork" in str(second)


def test_abort_of_a_task_cut_short_by_a_kernel_error_is_delivered(run):
    log = []

    def victim():
        try:
            yield from task.join(Fork(42))
        except TypeError:
            log.append("victim saw the error")
            yield from task.suspend()

    def main():
        fork = yield from task.fork(victim())
        yield from task.sleep(1)
        yield from task.abort(fork, ValueError("stop"))
        return fork.status

    assert run(main()).value == "finished"
    assert log == ["victim saw the error"]
