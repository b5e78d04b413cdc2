"""Servers (``serve`` / ``inbox.serve``): one handler per message, and an ``ask`` that
finds the server idle runs the handler in the asking task, without a switch."""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
import math
import os
import traceback

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actress import task, testing
from actress.actor import ActorCrashed, ActorStopped, serve, start
from actress.scope import cancel
from actress.supervisor import Child, supervise


def recorder(log, name="srv"):
    def handle(message):
        log.append((name, message))
        return f"{message}!"

    return handle


def other(log):
    log.append("other runs")
    return
    yield


def test_a_server_answers_an_ask_with_what_the_handler_returns(run, log):
    def main():
        ref = yield from serve(recorder(log))
        return (yield from ref.ask("a"))

    assert run(main()).value == "a!"
    assert log == [("srv", "a")]


def test_an_ask_into_an_idle_server_runs_the_handler_at_once_then_lets_the_others_run(run, log):
    def main():
        ref = yield from serve(recorder(log))
        yield from task.fork(other(log))  # ready: runs at the asker's next wait
        answer = yield from ref.ask("a")
        log.append(("answer", answer))

    run(main())
    assert log == [("srv", "a"), "other runs", ("answer", "a!")]


def test_an_ask_into_a_receive_loop_actor_lets_the_others_run_before_the_actor(run, log):
    def echo(inbox):
        while True:
            call = yield from inbox.receive()
            log.append(("loop", call.message))
            call.reply(call.message)

    def main():
        ref = yield from start(echo)
        yield from task.fork(other(log))
        answer = yield from ref.ask("a")
        log.append(("answer", answer))

    run(main())
    assert log == ["other runs", ("loop", "a"), ("answer", "a")]


def test_tells_queued_before_an_ask_are_handled_first_in_mailbox_order(run, log):
    def main():
        ref = yield from serve(recorder(log))
        ref.tell("t1")  # the server is no longer idle: the ask goes through the mailbox
        ref.tell("t2")
        return (yield from ref.ask("q"))

    assert run(main()).value == "q!"
    assert log == [("srv", "t1"), ("srv", "t2"), ("srv", "q")]


def test_a_task_polling_a_server_in_a_loop_does_not_starve_the_others(run, log):
    state = {"done": False}

    def setter():
        yield from task.sleep(0)
        yield from task.sleep(0)
        state["done"] = True

    def main():
        ref = yield from serve(lambda _: state["done"])
        yield from task.fork(setter())
        polls = 1
        while not (yield from ref.ask("done?")):
            polls += 1
        return polls

    # each answer is the state when asked; the setter runs once after each ask:
    # False, False, False (the setter ends after this ask), True
    assert run(main()).value == 4


def test_a_handler_error_crashes_the_server_and_the_ask_fails_with_actor_crashed(run, log):
    def handle(message):
        log.append(("handle", message))
        raise KeyError(message)

    def main():
        ref = yield from serve(handle, name="kv")
        try:
            yield from ref.ask("missing")
        except ActorCrashed as error:
            log.append(("ask failed", repr(error.__cause__)))
        reason = yield from ref.join()
        log.append(("server ended", repr(reason)))

    outcome = run(main())
    assert outcome.ok
    assert log == [("handle", "missing"), ("ask failed", "KeyError('missing')"),
                   ("server ended", "KeyError('missing')")]


def test_a_handler_error_on_a_busy_server_also_crashes_it(run, log):
    def handle(message):
        log.append(("handle", message))
        if message == "bad":
            raise ValueError(message)

    def main():
        ref = yield from serve(handle)
        ref.tell("first")  # queued: the ask below goes through the mailbox
        try:
            yield from ref.ask("bad")
        except ActorCrashed as error:
            log.append(("ask failed", repr(error.__cause__)))
        log.append(("server ended", repr((yield from ref.join()))))

    run(main())
    assert log == [("handle", "first"), ("handle", "bad"), ("ask failed", "ValueError('bad')"),
                   ("server ended", "ValueError('bad')")]


def test_a_supervised_server_is_restarted_after_a_handler_error_and_answers_again(run, log):
    def handle(message):
        if message == "crash":
            raise RuntimeError("asked to crash")
        return message.upper()

    def main():
        sup = yield from supervise([Child("srv", lambda inbox: inbox.serve(handle))])
        ref = sup["srv"]
        try:
            yield from ref.ask("crash")
        except ActorCrashed:
            log.append("crashed")
        answer = yield from ref.ask("again")
        sup.stop()
        return answer, sup.restarts["srv"]

    assert run(main()).value == ("AGAIN", 1)
    assert log == ["crashed"]


def test_a_generator_function_handler_runs_in_the_server_and_may_wait(run, log):
    def slow(message):
        log.append(("start", message))
        yield from task.sleep(10)
        log.append(("end", message))
        return message * 2

    def main():
        ref = yield from serve(slow)
        ref.tell(1)
        answer = yield from ref.ask(2)  # waits for 1 (10 ms), then 2 (10 ms)
        return answer

    outcome = run(main())
    assert (outcome.value, outcome.time) == (4, 20.0)
    assert log == [("start", 1), ("end", 1), ("start", 2), ("end", 2)]


def test_an_object_whose_call_is_a_generator_function_runs_in_the_server(run):
    class Doubler:
        def __call__(self, message):
            yield from task.sleep(5)
            return message * 2

    def main():
        ref = yield from serve(Doubler())
        return (yield from ref.ask(21))

    outcome = run(main())
    assert (outcome.value, outcome.time) == (42, 5.0)


@pytest.mark.parametrize("idle", [True, False])
def test_a_plain_handler_that_returns_a_generator_is_a_clear_error(run, idle):
    def waits(message):
        yield from task.sleep(message)

    def handle(message):
        if message == "noop":
            return None
        return waits(message)  # a generator: this handler should be a generator function

    def main():
        ref = yield from serve(handle)
        if not idle:
            ref.tell("noop")  # the server is busy: the ask goes through the mailbox
        try:
            return (yield from ref.ask(5))
        finally:
            assert isinstance((yield from ref.join()), TypeError)  # the server's crash

    error = run(main()).error
    assert isinstance(error, ActorCrashed)
    assert isinstance(error.__cause__, TypeError)
    assert "returned a generator" in str(error.__cause__)
    assert "serve a generator function" in str(error.__cause__)


def test_serve_takes_a_callable(run):
    with pytest.raises(TypeError, match="serve.. takes a function to handle each message"):
        serve("not callable")


def test_an_ask_into_a_stopped_server_raises_actor_stopped(run, log):
    def main():
        ref = yield from serve(recorder(log))
        ref.stop()
        return (yield from ref.ask("late"))

    assert isinstance(run(main()).error, ActorStopped)
    assert log == []


def test_a_handler_that_stops_its_own_server_still_answers_that_ask(run, log):
    refs = []

    def handle(message):
        refs[0].stop()
        return "last"

    def main():
        ref = yield from serve(handle)
        refs.append(ref)
        answer = yield from ref.ask("x")
        reason = yield from ref.join()
        return answer, reason

    assert run(main()).value == ("last", None)


def test_a_handler_telling_its_own_server_is_handled_after_the_ask(run, log):
    refs = []

    def handle(message):
        log.append(message)
        if message == "ask":
            refs[0].tell("told by the handler")
        return message

    def main():
        ref = yield from serve(handle)
        refs.append(ref)
        yield from ref.ask("ask")
        log.append("asker goes on")
        yield from task.sleep(0)

    run(main())
    assert log == ["ask", "told by the handler", "asker goes on"]


def test_a_server_with_a_cancel_on_its_way_is_not_entered(run, log):
    def main():
        ref = yield from serve(recorder(log))
        cancel(ref.fork)  # Cancelled is thrown at the server's next wait: it is not idle
        try:
            yield from ref.ask("x")
        except ActorStopped as error:  # cancelled: a stop, not a crash
            log.append(type(error).__name__)

    run(main())
    assert log == ["ActorStopped"]  # and the handler never ran


def test_an_ask_with_a_timeout_into_an_idle_server_answers(run, log):
    def main():
        ref = yield from serve(recorder(log))
        return (yield from ref.ask("a", timeout=5))

    outcome = run(main())
    assert (outcome.value, outcome.time) == ("a!", 0.0)


def test_await_ask_from_asyncio_into_a_server():
    log: list[object] = []

    async def main():
        ref = await task.fork(serve(recorder(log)))
        answers = [await ref.ask(i) for i in range(3)]
        ref.stop()
        return answers

    assert asyncio.run(main()) == ["0!", "1!", "2!"]
    assert log == [("srv", 0), ("srv", 1), ("srv", 2)]


def test_inbox_serve_after_set_up_in_a_receive_loop_body(run, log):
    def body(inbox):
        greeting = yield from inbox.receive()  # a first message configures the server
        yield from inbox.serve(lambda name: f"{greeting}, {name}")

    def main():
        ref = yield from start(body)
        ref.tell("hello")
        return (yield from ref.ask("ann"))

    assert run(main()).value == "hello, ann"


def _crash_reports(caplog, marker):
    gc.collect()
    task.fork(task.effect(task.wait(None))).activate()  # a drain flushes reports
    return [r for r in caplog.records if "nobody joined" in r.message and r.exc_info
            and marker in repr(r.exc_info[1])]


@pytest.mark.parametrize("idle", [True, False])
def test_a_server_crash_nobody_joins_is_reported_on_both_paths(run, caplog, idle):
    def handle(message):
        if message == "bad":
            raise KeyError("reported")

    def main():
        ref = yield from serve(handle)
        if not idle:
            ref.tell("first")
        try:
            yield from ref.ask("bad")
        except ActorCrashed:
            pass

    with caplog.at_level(logging.ERROR, logger="actress"):
        run(main())
        assert len(_crash_reports(caplog, "reported")) == 1


@pytest.mark.parametrize("idle", [True, False])
def test_a_cancelled_error_raised_by_a_handler_is_a_crash_on_both_paths(run, idle):
    def handle(message):
        if message == "bad":
            raise asyncio.CancelledError("from the handler")
        return message

    def main():
        sup = yield from supervise([Child("srv", lambda inbox: inbox.serve(handle))])
        ref = sup["srv"]
        if not idle:
            ref.tell("first")
        try:
            yield from ref.ask("bad")
        except ActorCrashed as error:
            cause = repr(error.__cause__)
        answer = yield from ref.ask("again")
        sup.stop()
        return cause, answer, sup.restarts["srv"]

    assert run(main()).value == ("CancelledError('from the handler')", "again", 1)


def test_an_inline_crash_does_not_carry_the_askers_handled_exception_or_frames(run):
    def handle(message):
        try:
            {}[message]
        except KeyError:
            raise LookupError("not found")  # its own context: the KeyError

    def main():
        ref = yield from serve(handle)
        try:
            raise ValueError("the asker's own error")
        except ValueError:
            try:
                yield from ref.ask("k")
            except ActorCrashed:
                pass
        reason = yield from ref.join()
        chain, error = [], reason
        while error is not None and len(chain) < 10:
            chain.append(repr(error))
            error = error.__context__
        frames = [f.name for f in traceback.extract_tb(reason.__traceback__)]
        return chain, "asking" in frames, frames[-1]

    chain, asking_frame, last_frame = run(main()).value
    assert "ValueError(\"the asker's own error\")" not in chain
    assert (asking_frame, last_frame) == (False, "handle")


@pytest.mark.parametrize("idle", [True, False])
def test_a_body_that_catches_a_handler_error_fails_that_ask_and_serves_on(run, log, idle):
    def handle(message):
        if message == "bad":
            raise KeyError(message)
        return message

    def body(inbox):
        while True:
            try:
                yield from inbox.serve(handle)
            except KeyError as error:
                log.append(("body caught", repr(error)))

    def main():
        ref = yield from start(body)
        if not idle:
            ref.tell("first")
        try:
            yield from ref.ask("bad")
        except ActorCrashed as error:
            log.append(("ask failed", repr(error.__cause__)))
        log.append(("then", (yield from ref.ask("ok"))))

    run(main())
    assert log == [("body caught", "KeyError('bad')"), ("ask failed", "KeyError('bad')"),
                   ("then", "ok")]


@pytest.mark.parametrize("idle", [True, False])
def test_a_handler_that_stops_its_server_at_once_and_raises_crashes_it(run, idle):
    refs = []

    def handle(message):
        if message == "bad":
            refs[0].stop(drain=False)
            raise KeyError("the handler's bug")

    def main():
        ref = yield from serve(handle)
        refs.append(ref)
        if not idle:
            ref.tell("first")
        try:
            yield from ref.ask("bad")
        except ActorCrashed as error:
            cause = repr(error.__cause__)
        return cause, repr((yield from ref.join()))

    assert run(main()).value == ('KeyError("the handler\'s bug")',) * 2


def test_a_decorated_generator_function_handler_runs_in_the_server(run):
    def logged(fn):
        @functools.wraps(fn)
        def wrapper(*args):
            return fn(*args)

        return wrapper

    @logged
    def slow(message):
        yield from task.sleep(5)
        return message

    def main():
        ref = yield from serve(slow)
        return (yield from ref.ask("x"))

    outcome = run(main())
    assert (outcome.value, outcome.time) == ("x", 5.0)


def test_ask_from_plain_code_says_how_to_ask():
    ref = testing.run(serve(lambda m: m)).value
    with pytest.raises(RuntimeError, match=r"yield from ref.ask\(x\)` in a task or `await"):
        next(iter(ref.ask(1)))


def test_a_server_of_another_thread_is_asked_and_told_through_its_loop():
    import threading

    box: dict[str, object] = {}
    ready = threading.Event()

    async def home():
        box["loop"] = asyncio.get_running_loop()
        box["ref"] = await task.fork(serve(lambda m: (m, threading.current_thread().name)))
        ready.set()
        await task.fork(box["ref"].join())

    thread = threading.Thread(target=lambda: asyncio.run(home()), name="home")
    thread.start()
    ready.wait(5)
    loop, ref = box["loop"], box["ref"]
    async def ask(message):  # (run_coroutine_threadsafe takes a coroutine from 3.12 on)
        return await ref.ask(message)

    answer = asyncio.run_coroutine_threadsafe(ask("hi"), loop).result(5)
    loop.call_soon_threadsafe(ref.stop)
    thread.join(5)
    assert answer == ("hi", "home")
    assert not thread.is_alive()


def test_await_ask_into_an_idle_server_takes_no_turn_of_the_event_loop():
    log: list[object] = []

    async def other():
        log.append("other asyncio task")

    async def main():
        ref = await task.fork(serve(recorder(log)))
        asyncio.get_running_loop().create_task(other())
        answer = await ref.ask("a")  # answered at once: the other task has not run yet
        log.append(("answer", answer))
        await asyncio.sleep(0)
        ref.stop()

    asyncio.run(main())
    assert log == [("srv", "a"), ("answer", "a!"), "other asyncio task"]


def test_await_ask_whose_handler_raises_fails_with_actor_crashed_and_the_server_restarts():
    def handle(message):
        if message == "bad":
            raise KeyError(message)
        return message

    async def main():
        sup = await task.fork(supervise([Child("srv", lambda inbox: inbox.serve(handle))]))
        ref = sup["srv"]
        try:
            await ref.ask("bad")
        except ActorCrashed as error:
            cause = repr(error.__cause__)
        again = await ref.ask("again")
        sup.stop()
        await task.fork(sup.join())
        return cause, again, sup.restarts["srv"]

    assert asyncio.run(main()) == ("KeyError('bad')", "again", 1)


# -- property: random clients of a supervised server ----------------------------------

client_programs = st.lists(
    st.lists(st.sampled_from(["tell", "ask", "boom", "sleep0", "sleep1"]), max_size=8),
    min_size=1, max_size=4,
)


@settings(max_examples=int(os.environ.get("ACTRESS_EXAMPLES", "150")), deadline=None)
@given(programs=client_programs, capacity=st.sampled_from([1, 2, math.inf]))
def test_a_supervised_server_handles_each_message_once_in_order_and_every_ask_ends(
        programs, capacity):
    handled: list[tuple[int, int, str]] = []
    running = [0]
    outcomes: dict[tuple[int, int], str] = {}

    def handle(message):
        client, seq, op = message
        assert running[0] == 0, "the handler was entered twice at once"
        running[0] += 1
        try:
            handled.append(message)
            if op == "boom":
                raise RuntimeError(f"boom {client}.{seq}")
            return message
        finally:
            running[0] -= 1

    def client(i, ref, program):
        for seq, op in enumerate(program):
            message = (i, seq, op)
            if op == "tell":
                yield from ref.send(message)  # waits while a bounded mailbox is full
                outcomes[(i, seq)] = "told"
            elif op in ("ask", "boom"):
                try:
                    outcomes[(i, seq)] = repr((yield from ref.ask(message)) == message)
                except ActorCrashed as error:
                    outcomes[(i, seq)] = f"crashed: {error.__cause__}"
            else:
                yield from task.sleep(0 if op == "sleep0" else 1)

    def main():
        sup = yield from supervise(
            [Child("srv", lambda inbox: inbox.serve(handle), capacity=capacity)],
            max_restarts=1000, within_ms=1)
        clients = []
        for i, program in enumerate(programs):
            clients.append((yield from task.fork(client(i, sup["srv"], program))))
        for f in clients:
            yield from task.join(f)
        yield from task.sleep(1)  # the last crash's restart happens
        sup.stop()
        yield from sup.join()
        return sup.restarts["srv"]

    outcome = testing.run(main())
    assert outcome.ok, outcome.error
    booms = [m for m in handled if m[2] == "boom"]
    assert outcome.value == len(booms)  # one restart per crash
    sent = [(i, seq, op) for i, program in enumerate(programs)
            for seq, op in enumerate(program) if op in ("tell", "ask", "boom")]
    assert sorted(handled) == sorted(sent)  # each message handled exactly once
    for i in range(len(programs)):  # in each client's order
        mine = [m for m in handled if m[0] == i]
        assert mine == sorted(mine)
    for i, seq, op in sent:  # every ask ended with its own outcome
        expected = {"tell": "told", "ask": "True", "boom": f"crashed: boom {i}.{seq}"}[op]
        assert outcomes[(i, seq)] == expected


def test_await_ask_into_a_server_whose_handler_tells_it_handles_that_after_the_handler():
    log: list[object] = []
    refs = []

    def handle(message):
        log.append(("enter", message))
        if message == "ask":
            refs[0].tell("told by the handler")  # queued, not handled inside this call
        log.append(("exit", message))
        return message

    async def main():
        refs.append(await task.fork(serve(handle)))
        await refs[0].ask("ask")
        log.append("asker goes on")
        refs[0].stop()

    asyncio.run(main())
    assert log == [("enter", "ask"), ("exit", "ask"), ("enter", "told by the handler"),
                   ("exit", "told by the handler"), "asker goes on"]


@pytest.mark.parametrize("drain", [True, False])
def test_await_ask_whose_handler_stops_its_server_then_raises_fails_and_does_not_hang(drain):
    refs = []

    def handle(message):
        refs[0].stop(drain=drain)
        raise KeyError("the handler's bug")

    async def main():
        refs.append(await task.fork(serve(handle)))
        try:
            await asyncio.wait_for(refs[0].ask("bad"), 1)
        except ActorCrashed as error:
            return repr(error.__cause__), repr(await task.fork(refs[0].join()))

    assert asyncio.run(main()) == ('KeyError("the handler\'s bug")',) * 2


def test_polling_a_server_from_asyncio_lets_its_timers_fire():
    state = {"done": False}

    def setter():
        yield from task.sleep(5)
        state["done"] = True

    async def main():
        ref = await task.fork(serve(lambda _: state["done"]))
        await task.fork(task.spawn(setter()))
        polls = 0
        while not await ref.ask("done?"):  # no turn of the event loop: the timer still fires
            polls += 1
        ref.stop()
        return polls > 0

    assert asyncio.run(main())
