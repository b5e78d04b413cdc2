"""Scopes: children attached to a body; errors go up, cancellation goes down."""

from __future__ import annotations

import pytest

from actress import task
from actress.scope import (
    Cancelled, cancel, current_cancelled, move_on_after, race, scope, shield, timeout,
)


def sleeper(log, name, ms, result=None):
    try:
        yield from task.sleep(ms)
        log.append(f"{name} done")
        return result if result is not None else name
    finally:
        log.append(f"{name} finally")


def failer(log, name, ms, error):
    yield from task.sleep(ms)
    log.append(f"{name} raises")
    raise error


def test_scope_returns_the_body_result_after_every_child_ended(run, log):
    def body(s):
        yield from s.fork(sleeper(log, "a", 20))
        yield from s.fork(sleeper(log, "b", 10))
        log.append("body done")
        return "result"

    outcome = run(scope(body))
    assert outcome.value == "result"
    assert outcome.time == 20.0
    assert log == ["body done", "b done", "b finally", "a done", "a finally"]


def test_first_error_cancels_siblings_and_body_then_raises_a_group(run, log):
    def body(s):
        yield from s.fork(sleeper(log, "a", 50))
        yield from s.fork(failer(log, "f", 10, ValueError("boom")))
        yield from sleeper(log, "body", 100)

    outcome = run(scope(body))
    assert isinstance(outcome.error, ExceptionGroup)
    assert [repr(e) for e in outcome.error.exceptions] == ["ValueError('boom')"]
    assert log == ["f raises", "a finally", "body finally"]
    assert outcome.time == 10.0


def test_one_error_is_still_a_group(run):
    def body(s):
        raise KeyError("k")
        yield

    with pytest.raises(ExceptionGroup) as info:
        raise run(scope(body)).error
    assert isinstance(info.value.exceptions[0], KeyError)


def test_errors_during_cancellation_are_all_in_the_group_in_order(run, log):
    def stubborn(name):
        try:
            yield from task.sleep(100)
        finally:
            raise RuntimeError(f"{name} cleanup failed")

    def body(s):
        yield from s.fork(stubborn("a"))
        yield from s.fork(failer(log, "f", 5, ValueError("first")))

    error = run(scope(body)).error
    assert [str(e) for e in error.exceptions] == ["first", "a cleanup failed"]


def test_child_cleanup_may_yield_and_the_scope_waits_for_it(run, log):
    def slow_cleanup():
        try:
            yield from task.sleep(100)
        finally:
            log.append("cleanup starts")
            yield from task.sleep(30)
            log.append("cleanup ends")

    def body(s):
        yield from s.fork(slow_cleanup())
        yield from s.fork(failer(log, "f", 10, ValueError("x")))

    def main():
        try:
            yield from scope(body)
        except* ValueError:
            log.append("caught")

    outcome = run(main())
    assert log == ["f raises", "cleanup starts", "cleanup ends", "caught"]
    assert outcome.time == 40.0


def test_cancelling_the_scope_cancels_every_child_and_the_body(run, log):
    def body(s):
        yield from s.fork(sleeper(log, "a", 50))
        yield from s.fork(sleeper(log, "b", 50))
        yield from task.sleep(5)
        s.cancel()
        log.append("cancel returned")
        yield from task.sleep(1)
        log.append("never")

    outcome = run(scope(body))
    assert outcome.ok and outcome.value is None
    assert log == ["cancel returned", "a finally", "b finally"]
    assert outcome.time == 5.0


def test_cancel_without_a_later_wait_does_not_leak_out_of_the_scope(run, log):
    def body(s):
        s.cancel()
        return "done"
        yield

    def main():
        value = yield from scope(body)
        yield from task.sleep(1)
        log.append("after")
        return value

    assert run(main()).value == "done"
    assert log == ["after"]


def test_outer_cancellation_cancels_children_waits_and_goes_on_up_as_itself(run, log):
    def body(s):
        yield from s.fork(sleeper(log, "a", 50))
        yield from sleeper(log, "body", 50)

    def main():
        inner = yield from task.fork(scope(body))
        yield from task.sleep(10)
        yield from task.abort(inner, Cancelled("outer"))
        log.append("abort returned")
        try:
            yield from task.join(inner)
        except Cancelled as error:
            log.append(f"joined: {error!r}")

    run(main())
    assert log == ["body finally", "a finally", "abort returned", "joined: Cancelled('outer')"]


@pytest.mark.parametrize("body_ms", [50, 1])  # aborted while the body runs, or after it
def test_an_abort_with_an_ordinary_error_goes_on_up_as_itself(run, log, body_ms):
    def body(s):
        yield from s.fork(sleeper(log, "a", 50))
        yield from task.sleep(body_ms)

    def main():
        inner = yield from task.fork(scope(body))
        yield from task.sleep(10)
        yield from task.abort(inner, KeyError("k"))
        try:
            yield from task.join(inner)
        except KeyError as error:
            log.append(f"joined: {error!r}")

    run(main())
    assert log == ["a finally", "joined: KeyError('k')"]


def test_an_abort_the_body_turns_into_its_own_error_counts_as_a_body_error(run, log):
    def body(s):
        yield from s.fork(sleeper(log, "a", 50))
        try:
            yield from task.sleep(50)
        except KeyError:
            raise ValueError("the body's own")

    def main():
        inner = yield from task.fork(scope(body))
        yield from task.sleep(10)
        yield from task.abort(inner, KeyError("k"))
        try:
            yield from task.join(inner)
        except* ValueError as group:
            log.append(f"joined: {group.exceptions!r}")

    run(main())
    assert log == ["a finally", "joined: (ValueError(\"the body's own\"),)"]


def test_a_child_started_in_a_cancelled_scope_is_cancelled_at_once(run, log):
    def body(s):
        s.cancel()
        child = yield from s.fork(sleeper(log, "late", 10))
        log.append(f"started {child.status.value}")

    run(scope(body))
    assert log == ["started active"]


def test_race_returns_the_first_to_finish_and_cancels_the_rest(run, log):
    outcome = run(race([sleeper(log, "slow", 30), sleeper(log, "fast", 10)]))
    assert outcome.value == (1, "fast")
    assert log == ["fast done", "fast finally", "slow finally"]
    assert outcome.time == 10.0


def test_race_over_a_dict_returns_the_key(run, log):
    outcome = run(race({"x": sleeper(log, "x", 5), "y": sleeper(log, "y", 9)}))
    assert outcome.value == ("x", "x")


def test_race_raises_the_first_finishers_error_as_it_is(run, log):
    outcome = run(race([sleeper(log, "slow", 30), failer(log, "f", 10, KeyError("k"))]))
    assert repr(outcome.error) == "KeyError('k')"
    assert log == ["f raises", "slow finally"]


def test_race_of_nothing_is_an_error(run):
    assert "at least one" in str(run(race([])).error)


def test_all_over_a_dict_keeps_the_keys(run, log):
    outcome = run(task.all_({"a": sleeper(log, "a", 20, 1), "b": sleeper(log, "b", 10, 2)}))
    assert outcome.value == {"a": 1, "b": 2}


def test_timeout_raises_timeout_error_after_cleanup(run, log):
    def main():
        try:
            yield from timeout(10, sleeper(log, "work", 50))
        except TimeoutError as error:
            log.append(f"timeout: {error}")

    outcome = run(main())
    assert log == ["work finally", "timeout: deadline of 10 ms passed"]
    assert outcome.time == 10.0


def test_timeout_returns_the_result_in_time_and_leaves_no_alarm(run, log):
    def main():
        value = yield from timeout(50, sleeper(log, "work", 10))
        yield from task.sleep(100)  # the alarm would fire at 50: it must not
        return value

    outcome = run(main())
    assert outcome.value == "work"
    assert outcome.time == 110.0


def test_move_on_after_returns_the_default(run, log):
    outcome = run(move_on_after(10, sleeper(log, "work", 50), default="late"))
    assert outcome.value == "late"


def test_nested_deadlines_the_inner_one_fires_first(run, log):
    def main():
        try:
            yield from timeout(100, move_on_after(10, sleeper(log, "work", 50), "inner"))
            log.append("outer still running")
            yield from timeout(100, task.sleep(200))
        except TimeoutError:
            log.append("outer fired")

    outcome = run(main())
    assert log == ["work finally", "outer still running", "outer fired"]
    assert outcome.time == 110.0


def test_nested_deadlines_the_outer_one_goes_through_the_inner(run, log):
    def inner():
        try:
            yield from timeout(100, sleeper(log, "work", 500))
        except TimeoutError:
            log.append("inner saw a timeout (wrong)")

    def main():
        value = yield from move_on_after(10, inner(), default="outer default")
        return value

    outcome = run(main())
    assert outcome.value == "outer default"
    assert log == ["work finally"]
    assert outcome.time == 10.0


def test_a_deadline_cancels_a_whole_scope(run, log):
    def body(s):
        yield from s.fork(sleeper(log, "a", 50))
        yield from s.fork(sleeper(log, "b", 60))

    outcome = run(move_on_after(10, scope(body), default="moved on"))
    assert outcome.value == "moved on"
    assert log == ["a finally", "b finally"]


def test_shield_runs_to_the_end_then_the_cancellation_goes_on(run, log):
    def main():
        try:
            yield from timeout(5, shield(sleeper(log, "flush", 20)))
        except TimeoutError:
            log.append("timed out")

    outcome = run(main())
    assert log == ["flush done", "flush finally", "timed out"]
    assert outcome.time == 20.0


def test_shield_passes_the_shielded_tasks_error(run, log):
    outcome = run(shield(failer(log, "f", 5, KeyError("k"))))
    assert repr(outcome.error) == "KeyError('k')"


def test_current_cancelled_tells_a_shielded_task_it_is_being_cancelled(run, log):
    def cleanup():
        log.append(("before", (yield from current_cancelled())))
        yield from task.sleep(10)
        log.append(("after", (yield from current_cancelled())))

    run(move_on_after(5, shield(cleanup())))
    assert log == [("before", False), ("after", True)]


def test_current_cancelled_is_false_again_once_the_deadline_is_absorbed(run, log):
    def main():
        yield from move_on_after(5, task.sleep(10))
        return (yield from current_cancelled())

    assert run(main()).value is False


def cleanup_asking(log, name):
    """Sleeps; its cleanup asks whether a cancellation is pending."""
    try:
        yield from task.sleep(100)
    finally:
        log.append((name, (yield from current_cancelled())))


def test_current_cancelled_is_true_in_a_fork_its_last_joiners_deadline_took_along(run, log):
    def main():
        f = yield from task.fork(cleanup_asking(log, "f"))
        yield from move_on_after(5, task.join(f), default=None)

    run(main())
    assert log == [("f", True)]


def test_current_cancelled_is_true_in_a_group_member_cancelled_with_the_group(run, log):
    def main():
        a = yield from task.fork(cleanup_asking(log, "a"))
        b = yield from task.fork(cleanup_asking(log, "b"))
        yield from move_on_after(5, task.group([a, b]), default=None)

    run(main())
    assert log == [("a", True), ("b", True)]


def test_cancel_throws_cancelled_at_the_targets_wait(run, log):
    def worker():
        try:
            yield from task.sleep(100)
        except Cancelled as c:
            log.append(f"cancelled: {c}")

    def main():
        w = yield from task.fork(worker())
        yield from task.sleep(1)
        cancel(w)
        log.append("cancel returned")
        yield from task.join(w)

    run(main())
    assert log == ["cancel returned", "cancelled: cancelled"]


def test_except_exception_does_not_swallow_a_cancellation(run, log):
    def careless():
        try:
            yield from task.sleep(100)
        except Exception:
            log.append("swallowed (wrong)")

    outcome = run(move_on_after(5, careless(), default="moved on"))
    assert outcome.value == "moved on"
    assert log == []


def test_spawned_failure_is_reported_not_silent(run, caplog):
    def bad():
        raise ValueError("lost?")
        yield

    def main():
        yield from task.spawn(bad())
        yield from task.sleep(1)

    run(main())
    import gc

    gc.collect()
    from actress import _fork

    _fork.flush_reports()
    assert "lost?" in caplog.text


def nested_scopes(box, log):
    """A task in an outer scope whose body waits in an inner scope; it logs how it goes on."""
    def inner(si):
        box["inner"] = si
        yield from task.sleep(1000)

    def outer(so):
        box["outer"] = so
        yield from scope(inner)
        log.append("outer body goes on")
        yield from task.sleep(30)
        log.append("outer body finished")

    yield from scope(outer)
    log.append("after the outer scope")
    yield from task.sleep(10)
    log.append(("cancelled?", (yield from current_cancelled())))
    return "done"


def cancel_in_one_step(log, *names):
    box = {}
    victim = yield from task.fork(nested_scopes(box, log))
    yield from task.sleep(5)
    for name in names:
        if name == "task":
            cancel(victim)
        else:
            box[name].cancel()
    return (yield from task.join(victim))


def test_a_task_cancelled_and_its_inner_scope_cancelled_in_one_step_is_cancelled(run, log):
    outcome = run(cancel_in_one_step(log, "task", "inner"))
    assert isinstance(outcome.error, Cancelled) and log == []


def test_an_inner_scope_and_the_task_cancelled_in_one_step_cancel_it_at_its_next_wait(
        run, log):
    outcome = run(cancel_in_one_step(log, "inner", "task"))
    assert isinstance(outcome.error, Cancelled) and log == ["outer body goes on"]


@pytest.mark.parametrize("order", [("outer", "inner"), ("inner", "outer")])
def test_an_outer_and_an_inner_scope_cancelled_in_one_step_each_absorb_their_own(
        run, log, order):
    assert run(cancel_in_one_step(log, *order)).value == "done"
    assert log == [*(["outer body goes on"] if order[0] == "inner" else []),
                   "after the outer scope", ("cancelled?", False)]


def test_a_race_whose_loser_fails_in_its_cleanup_raises_that_error_in_a_group(run, log):
    def loser():
        try:
            yield from task.sleep(50)
        finally:
            raise OSError("cleanup failed")

    def main():
        try:
            yield from race({"fast": sleeper(log, "fast", 5), "slow": loser()})
        except* OSError as group:
            log.append(repr(group.exceptions))

    run(main())
    assert log == ["fast done", "fast finally", "(OSError('cleanup failed'),)"]


def test_aborts_reach_a_task_in_the_order_they_came_parked_or_running(run):
    def victim(log, n):
        for _ in range(n):
            try:
                yield from task.suspend()
            except KeyError as error:
                log.append(error.args[0])

    def parked():
        log = []
        v = yield from task.fork(victim(log, 3))
        yield from task.sleep(1)
        for name in ("e1", "e2", "e3"):
            cancel(v, KeyError(name))
        yield from task.join(v)
        return log

    def running():
        log = []
        me = yield from task.current()
        for name in ("r1", "r2", "r3"):
            cancel(me, KeyError(name))
        yield from victim(log, 3)
        return log

    assert run(parked()).value == ["e1", "e2", "e3"]
    assert run(running()).value == ["r1", "r2", "r3"]


def test_an_abort_that_came_while_a_task_ran_still_comes_before_a_later_one(run):
    log = []

    def other(victims):
        try:
            yield from task.suspend()
        except KeyError:
            yield from task.abort(victims[0], KeyError("second"))  # after "first" came

    def victim(helper):
        me = yield from task.current()
        cancel(me, KeyError("first"))  # comes while it runs: thrown at its next wait
        cancel(helper, KeyError("wake"))  # queued above it
        for _ in range(3):
            try:
                yield from task.sleep(10)
                log.append("slept")
            except KeyError as error:
                log.append(error.args[0])

    def main():
        victims = []
        helper = yield from task.fork(other(victims))
        yield from task.sleep(1)
        victims.append((yield from task.fork(victim(helper))))
        yield from task.join(victims[0])

    run(main())
    assert log == ["first", "second", "slept"]
