"""Watch or replay a job engine's JSONL event log from a terminal.

``python -m actress.jobs.watch run.jsonl`` prints what the log says: jobs by status, by lane
and by kind, throughput, time from start to end of the jobs, retries, and whether every job
ended exactly once. ``--follow`` keeps reading as the file grows and prints a status line
every ``--every`` seconds, until the engine's ``engine.closed`` event (or Ctrl-C).

Uses: jobs.events, jobs.replay. Never: the engine, the kernel.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from typing import Iterable, Optional, Sequence, TextIO

from .events import TERMINAL, Event, EventType
from .replay import follow, read_events, summarize

__all__ = ["Report", "main", "report"]

_STATUS = {EventType.JOB_SUCCEEDED: "succeeded", EventType.JOB_FAILED: "failed",
           EventType.JOB_CANCELLED: "cancelled", EventType.JOB_QUARANTINED: "quarantined"}


@dataclass
class Report:
    """What a run's events say, folded as they come (``add``)."""

    events: int = 0
    queued: int = 0
    running: int = 0
    retries: int = 0
    ended: dict[str, int] = field(default_factory=dict)
    lanes: dict[str, dict[str, int]] = field(default_factory=dict)
    first_ts: Optional[float] = None
    last_ts: Optional[float] = None
    durations: list[float] = field(default_factory=list)
    closed: bool = False
    _started: dict[tuple[str, str], float] = field(default_factory=dict, repr=False)
    _seen: list[Event] = field(default_factory=list, repr=False)

    def add(self, event: Event) -> None:
        """Fold one event in.

        A retry takes the job out of ``running`` (it waits for its next attempt).

        >>> from actress.jobs.events import CallbackSink, EventLog
        >>> r = Report()
        >>> log = EventLog([CallbackSink(r.add)], clock=lambda: 0.0)
        >>> for kind in (EventType.JOB_QUEUED, EventType.JOB_STARTED, EventType.JOB_RETRYING):
        ...     _ = log.emit(kind, job_id="j")
        >>> r.events, r.queued, r.running, r.retries
        (3, 1, 0, 1)
        """
        self.events += 1
        self._seen.append(event)
        if self.first_ts is None:
            self.first_ts = event.ts
        self.last_ts = event.ts
        lane = self.lanes.setdefault(event.lane or "-", {"queued": 0, "running": 0, "ended": 0})
        kind = event.type
        if kind is EventType.JOB_QUEUED:
            self.queued += 1
            lane["queued"] += 1
        elif kind is EventType.JOB_STARTED and event.job_id is not None:
            self.running += 1
            lane["running"] += 1
            self._started[(event.run_id, event.job_id)] = event.ts  # (a file may hold runs)
        elif kind is EventType.JOB_RETRYING:
            self.retries += 1
            self._stop(event, lane)
        elif kind in TERMINAL and event.job_id is not None:
            status = _STATUS[kind]
            self.ended[status] = self.ended.get(status, 0) + 1
            lane["ended"] += 1
            self._stop(event, lane)
        elif kind is EventType.ENGINE_CLOSED:
            self.closed = True

    def _stop(self, event: Event, lane: dict[str, int]) -> None:
        start = self._started.pop((event.run_id, event.job_id or ""), None)
        if start is not None:
            self.running -= 1
            lane["running"] -= 1
            if event.type in TERMINAL:
                self.durations.append(event.ts - start)

    def status_line(self) -> str:
        """One line: ended by status, running, waiting, jobs/s so far.

        >>> r = Report()
        >>> steps = [("queued", "a"), ("queued", "b"), ("queued", "c"), ("started", "a"),
        ...          ("failed", "a"), ("started", "b")]
        >>> for n, (kind, job) in enumerate(steps):
        ...     r.add(Event(EventType("job." + kind), "r", n + 1, n * 100.0, job_id=job))
        >>> r.status_line()
        '1/3 jobs ended (1 failed); 1 running, 1 waiting; 0 retries; 2 jobs/s'
        >>> Report().status_line()
        '0/0 jobs ended (none ended); 0 running, 0 waiting; 0 retries; -'
        """
        done = sum(self.ended.values())
        span = ((self.last_ts or 0.0) - (self.first_ts or 0.0)) / 1000.0
        rate = f"{done / span:,.0f} jobs/s" if span > 0 else "-"
        ended = ", ".join(f"{n} {s}" for s, n in sorted(self.ended.items())) or "none ended"
        return (f"{done}/{self.queued} jobs ended ({ended}); {self.running} running, "
                f"{self.queued - done - self.running} waiting; {self.retries} retries; {rate}")

    def render(self) -> str:
        """A few lines: the status line, each lane, job times, and the exactly-once check.

        >>> r = Report()
        >>> for seq, kind in enumerate(["job.queued", "job.started", "job.succeeded"], 1):
        ...     r.add(Event(EventType(kind), "r", seq, seq * 50.0, job_id="a", lane="bulk"))
        >>> r.add(Event(EventType.ENGINE_CLOSED, "r", 4, 200.0))  # closed: no "not closed yet"
        >>> print(r.render())
        1/1 jobs ended (1 succeeded); 0 running, 0 waiting; 0 retries; 7 jobs/s
          lane bulk: 1/1 ended, 0 running
          job time: median 50.0 ms, max 50.0 ms over 1 jobs
          every job ended exactly once: True
        """
        lines = [self.status_line()]
        for name, lane in sorted(self.lanes.items()):
            if name != "-" and lane["queued"]:
                lines.append(f"  lane {name}: {lane['ended']}/{lane['queued']} ended, "
                             f"{lane['running']} running")
        if self.durations:
            ds = sorted(self.durations)
            lines.append(f"  job time: median {ds[len(ds) // 2]:.1f} ms, "
                         f"max {ds[-1]:.1f} ms over {len(ds)} jobs")
        check = summarize(self._seen)
        lines.append(f"  every job ended exactly once: {check.each_job_ended_once}"
                     + ("" if self.closed else " (the run has not closed yet)"))
        return "\n".join(lines)


def report(events: Iterable[Event]) -> Report:
    """Fold ``events`` into a ``Report``.

    >>> from actress.jobs.events import EventLog, MemorySink
    >>> sink = MemorySink()
    >>> log = EventLog([sink], run_id="r", clock=iter(range(0, 1000, 100)).__next__)
    >>> _ = log.emit(EventType.JOB_QUEUED, job_id="j", lane="a")
    >>> _ = log.emit(EventType.JOB_STARTED, job_id="j", lane="a", attempt=1)
    >>> _ = log.emit(EventType.JOB_SUCCEEDED, job_id="j", lane="a", attempt=1)
    >>> print(report(sink.events).render())
    1/1 jobs ended (1 succeeded); 0 running, 0 waiting; 0 retries; 5 jobs/s
      lane a: 1/1 ended, 0 running
      job time: median 100.0 ms, max 100.0 ms over 1 jobs
      every job ended exactly once: True (the run has not closed yet)
    """
    r = Report()
    for event in events:
        r.add(event)
    return r


def main(argv: Optional[Sequence[str]] = None, out: Optional[TextIO] = None) -> int:
    """The command line: replay a log, or follow it as it grows; return the exit status.

    >>> import os, tempfile
    >>> from actress.jobs.events import EventLog, JsonlSink
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "run.jsonl")
    ...     with EventLog([JsonlSink(path)], clock=iter([0.0, 50.0, 250.0]).__next__) as log:
    ...         for kind in ("job.queued", "job.started", "job.succeeded"):
    ...             _ = log.emit(EventType(kind), job_id="j", lane="a")
    ...     main([path])
    1/1 jobs ended (1 succeeded); 0 running, 0 waiting; 0 retries; 4 jobs/s
      lane a: 1/1 ended, 0 running
      job time: median 200.0 ms, max 200.0 ms over 1 jobs
      every job ended exactly once: True (the run has not closed yet)
    0
    """
    parser = argparse.ArgumentParser(prog="python -m actress.jobs.watch",
                                     description="Watch or replay a job event log (JSONL).")
    parser.add_argument("path")
    parser.add_argument("--follow", action="store_true", help="keep reading as it grows")
    parser.add_argument("--every", type=float, default=1.0, help="seconds between lines")
    parser.add_argument("--idle", type=float, default=None,
                        help="with --follow: stop after this many seconds without news")
    args = parser.parse_args(argv)
    if out is None:  # looked up now: a redirected sys.stdout (tests, doctest) is honoured
        out = sys.stdout
    if not args.follow:
        read = read_events(args.path)
        r = report(read.events)
        print(r.render(), file=out)
        if read.skipped:
            lines = "line" if read.skipped == 1 else "lines"
            print(f"  {read.skipped} malformed {lines} skipped", file=out)
        return 0
    r = Report()
    shown = time.monotonic()
    try:
        for event in follow(args.path, idle_timeout_s=args.idle, stop=lambda: r.closed):
            r.add(event)
            if time.monotonic() - shown >= args.every:
                print(r.status_line(), file=out, flush=True)
                shown = time.monotonic()
    except KeyboardInterrupt:
        pass
    print(r.render(), file=out)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
