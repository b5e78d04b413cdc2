"""A pipeline of actors over bounded mailboxes: a slow stage pushes back on the source.

Each stage is an actor whose mailbox holds 2 items. ``ref.send`` waits while the
mailbox is full, so the source can never run more than a few items ahead of the slowest
stage, and memory stays bounded. Shutdown is orderly: each stage is stopped after the one
before it, and drains what it already accepted.

Run: python examples/pipeline.py
"""

from __future__ import annotations

import time
from typing import Any, Generator, Optional

import actress
from actress import task
from actress.actor import ActorRef, Inbox, start

T0 = time.monotonic()


def say(text: str) -> None:
    print(f"{(time.monotonic() - T0) * 1000:6.1f} ms  {text}")


def stage(name: str, work_ms: float, downstream: Optional[ActorRef[Any]]):
    def body(inbox: Inbox[str]) -> Generator[Any, Any, None]:
        while True:
            item = yield from inbox.receive()
            yield from task.sleep(work_ms)  # the work of this stage
            out = f"{item}|{name}"
            if downstream is not None:
                yield from downstream.send(out)  # waits while downstream is full
            else:
                say(f"done: {out}")
    return body


def main() -> Generator[Any, Any, int]:
    sink = yield from start(stage("store", 2, None), name="store", capacity=2)
    slow = yield from start(stage("parse", 10, sink), name="parse", capacity=2)
    fast = yield from start(stage("fetch", 1, slow), name="fetch", capacity=2)
    for i in range(12):
        before = time.monotonic()
        yield from fast.send(f"item{i}")
        waited = (time.monotonic() - before) * 1000
        say(f"source: item{i} accepted" + (f" after waiting {waited:.0f} ms" if waited > 1 else ""))
    for ref in (fast, slow, sink):  # stop in order: each drains what it accepted
        ref.stop()
        yield from ref.join()
        say(f"{ref.name} stopped, dead letters: {ref.dead_letters}")
    return 12


if __name__ == "__main__":
    print("items through the pipeline:", actress.run(main()))
