"""Testing with virtual time: half an hour of retries checked in a millisecond of real time.

`actress.testing.run` drives a task on a virtual clock: `sleep` takes no real time and
every order is exact, so a test can assert the whole timeline.

Run it: ``python examples/virtual_time.py``.
"""

from __future__ import annotations

import time
from typing import Any, Generator

from actress import task, testing

Task = Generator[Any, Any, Any]


def flaky_service(failures: int) -> Any:
    calls = {"n": 0}

    def call() -> Task:
        yield from task.sleep(100)  # a slow network call
        calls["n"] += 1
        if calls["n"] <= failures:
            raise ConnectionError(f"attempt {calls['n']} failed")
        return "payload"

    return call


def with_retries(call: Any, attempts: int, backoff_ms: float) -> Task:
    for attempt in range(1, attempts + 1):
        try:
            return (yield from call())
        except ConnectionError as error:
            yield from task.send(f"{error}; retrying in {backoff_ms / 1000:.0f} s")
            yield from task.sleep(backoff_ms)
            backoff_ms *= 2
    raise TimeoutError("gave up")


if __name__ == "__main__":
    started = time.perf_counter()
    outcome = testing.run(with_retries(flaky_service(failures=5), attempts=8, backoff_ms=60_000))
    for line in outcome.messages:
        print(line)
    print(f"result {outcome.value!r} after {outcome.time / 60_000:.1f} virtual minutes,"
          f" in {time.perf_counter() - started:.3f} s of real time")
