"""Two tenants share two workers by weight, whatever order they submit in.

The gold tenant's lane has weight 3; the free tenant's has weight 1 and may run at most
one job at a time (``max_inflight=1``). The free tenant submits all its jobs first, yet
the dispatcher serves the lanes by weighted fair queueing: about 3 starts for gold to 1
for free while both have work queued, and the cap keeps a worker for gold even while
gold has submitted nothing yet. Every job takes the same 4 ms, so shares of starts are
shares of completions. The order of completions is read back from the JSONL event log.

Run: python examples/tenants_lanes.py [events.jsonl]
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections import Counter
from typing import Any, Generator

import actress
from actress import task
from actress.jobs.engine import Engine, Job, Lane
from actress.jobs.events import Event, EventType, JsonlSink
from actress.jobs.replay import read_events, summarize

Task = Generator[Any, Any, Any]
JOBS_EACH = 12
FIRST_N = 12  # completions to look at, while both tenants still have work queued
started: list[str] = []  # payloads, in the order their jobs started


def request(job: Job) -> Task:
    """Every request costs the same: 4 ms of "work"."""
    started.append(job.payload)
    yield from task.sleep(4)
    return f"{job.payload} done"


def main(path: str) -> Task:
    engine = Engine(request, workers=2, events=[JsonlSink(path)],
                    lanes={"gold": Lane(3), "free": Lane(1, max_inflight=1)})
    for tenant in ("free", "gold"):  # free first: all of its jobs are queued before gold's
        yield from engine.submit_group(tenant, None, [f"{tenant}-{i}" for i in range(JOBS_EACH)],
                                       lane=tenant)  # no primer: one group of followers
        print(f"{tenant} submitted {JOBS_EACH} jobs")
        if tenant == "free":
            yield from task.sleep(1)  # gold's requests arrive a millisecond later
            print(f"1 ms later, started: {started} (free's cap leaves the other worker idle)")
    yield from engine.close()
    print(f"engine closed: {vars(engine.counts)}")


def show(events: list[Event]) -> None:
    """Print the start order and the tenants' shares of the first completions, from the log."""
    print("start order:", " ".join(p.replace("gold-", "G").replace("free-", "F") for p in started))
    done = [e.lane for e in events if e.type is EventType.JOB_SUCCEEDED]
    for first in (4, 8, FIRST_N):
        share = Counter(done[:first])
        print(f"  first {first:>2} completions: gold {share['gold']:>2}, free {share['free']:>2}"
              f"  (gold {share['gold'] / first:.0%}; weights say 75%)")


def summarize_log(path: str) -> list[Event]:
    """Read the event log back and say what it holds (``actress.jobs.replay.summarize``)."""
    events = read_events(path).events
    print(f"event log {path}: {summarize(events)}")
    return events


if __name__ == "__main__":
    log = sys.argv[1] if len(sys.argv) > 1 else os.path.join(tempfile.gettempdir(),
                                                               "actress-tenants-lanes.jsonl")
    open(log, "w").close()  # JsonlSink appends: start from an empty file
    actress.run(main(log))
    show(summarize_log(log))
