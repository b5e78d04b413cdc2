"""Joining forks: results, errors, any number of joiners, no round trip when finished."""

from __future__ import annotations

import pytest

from actress import task


def value_after(ms, value, log=None):
    yield from task.sleep(ms)
    if log is not None:
        log.append(f"{value} done")
    return value


def fail_after(ms, error):
    yield from task.sleep(ms)
    raise error


def test_join_returns_the_fork_result(run):
    def main():
        fork = yield from task.fork(value_after(5, "v"))
        return (yield from task.join(fork))

    assert run(main()).value == "v"


def test_join_raises_the_fork_error(run):
    boom = ValueError("boom")

    def main():
        fork = yield from task.fork(fail_after(5, boom))
        yield from task.join(fork)

    outcome = run(main())
    assert (outcome.ok, outcome.error) == (False, boom)


def test_join_after_the_fork_failed_raises(run):
    boom = ValueError("boom")

    def main():
        fork = yield from task.fork(fail_after(0, boom))
        yield from task.sleep(10)
        yield from task.join(fork)

    assert run(main()).error is boom


def test_two_joiners_both_get_the_result(run, log):
    def joiner(name, fork):
        value = yield from task.join(fork)
        log.append(f"{name} got {value}")

    def main():
        fork = yield from task.fork(value_after(10, "v"))
        a = yield from task.fork(joiner("a", fork))
        b = yield from task.fork(joiner("b", fork))
        yield from task.join(a)
        yield from task.join(b)

    run(main())
    assert log == ["a got v", "b got v"]


def test_two_joiners_both_get_the_error(run, log):
    boom = ValueError("boom")

    def joiner(name, fork):
        try:
            yield from task.join(fork)
        except ValueError as error:
            log.append(f"{name} caught {error}")

    def main():
        fork = yield from task.fork(fail_after(10, boom))
        a = yield from task.fork(joiner("a", fork))
        b = yield from task.fork(joiner("b", fork))
        yield from task.group([a, b])

    run(main())
    assert log == ["a caught boom", "b caught boom"]


def test_joining_a_finished_fork_does_not_yield(run, log):
    def other():
        log.append("other ran")
        yield from task.sleep(0)

    def main():
        fork = yield from task.fork(value_after(0, "v"))
        yield from task.sleep(1)
        yield from task.fork(other())
        value = yield from task.join(fork)  # finished: no trip through the scheduler
        log.append(f"joined {value}")

    run(main())
    assert log == ["joined v", "other ran"]


def test_joining_a_never_started_fork_starts_it(run):
    fork = task.fork(value_after(3, "late"))

    def main():
        return (yield from task.join(fork))

    assert run(main()).value == "late"


def test_join_method_is_the_same_as_join(run):
    def main():
        fork = yield from task.fork(value_after(3, "m"))
        return (yield from fork.join())

    assert run(main()).value == "m"


def logged_work(ms, value, log):
    try:
        yield from task.sleep(ms)
        return value
    except Exception as error:
        log.append(f"{value} caught {type(error).__name__}")
        raise
    finally:
        log.append(f"{value} cleanup")


def joiner(fork, log, name="joiner"):
    try:
        return (yield from task.join(fork))
    finally:
        log.append(f"{name} cleanup")


def test_aborting_the_only_joiner_aborts_the_fork_first(run, log):
    stop = RuntimeError("stop")

    def main():
        fork = yield from task.fork(logged_work(10, "v", log))
        waiting = yield from task.fork(joiner(fork, log))
        yield from task.sleep(1)
        yield from task.abort(waiting, stop)
        return fork.result, waiting.result

    assert run(main()).value == (task.Failure(stop), task.Failure(stop))
    assert log == ["v caught RuntimeError", "v cleanup", "joiner cleanup"]


def test_exiting_the_only_joiner_exits_the_fork_with_none(run, log):
    def main():
        fork = yield from task.fork(logged_work(10, "v", log))
        waiting = yield from task.fork(joiner(fork, log))
        yield from task.sleep(1)
        yield from task.exit_(waiting, "gave up")
        return fork.result, waiting.result

    assert run(main()).value == (task.Success(None), task.Success("gave up"))
    assert log == ["v cleanup", "joiner cleanup"]


def test_aborting_one_of_two_joiners_leaves_the_fork_running(run, log):
    def main():
        fork = yield from task.fork(logged_work(10, "v", log))
        first = yield from task.fork(joiner(fork, log, "first"))
        second = yield from task.fork(joiner(fork, log, "second"))
        yield from task.sleep(1)
        yield from task.abort(first, RuntimeError("stop"))
        return (yield from task.join(second))

    assert run(main()).value == "v"
    assert log == ["first cleanup", "v cleanup", "second cleanup"]


def test_a_joiner_aborted_after_the_fork_ended_changes_nothing(run, log):
    def main():
        fork = yield from task.fork(logged_work(1, "v", log))
        waiting = yield from task.fork(joiner(fork, log))
        yield from task.sleep(5)
        yield from task.abort(waiting, RuntimeError("late"))
        return fork.result, waiting.result

    assert run(main()).value == (task.Success("v"), task.Success("v"))
    assert log == ["v cleanup", "joiner cleanup"]


def test_an_abort_caught_by_the_joiner_still_took_the_fork(run, log):
    def catching(fork):
        try:
            yield from task.join(fork)
        except RuntimeError as error:
            log.append(f"joiner caught {error}")
        return "joiner went on"

    def main():
        fork = yield from task.fork(logged_work(10, "v", log))
        waiting = yield from task.fork(catching(fork))
        yield from task.sleep(1)
        yield from task.abort(waiting, RuntimeError("stop"))
        return (yield from task.join(waiting)), fork.status

    assert run(main()).value == ("joiner went on", "finished")
    assert log == ["v caught RuntimeError", "v cleanup", "joiner caught stop"]


def slow_cleanup(log, name="w"):
    """Sleeps; when interrupted, its cleanup takes 10 ms (and says if it was cut short)."""
    try:
        yield from task.sleep(100)
    except BaseException as error:
        log.append(f"{name} got {error!r}")
        try:
            yield from task.sleep(10)
            log.append(f"{name} cleanup finished")
        except BaseException as again:
            log.append(f"{name} cleanup cut short by {again!r}")
        raise


def test_the_last_joiners_abort_reaches_a_fork_in_cleanup_too(run, log):
    # as a second cancel does in asyncio: the fork's cleanup is interrupted at its wait
    direct, two = RuntimeError("direct"), RuntimeError("two")

    def main():
        f = yield from task.fork(slow_cleanup(log))
        first = yield from task.fork(joiner(f, log, "first"))
        second = yield from task.fork(joiner(f, log, "second"))
        yield from task.sleep(5)
        yield from task.abort(first, RuntimeError("one"))   # f runs on: second waits
        yield from task.abort(f, direct)                    # f's cleanup starts
        yield from task.abort(second, two)                  # the last joiner takes f along
        return f.result

    assert run(main()).value == task.Failure(direct)
    assert log == ["first cleanup", "w got RuntimeError('direct')",
                   "w cleanup cut short by RuntimeError('two')", "second cleanup"]


def test_joiners_cancelled_together_pass_their_abort_down_once(run, log):
    stop = RuntimeError("stop")

    def main():
        f = yield from task.fork(slow_cleanup(log))
        both = yield from task.fork(task.all_([joiner(f, log, "a"), joiner(f, log, "b")]))
        yield from task.sleep(5)
        yield from task.abort(both, stop)
        yield from task.sleep(50)
        return f.result

    assert run(main()).value == task.Failure(stop)
    assert log[0] == "w got RuntimeError('stop')"
    assert "w cleanup finished" in log and not [e for e in log if "cut short" in e]


def test_a_fork_that_absorbed_its_own_deadline_is_still_taken_along(run, log):
    from actress.scope import move_on_after

    def worker():
        yield from move_on_after(5, task.sleep(100), default=None)  # its own deadline fires
        try:
            yield from task.sleep(100)
        finally:
            log.append("worker cleanup")

    def main():
        f = yield from task.fork(worker())
        got = yield from move_on_after(10, task.join(f), default="gave up")
        return got, f.status

    assert run(main()).value == ("gave up", "finished")
    assert log == ["worker cleanup"]


def test_a_scope_body_joining_its_child_leaves_the_child_to_the_scope(run, log):
    from actress.scope import scope

    def failing():
        yield from task.sleep(5)
        raise ValueError("boom")

    def body(s):
        w = yield from s.fork(slow_cleanup(log))
        yield from s.fork(failing())
        return (yield from task.join(w))

    outcome = run(scope(body))
    assert [repr(e) for e in outcome.error.exceptions] == ["ValueError('boom')"]
    assert outcome.time == 15.0  # the scope waited for w's cleanup
    assert log[1:] == ["w cleanup finished"]


def test_an_outside_cancel_of_a_scope_whose_body_joins_a_child_goes_on_as_itself(run, log):
    from actress.scope import Cancelled, cancel, scope

    def body(s):
        child = yield from s.fork(task.sleep(100))
        return (yield from task.join(child))

    def main():
        f = yield from task.fork(scope(body))
        yield from task.sleep(10)
        cancel(f, Cancelled("from outside"))
        yield from task.sleep(1)
        return f.result

    result = run(main()).value
    assert type(result.error) is Cancelled and str(result.error) == "from outside"


def test_keyboard_interrupt_in_a_joiner_is_not_passed_to_the_fork(log):
    from actress._kernel import Scheduler

    def work():
        try:
            yield from task.suspend()
        finally:
            log.append("work cleanup")

    sched = Scheduler()
    f = task.fork(work())
    j = task.fork(joiner(f, log))
    sched.spawn(f)
    sched.spawn(j)
    with pytest.raises(KeyboardInterrupt):
        sched.interrupt(j, KeyboardInterrupt())
    assert log == ["joiner cleanup"]
    assert (j.status, f.status) == ("finished", "active")
    sched.interrupt(f, RuntimeError("end"))  # tidy up
    assert log == ["joiner cleanup", "work cleanup"]
    f.result  # noqa: B018 - seen: not reported


def test_a_task_cannot_join_itself(run):
    def main():
        me = yield from task.current()
        yield from task.join(me)

    outcome = run(main())
    assert isinstance(outcome.error, RuntimeError)
    assert "itself" in str(outcome.error)


def test_fork_result_and_status_follow_its_life(run):
    seen = []

    def main():
        fork = task.fork(value_after(5, "v"), name="worker")
        seen.append((fork.status, fork.result))
        yield from fork
        seen.append((fork.status, fork.result))
        yield from task.join(fork)
        seen.append((fork.status, fork.result, fork.name))

    run(main())
    assert seen == [
        ("idle", None),
        ("active", None),
        ("finished", task.Success("v"), "worker"),
    ]


def test_fork_ids_are_unique_and_repr_names_them():
    a, b = task.fork(value_after(0, 1)), task.fork(value_after(0, 2))
    assert a.id != b.id
    assert repr(a) == f"Fork(id={a.id}, status='idle')"


def test_fork_options_give_a_name():
    fork = task.fork(value_after(0, 1), task.ForkOptions(name="robot"))
    assert fork.name == "robot"


def test_iterating_a_fork_starts_it_and_yields_nothing(run):
    def main():
        fork = task.fork(value_after(0, "x"))
        items = list(fork)
        status = fork.status
        yield from task.join(fork)
        return items, status

    assert run(main()).value == ([], "active")


@pytest.mark.parametrize("count", [1, 2, 50])
def test_group_of_many_joiners_all_wake(run, count):
    def joiner(fork):
        return (yield from task.join(fork))

    def main():
        fork = yield from task.fork(value_after(5, "v"))
        joiners = []
        for _ in range(count):
            joiners.append((yield from task.fork(joiner(fork))))
        return (yield from task.all_([task.join(j) for j in joiners]))

    assert run(main()).value == ["v"] * count


def test_a_deadline_on_the_only_join_ends_the_fork_with_its_cancelled(run, log):
    from actress.scope import Cancelled, move_on_after

    def main():
        f = yield from task.fork(logged_work(100, "v", log))
        got = yield from move_on_after(5, task.join(f), default="gave up")
        return got, type(f.result.error)

    assert run(main()).value == ("gave up", Cancelled)
    assert log == ["v cleanup"]


def test_a_deadline_on_one_of_two_joins_leaves_the_fork_running(run, log):
    from actress.scope import move_on_after

    def main():
        f = yield from task.fork(logged_work(20, "v", log))
        keeper = yield from task.fork(task.join(f))
        got = yield from move_on_after(5, task.join(f), default="gave up")
        return got, (yield from task.join(keeper))

    assert run(main()).value == ("gave up", "v")
    assert log == ["v cleanup"]


@pytest.mark.parametrize("make", [lambda t: task.join(t), lambda t: task.group([t])],
                         ids=["join", "group"])
def test_joining_a_task_that_was_not_forked_says_to_fork_it(run, make):
    def work():
        return 1
        yield

    error = run(make(work())).error
    assert isinstance(error, TypeError)
    assert "takes forks (from `yield from task.fork(t)`), got a task" in str(error)
