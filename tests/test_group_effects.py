"""group, all_, batch, effects, listen, tag, loop, then_, effect, none_."""

from __future__ import annotations

import pytest

from actress import task


def work(ms, name, log, crash=False):
    log.append(f"{name} on duty")
    try:
        yield from task.sleep(ms)
        if crash:
            raise ValueError(name)
        log.append(f"{name} done")
        return name
    finally:
        log.append(f"{name} finally")


def test_group_waits_for_every_member(run, log):
    def main():
        a = yield from task.fork(work(5, "a", log))
        b = yield from task.fork(work(2, "b", log))
        yield from task.group([a, b])
        return a.result, b.result

    outcome = run(main())
    assert outcome.value == (task.Success("a"), task.Success("b"))
    assert outcome.time == 5.0


def test_group_failure_aborts_others_in_list_order_then_raises(run, log):
    def main():
        a = yield from task.fork(work(9, "a", log))
        b = yield from task.fork(work(2, "b", log, crash=True))
        c = yield from task.fork(work(9, "c", log))
        try:
            yield from task.group([c, b, a])
        except ValueError as error:
            log.append(f"group raised {error}")

    run(main())
    assert log == [
        "c on duty", "b on duty", "a on duty",
        "b finally",
        "c finally", "a finally",
        "group raised b",
    ]


def test_group_with_an_already_failed_member_raises_before_others_start(run, log):
    def fail():
        raise ValueError("early")
        yield

    def main():
        failed = yield from task.fork(fail())
        a = yield from task.fork(work(2, "a", log))
        yield from task.sleep(0)
        b = yield from task.fork(work(4, "b", log))
        try:
            yield from task.group([a, b, failed])
        except ValueError as error:
            log.append(f"raised {error}")

    run(main(), settle=True)
    assert log == ["a on duty", "a finally", "raised early"]


def test_group_member_that_survives_the_abort_runs_to_completion(run, log):
    def stubborn():
        try:
            yield from task.sleep(10)
        except ValueError:
            log.append("survived")
            yield from task.sleep(5)
            log.append("finished anyway")

    def main():
        s = yield from task.fork(stubborn())
        b = yield from task.fork(work(2, "b", log, crash=True))
        try:
            yield from task.group([s, b])
        except ValueError:
            log.append("group raised")

    outcome = run(main(), settle=True)
    assert log == ["b on duty", "b finally", "survived", "group raised", "finished anyway"]
    assert outcome.time == 7.0


def test_group_passes_member_messages_through(run):
    def say(ms, word):
        yield from task.sleep(ms)
        yield from task.send(word)

    def main():
        a = yield from task.fork(say(3, "later"))
        b = yield from task.fork(say(1, "sooner"))
        yield from task.group([a, b])

    assert run(main()).messages == ["sooner", "later"]


def test_empty_group_returns_at_once(run):
    def main():
        return (yield from task.group([]))

    assert run(main()).value is None


def test_all_returns_results_in_input_order(run, log):
    def main():
        return (yield from task.all_([
            work(2, "a", log), work(9, "b", log), work(5, "c", log), work(0, "d", log),
        ]))

    outcome = run(main())
    assert outcome.value == ["a", "b", "c", "d"]
    assert [line for line in log if line.endswith("done")] == [
        "d done", "a done", "c done", "b done"]


def test_all_aborts_the_rest_on_first_failure(run, log):
    def main():
        yield from task.all_([
            work(2, "a", log), work(9, "b", log), work(5, "c", log, crash=True),
            work(8, "d", log),
        ])

    outcome = run(main(), settle=True)
    assert str(outcome.error) == "c"
    assert [line for line in log if not line.endswith("on duty")] == [
        "a done", "a finally", "c finally", "b finally", "d finally"]


def test_all_of_nothing_is_an_empty_list(run):
    assert run(task.all_([])).value == []


def test_all_drops_member_messages_as_actress_0_1_did(run):
    def chatty():
        yield from task.send("hi")
        return 1

    assert run(task.all_([chatty()])).messages == []


def test_listen_tags_each_message_with_its_source(run):
    def source(delay, count):
        for n in range(count):
            yield from task.sleep(delay)
            yield from task.send(n)

    outcome = run(task.listen({"beep": source(3, 2), "bop": source(5, 2)}))
    assert outcome.messages == [
        {"type": "beep", "beep": 0},
        {"type": "bop", "bop": 0},
        {"type": "beep", "beep": 1},
        {"type": "bop", "bop": 1},
    ]


def test_listen_to_nothing_ends_at_once(run):
    assert run(task.listen({})).messages == []


def test_tag_nests_outermost_last(run):
    def fx():
        yield from task.send(1)
        yield from task.sleep(1)
        yield from task.send(2)

    outcome = run(task.tag(task.tag(fx(), "foo"), "bar"))
    assert outcome.messages == [
        {"type": "bar", "bar": {"type": "foo", "foo": 1}},
        {"type": "bar", "bar": {"type": "foo", "foo": 2}},
    ]


def test_tagging_none_returns_none_itself():
    assert task.tag(task.tag(task.none_(), "foo"), "bar") is task.none_()


def test_tagged_effect_passes_errors_and_aborts_through(run, log):
    def fx():
        try:
            yield from task.send(1)
            yield from task.sleep(10)
            yield from task.send(2)
        finally:
            log.append("fx finally")

    def main():
        fork = yield from task.fork(task.tag(fx(), "fx"))
        yield from task.sleep(1)
        yield from task.abort(fork, ValueError("kill"))
        return str(fork.result.error)

    assert run(main()).value == "kill"
    assert log == ["fx finally"]


def test_tagged_effect_reads_as_taggedeffect():
    assert str(task.tag(iter(()), "x")) == "TaggedEffect"


def test_with_tag_boxes_a_value():
    assert task.with_tag("inc", 1) == {"type": "inc", "inc": 1}


def test_batch_delivers_messages_in_completion_order(run):
    def fx(msg, delay):
        yield from task.sleep(delay)
        yield from task.send(msg)

    outcome = run(task.batch([fx("foo", 5), fx("bar", 1), fx("baz", 2)]))
    assert outcome.messages == ["bar", "baz", "foo"]


def test_effects_sends_each_result_in_completion_order(run):
    def fx(msg, delay):
        yield from task.sleep(delay)
        return msg

    outcome = run(task.effects([fx("foo", 5), fx("bar", 1), fx("baz", 2)]))
    assert outcome.messages == ["bar", "baz", "foo"]


def test_effects_of_nothing_is_none():
    assert task.effects([]) is task.none_()


def test_effect_sends_the_task_result(run):
    def answer():
        return "hi"
        yield

    assert run(task.effect(answer())).messages == ["hi"]


def test_loop_feeds_messages_breadth_first(run, log):
    def step(n):
        log.append(f"<< {n}")
        if n < 2:
            yield from task.send(n + 1)
            yield from task.send(n + 10)

    run(task.loop(step(0), step))
    assert log == ["<< 0", "<< 1", "<< 10", "<< 2", "<< 11"]


def test_loop_passes_dict_messages_as_keywords_when_they_fit(run, log):
    def step(*, n=0):
        log.append(n)
        if n > 0:
            yield from task.send({"n": n - 1})

    run(task.loop(step(n=2), step))
    assert log == [2, 1, 0]


def test_loop_handler_may_wait(run, log):
    def handler(message):
        log.append(f"<< {message}")
        result = yield from task.wait(0)
        log.append(f">> {result}")

    assert run(task.loop(task.send("start"), handler)).value is None
    assert log == ["<< start", ">> 0"]


def test_loop_failure_aborts_the_other_effects_and_raises(run, log):
    def step(n):
        try:
            yield from task.sleep(n)
            if n == 1:
                raise ValueError("boom")
            yield from task.send(n + 1)
        finally:
            log.append(f"step {n} finally")

    def start():
        yield from task.send(1)
        yield from task.send(5)

    outcome = run(task.loop(start(), step))
    assert str(outcome.error) == "boom"
    assert log == ["step 1 finally", "step 5 finally"]


def test_then_maps_success_and_failure(run):
    def ok():
        return 2
        yield

    def bad():
        raise ValueError("x")
        yield

    assert run(task.then_(ok(), lambda v: v * 10, str)).value == 20
    assert run(task.then_(bad(), str, lambda e: f"caught {e}")).value == "caught x"


def test_then_passes_an_error_raised_by_resolve_to_reject_as_0_1_does(run):
    def ok():
        return 2
        yield

    def resolve(value):
        raise KeyError(value)

    assert run(task.then_(ok(), resolve, repr)).value == "KeyError(2)"


@pytest.mark.parametrize("fx", [task.none_(), iter(())])
def test_empty_effects_send_nothing(run, fx):
    assert run(fx).messages == []


def test_loop_spreads_any_mapping_message_as_keywords_as_0_1_does(run, log):
    from collections import OrderedDict

    class Event(dict):
        pass

    def init():
        yield from task.send(Event(type="inc", inc=1))
        yield from task.send(OrderedDict(type="inc", inc=2))

    def update(type, **fields):
        log.append((type, fields))
        return task.none_()

    run(task.loop(init(), update))
    assert log == [("inc", {"inc": 1}), ("inc", {"inc": 2})]


def _forgot_its_yield(x):
    return None  # meant to send x: `yield from task.send(x)`


@pytest.mark.parametrize("make", [
    lambda: task.batch([_forgot_its_yield(1)]),
    lambda: task.all_([_forgot_its_yield(2)]),
    lambda: task.listen({"a": _forgot_its_yield(3)}),
    lambda: task.loop(_forgot_its_yield(4), lambda message: None),
], ids=["batch", "all_", "listen", "loop"])
def test_an_effect_that_is_none_is_a_type_error_that_names_the_mistake(run, make):
    error = run(make()).error
    assert isinstance(error, TypeError)
    assert "got NoneType None: does the function that made it lack a `yield`?" in str(error)


def test_loop_whose_next_returns_a_list_of_effects_says_to_batch_them(run):
    def init():
        yield from task.send("go")

    error = run(task.loop(init(), lambda message: [init(), init()])).error  # the JS habit
    assert isinstance(error, TypeError)
    assert "task.loop (what next_ returned)() takes a generator" in str(error)
    assert "task.batch([...])" in str(error)


def test_a_batch_whose_iterable_fails_partway_starts_none_of_its_effects(run, log):
    def member(name):
        log.append(("started", name))
        yield from task.sleep(10)
        log.append(("ended", name))

    def effects():
        yield member("a")
        raise RuntimeError("the list of effects broke")

    outcome = run(task.batch(effects()))
    assert repr(outcome.error) == "RuntimeError('the list of effects broke')"
    assert log == []


def test_none_effect_driven_by_hand_ends_at_once_as_0_1s_generator_did():
    fx = task.none_()
    with pytest.raises(StopIteration):
        next(fx)
    with pytest.raises(StopIteration):
        fx.send(None)
    with pytest.raises(KeyError):
        fx.throw(KeyError("x"))
    fx.close()
    assert list(fx) == []


def test_a_group_error_keeps_its_own_traceback_after_aborting_the_others(run):
    import traceback

    def fails():
        yield from task.sleep(1)
        raise ValueError("the first failure")

    def aborted_sibling():
        try:
            yield from task.sleep(50)
        finally:
            pass

    def main():
        try:
            yield from task.batch([aborted_sibling(), fails(), aborted_sibling()])
        except ValueError as error:
            return [frame.name for frame in traceback.extract_tb(error.__traceback__)]

    frames = run(main()).value
    assert "fails" in frames
    assert "aborted_sibling" not in frames


def test_a_rejected_batch_closes_the_coroutines_it_was_given(run):
    async def never_run():
        pass

    coro = never_run()
    error = run(task.batch([None, coro])).error
    assert isinstance(error, TypeError)
    assert coro.cr_frame is None  # closed: no "coroutine was never awaited" warning
