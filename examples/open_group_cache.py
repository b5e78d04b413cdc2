"""An open group from asyncio: one primer warms a prefix cache, questions arrive over time.

A chat session is a group left open while questions come in. Its primer "warms a prefix
cache" (20 ms) and returns a cache handle; each question is a follower that runs with
that handle (``job.primer_output``). Questions that arrive before the cache is warm (one
even before the primer is submitted) wait for it and are never lost; later ones start at
once. Leaving ``async with`` closes the group: no more questions. Each ``add_follower``
returns an ``asyncio.Future`` that resolves to the job's ``JobResult`` (it never raises).
The executor is an ``async def``: the engine awaits it on the loop.

Run: python examples/open_group_cache.py [events.jsonl]
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from typing import Any

from actress.jobs.aio import AsyncEngine
from actress.jobs.engine import Job, JobResult
from actress.jobs.events import JsonlSink
from actress.jobs.replay import read_events, summarize

T0 = time.monotonic()
FIRST = "what changed?"
# each question, and the ms since the one before it
ARRIVALS = [("is it safe?", 5), ("how fast?", 7), ("who wrote it?", 23), ("ship it?", 10)]


def say(text: str) -> None:
    print(f"{(time.monotonic() - T0) * 1000:6.1f} ms  {text}")


async def model(job: Job) -> Any:
    """The fake model: warm the cache (the primer), or answer one question with it."""
    if job.kind == "primer":
        say(f"primer: warming the prefix cache for {job.payload!r}")
        await asyncio.sleep(0.020)
        handle = f"cache:{job.payload}:{len(job.payload) * 64}tok"
        say(f"primer: cache warm, handle {handle}")
        return handle
    say(f"  follower {job.payload!r} starts, with {job.primer_output}")
    await asyncio.sleep(0.003)
    return f"{job.payload} -> answered from {job.primer_output.split(':')[1]}"


async def main(path: str) -> None:
    engine = AsyncEngine(model, workers=2, events=[JsonlSink(path)])
    futures: list[asyncio.Future[JobResult]] = []
    async with engine.open_group("chat-42") as g:
        futures.append(await g.add_follower(FIRST))  # before there is any primer
        say(f"asked {FIRST!r} before the primer was even submitted")
        primer = await g.submit_primer("release-notes")
        for question, gap_ms in ARRIVALS:
            await asyncio.sleep(gap_ms / 1000)  # questions trickle in
            futures.append(await g.add_follower(question))
            say(f"asked {question!r} (cache warm: {primer.done()})")
    say("group closed: no more questions")
    try:
        await g.add_follower("one more?")
    except RuntimeError as error:
        say(f"a late question is refused: {error}")
    warm = await primer
    results = await asyncio.gather(*futures)
    await engine.close()
    print(f"primer {warm.status} after {warm.attempts} attempt: {warm.output}")
    for result in results:
        print(f"  {result.status:<9} {result.output}")
    print(f"{sum(r.ok for r in results)} of {len(futures)} questions answered, none lost")


if __name__ == "__main__":
    log = sys.argv[1] if len(sys.argv) > 1 else os.path.join(tempfile.gettempdir(),
                                                               "actress-open-group-cache.jsonl")
    open(log, "w").close()  # JsonlSink appends: start from an empty file
    asyncio.run(main(log))
    print(f"event log {log}: {summarize(read_events(log).events)}")
