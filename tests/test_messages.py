"""Messages: plain yielded values go to whoever joins (drives) the task."""

from __future__ import annotations

from actress import task


def sender(*messages, gap=0, first=0):
    if first:
        yield from task.sleep(first)
    for message in messages:
        yield from task.send(message)
        if gap:
            yield from task.sleep(gap)


def test_send_is_a_message_to_the_driver(run):
    assert run(sender("one", "two")).messages == ["one", "two"]


def test_plain_yield_is_a_message(run):
    def main():
        got = yield 5
        return got

    outcome = run(main())
    assert (outcome.messages, outcome.value) == ([5], None)


def test_messages_before_join_are_dropped(run):
    def main():
        fork = yield from task.fork(sender("early", "late", gap=5))
        yield from task.sleep(1)  # "early" was sent with nobody joining
        yield from task.join(fork)

    assert run(main()).messages == ["late"]


def test_never_started_fork_joined_later_delivers_all(run):
    fork = task.fork(sender("a", "b"))

    def main():
        yield from task.join(fork)

    assert run(main()).messages == ["a", "b"]


def test_messages_bubble_through_nested_joins(run):
    def leaf():
        yield from task.send("leaf1")
        yield from task.send("leaf2")

    def mid():
        yield from task.send("mid1")
        fork = yield from task.fork(leaf())
        yield from task.join(fork)
        yield from task.send("mid2")

    def main():
        fork = yield from task.fork(mid())
        yield from task.join(fork)

    assert run(main()).messages == ["mid1", "leaf1", "leaf2", "mid2"]


def test_message_reaches_the_top_before_the_sender_goes_on(run, log):
    def child():
        yield from task.send("hello")
        log.append("child continued")

    def relay(fork):
        got = []
        # a hand-written driver: passes instructions up, logs messages as they pass
        gen = task.join(fork)
        value = None
        while True:
            try:
                out = gen.send(value)
            except StopIteration:
                return got
            if task.is_instruction(out):
                value = yield out
            else:
                log.append(f"relayed {out}")
                value = None

    def main():
        fork = yield from task.fork(child())
        yield from relay(fork)

    run(main())
    assert log == ["relayed hello", "child continued"]


def test_every_joiner_sees_the_messages(run, log):
    def watcher(name, fork):
        yield from task.loop(task.join(fork), lambda m: _note(log, name, m))

    def main():
        fork = yield from task.fork(sender("x", "y", gap=1, first=1))
        a = yield from task.fork(watcher("a", fork))
        b = yield from task.fork(watcher("b", fork))
        yield from task.group([a, b])

    run(main())
    assert log == ["a x", "b x", "a y", "b y"]


def _note(log, name, message):
    log.append(f"{name} {message}")
    return task.none_()


def test_is_instruction_and_is_message():
    assert task.is_instruction(task.CURRENT) and task.is_instruction(task.SUSPEND)
    assert task.is_message("text") and task.is_message(("tuple", 1)) and task.is_message(())
    assert not task.is_message(task.SUSPEND)
