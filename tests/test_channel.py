"""Channels: buffer policies, close and drain, select, cancellation, deadlock reports."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actress import task, testing
from actress.channel import Channel, Closed, WouldBlock, select
from actress.scope import Cancelled, cancel, move_on_after
from actress.testing import Deadlock


def producer(ch, items, log, name="p"):
    for item in items:
        yield from ch.send(item)
        log.append(f"{name} sent {item}")


def test_rendezvous_send_waits_for_a_receiver(run, log):
    def main():
        ch = Channel(0)
        yield from task.fork(producer(ch, [1], log))
        yield from task.sleep(10)
        log.append("receiving")
        log.append(("got", (yield from ch.receive())))

    run(main())
    assert log == ["receiving", ("got", 1), "p sent 1"]


def test_fixed_buffer_sender_waits_when_full(run, log):
    def main():
        ch = Channel(2)
        yield from task.fork(producer(ch, [1, 2, 3], log))
        yield from task.sleep(10)
        log.append(("got", (yield from ch.receive())))
        yield from task.sleep(0)

    run(main())
    assert log == ["p sent 1", "p sent 2", ("got", 1), "p sent 3"]


def test_dropping_channel_drops_the_newest_when_full(run):
    ch = Channel(2, policy="drop")
    for i in range(4):
        ch.send_nowait(i)
    assert [ch.receive_nowait(), ch.receive_nowait()] == [0, 1]
    assert ch.statistics().dropped == 2


def test_sliding_channel_drops_the_oldest_when_full(run):
    ch = Channel(2, policy="slide")
    for i in range(4):
        ch.send_nowait(i)
    assert [ch.receive_nowait(), ch.receive_nowait()] == [2, 3]


def test_unbounded_channel_never_blocks():
    ch = Channel(math.inf)
    for i in range(10_000):
        ch.send_nowait(i)
    assert ch.statistics().buffered == 10_000


def test_nowait_variants_raise_when_they_would_block():
    ch = Channel(1)
    with pytest.raises(WouldBlock):
        ch.receive_nowait()
    ch.send_nowait("x")
    with pytest.raises(WouldBlock):
        ch.send_nowait("y")


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="capacity"):
        Channel(-1)
    with pytest.raises(ValueError, match="policy"):
        Channel(1, policy="lifo")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least 1"):
        Channel(0, policy="drop")


def test_close_lets_receivers_drain_then_raises_closed(run, log):
    def main():
        ch = Channel(3)
        for i in range(2):
            yield from ch.send(i)
        ch.close()
        while True:
            try:
                log.append((yield from ch.receive()))
            except Closed:
                log.append("closed")
                return

    run(main())
    assert log == [0, 1, "closed"]


def test_close_fails_waiting_senders_their_items_not_accepted(run, log):
    def sender(ch):
        try:
            yield from ch.send("late")
        except Closed:
            log.append("sender told: closed")

    def main():
        ch = Channel(0)
        yield from task.fork(sender(ch))
        yield from task.sleep(1)
        ch.close()
        yield from task.sleep(0)
        with pytest.raises(Closed):
            ch.receive_nowait()

    run(main())
    assert log == ["sender told: closed"]


def test_close_wakes_waiting_receivers_with_closed(run, log):
    def receiver(ch, name):
        try:
            yield from ch.receive()
        except Closed:
            log.append(f"{name} closed")

    def main():
        ch = Channel(1)
        yield from task.fork(receiver(ch, "r1"))
        yield from task.fork(receiver(ch, "r2"))
        yield from task.sleep(1)
        ch.close()
        yield from task.sleep(1)

    run(main())
    assert log == ["r1 closed", "r2 closed"]


def test_send_to_a_closed_channel_raises():
    ch = Channel(1)
    ch.close()
    with pytest.raises(Closed, match="closed"):
        ch.send_nowait(1)


def test_many_senders_and_receivers_each_item_once_in_fifo_order(run):
    got = []

    def consumer(ch):
        yield from ch.for_each(got.append)

    def main():
        ch = Channel(2)
        consumers, producers = [], []
        for i in range(3):
            consumers.append((yield from task.fork(consumer(ch))))
        for i in range(3):
            producers.append((yield from task.fork(producer(ch, range(i * 10, i * 10 + 5), []))))
        yield from task.group(producers)
        ch.close()
        yield from task.group(consumers)

    run(main())
    assert sorted(got) == sorted(list(range(0, 5)) + list(range(10, 15)) + list(range(20, 25)))


def test_a_single_receiver_gets_items_in_the_order_they_were_accepted(run, log):
    def main():
        ch = Channel(1)
        for name in ("a", "b", "c"):
            yield from task.fork(producer(ch, [f"{name}1", f"{name}2"], log, name))
        got = []
        for _ in range(6):
            got.append((yield from ch.receive()))
        return got

    assert run(main()).value == ["a1", "a2", "b1", "c1", "b2", "c2"]


def test_for_each_runs_a_generator_handler_and_returns_the_count(run, log):
    def handle(item):
        yield from task.sleep(1)
        log.append(item)

    def main():
        ch = Channel(5)
        for i in range(3):
            ch.send_nowait(i)
        ch.close()
        return (yield from ch.for_each(handle))

    outcome = run(main())
    assert outcome.value == 3 and log == [0, 1, 2] and outcome.time == 3.0


def test_statistics_show_the_state_of_the_channel():
    ch = Channel(2, name="jobs")
    ch.send_nowait("a")
    ch.send_nowait("b")
    ch.receive_nowait()
    ch.close()
    s = ch.statistics()
    assert (s.name, s.capacity, s.policy, s.buffered, s.dropped, s.closed) == (
        "jobs", 2, "block", 1, 0, True)


def test_a_receiver_cancelled_after_the_hand_off_gives_the_item_back(run, log):
    def receiver(ch, name):
        try:
            log.append((name, (yield from ch.receive())))
        except Cancelled:
            log.append(f"{name} cancelled")

    def main():
        ch = Channel(0)
        r1 = yield from task.fork(receiver(ch, "r1"))
        yield from task.fork(receiver(ch, "r2"))
        yield from task.sleep(1)
        yield from ch.send("item")  # handed to r1, which has not run yet
        cancel(r1)
        yield from task.sleep(1)

    run(main())
    assert log == ["r1 cancelled", ("r2", "item")]


def test_a_sender_cancelled_after_its_item_was_taken_returns_and_is_cancelled_later(run, log):
    def sender(ch):
        try:
            yield from ch.send("item")
            log.append("send returned")
            yield from task.sleep(1)
        except Cancelled:
            log.append("cancelled at the next wait")

    def main():
        ch = Channel(0)
        s = yield from task.fork(sender(ch))
        yield from task.sleep(1)
        log.append(("got", (yield from ch.receive())))  # takes it; s not run yet
        cancel(s)
        yield from task.join(s)

    run(main())
    assert log == [("got", "item"), "send returned", "cancelled at the next wait"]


def test_select_takes_from_whichever_channel_delivers_first(run, log):
    def later(ch, ms, item):
        yield from task.sleep(ms)
        yield from ch.send(item)

    def main():
        a, b = Channel(1, name="a"), Channel(1, name="b")
        yield from task.fork(later(a, 20, "A"))
        yield from task.fork(later(b, 10, "B"))
        first = yield from select([a, b])
        second = yield from select([a, b])
        return first[0].name, first[1], second[0].name, second[1]

    assert run(main()).value == ("b", "B", "a", "A")


def test_select_leaves_no_waiter_behind(run):
    def main():
        a, b = Channel(1), Channel(1)

        def feed():
            yield from task.sleep(1)
            yield from a.send(1)

        yield from task.fork(feed())
        yield from select([a, b])
        return b.statistics().receivers_waiting, len(b._receivers)

    assert run(main()).value == (0, 0)


def test_select_raises_closed_when_every_channel_is_closed_and_drained(run):
    def main():
        a, b = Channel(1), Channel(1)
        a.close()

        def closer():
            yield from task.sleep(5)
            b.close()

        yield from task.fork(closer())
        yield from select([a, b])

    assert isinstance(run(main()).error, Closed)


def test_select_with_a_timeout(run):
    def main():
        return (yield from move_on_after(10, select([Channel(1)]), default="nothing"))

    assert run(main()).value == "nothing"


def test_deadlock_on_channels_is_reported_with_who_waits_on_what(run):
    def stuck(ch):
        yield from ch.receive()

    def main():
        jobs = Channel(1, name="jobs")
        results = Channel(0, name="results")
        yield from task.fork(stuck(jobs), name="worker")
        yield from results.receive()

    with pytest.raises(Deadlock) as info:
        run(main())
    text = str(info.value)
    assert "name='worker', status='active') waits to receive from <Channel 'jobs'" in text
    assert "waits to receive from <Channel 'results'" in text


# -- property: random producers, consumers and cancellations never lose or duplicate ------

programs = st.lists(
    st.tuples(
        st.sampled_from(["produce", "consume", "cancel_producer", "cancel_consumer", "sleep"]),
        st.integers(min_value=0, max_value=5),
    ),
    min_size=1, max_size=30,
)


@settings(max_examples=150, deadline=None)
@given(program=programs, capacity=st.sampled_from([0, 1, 3, math.inf]))
def test_no_item_is_lost_or_duplicated_under_cancellation(program, capacity):
    accepted: list[int] = []
    received: list[int] = []
    counter = iter(range(10_000))

    def produce_one(ch, delay):
        item = next(counter)
        yield from task.sleep(delay)
        yield from ch.send(item)
        accepted.append(item)  # send returned: accepted
        yield from task.sleep(delay)

    def consume_one(ch, delay):
        yield from task.sleep(delay)
        received.append((yield from ch.receive()))
        yield from task.sleep(delay)

    def main():
        ch = Channel(capacity)
        producers, consumers = [], []
        for op, n in program:
            if op == "produce":
                producers.append((yield from task.fork(produce_one(ch, n))))
            elif op == "consume":
                consumers.append((yield from task.fork(consume_one(ch, n))))
            elif op == "cancel_producer" and producers:
                cancel(producers[n % len(producers)])
            elif op == "cancel_consumer" and consumers:
                cancel(consumers[n % len(consumers)])
            else:
                yield from task.sleep(n)
        yield from task.sleep(100)
        ch.close()
        while True:  # drain what is left
            try:
                received.append(ch.receive_nowait())
            except (Closed, WouldBlock):
                break
        for f in producers + consumers:
            if f.status.value != "finished":
                cancel(f)
        yield from task.sleep(1)

    outcome = testing.run(main(), settle=True)
    assert outcome.ok, outcome.error
    assert sorted(received) == sorted(set(received)), "an item was received twice"
    assert sorted(received) == sorted(accepted), "accepted items and received items differ"


def test_send_does_nothing_until_it_is_driven(run):
    def main():
        ch = Channel(1)
        pending = ch.send("x")  # not yet
        before = ch.statistics().buffered
        yield from pending
        return before, ch.statistics().buffered

    assert run(main()).value == (0, 1)


def test_select_over_the_same_channel_twice_leaves_no_waiter(run):
    def main():
        a = Channel(1)

        def feed():
            yield from task.sleep(1)
            yield from a.send(1)

        yield from task.fork(feed())
        yield from select([a, a])
        return len(a._receivers)

    assert run(main()).value == 0


def test_actress_run_reports_a_deadlock_instead_of_hanging():
    import actress

    def main():
        yield from Channel(0, name="never fed").receive()

    with pytest.raises(actress.Deadlock, match="waits to receive from <Channel 'never fed'"):
        actress.run(main())


def test_actress_run_leaves_alone_a_task_a_thread_will_wake():
    import asyncio
    import threading

    import actress

    def main():
        me = yield from task.current()
        loop = asyncio.get_running_loop()
        threading.Timer(0.7, lambda: loop.call_soon_threadsafe(task.resume, me)).start()
        yield from task.suspend()  # not a channel wait: never called a deadlock
        return "woken by the thread"

    assert actress.run(main()) == "woken by the thread"


def test_actress_run_can_be_told_a_thread_feeds_its_channels():
    import asyncio
    import threading

    import actress

    def main():
        ch = Channel(1)
        loop = asyncio.get_running_loop()
        threading.Timer(0.7, lambda: loop.call_soon_threadsafe(ch.send_nowait, "item")).start()
        return (yield from ch.receive())

    assert actress.run(main(), detect_deadlock=False) == "item"


def reader_feeding(ch, sock):
    """An asyncio task, outside any actress task, that feeds ``ch`` what ``sock`` reads."""
    import asyncio

    async def read():
        reader, _ = await asyncio.open_connection(sock=sock)
        ch.send_nowait(await reader.readline())

    return asyncio.get_running_loop().create_task(read())


def a_line_fed_after(seconds, run_it):
    """Run, with ``run_it``, a task that receives from a channel an asyncio task fills
    with a line read from a socket; the line is sent ``seconds`` after the start."""
    import socket
    import threading

    ours, theirs = socket.socketpair()
    threading.Timer(seconds, theirs.sendall, [b"line\n"]).start()

    def main():
        ch = Channel(1)
        feeder = reader_feeding(ch, ours)
        line = yield from ch.receive()
        yield from task.wait(feeder)
        return line

    try:
        return run_it(main())
    finally:
        theirs.close()


def test_actress_run_waits_while_asyncio_io_will_feed_a_channel():
    import actress

    assert a_line_fed_after(0.7, actress.run) == b"line\n"  # after the 0.5 s check


def test_testing_run_waits_while_asyncio_io_will_feed_a_channel():
    assert a_line_fed_after(0.05, lambda t: testing.run(t).value) == b"line\n"


def actors_asking_each_other():
    """A main task asks actor a, which asks b, which asks a: nobody can answer."""
    from actress.actor import ActorStopped, start

    refs = {}

    def forwarder(other):
        def body(inbox):
            while True:
                call = yield from inbox.receive()
                try:
                    call.reply((yield from refs[other].ask(f"from {inbox.ref.name}")))
                except ActorStopped:  # the run's end stopped the other one: end quietly
                    return
        return body

    refs["a"] = yield from start(forwarder("b"), name="a")
    refs["b"] = yield from start(forwarder("a"), name="b")
    return (yield from refs["a"].ask("go"))


def test_a_deadlock_report_names_the_asks_actors_wait_for():
    with pytest.raises(Deadlock) as info:
        testing.run(actors_asking_each_other())
    lines = str(info.value).splitlines()[1:]
    assert sorted(line.split(") ", 1)[1] for line in lines) == [
        "waits for <ActorRef a alive> to answer Call('from b') (still in its mailbox)",
        "waits for <ActorRef a alive> to answer Call('go')",
        "waits for <ActorRef b alive> to answer Call('from a')",
    ]


def test_actress_run_reports_actors_that_ask_each_other_instead_of_hanging():
    import actress

    with pytest.raises(actress.Deadlock, match=r"waits for <ActorRef b alive> to answer"):
        actress.run(actors_asking_each_other())
