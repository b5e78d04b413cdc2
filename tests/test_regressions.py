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


def test_a_cleanup_failure_after_the_awaiter_was_cancelled_reaches_that_awaiter(caplog):
    # (once reported as "nobody joined": the cancelled awaiter left before the cleanup
    # ended. It now waits for the cleanup, as asyncio waits for a task it cancelled, and
    # reads the failure: raised there, not reported.)
    seen = []

    def work():
        try:
            yield from task.suspend()
        finally:
            raise KeyError("cleanup failed")

    async def main():
        asyncio.get_running_loop().set_exception_handler(lambda loop, ctx: seen.append(ctx))
        fork = task.fork(work())
        waiter = asyncio.ensure_future(_await(fork))
        await asyncio.sleep(0)
        waiter.cancel()
        with pytest.raises(KeyError) as raised:
            await waiter
        assert isinstance(raised.value.__cause__, asyncio.CancelledError)
        del fork, waiter
        gc.collect()
        await asyncio.sleep(0)

    with caplog.at_level("ERROR", logger="actress"):
        asyncio.run(main())
        gc.collect()
        task.fork(task.effect(task.wait(None))).activate()  # a drain flushes reports
    logged = [r.exc_info[0] for r in caplog.records if "nobody" in r.message]
    assert [type(ctx["exception"]) for ctx in seen] + logged == []


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


def test_a_failed_spawn_is_reported_without_the_cycle_collector(caplog):
    def bad():
        yield from task.sleep(0)
        raise ValueError("bg failed")

    def main():
        yield from task.spawn(bad())
        yield from task.sleep(0)
        yield from task.sleep(0)

    gc.disable()
    try:
        with caplog.at_level("ERROR", logger="actress"):
            task.fork(main()).activate()
    finally:
        gc.enable()
    assert [r.exc_info[1].args for r in caplog.records] == [("bg failed",)]


def test_sleep_takes_any_real_number(run):
    from decimal import Decimal
    from fractions import Fraction

    def main():
        yield from task.sleep(Decimal("2.5"))
        yield from task.sleep(Fraction(5, 2))

    assert run(main()).time == 5.0


def test_keyboard_interrupt_in_a_group_member_cancels_the_rest_and_is_raised_once():
    raised = []
    members = []

    def interrupted():
        yield from task.sleep(0)
        raise KeyboardInterrupt

    def sleeper():
        yield from task.sleep(0)
        yield from task.suspend()

    def main():
        members.append((yield from task.fork(interrupted())))
        members.append((yield from task.fork(sleeper())))
        members.append(task.fork(sleeper()))  # never started
        yield from task.group(members)

    fork = task.fork(main())
    try:
        fork.activate()
    except KeyboardInterrupt:
        raised.append("KI")
    for _ in range(3):
        try:
            task.fork(task.effect(task.wait(None))).activate()  # later drains
        except KeyboardInterrupt:
            raised.append("KI again")
    assert raised == ["KI"]
    assert [m.status for m in members] == ["finished"] * 3
    assert type(fork.result.error) is KeyboardInterrupt


def test_aborting_a_fork_of_another_scheduler_is_a_clear_error(run):
    other = task.fork(task.suspend()).activate()

    def main():
        yield from task.abort(other, ValueError("x"))

    assert "another scheduler" in str(run(main()).error)
    task.resume(other)


@pytest.mark.parametrize("error", [GeneratorExit(), type("Custom", (BaseException,), {})()])
def test_the_kit_reports_a_task_ending_with_any_base_exception(run, error):
    def main():
        yield from task.sleep(1)
        raise error

    outcome = run(main())
    assert (outcome.ok, outcome.error, outcome.time) == (False, error, 1.0)


def test_a_failure_left_in_a_busy_joiners_inbox_is_reported(run, caplog):
    box = {}

    def quick():
        yield from task.sleep(10)

    def member(name):
        try:
            yield from task.sleep(1000)
        except KeyError:
            raise ValueError(f"{name} cleanup failed")

    def grouper(forks):
        yield from task.group(forks)

    def x(a, b, c):
        yield from task.join(a)  # woken before the group: the group is busy meanwhile
        yield from task.abort(b, KeyError("b"))
        yield from task.abort(c, KeyError("c"))

    def main():
        a = yield from task.fork(quick())
        b = yield from task.fork(member("B"))
        c = yield from task.fork(member("C"))
        joiner = yield from task.fork(x(a, b, c))
        box["g"] = yield from task.fork(grouper([a, b, c]))
        yield from task.join(joiner)
        try:
            yield from task.join(box["g"])
        except ValueError as error:
            return str(error)

    with caplog.at_level("ERROR", logger="actress"):
        assert run(main()).value == "B cleanup failed"
        box.clear()
        gc.collect()
        task.fork(task.effect(task.wait(None))).activate()  # a drain flushes reports
    assert [str(r.exc_info[1]) for r in caplog.records] == ["C cleanup failed"]


def test_a_group_that_holds_the_running_task_is_a_clear_error(run):
    def main():
        me = yield from task.current()
        other = yield from task.fork(task.sleep(1))
        yield from task.group([other, me])

    assert "itself" in str(run(main()).error)
