"""Retry policies: classification, delays, validation, and ``retrying`` on virtual time."""

from __future__ import annotations

import random
from typing import Any, Callable, Generator

import pytest

from actress import current_scheduler, task, testing
from actress.jobs.retry import (
    NO_RETRY, InvalidInput, Permanent, RetryPolicy, Transient, retrying,
)
from actress.scope import Cancelled, timeout


def now() -> float:
    """The running scheduler's (virtual) time."""
    return current_scheduler().clock.now()


def failing(errors: list[BaseException], log: list[float], result: Any = "ok",
            work_ms: float = 0) -> Callable[[], Generator[Any, Any, Any]]:
    """A ``make`` whose attempts raise ``errors`` in turn, then return ``result``.

    Each attempt logs the virtual time it started at.
    """
    def attempt() -> Generator[Any, Any, Any]:
        log.append(now())
        if work_ms:
            yield from task.sleep(work_ms)
        if errors:
            raise errors.pop(0)
        return result
    return attempt


# --- classify ---------------------------------------------------------------------------

@pytest.mark.parametrize(("error", "verdict"), [
    (InvalidInput("bad"), "invalid"),
    (Permanent("gone"), "permanent"),
    (Transient("blip"), "retry"),
    (ValueError("any Exception, by the default retry_on"), "retry"),
    (TimeoutError("deadline"), "retry"),
    (KeyboardInterrupt(), "permanent"),
    (Cancelled(), "permanent"),
    (GeneratorExit(), "permanent"),
])
def test_classify_with_the_default_policy(error: BaseException, verdict: str) -> None:
    assert RetryPolicy().classify(error) == verdict


def test_classify_narrow_retry_on_makes_other_errors_permanent_but_keeps_transient() -> None:
    policy = RetryPolicy(retry_on=(ConnectionError,))
    assert policy.classify(ConnectionResetError()) == "retry"
    assert policy.classify(Transient()) == "retry"
    assert policy.classify(ValueError()) == "permanent"


def test_classify_give_up_on_wins_over_retry_on_and_transient() -> None:
    class Throttled(Transient):
        pass

    policy = RetryPolicy(give_up_on=(Throttled, KeyError))
    assert policy.classify(Throttled()) == "permanent"
    assert policy.classify(KeyError()) == "permanent"
    assert policy.classify(IndexError()) == "retry"


def test_classify_invalid_input_wins_over_everything() -> None:
    class Both(InvalidInput, Transient):
        pass

    assert RetryPolicy(give_up_on=(Both,)).classify(Both()) == "invalid"


def test_classify_base_exceptions_are_permanent_even_if_listed_in_retry_on() -> None:
    assert RetryPolicy(retry_on=(BaseException,)).classify(KeyboardInterrupt()) == "permanent"


def test_should_retry_counts_attempts_including_the_first() -> None:
    policy = RetryPolicy(attempts=3)
    assert [policy.should_retry(Transient(), n) for n in (1, 2, 3)] == [True, True, False]
    assert policy.should_retry(Permanent(), 1) is False
    assert NO_RETRY.attempts == 1
    assert NO_RETRY.should_retry(Transient(), 1) is False


# --- delays -----------------------------------------------------------------------------

def test_exponential_delays_double_and_cap_at_max_ms() -> None:
    policy = RetryPolicy(attempts=10, base_ms=100, multiplier=2, max_ms=1000)
    assert [policy.delay_ms(n) for n in range(1, 7)] == [100.0, 200.0, 400.0, 800.0, 1000.0, 1000.0]


def test_fixed_delays_are_base_ms() -> None:
    policy = RetryPolicy(backoff="fixed", base_ms=250)
    assert [policy.delay_ms(n) for n in (1, 2, 50)] == [250.0, 250.0, 250.0]


def test_a_huge_attempt_number_gives_max_ms_not_overflow() -> None:
    assert RetryPolicy(max_ms=5000).delay_ms(100_000) == 5000.0
    assert RetryPolicy(base_ms=0, max_ms=5000).delay_ms(100_000) == 0.0


def test_delay_ms_rejects_attempt_zero() -> None:
    with pytest.raises(ValueError, match="from 1, got 0"):
        RetryPolicy().delay_ms(0)


def test_jitter_stays_within_bounds_and_is_reproducible_with_a_seed() -> None:
    policy = RetryPolicy(attempts=50, base_ms=100, max_ms=100, jitter=0.3, seed=42)
    rng = policy.rng()
    first = [policy.delay_ms(n, rng) for n in range(1, 50)]
    rng = policy.rng()
    again = [policy.delay_ms(n, rng) for n in range(1, 50)]
    assert first == again
    assert all(70.0 <= d <= 130.0 for d in first)
    assert len(set(first)) > 1  # the draws vary from one attempt to the next
    expected = random.Random(42)
    assert first[:3] == [100.0 * expected.uniform(0.7, 1.3) for _ in range(3)]


def test_jitter_without_rng_draws_from_a_fresh_seeded_rng() -> None:
    policy = RetryPolicy(jitter=0.5, seed=3)
    assert policy.delay_ms(1) == policy.delay_ms(1) == 100.0 * random.Random(3).uniform(0.5, 1.5)


def test_full_jitter_is_never_negative() -> None:
    policy = RetryPolicy(base_ms=10, jitter=1.0, seed=None)
    rng = random.Random(0)
    assert all(0.0 <= policy.delay_ms(1, rng) <= 20.0 for _ in range(1000))


# --- validation -------------------------------------------------------------------------

@pytest.mark.parametrize(("kwargs", "message"), [
    ({"attempts": 0}, "RetryPolicy.attempts must be an int >= 1, got 0"),
    ({"attempts": 2.0}, "RetryPolicy.attempts must be an int >= 1, got 2.0"),
    ({"jitter": 1.5}, "RetryPolicy.jitter must be between 0 and 1, got 1.5"),
    ({"jitter": -0.1}, "RetryPolicy.jitter must be between 0 and 1, got -0.1"),
    ({"base_ms": -1}, "RetryPolicy.base_ms must be finite and >= 0, got -1"),
    ({"multiplier": 0.5}, "RetryPolicy.multiplier must be finite and >= 1, got 0.5"),
    ({"base_ms": 100, "max_ms": 50}, "RetryPolicy.max_ms must be >= base_ms (100), got 50"),
    ({"backoff": "linear"}, "RetryPolicy.backoff must be 'fixed' or 'exponential', got 'linear'"),
    ({"timeout_ms": 0}, "RetryPolicy.timeout_ms must be None or > 0, got 0"),
    ({"retry_on": [ValueError]}, "RetryPolicy.retry_on must be a tuple of exception classes"),
    ({"give_up_on": (ValueError, "x")}, "RetryPolicy.give_up_on must be a tuple of exception"),
])
def test_invalid_policies_raise_value_error_naming_field_and_value(
        kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as info:
        RetryPolicy(**kwargs)
    assert str(info.value).startswith(message)


def test_policy_is_frozen() -> None:
    with pytest.raises(AttributeError):
        RetryPolicy().attempts = 5  # type: ignore[misc]


# --- retrying ---------------------------------------------------------------------------

def test_two_failures_then_success_finishes_after_100_plus_200_ms() -> None:
    starts: list[float] = []
    make = failing([Transient("a"), Transient("b")], starts)
    outcome = testing.run(retrying(RetryPolicy(attempts=3, base_ms=100), make))
    assert (outcome.ok, outcome.value, outcome.time) == (True, "ok", 300.0)
    assert starts == [0.0, 100.0, 300.0]


def test_giving_up_raises_the_last_error_after_the_last_attempt() -> None:
    starts: list[float] = []
    last = Transient("third")
    make = failing([Transient("first"), Transient("second"), last], starts)
    outcome = testing.run(retrying(RetryPolicy(attempts=3, base_ms=100), make))
    assert outcome.error is last
    assert outcome.time == 300.0  # no sleep after the last attempt
    assert starts == [0.0, 100.0, 300.0]


@pytest.mark.parametrize("error", [Permanent("no"), InvalidInput("bad")])
def test_permanent_and_invalid_errors_are_raised_at_once(error: Exception) -> None:
    starts: list[float] = []
    outcome = testing.run(retrying(RetryPolicy(attempts=5), failing([error], starts)))
    assert (outcome.error, outcome.time, starts) == (error, 0.0, [0.0])


def test_an_error_outside_retry_on_is_not_retried() -> None:
    starts: list[float] = []
    error = ValueError("bug")
    policy = RetryPolicy(retry_on=(ConnectionError,))
    outcome = testing.run(retrying(policy, failing([error], starts)))
    assert (outcome.error, starts) == (error, [0.0])


def test_no_retry_runs_once() -> None:
    starts: list[float] = []
    error = Transient("blip")
    outcome = testing.run(retrying(NO_RETRY, failing([error], starts)))
    assert (outcome.error, starts) == (error, [0.0])


def test_each_attempt_sees_a_fresh_task_and_the_result_passes_through() -> None:
    starts: list[float] = []
    make = failing([Transient()], starts, result={"rows": 3}, work_ms=10)
    policy = RetryPolicy(backoff="fixed", base_ms=5)
    outcome = testing.run(retrying(policy, make))
    assert (outcome.value, outcome.time, starts) == ({"rows": 3}, 25.0, [0.0, 15.0])


def test_jittered_sleeps_follow_the_seeded_rng() -> None:
    starts: list[float] = []
    policy = RetryPolicy(attempts=3, base_ms=100, jitter=0.5, seed=9)
    outcome = testing.run(retrying(policy, failing([Transient(), Transient()], starts)))
    rng = random.Random(9)
    first = 100.0 * rng.uniform(0.5, 1.5)
    second = 200.0 * rng.uniform(0.5, 1.5)
    assert starts == [0.0, first, first + second]
    assert outcome.time == first + second


def test_an_explicit_rng_is_used_for_jitter() -> None:
    starts: list[float] = []
    policy = RetryPolicy(attempts=2, base_ms=100, jitter=0.5, seed=None)
    testing.run(retrying(policy, failing([Transient()], starts), rng=random.Random(5)))
    assert starts == [0.0, 100.0 * random.Random(5).uniform(0.5, 1.5)]


def test_a_timeout_per_attempt_counts_as_a_failed_attempt() -> None:
    starts: list[float] = []
    attempts = iter([50.0, 50.0, 1.0])  # the first two attempts are too slow

    def make() -> Generator[Any, Any, str]:
        starts.append(now())
        yield from task.sleep(next(attempts))
        return "fast enough"

    policy = RetryPolicy(attempts=3, backoff="fixed", base_ms=5, timeout_ms=10)
    outcome = testing.run(retrying(policy, make))
    assert (outcome.value, outcome.time) == ("fast enough", 31.0)
    assert starts == [0.0, 15.0, 30.0]


def test_timeouts_on_every_attempt_raise_timeout_error() -> None:
    def make() -> Generator[Any, Any, None]:
        yield from task.sleep(100)

    policy = RetryPolicy(attempts=2, backoff="fixed", base_ms=5, timeout_ms=10)
    outcome = testing.run(retrying(policy, make))
    assert isinstance(outcome.error, TimeoutError)
    assert outcome.time == 25.0


def test_timeout_error_is_not_retried_when_retry_on_excludes_it() -> None:
    def make() -> Generator[Any, Any, None]:
        yield from task.sleep(100)

    policy = RetryPolicy(attempts=3, timeout_ms=10, retry_on=(ConnectionError,))
    outcome = testing.run(retrying(policy, make))
    assert isinstance(outcome.error, TimeoutError)
    assert outcome.time == 10.0


def test_cancelling_the_retrying_task_is_not_an_attempt_failure() -> None:
    starts: list[float] = []
    make = failing([Transient()] * 10, starts)
    policy = RetryPolicy(attempts=10, base_ms=100)
    # attempts at 0, 100, 300; the outer deadline at 350 cuts the sleep before 700
    outcome = testing.run(timeout(350, retrying(policy, make)))
    assert isinstance(outcome.error, TimeoutError)
    assert (outcome.time, starts) == (350.0, [0.0, 100.0, 300.0])


def test_an_outer_deadline_inside_an_attempt_goes_through_the_attempt_timeout() -> None:
    starts: list[float] = []
    make = failing([], starts, work_ms=40)
    policy = RetryPolicy(attempts=3, timeout_ms=100)
    outcome = testing.run(timeout(30, retrying(policy, make)))
    assert isinstance(outcome.error, TimeoutError)
    assert str(outcome.error) == "deadline of 30 ms passed"
    assert (outcome.time, starts) == (30.0, [0.0])
