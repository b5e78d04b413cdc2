"""Bad input gets a clear error; no exception wedges the scheduler; failures are reported."""

from __future__ import annotations

import asyncio
import gc
import logging
import traceback

import pytest

from actress import task, testing


def test_yield_without_from_is_a_type_error_at_that_line(run):
    def main():
        yield task.sleep(1)

    outcome = run(main())
    assert isinstance(outcome.error, TypeError)
    assert "yield from" in str(outcome.error)
    assert outcome.error.__traceback__ is not None
    lines = traceback.format_tb(outcome.error.__traceback__)
    assert "yield task.sleep(1)" in lines[-1]  # raised at the very line of the mistake


@pytest.mark.parametrize("make", [
    lambda: task.sleep(0),
    lambda: task.sleep(5),
    lambda: task.send("x"),
    lambda: task.fork(task.sleep(1)),
])
def test_yielding_a_task_without_from_is_caught(run, make):
    def main():
        yield make()

    assert "yield from" in str(run(main()).error)


def test_yielding_a_coroutine_is_caught(run):
    async def coro():
        return 1

    def main():
        c = coro()
        try:
            yield c
        finally:
            c.close()

    assert "coroutine" in str(run(main()).error)


def test_sending_a_fork_a_generator_or_a_sleep_is_a_message_not_a_mistake(run):
    def idle():
        yield from task.suspend()

    def nested():
        yield from task.send(task.sleep(1))  # a send inside a helper generator

    def main():
        handle = yield from task.fork(idle())
        yield from task.send(handle)  # a handle is a natural thing to pass up
        gen = idle()
        yield from task.send(gen)
        yield from nested()
        gen.close()
        return "sent"

    outcome = run(main())
    assert outcome.value == "sent"
    assert [type(m).__name__ for m in outcome.messages] == ["Fork", "generator", "SleepZero"]


def test_sent_forks_reach_a_joiner_and_a_listener(run):
    def idle():
        yield from task.suspend()

    def child(box):
        box.append((yield from task.fork(idle())))
        yield from task.send(box[0])

    def main():
        box = []
        got = []
        yield from task.loop(child(box), lambda m: (got.append(m is box[0]), task.none_())[1])
        return got

    assert run(main()).value == [True]


def parked_forever():
    yield from task.suspend()


def sent_value(kind):
    return {"fork": task.fork(parked_forever()), "generator": parked_forever(),
            "sleep": task.sleep(1)}[kind]


def relayed(relay, child):
    """Drive ``child`` the way ``relay`` does; return its result."""
    from actress.scope import shield

    if relay == "shield":
        return (yield from shield(child))
    f = yield from task.fork(child)
    if relay == "join":
        return (yield from task.join(f))
    yield from task.group([f])
    return f.result.value


@pytest.mark.parametrize("relay", ["join", "group", "shield"])
@pytest.mark.parametrize("kind", ["fork", "generator", "sleep"])
def test_a_fork_a_generator_or_a_sleep_a_child_sends_passes_through_whoever_drives_it(
        run, kind, relay):
    def child():
        yield from task.send(sent_value(kind))
        return "child done"

    outcome = run(relayed(relay, child()))
    assert outcome.value == "child done"
    assert [type(m).__name__ for m in outcome.messages] == [
        {"fork": "Fork", "generator": "generator", "sleep": "SleepZero"}[kind]]


@pytest.mark.parametrize("kind", ["fork", "generator", "sleep"])
def test_an_effect_whose_task_returns_a_fork_a_generator_or_a_sleep_sends_it(run, kind):
    def returns():
        yield from task.sleep(1)
        return sent_value(kind)

    assert len(run(task.effect(returns())).messages) == 1
    assert run(task.effects([returns()])).error is None


def test_the_mistake_can_be_caught_and_the_task_goes_on(run):
    def main():
        try:
            yield task.sleep(1)
        except TypeError:
            pass
        yield from task.sleep(1)
        return "recovered"

    assert run(main()).value == "recovered"


@pytest.mark.parametrize("bad", [42, None, [1, 2], "text"])
def test_fork_rejects_what_is_not_a_task(bad):
    with pytest.raises(TypeError, match="generator"):
        task.fork(bad)


def test_fork_rejects_a_coroutine_and_says_to_wait_on_it():
    async def coro():
        return 1

    with pytest.raises(TypeError, match=r"task\.wait"):
        task.fork(coro())


def test_sleep_rejects_a_non_number():
    with pytest.raises(TypeError, match="milliseconds"):
        task.sleep("soon")


def test_a_base_exception_in_a_task_fails_only_that_task(run):
    class Stop(BaseException):
        pass

    def bad():
        raise Stop()
        yield

    def main():
        fork = yield from task.fork(bad())
        yield from task.sleep(1)
        return type(fork.result.error).__name__, "still running"

    assert run(main()).value == ("Stop", "still running")


def test_keyboard_interrupt_propagates_and_the_scheduler_goes_on():
    log = []

    def interrupted():
        yield from task.sleep(0)
        raise KeyboardInterrupt

    def other():
        yield from task.sleep(0)
        yield from task.sleep(0)
        log.append("other finished")

    def main():
        yield from task.fork(interrupted())
        yield from task.fork(other())
        yield from task.sleep(0)

    with pytest.raises(KeyboardInterrupt):
        task.fork(main()).activate()
    later = task.fork(task.effect(task.wait("later"))).activate()
    assert later.status == "finished"
    assert log == ["other finished"]


def test_tasks_a_keyboard_interrupt_left_ready_go_on_when_the_loop_runs_again():
    log = []

    def interrupted():
        yield from task.sleep(0)
        raise KeyboardInterrupt

    def worker(name):
        yield from task.sleep(0)
        yield from task.sleep(0)
        log.append(name)

    def main():
        yield from task.fork(interrupted())
        for name in ("a", "b"):
            yield from task.fork(worker(name))

    async def start():
        await task.fork(main())

    async def next_turns():
        for _ in range(3):
            await asyncio.sleep(0)

    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(KeyboardInterrupt):
            loop.run_until_complete(start())
        assert log == []
        loop.run_until_complete(next_turns())  # as a REPL or a notebook goes on
        assert log == ["a", "b"]
    finally:
        loop.close()


def test_a_keyboard_interrupt_raised_out_of_actress_run_is_not_reported_too(caplog):
    import actress

    def main():
        yield from task.sleep(1)
        raise KeyboardInterrupt

    with caplog.at_level(logging.ERROR, logger="actress"):
        with pytest.raises(KeyboardInterrupt):
            actress.run(main())
        gc.collect()
        task.fork(task.effect(task.wait(None))).activate()  # a drain flushes reports
    assert not [r for r in caplog.records
                if r.exc_info and r.exc_info[0] is KeyboardInterrupt], caplog.text


def test_system_exit_propagates():
    def main():
        raise SystemExit(3)
        yield

    with pytest.raises(SystemExit):
        task.fork(main()).activate()


def test_a_failure_nobody_retrieves_is_reported_to_the_loop():
    seen = []

    async def main():
        asyncio.get_running_loop().set_exception_handler(lambda loop, ctx: seen.append(ctx))

        def fail():
            yield from task.sleep(1)
            raise ValueError("lost")

        def parent():
            yield from task.fork(fail())
            yield from task.sleep(5)

        await task.fork(parent())
        gc.collect()
        await asyncio.sleep(0)

    asyncio.run(main())
    assert len(seen) == 1
    assert "nobody joined or awaited" in seen[0]["message"]
    assert str(seen[0]["exception"]) == "lost"


def test_a_failure_nobody_retrieves_is_logged_without_a_loop(caplog):
    def fail():
        raise ValueError("lost without loop")
        yield

    with caplog.at_level(logging.ERROR, logger="actress"):
        task.fork(fail()).activate()
        gc.collect()
        task.fork(task.effect(task.wait(None))).activate()  # a drain flushes reports
    assert any("nobody joined or awaited" in r.message for r in caplog.records)


def test_a_failure_that_is_joined_is_not_reported(caplog):
    def fail():
        raise ValueError("seen")
        yield

    def main():
        fork = yield from task.fork(fail())
        yield from task.sleep(0)
        try:
            yield from task.join(fork)
        except ValueError:
            pass

    with caplog.at_level(logging.ERROR, logger="actress"):
        task.fork(main()).activate()
        gc.collect()
        task.fork(task.effect(task.wait(None))).activate()
    assert not [r for r in caplog.records if "nobody" in r.message]


def test_an_aborted_fork_is_not_reported_as_lost(caplog):
    def main():
        fork = yield from task.fork(task.suspend())
        yield from task.sleep(0)
        yield from task.abort(fork, ValueError("on purpose"))

    with caplog.at_level(logging.ERROR, logger="actress"):
        task.fork(main()).activate()
        gc.collect()
        task.fork(task.effect(task.wait(None))).activate()
    assert not [r for r in caplog.records if "nobody" in r.message]


def reports_of(marker: str, caplog) -> list[logging.LogRecord]:
    """The "nobody joined" reports whose error (or a sub-error of its group) says ``marker``."""
    return [r for r in caplog.records if r.exc_info and marker in "".join(
        traceback.format_exception(r.exc_info[1]))]


def sleeping_scope_body(s):
    yield from s.fork(task.sleep(100))
    yield from task.sleep(100)


def run_and_collect(main, caplog):
    """Run ``main`` on virtual time, collect the garbage and flush what it reports."""
    with caplog.at_level(logging.ERROR, logger="actress"):
        value = testing.run(main).value
        gc.collect()
        task.fork(task.effect(task.wait(None))).activate()  # a drain flushes reports
    return value


def test_an_aborted_fork_whose_scope_groups_the_abort_is_not_reported(caplog):
    from actress.scope import scope

    def main():
        fork = yield from task.fork(scope(sleeping_scope_body))
        yield from task.sleep(0)
        yield from task.abort(fork, ValueError("grouped on purpose"))
        yield from task.sleep(1)  # the scope's child ends
        return fork.status

    assert run_and_collect(main(), caplog) == "finished"
    assert not reports_of("grouped on purpose", caplog)


def test_a_fork_abandoned_by_its_joiner_is_not_reported(caplog):
    from actress.scope import scope

    def main():
        fork = yield from task.fork(scope(sleeping_scope_body))
        waiting = yield from task.fork(task.join(fork))
        yield from task.sleep(0)
        yield from task.abort(waiting, ValueError("passed down on purpose"))
        waiting.result  # noqa: B018 - the joiner's own failure is seen
        yield from task.sleep(1)  # the scope's child ends
        return fork.status

    assert run_and_collect(main(), caplog) == "finished"
    assert not reports_of("passed down on purpose", caplog)


def test_finished_tasks_are_not_kept_alive(run):
    import weakref

    refs = []

    def child():
        yield from task.sleep(1)

    def main():
        for _ in range(3):
            fork = yield from task.fork(child())
            refs.append(weakref.ref(fork))
            yield from task.join(fork)
        fork = yield from task.fork(task.sleep(100))
        yield from task.sleep(1)
        yield from task.abort(fork, ValueError("cancel a sleeper"))
        refs.append(weakref.ref(fork))
        del fork

    run(main())
    gc.collect()
    assert [r() for r in refs] == [None, None, None, None]


def test_run_from_inside_a_task_is_a_clear_error():
    import actress

    def inner():
        return 1
        yield

    def main():
        actress.run(inner())
        yield

    fork = task.fork(main()).activate()
    assert "inside a task" in str(fork.result.error)


def test_joining_a_fork_of_another_scheduler_is_a_clear_error(run):
    other = task.fork(task.suspend()).activate()  # on the default scheduler

    def one():
        yield from task.join(other)

    def several():
        yield from task.group([other])

    for program in (one(), several()):
        error = run(program).error
        assert isinstance(error, RuntimeError) and "another scheduler" in str(error)
    task.resume(other)


def test_a_failure_whose_handle_a_program_keeps_to_its_exit_is_reported_at_exit():
    import subprocess
    import sys
    import textwrap

    program = textwrap.dedent("""
        import actress
        from actress import task

        KEPT = []

        def bad():
            yield from task.sleep(1)
            raise ValueError("kept, never joined")

        def main():
            KEPT.append((yield from task.fork(bad())))  # held in a global to the end
            yield from task.sleep(5)

        actress.run(main())
    """)
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0
    assert "failed and nobody joined or awaited it" in done.stderr
    assert "ValueError: kept, never joined" in done.stderr
