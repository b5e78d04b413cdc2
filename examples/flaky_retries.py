"""A flaky backend under a retry policy: transient errors are retried, the others are not.

Six followers (a group without a primer) call a fake backend that fails on purpose:
``blip`` and ``flaky`` fail with ``Transient`` on their first one or two attempts, ``down``
on every attempt, ``closed`` raises ``Permanent`` and ``typo`` raises ``InvalidInput``.
The policy allows 4 attempts with exponential backoff from 5 ms, jittered by 20% from a
fixed seed (so the delays are the same every run). A job backing off holds no worker.
How each job ends: ``succeeded``; ``failed`` (retries used up, or invalid input: never
retried); ``quarantined`` (a ``Permanent`` error: never retried, listed in
``engine.quarantined``). Retries are printed as they happen, by a ``CallbackSink`` that
sees the same events as the JSONL log.

Run: python examples/flaky_retries.py [events.jsonl]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from typing import Any, Generator

import actress
from actress import task
from actress.jobs.engine import Engine, Job
from actress.jobs.events import CallbackSink, Event, EventType, JsonlSink
from actress.jobs.replay import read_events, summarize
from actress.jobs.retry import InvalidInput, Permanent, RetryPolicy, Transient

Task = Generator[Any, Any, Any]
T0 = time.monotonic()
FAILS_FIRST = {"ok": 0, "blip": 1, "flaky": 2, "down": 99}  # transient failures before success
names: dict[str, str] = {}  # job id -> payload, for the event printer


def say(text: str) -> None:
    print(f"{(time.monotonic() - T0) * 1000:6.1f} ms  {text}")


def backend(job: Job) -> Task:
    """Call the fake backend once: this is one attempt."""
    name = names[job.id] = job.payload
    say(f"{name:<6} attempt {job.attempt}")
    yield from task.sleep(2)
    if name == "closed":
        raise Permanent("account closed")
    if name == "typo":
        raise InvalidInput("no such field: 'emial'")
    if job.attempt <= FAILS_FIRST[name]:
        raise Transient(f"503 on attempt {job.attempt}")
    return f"{name}: 200 OK"


def on_event(event: Event) -> None:
    """Print what the engine decided after a failed attempt."""
    name = names.get(event.job_id or "", "")
    if event.type is EventType.JOB_RETRYING:
        say(f"{name:<6} {event.data['error']}: retry in {event.data['delay_ms']:.1f} ms")
    elif event.type in (EventType.JOB_FAILED, EventType.JOB_QUARANTINED):
        say(f"{name:<6} {event.data['error']}: {event.type.value} after {event.attempt}")


def main(path: str) -> Task:
    policy = RetryPolicy(attempts=4, backoff="exponential", base_ms=5, jitter=0.2, seed=7)
    engine = Engine(backend, workers=2, follower_retry=policy,
                    events=[JsonlSink(path), CallbackSink(on_event)])
    group = yield from engine.submit_group("calls", None, [*FAILS_FIRST, "closed", "typo"])
    results = yield from group.wait()  # a JobResult per job, in the order they were added
    yield from engine.close()
    print("final statuses:")
    for job, r in zip(group.jobs, results):
        detail = r.output if r.ok else f"{r.error!r}" + (f" ({r.reason})" if r.reason else "")
        print(f"  {job.payload:<6} {r.status:<11} after {r.attempts} attempt(s): {detail}")
    print(f"counts: {vars(engine.counts)}")
    print(f"engine.quarantined: {engine.quarantined}"
          f" (payloads {[j.payload for j in engine.quarantined]})")


if __name__ == "__main__":
    log = sys.argv[1] if len(sys.argv) > 1 else os.path.join(tempfile.gettempdir(),
                                                               "actress-flaky-retries.jsonl")
    open(log, "w").close()  # JsonlSink appends: start from an empty file
    actress.run(main(log))
    print(f"event log {log}: {summarize(read_events(log).events)}")
