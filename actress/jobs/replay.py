"""Reading job events back: a JSONL file read whole or followed as it grows, and a summary.

``read_events`` reads a file written by ``JsonlSink`` (malformed lines skipped and
counted), ``follow`` yields its events and then new ones as lines are appended, and
``summarize`` counts a run's events by type and checks that every job ended exactly once.

Uses: jobs.events and the standard library. Never: the kernel, the engine.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Mapping, Optional

from .events import TERMINAL, Event, EventType, _Path

__all__ = ["ReadResult", "Summary", "follow", "read_events", "summarize"]


@dataclass(slots=True)
class ReadResult:
    """The events of a file in order, and how many non-blank lines were malformed.

    >>> ReadResult([], 0).skipped
    0
    """

    events: list[Event]
    skipped: int


def _parse(raw: bytes) -> Optional[Event]:
    try:
        return Event.from_json(raw.decode("utf-8"))
    except ValueError:  # also UnicodeDecodeError and JSONDecodeError
        return None


def read_events(path: _Path) -> ReadResult:
    """Read the events of a JSONL file; skip and count malformed lines (blank ones don't count).

    >>> import os, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "run.jsonl")
    ...     with open(path, "w") as f:
    ...         _ = f.write(Event(EventType.JOB_QUEUED, "r", 1, 0.0).to_json() + "\\nnope\\n\\n")
    ...     result = read_events(path)
    >>> [e.seq for e in result.events], result.skipped
    ([1], 1)
    """
    result = ReadResult([], 0)
    with open(path, "rb") as file:
        for raw in file:
            if not raw.isspace():
                event = _parse(raw)
                if event is None:
                    result.skipped += 1
                else:
                    result.events.append(event)
    return result


def follow(path: _Path, *, poll_s: float = 0.1, idle_timeout_s: Optional[float] = None,
           stop: Optional[Callable[[], bool]] = None) -> Iterator[Event]:
    """Yield the events of a JSONL file, then new ones as lines are appended.

    A last line without ``"\\n"`` is held back until completed (and dropped if the
    generator ends first); malformed complete lines are skipped; a missing file is waited
    for. Each time it has caught up, it ends if ``stop()`` is true or ``idle_timeout_s``
    passed with no new data, else sleeps ``poll_s``. Truncation is not detected.

    >>> import os, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     with open(os.path.join(tmp, "run.jsonl"), "w") as f:
    ...         _ = f.write(Event(EventType.JOB_QUEUED, "r", 1, 0.0).to_json() + "\\n")
    ...     [e.seq for e in follow(f.name, stop=lambda: True)]
    [1]
    """
    file, pending, last_data = None, b"", time.monotonic()
    try:
        while True:
            if file is None:
                try:
                    file = open(path, "rb")
                except FileNotFoundError:
                    pass
            chunk = file.read() if file is not None else b""
            if chunk:
                last_data = time.monotonic()
                *lines, pending = (pending + chunk).split(b"\n")
                for raw in lines:
                    if raw and not raw.isspace() and (event := _parse(raw)) is not None:
                        yield event
            elif (stop is not None and stop()) or (
                    idle_timeout_s is not None and time.monotonic() - last_data >= idle_timeout_s):
                return
            else:
                time.sleep(poll_s)
    finally:
        if file is not None:
            file.close()


@dataclass(frozen=True)
class Summary:
    """What a run's events say: how many of each type, and whether every queued job
    ended exactly once (``unended``: none; ``ended_twice``: none)."""

    counts: Mapping[str, int]
    jobs: int
    unended: frozenset[str]
    ended_twice: frozenset[str]

    @property
    def each_job_ended_once(self) -> bool:
        """Every queued job has exactly one terminal event.

        >>> def ev(seq, kind, job): return Event(EventType(kind), "r", seq, 0.0, job_id=job)
        >>> s = summarize([ev(1, "job.queued", "a"), ev(2, "job.queued", "b"),
        ...                ev(3, "job.failed", "a")])
        >>> s.each_job_ended_once, s.unended  # "b" never ended
        (False, frozenset({'b'}))
        >>> summarize([ev(1, "job.queued", "a"), ev(2, "job.failed", "a")]).each_job_ended_once
        True
        """
        return not self.unended and not self.ended_twice

    def __str__(self) -> str:
        kinds = ", ".join(f"{k} {n}" for k, n in self.counts.items())
        return (f"{sum(self.counts.values())} events ({kinds}); every one of {self.jobs} jobs "
                f"ended exactly once: {self.each_job_ended_once}")


def summarize(events: Iterable[Event]) -> Summary:
    """Count a run's events by type and check that every job ended exactly once.

    Jobs are told apart by run too: a file holding several runs (a ``JsonlSink`` appends)
    is checked run by run, and its job ids are then given as ``run_id:job_id``.

    >>> from actress.jobs.events import EventLog, MemorySink
    >>> sink = MemorySink()
    >>> log = EventLog([sink], run_id="r", clock=lambda: 0.0)
    >>> _ = log.emit(EventType.JOB_QUEUED, job_id="j1")
    >>> _ = log.emit(EventType.JOB_SUCCEEDED, job_id="j1")
    >>> print(summarize(sink.events))
    2 events (job.queued 1, job.succeeded 1); every one of 1 jobs ended exactly once: True
    """
    counts: dict[str, int] = {}
    queued: set[tuple[str, str]] = set()
    ends: dict[tuple[str, str], int] = {}
    runs: set[str] = set()
    for e in events:
        counts[e.type.value] = counts.get(e.type.value, 0) + 1
        if e.job_id is None:
            continue
        runs.add(e.run_id)
        if e.type is EventType.JOB_QUEUED:
            queued.add((e.run_id, e.job_id))
        elif e.type in TERMINAL:
            key = (e.run_id, e.job_id)
            ends[key] = ends.get(key, 0) + 1

    def named(keys: Iterable[tuple[str, str]]) -> frozenset[str]:
        return frozenset(job if len(runs) < 2 else f"{run}:{job}" for run, job in keys)

    return Summary(counts, len(queued), named(queued - set(ends)),
                   named(k for k, n in ends.items() if n > 1))
