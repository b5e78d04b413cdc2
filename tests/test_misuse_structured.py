"""Scopes, channels, actors and supervisors given bad input: a clear error that names the
mistake, never a setting quietly taken for another. (Found by an adversarial review,
fourth session.)"""

from __future__ import annotations

import math
from typing import Any

import pytest

from actress import task, testing
from actress.actor import start
from actress.channel import Channel
from actress.scope import race, scope, timeout
from actress.supervisor import Child, supervise


def echo(inbox: Any) -> Any:
    while True:
        call = yield from inbox.receive()
        call.reply(call.message)


def test_monitor_refuses_a_target_that_cannot_be_told_down() -> None:
    def main() -> Any:
        ref = yield from start(echo, name="echo")
        try:
            ref.monitor(print)
        except TypeError as error:
            message = str(error)
        ref.stop()
        return message, (yield from ref.join())  # (it hung: the bad target broke the end)

    assert testing.run(main()).value == (
        "monitor() takes an ActorRef or a Channel to tell Down to, got <built-in function "
        "print>", None)


@pytest.mark.parametrize("restart", ["Never", "no"])
def test_a_child_restart_typo_is_refused(restart: str) -> None:
    with pytest.raises(ValueError, match="restart must be 'on_failure', 'always' or 'never'"):
        Child("c", echo, restart=restart)  # type: ignore[arg-type]


@pytest.mark.parametrize(("options", "message"), [
    ({"within_ms": -1}, "supervise() within_ms must be a number >= 0, got -1"),
    ({"within_ms": None}, "supervise() within_ms must be a number >= 0, got None"),
    ({"max_restarts": "3"}, "supervise() max_restarts must be an int >= 0, got '3'"),
    ({"backoff_ms": -5}, "supervise() backoff_ms must be a finite number >= 0 or a function"),
    ({"backoff_ms": math.nan}, "supervise() backoff_ms must be a finite number >= 0"),
])
def test_supervisor_settings_are_checked_before_it_starts(options: dict[str, Any],
                                                          message: str) -> None:
    def main() -> Any:
        yield from supervise([Child("c", echo)], **options)

    error = testing.run(main()).error
    assert isinstance(error, ValueError) and str(error).startswith(message)


@pytest.mark.parametrize(("ms", "error"), [(math.nan, ValueError), ("5", TypeError),
                                           (None, TypeError)])
def test_a_deadline_that_is_not_a_number_is_refused(ms: Any, error: type) -> None:
    def work() -> Any:
        yield from task.sleep(1)

    outcome = testing.run(timeout(ms, work()))
    assert type(outcome.error) is error and "milliseconds" in str(outcome.error)


def test_a_negative_deadline_is_due_at_once() -> None:
    def work() -> Any:
        yield from task.sleep(1)

    outcome = testing.run(timeout(-1, work()))
    assert (type(outcome.error), outcome.time) == (TimeoutError, 0.0)


def test_a_scope_body_that_is_not_a_generator_is_refused_saying_so() -> None:
    outcome = testing.run(scope(lambda s: None))
    assert type(outcome.error) is TypeError
    assert str(outcome.error).startswith(
        "scope() needs body(scope) to return a generator (a function with yield), got None")


def test_race_refuses_the_same_generator_twice() -> None:
    def work() -> Any:
        yield from task.sleep(1)
        return 1

    same = work()
    outcome = testing.run(race([same, same]))
    assert repr(outcome.error) == (
        "ValueError('race() got the same task twice (a generator runs once: make one per "
        "entry)')")


@pytest.mark.parametrize("capacity", [None, "3"])
def test_a_channel_capacity_that_is_not_a_number_is_refused(capacity: Any) -> None:
    with pytest.raises(TypeError, match="Channel capacity must be a number"):
        Channel(capacity)
