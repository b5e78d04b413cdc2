"""Abort and exit: cleanup runs at once and may wait; results are final once set."""

from __future__ import annotations

from actress import task


def test_abort_runs_finally_before_abort_returns(run, log):
    def worker():
        log.append("w start")
        try:
            yield from task.sleep(50)
        finally:
            log.append("w finally")

    def main():
        fork = yield from task.fork(worker())
        yield from task.sleep(1)
        log.append("before abort")
        yield from task.abort(fork, ValueError("x"))
        log.append("after abort")
        try:
            yield from task.join(fork)
        except ValueError as error:
            log.append(f"join raised {error}")

    run(main())
    assert log == ["w start", "before abort", "w finally", "after abort", "join raised x"]


def test_abort_runs_except_blocks_with_the_error(run, log):
    def worker():
        try:
            yield from task.sleep(50)
        except ValueError as error:
            log.append(f"caught {error}")
            return "recovered"

    def main():
        fork = yield from task.fork(worker())
        yield from task.sleep(1)
        yield from task.abort(fork, ValueError("kill"))
        return (yield from task.join(fork))

    assert run(main()).value == "recovered"
    assert log == ["caught kill"]


def test_aborted_cleanup_may_wait_and_goes_on_concurrently(run, log):
    def worker():
        try:
            yield from task.sleep(50)
        finally:
            log.append("cleanup start")
            yield from task.sleep(10)
            log.append("cleanup end")

    def main():
        fork = yield from task.fork(worker())
        yield from task.sleep(1)
        yield from task.abort(fork, ValueError("x"))
        log.append("abort returned")
        try:
            yield from task.join(fork)
        except ValueError:
            log.append("joined after cleanup")

    outcome = run(main())
    assert log == ["cleanup start", "abort returned", "cleanup end", "joined after cleanup"]
    assert outcome.time == 11.0


def test_aborting_a_fork_wakes_its_joiners_with_the_error(run, log):
    def joiner(fork):
        try:
            yield from task.join(fork)
        except ValueError as error:
            log.append(f"joiner woke with {error}")

    def main():
        fork = yield from task.fork(task.sleep(100))
        waiting = yield from task.fork(joiner(fork))
        yield from task.sleep(1)
        yield from task.abort(fork, ValueError("stop"))
        log.append("abort returned")
        yield from task.join(waiting)

    outcome = run(main())
    assert log == ["joiner woke with stop", "abort returned"]
    assert outcome.time == 1.0


def test_abort_before_first_step_never_runs_the_body(run, log):
    def worker():
        log.append("body ran")
        yield from task.sleep(1)

    def main():
        fork = yield from task.fork(worker())  # started, but not yet run
        yield from task.abort(fork, ValueError("early"))
        return fork.result

    outcome = run(main(), settle=True)
    assert log == []
    assert outcome.value == task.Failure(outcome.value.error)
    assert str(outcome.value.error) == "early"


def test_abort_of_a_never_started_fork_finishes_it_without_running(run, log):
    def worker():
        log.append("body ran")
        yield from task.sleep(1)

    fork = task.fork(worker())

    def main():
        yield from task.abort(fork, ValueError("never"))
        return fork.status

    assert run(main()).value == "finished"
    assert log == []


def test_late_abort_does_not_change_a_finished_result(run):
    def main():
        fork = yield from task.fork(task.effect(task.wait(1)))
        yield from task.join(fork)
        yield from task.abort(fork, ValueError("late"))
        yield from task.exit_(fork, "late exit")
        return fork.result

    assert run(main()).value == task.Success(None)


def test_late_wait_result_does_not_change_a_finished_result():
    import asyncio

    async def main():
        future = asyncio.get_running_loop().create_future()

        def waiter():
            yield from task.wait(future)
            return "resolved"

        fork = task.fork(waiter())
        fork.activate()
        fork_result_before = None
        asyncio.get_running_loop().call_soon(
            lambda: asyncio.ensure_future(_abort_from_outside(fork)))
        try:
            await fork
        except ValueError:
            fork_result_before = fork.result
        future.set_result("late")
        await asyncio.sleep(0.001)
        return fork_result_before, fork.result

    before, after = asyncio.run(main())
    assert before == after
    assert isinstance(after.error, ValueError)


async def _abort_from_outside(fork):
    await task.fork(task.abort(fork, ValueError("aborted")))


def test_exit_runs_finally_but_not_except(run, log):
    def worker():
        try:
            log.append("start worker")
            yield from task.sleep(20)
            log.append("wake worker")
        except Exception as error:
            log.append(f"except ran: {error!r}")
        finally:
            log.append("finally ran")

    def main():
        fork = yield from task.fork(worker())
        yield from task.sleep(1)
        yield from task.exit_(fork, 7)
        log.append("exit returned")
        return (yield from task.join(fork))

    outcome = run(main())
    assert outcome.value == 7
    assert log == ["start worker", "finally ran", "exit returned"]


def test_exit_cleanup_may_wait(run, log):
    def worker():
        try:
            yield from task.sleep(20)
        finally:
            yield from task.sleep(5)
            yield from task.send("bye")
            log.append("cleanup done")

    def main():
        fork = yield from task.fork(worker())
        yield from task.sleep(1)
        yield from task.exit_(fork, "exited")
        return (yield from task.join(fork))

    outcome = run(main())
    assert (outcome.value, outcome.time, outcome.messages) == ("exited", 6.0, ["bye"])
    assert log == ["cleanup done"]


def test_exit_whose_cleanup_raises_ends_with_that_error(run):
    boom = RuntimeError("cleanup failed")

    def worker():
        try:
            yield from task.sleep(20)
        finally:
            raise boom

    def main():
        fork = yield from task.fork(worker())
        yield from task.sleep(1)
        yield from task.exit_(fork, "ignored")
        return fork.result

    assert run(main()).value == task.Failure(boom)


def test_terminate_ends_with_none(run, log):
    def worker():
        try:
            yield from task.sleep(20)
            log.append("never")
        finally:
            log.append("terminated")

    def main():
        fork = yield from task.fork(worker())
        yield from task.sleep(1)
        yield from task.terminate(fork)
        return fork.result

    assert run(main()).value == task.Success(None)
    assert log == ["terminated"]


def test_abort_of_a_suspended_task_runs_its_finally(run, log):
    def worker():
        try:
            yield from task.suspend()
        finally:
            log.append("cleaned up")

    def main():
        fork = yield from task.fork(worker())
        yield from task.sleep(1)
        yield from task.terminate(fork)
        log.append("terminated")

    run(main())
    assert log == ["cleaned up", "terminated"]


def test_aborted_task_can_suspend_again_and_be_resumed(run, log):
    def worker():
        me = yield from task.current()
        try:
            yield from task.sleep(20)
        except ValueError:
            log.append("aborted, waiting")
            yield from task.spawn(_resume_later(me, 2))
            yield from task.suspend()
            log.append("resumed after abort")

    def main():
        fork = yield from task.fork(worker())
        yield from task.sleep(1)
        yield from task.abort(fork, ValueError("kill"))
        log.append("abort returned")

    run(main(), settle=True)
    assert log == ["aborted, waiting", "abort returned", "resumed after abort"]


def _resume_later(fork, ms):
    yield from task.sleep(ms)
    task.resume(fork)


def test_abort_method_and_exit_method(run):
    def main():
        a = yield from task.fork(task.sleep(10))
        b = yield from task.fork(task.sleep(10))
        yield from task.sleep(1)
        yield from a.abort(ValueError("a"))
        yield from b.exit_("b")
        return str(a.result.error), b.result

    assert run(main()).value == ("a", task.Success("b"))


def test_abort_needs_an_exception(run):
    def main():
        fork = yield from task.fork(task.sleep(1))
        yield from task.abort(fork, "not an exception")

    assert isinstance(run(main()).error, TypeError)


def test_a_task_may_abort_itself(run, log):
    def main():
        me = yield from task.current()
        try:
            yield from task.abort(me, ValueError("self"))
            log.append("never")
        except ValueError as error:
            log.append(f"caught {error}")
        return "done"

    assert run(main()).value == "done"
    assert log == ["caught self"]


def test_abort_of_a_task_sleeping_zero_cancels_its_turn(run, log):
    def spinner():
        try:
            while True:
                yield from task.sleep(0)
                log.append("spin")
        finally:
            log.append("stopped")

    def main():
        fork = yield from task.fork(spinner())
        yield from task.sleep(0)
        yield from task.sleep(0)
        yield from task.abort(fork, ValueError("stop"))
        yield from task.sleep(0)
        log.append("main done")

    run(main())
    assert log == ["spin", "stopped", "main done"]


def test_abort_and_exit_iterated_by_hand_outside_any_task_act_at_once():
    log = []

    def target(name):
        try:
            yield from task.suspend()
        except KeyError:
            log.append(f"{name} except")
            raise
        finally:
            log.append(f"{name} finally")

    aborted = task.fork(target("a")).activate()
    exited = task.fork(target("e")).activate()
    for _ in task.abort(aborted, KeyError("stop")):  # plain code (a callback): no scheduler
        pass
    for _ in task.exit_(exited, "early"):
        pass
    assert log == ["a except", "a finally", "e finally"]
    assert repr(aborted.result) == "Failure(error=KeyError('stop'), ok=False)"
    assert exited.result.value == "early"
