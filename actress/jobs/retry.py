"""Retry policies for jobs: which errors are worth another attempt, and how long to wait.

A ``RetryPolicy`` is plain data: it classifies an error (``"retry"``, ``"permanent"``,
``"invalid"``) and computes the delay before the next attempt. ``retrying`` is the one
task here: it runs attempts, sleeping between them on the scheduler's clock.

A ``BaseException`` that is not an ``Exception`` (``Cancelled``, ``KeyboardInterrupt``,
``GeneratorExit``) is never retried, whatever ``retry_on`` says: ``retrying`` lets it
through untouched, so cancelling a retrying task cancels it at once.

Uses: task (sleep), scope (timeout). Never: asyncio, the kernel.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any, Callable, Generator, Literal, Optional, TypeVar

from ..scope import timeout
from ..task import sleep

T = TypeVar("T")

__all__ = ["NO_RETRY", "InvalidInput", "Permanent", "RetryPolicy", "Transient", "Verdict", "retrying"]

Verdict = Literal["retry", "permanent", "invalid"]


class Transient(Exception):
    """A failure worth retrying: a network blip, a rate limit.

    >>> RetryPolicy(retry_on=()).classify(Transient("503"))
    'retry'
    """


class Permanent(Exception):
    """A failure retrying will not help: stop and quarantine the job.

    >>> RetryPolicy().classify(Permanent("account closed"))
    'permanent'
    """


class InvalidInput(Exception):
    """The payload is wrong: fail at once, without retrying.

    >>> RetryPolicy().classify(InvalidInput("no such field: 'emial'"))
    'invalid'
    """


def _bad(field: str, rule: str, value: object) -> ValueError:
    return ValueError(f"RetryPolicy.{field} must be {rule}, got {value!r}")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often to attempt a job, which errors to retry, and the delays between attempts.

    ``attempts`` counts every attempt, the first included. The delay after attempt ``n``
    fails is ``base_ms`` (``"fixed"``) or ``base_ms * multiplier ** (n - 1)``
    (``"exponential"``), capped at ``max_ms``, then scaled by a factor drawn uniformly
    from ``[1 - jitter, 1 + jitter]`` (so with jitter a delay may pass ``max_ms``).
    ``timeout_ms`` bounds each attempt; ``retrying`` enforces it. Invalid values raise
    ``ValueError`` naming the field and the value.

    >>> policy = RetryPolicy(attempts=4, base_ms=100, max_ms=250)
    >>> [policy.delay_ms(n) for n in (1, 2, 3)]
    [100.0, 200.0, 250.0]
    >>> RetryPolicy(attempts=0)
    Traceback (most recent call last):
    ...
    ValueError: RetryPolicy.attempts must be an int >= 1, got 0
    """

    attempts: int = 3
    backoff: Literal["fixed", "exponential"] = "exponential"
    base_ms: float = 100.0
    multiplier: float = 2.0
    max_ms: float = 30_000.0
    jitter: float = 0.0
    seed: Optional[int] = 0
    retry_on: tuple[type[BaseException], ...] = (Exception,)
    give_up_on: tuple[type[BaseException], ...] = ()
    timeout_ms: Optional[float] = None

    def __post_init__(self) -> None:
        if type(self.attempts) is not int or self.attempts < 1:
            raise _bad("attempts", "an int >= 1", self.attempts)
        if self.backoff not in ("fixed", "exponential"):
            raise _bad("backoff", "'fixed' or 'exponential'", self.backoff)
        if not 0 <= self.base_ms < math.inf:
            raise _bad("base_ms", "finite and >= 0", self.base_ms)
        if not 1 <= self.multiplier < math.inf:
            raise _bad("multiplier", "finite and >= 1", self.multiplier)
        if not self.max_ms >= self.base_ms:
            raise _bad("max_ms", f">= base_ms ({self.base_ms!r})", self.max_ms)
        if not 0 <= self.jitter <= 1:
            raise _bad("jitter", "between 0 and 1", self.jitter)
        if self.timeout_ms is not None and not self.timeout_ms > 0:
            raise _bad("timeout_ms", "None or > 0", self.timeout_ms)
        for field in ("retry_on", "give_up_on"):
            kinds = getattr(self, field)
            if type(kinds) is not tuple or not all(
                    isinstance(k, type) and issubclass(k, BaseException) for k in kinds):
                raise _bad(field, "a tuple of exception classes", kinds)

    def classify(self, error: BaseException) -> Verdict:
        """Say what to do about ``error``: ``"retry"``, ``"permanent"`` or ``"invalid"``.

        In order: ``InvalidInput`` is ``"invalid"``; ``Permanent`` or a ``give_up_on``
        error is ``"permanent"``; a ``BaseException`` that is not an ``Exception`` is
        ``"permanent"``; ``Transient`` or a ``retry_on`` error is ``"retry"``; anything
        else is ``"permanent"``.

        >>> policy = RetryPolicy(retry_on=(ConnectionError,), give_up_on=(PermissionError,))
        >>> [policy.classify(e) for e in (ConnectionError(), ValueError(), PermissionError())]
        ['retry', 'permanent', 'permanent']
        """
        if isinstance(error, InvalidInput):
            return "invalid"
        if isinstance(error, Permanent) or isinstance(error, self.give_up_on):
            return "permanent"
        if not isinstance(error, Exception):
            return "permanent"
        if isinstance(error, Transient) or isinstance(error, self.retry_on):
            return "retry"
        return "permanent"

    def delay_ms(self, attempt: int, rng: Optional[random.Random] = None) -> float:
        """Return the delay before attempt ``attempt + 1``, after attempt ``attempt``
        (1-based) failed. Never negative.

        With ``jitter``, the factor is drawn from ``rng``; without one, from a fresh
        ``self.rng()`` (so every call draws the same first number of the seed). Raises
        ``ValueError`` if ``attempt < 1``.

        >>> RetryPolicy(backoff="fixed", base_ms=50).delay_ms(7)
        50.0
        >>> policy = RetryPolicy(jitter=0.5, seed=1)
        >>> 50.0 <= policy.delay_ms(1) <= 150.0
        True
        """
        if attempt < 1:
            raise ValueError(f"delay_ms(attempt) counts attempts from 1, got {attempt!r}")
        delay = float(self.base_ms)
        if self.backoff == "exponential" and delay > 0:
            try:
                delay *= self.multiplier ** (attempt - 1)
            except OverflowError:
                delay = self.max_ms
        delay = min(delay, float(self.max_ms))
        if self.jitter:
            draw = rng if rng is not None else self.rng()
            delay *= draw.uniform(1.0 - self.jitter, 1.0 + self.jitter)
        return max(delay, 0.0)

    def rng(self) -> random.Random:
        """Return a new random generator seeded with ``seed`` (the jitter draws).

        >>> RetryPolicy(seed=7).rng().random() == RetryPolicy(seed=7).rng().random()
        True
        """
        return random.Random(self.seed)

    def should_retry(self, error: BaseException, attempt: int) -> bool:
        """Return whether to try again after attempt ``attempt`` (1-based) failed with ``error``.

        >>> policy = RetryPolicy(attempts=2)
        >>> policy.should_retry(Transient(), 1), policy.should_retry(Transient(), 2)
        (True, False)
        """
        return attempt < self.attempts and self.classify(error) == "retry"


#: One attempt, no retries.
NO_RETRY = RetryPolicy(attempts=1)


def retrying(policy: RetryPolicy, make: Callable[[], Generator[Any, Any, T]], *,
             rng: Optional[random.Random] = None) -> Generator[Any, Any, T]:
    """Run ``make()`` until it succeeds or ``policy`` gives up; sleep between attempts.

    ``make`` is called once per attempt and must return a fresh task. With
    ``policy.timeout_ms``, each attempt runs under ``scope.timeout`` and a deadline that
    passes counts as a failed attempt (a ``TimeoutError``, classified like any error).
    When the policy gives up, the last error is raised. Jitter draws come from ``rng``,
    or from one ``policy.rng()`` per call. A ``BaseException`` that is not an
    ``Exception`` (a cancellation) ends the task at once, wherever it is.

    >>> from actress import testing
    >>> calls = []
    >>> def flaky():
    ...     calls.append(len(calls))
    ...     if len(calls) < 3:
    ...         raise Transient("blip")
    ...     return "ok"
    ...     yield
    >>> testing.run(retrying(RetryPolicy(attempts=3, base_ms=100), flaky))
    Outcome(ok=True, value='ok', error=None, messages=[], time=300.0)
    """
    draw = rng if rng is not None else (policy.rng() if policy.jitter else None)
    limit = policy.timeout_ms
    attempt = 1
    while True:
        try:
            if limit is None:
                return (yield from make())
            value: T = yield from timeout(limit, make())
            return value
        except Exception as error:
            if not policy.should_retry(error, attempt):
                raise
        yield from sleep(policy.delay_ms(attempt, draw))
        attempt += 1
