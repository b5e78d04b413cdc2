"""A release-readiness review: a coordinator reads the release once, four specialists judge it.

The group's *primer* is a fake model that "reads the release notes and the diff" and
returns a shared context; the *followers* (security, performance, docs, tests reviewers)
start only once it succeeded, each gets that context as ``job.primer_output`` and returns
a verdict. The executor is a generator: it sleeps a few milliseconds (the model
"thinking") and builds its reply from the payload alone, so every run prints the same
verdicts. Every step goes to a JSONL event log, which is read back at the end.

Run: python examples/release_review.py [events.jsonl]
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
from actress.jobs.events import JsonlSink
from actress.jobs.replay import read_events, summarize

Task = Generator[Any, Any, Any]
T0 = time.monotonic()

RELEASE = {
    "version": "2.4.0",
    "notes": ["faster connection pool", "session tokens rotate hourly", "new `export` command"],
    "diff": {"db/pool.py": 240, "auth/session.py": 96, "cli/export.py": 310,
             "tests/test_pool.py": 120, "docs/changelog.md": 14},
}
REVIEWERS = ["security", "performance", "docs", "tests"]


def say(text: str) -> None:
    print(f"{(time.monotonic() - T0) * 1000:6.1f} ms  {text}")


def read_release(release: dict[str, Any]) -> dict[str, Any]:
    """What the coordinator extracts once, for every reviewer to share."""
    touched = sorted(release["diff"])
    code = [f for f in touched if not f.startswith(("tests/", "docs/"))]
    tested = {f.removeprefix("tests/test_") for f in touched if f.startswith("tests/")}
    return {"version": release["version"], "touched": touched,
            "lines": sum(release["diff"].values()),
            "untested": [f for f in code if f.rsplit("/", 1)[-1] not in tested],
            "hot_paths": [f for f in code if f.startswith("db/")],
            "changelog": "docs/changelog.md" in touched}


def review(reviewer: str, ctx: dict[str, Any]) -> tuple[str, str]:
    """One specialist's verdict ("go", "concern" or "block") and why."""
    if reviewer == "security":
        risky = [f for f in ctx["untested"] if f.startswith("auth/")]
        return ("block", f"{', '.join(risky)} changed without a test") if risky \
            else ("go", "no untested auth changes")
    if reviewer == "performance":
        return ("concern", f"benchmark {', '.join(ctx['hot_paths'])} first") if ctx["hot_paths"] \
            else ("go", "no hot paths touched")
    if reviewer == "docs":
        return ("go", "changelog updated") if ctx["changelog"] else ("block", "no changelog")
    untested = ctx["untested"]
    return ("concern", f"{len(untested)} changed modules untested") if untested else ("go", "")


def model(job: Job) -> Task:
    """The fake model: think for a few ms, then answer from the payload."""
    if job.kind == "primer":
        say(f"coordinator: reading the notes and {len(job.payload['diff'])} changed files")
        yield from task.sleep(10)
        return read_release(job.payload)
    ctx = job.primer_output
    say(f"{job.payload:>11}: reviewing {ctx['version']} with the shared context")
    yield from task.sleep(2 + 2 * REVIEWERS.index(job.payload))
    return review(job.payload, ctx)


def main(path: str) -> Task:
    engine = Engine(model, workers=3, events=[JsonlSink(path)])
    group = yield from engine.submit_group("release-2.4.0", RELEASE, REVIEWERS)
    results = yield from group.wait()  # every JobResult, in the order the jobs were added
    yield from engine.close()
    say(f"all {len(results)} jobs ended: {[r.status for r in results]}")
    verdicts = {}
    for job, result in zip(group.followers, results[1:]):  # results[0] is the primer's
        verdict, why = result.output
        verdicts[job.payload] = verdict
        print(f"  {job.payload:<11} {verdict:<8} {why}")
    blocked = [r for r, v in verdicts.items() if v == "block"]
    print(f"decision: {'NO-GO, blocked by ' + ', '.join(blocked) if blocked else 'GO'}"
          f" ({sum(v == 'concern' for v in verdicts.values())} concerns)")


if __name__ == "__main__":
    log = sys.argv[1] if len(sys.argv) > 1 else os.path.join(tempfile.gettempdir(),
                                                               "actress-release-review.jsonl")
    open(log, "w").close()  # JsonlSink appends: start from an empty file
    actress.run(main(log))
    print(f"event log {log}: {summarize(read_events(log).events)}")
