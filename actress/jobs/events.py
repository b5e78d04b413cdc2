"""Job events: every step of a job's life as a record, and the places records go.

An ``EventLog`` stamps each event with its run, the next sequence number (from 1) and a
clock reading (ms), and writes it to each sink in order. With no sinks it does nothing;
callers check ``active`` before building an event, so logging off costs nothing.
``JsonlSink`` appends JSON lines in batches; ``jobs.replay`` reads them back.
A line (schema 1) has the keys ``v, type, run_id, seq, ts, job_id, group_id, lane, kind,
attempt, data`` in that order; ``data`` values JSON cannot encode (objects, NaN,
non-string keys) are written as their ``repr``. Not thread-safe.

Uses: the standard library. Never: the kernel, the scheduler, other jobs modules.
"""

from __future__ import annotations

import enum
import io
import json
import math
import os
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Optional, Protocol, runtime_checkable

__all__ = ["TERMINAL", "CallbackSink", "Event", "EventLog", "EventType", "JsonlSink", "MemorySink",
           "Sink"]

_Path = str | os.PathLike[str]


class EventType(str, enum.Enum):
    """What happened; the value is the ``type`` of a JSON line. ``TERMINAL`` ends a job.

    >>> EventType("job.failed") is EventType.JOB_FAILED, EventType.JOB_FAILED in TERMINAL
    (True, True)
    """

    JOB_QUEUED = "job.queued"
    JOB_STARTED = "job.started"
    JOB_SUCCEEDED = "job.succeeded"
    JOB_FAILED = "job.failed"
    JOB_RETRYING = "job.retrying"
    JOB_CANCELLED = "job.cancelled"
    JOB_QUARANTINED = "job.quarantined"
    GROUP_OPENED = "group.opened"
    GROUP_PRIMER_DONE = "group.primer_done"
    GROUP_FOLLOWERS_READY = "group.followers_ready"
    GROUP_FAILED = "group.failed"
    GROUP_CLOSED = "group.closed"
    GROUP_DONE = "group.done"
    LANE_ADDED = "lane.added"
    LANE_CHANGED = "lane.changed"
    ENGINE_CLOSED = "engine.closed"


TERMINAL: frozenset[EventType] = frozenset({EventType.JOB_SUCCEEDED, EventType.JOB_FAILED,
                                             EventType.JOB_CANCELLED, EventType.JOB_QUARANTINED})

#: The start of each type's JSON line, up to the run id's value (``to_json``'s fast path).
_HEAD: dict[EventType, str] = {t: f'{{"v":1,"type":"{t.value}","run_id":' for t in EventType}
_IDS = ("job_id", "group_id", "lane", "kind")
_encode = json.JSONEncoder(separators=(",", ":"), allow_nan=False, default=repr).encode
_ascii = json.encoder.encode_basestring_ascii


def _str(value: Optional[str]) -> str:
    if value is None:
        return "null"
    if type(value) is str:
        return _ascii(value)
    return _encode(value)  # not a string after all: as the encoder would write it


def _flat(data: dict[str, Any], nested: bool = True) -> Optional[str]:
    """``data`` as compact JSON when it is flat (string keys; str, int, finite float, bool or
    None values, or, one level down, dicts of those: what the engine writes), by hand;
    else None (the encoder's turn)."""
    parts = []
    for k, v in data.items():
        if type(k) is not str:
            return None
        t = type(v)
        if t is str:
            parts.append(f"{_ascii(k)}:{_ascii(v)}")
        elif t is int:
            parts.append(f"{_ascii(k)}:{v}")
        elif v is None:
            parts.append(f"{_ascii(k)}:null")
        elif t is bool:
            parts.append(f"{_ascii(k)}:{'true' if v else 'false'}")
        elif t is float and math.isfinite(v):
            parts.append(f"{_ascii(k)}:{v!r}")
        elif t is dict and nested:
            inner = _flat(v, False)
            if inner is None:
                return None
            parts.append(f"{_ascii(k)}:{inner}")
        else:
            return None
    return "{" + ",".join(parts) + "}"


def safe_repr(value: Any) -> str:
    """``repr(value)``, or a stand-in if that raises: a job's error or output is the
    user's object, and describing it must never break a job's end.

    >>> class Odd:
    ...     def __repr__(self): raise RuntimeError("no")
    >>> safe_repr([1]), safe_repr(Odd())
    ('[1]', '<Odd object (its repr raised RuntimeError)>')
    """
    try:
        return repr(value)
    except Exception as error:
        return f"<{type(value).__name__} object (its repr raised {type(error).__name__})>"


def _plain(value: Any) -> Any:
    try:
        _encode(value)
        return value
    except (TypeError, ValueError):  # a non-string key, NaN, a cycle
        return safe_repr(value)


@dataclass(slots=True, unsafe_hash=True)  # not frozen: a frozen init costs 4x, and this is per event
class Event:
    """One step of a job's life (read-only by convention). No validation (it is on the hot
    path); ``data`` is not hashed.

    >>> e = Event(EventType.JOB_FAILED, "r1", 3, 12.5, job_id="j1", attempt=2, data={"n": 1})
    >>> e.to_json()
    '{"v":1,"type":"job.failed","run_id":"r1","seq":3,"ts":12.5,"job_id":"j1","group_id":null,"lane":null,"kind":null,"attempt":2,"data":{"n":1}}'
    >>> Event.from_json(e.to_json()) == e
    True
    """

    type: EventType
    run_id: str
    seq: int
    ts: float
    job_id: Optional[str] = None
    group_id: Optional[str] = None
    lane: Optional[str] = None
    kind: Optional[str] = None
    attempt: Optional[int] = None
    data: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def to_json(self) -> str:
        """Return the event as one compact JSON line, without the newline.

        Keys in schema order, absent ids as ``null``; a ``data`` value JSON cannot encode
        is written as its ``repr``.

        >>> event = Event(EventType.JOB_QUEUED, "r", 1, 0.0, job_id="j1", data={"ratio": math.nan})
        >>> event.to_json()
        '{"v":1,"type":"job.queued","run_id":"r","seq":1,"ts":0.0,"job_id":"j1","group_id":null,"lane":null,"kind":null,"attempt":null,"data":{"ratio":"nan"}}'
        """
        ts, attempt = self.ts, self.attempt
        if type(ts) is float and math.isfinite(ts) and type(self.seq) is int \
                and (attempt is None or type(attempt) is int):
            # the common case, written by hand: several times cheaper than the encoder
            data = self.data
            if not data:
                data_json = "{}"
            else:
                plain = data if type(data) is dict else dict(data)
                flat = _flat(plain)
                if flat is not None:
                    data_json = flat
                else:
                    try:
                        data_json = _encode(plain)
                    except (TypeError, ValueError):
                        data_json = _encode({k if type(k) is str else safe_repr(k): _plain(v)
                                             for k, v in plain.items()})
            run_id, job_id, group_id, lane, kind = (
                self.run_id, self.job_id, self.group_id, self.lane, self.kind)
            return (f'{_HEAD[self.type]}'
                    f'{_ascii(run_id) if type(run_id) is str else _str(run_id)},'
                    f'"seq":{self.seq},"ts":{ts!r},"job_id":'
                    f'{_ascii(job_id) if type(job_id) is str else _str(job_id)},"group_id":'
                    f'{_ascii(group_id) if type(group_id) is str else _str(group_id)},"lane":'
                    f'{_ascii(lane) if type(lane) is str else _str(lane)},"kind":'
                    f'{_ascii(kind) if type(kind) is str else _str(kind)},'
                    f'"attempt":{"null" if attempt is None else attempt},"data":{data_json}}}')
        data = self.data if type(self.data) is dict else dict(self.data)
        record = {"v": 1, "type": self.type.value, "run_id": self.run_id, "seq": self.seq,
                  "ts": self.ts, "job_id": self.job_id, "group_id": self.group_id,
                  "lane": self.lane, "kind": self.kind, "attempt": self.attempt, "data": data}
        try:
            return _encode(record)
        except (TypeError, ValueError):
            record["data"] = {k if type(k) is str else safe_repr(k): _plain(v) for k, v in data.items()}
            return _encode(record)

    @classmethod
    def from_json(cls, line: str) -> Event:
        """Parse one JSON line; raise ``ValueError`` unless it is a schema-1 event.

        Required: ``v`` (1), ``type`` (a known ``EventType``), ``run_id``, ``seq``, ``ts``.
        Missing optional keys read as ``None`` (``data``: ``{}``); unknown keys are ignored.

        >>> Event.from_json('{"v":1,"type":"job.exploded","run_id":"r","seq":1,"ts":0}')
        Traceback (most recent call last):
        ValueError: 'job.exploded' is not a valid EventType
        """
        try:
            obj = json.loads(line)
        except RecursionError:
            raise ValueError("event line nests too deeply") from None
        if type(obj) is not dict:
            raise ValueError("event line is not a JSON object")
        missing = {"v", "type", "run_id", "seq", "ts"} - obj.keys()
        if missing:
            raise ValueError(f"event line lacks {sorted(missing)}")
        if type(obj["v"]) is not int or obj["v"] != 1:
            raise ValueError(f"unknown event schema version {obj['v']!r}")
        name, run_id, seq, ts = obj["type"], obj["run_id"], obj["seq"], obj["ts"]
        attempt, data = obj.get("attempt"), obj.get("data")
        data = {} if data is None else data
        ids = job_id, group_id, lane, kind = [obj.get(k) for k in _IDS]
        if (type(name) is not str or type(run_id) is not str or type(seq) is not int
                or type(ts) not in (int, float) or abs(ts) > sys.float_info.max
                or not all(i is None or type(i) is str for i in ids)
                or type(attempt) not in (int, type(None)) or type(data) is not dict):
            raise ValueError("event line has a field of the wrong type (or out of range)")
        return cls(EventType(name), run_id, seq, float(ts), job_id, group_id, lane, kind, attempt,
                   data)


@runtime_checkable
class Sink(Protocol):
    """Where an ``EventLog`` sends events; ``close`` must be idempotent.

    >>> isinstance(MemorySink(), Sink), isinstance(object(), Sink)
    (True, False)
    """

    def write(self, event: Event) -> None:
        """Take ``event``: the log calls it once per event, for each sink in order.

        >>> class Printer:
        ...     def write(self, event): print(event.seq, event.type.value, event.job_id)
        ...     def flush(self): pass
        ...     def close(self): pass
        >>> log = EventLog([Printer()])
        >>> _ = log.emit(EventType.JOB_QUEUED, job_id="j1")
        1 job.queued j1
        """
        ...

    def flush(self) -> None:
        """Write out what ``write`` buffered (``EventLog.flush`` calls it).

        >>> import os, tempfile

        >>> from actress.jobs.replay import read_events
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     sink = JsonlSink(os.path.join(tmp, "run.jsonl"))  # buffers 512 events
        ...     sink.write(Event(EventType.JOB_QUEUED, "r", 1, 0.0))
        ...     before = len(read_events(sink.path).events)
        ...     sink.flush()
        ...     print(before, len(read_events(sink.path).events)); sink.close()
        0 1
        """
        ...

    def close(self) -> None:
        """Flush and release what the sink holds.

        ``EventLog.close`` calls it once for each sink, however often the log is closed.

        >>> class Printer:
        ...     def write(self, event): pass
        ...     def flush(self): pass
        ...     def close(self): print("closed")
        >>> log = EventLog([Printer()])
        >>> log.close(); log.close()  # the second close of the log closes nothing
        closed
        """
        ...


class _Unbuffered:
    __slots__ = ()

    def flush(self) -> None:
        """Do nothing: nothing is buffered."""

    def close(self) -> None:
        """Do nothing: nothing to release (``write`` keeps working)."""


class MemorySink(_Unbuffered):
    """Keep events in the list ``events``, for tests and in-process inspection.

    >>> sink = MemorySink()
    >>> log = EventLog([sink])
    >>> _ = log.emit(EventType.JOB_QUEUED, job_id="a")
    >>> _ = log.emit(EventType.JOB_SUCCEEDED, job_id="a")
    >>> [e.seq for e in sink.of(EventType.JOB_QUEUED)], [e.type.value for e in sink.terminal("a")]
    ([1], ['job.succeeded'])
    """

    __slots__ = ("events",)

    def __init__(self) -> None:
        self.events: list[Event] = []

    def write(self, event: Event) -> None:
        """Append ``event`` to ``events``; ``close`` does not stop it.

        >>> sink = MemorySink()
        >>> sink.write(Event(EventType.JOB_QUEUED, "r", 1, 0.0)); sink.close()
        >>> sink.write(Event(EventType.JOB_STARTED, "r", 2, 0.0))
        >>> [e.seq for e in sink.events]
        [1, 2]
        """
        self.events.append(event)

    def of(self, type: EventType) -> list[Event]:
        """Return the events of one type, in order.

        >>> sink = MemorySink()
        >>> for seq, kind in enumerate([EventType.JOB_QUEUED, EventType.JOB_STARTED,
        ...                             EventType.JOB_QUEUED], 1):
        ...     sink.write(Event(kind, "r", seq, 0.0))
        >>> [e.seq for e in sink.of(EventType.JOB_QUEUED)]
        [1, 3]
        """
        return [e for e in self.events if e.type is type]

    def terminal(self, job_id: str) -> list[Event]:
        """Return the ``TERMINAL`` events of one job, in order (one, for a job that ended once).

        >>> sink = MemorySink()
        >>> log = EventLog([sink])
        >>> for kind in (EventType.JOB_STARTED, EventType.JOB_FAILED, EventType.JOB_SUCCEEDED):
        ...     _ = log.emit(kind, job_id="a")
        >>> [e.type.value for e in sink.terminal("a")], sink.terminal("b")   # "a" ended twice
        (['job.failed', 'job.succeeded'], [])
        """
        return [e for e in self.events if e.job_id == job_id and e.type in TERMINAL]


class CallbackSink(_Unbuffered):
    """Call ``fn(event)`` for each event; an error from ``fn`` propagates out of ``emit``.

    >>> seen = []
    >>> _ = EventLog([CallbackSink(seen.append)]).emit(EventType.ENGINE_CLOSED)
    >>> [e.type.value for e in seen]
    ['engine.closed']
    """

    __slots__ = ("fn",)

    def __init__(self, fn: Callable[[Event], object]) -> None:
        self.fn = fn

    def write(self, event: Event) -> None:
        """Call ``fn(event)`` now; an error from ``fn`` propagates.

        >>> sink = CallbackSink(lambda e: print(e.type.value, e.job_id))
        >>> sink.write(Event(EventType.JOB_STARTED, "r", 1, 0.0, job_id="j1"))
        job.started j1
        >>> CallbackSink(lambda e: 1 / 0).write(Event(EventType.JOB_STARTED, "r", 2, 0.0))
        Traceback (most recent call last):
        ZeroDivisionError: division by zero
        """
        self.fn(event)


class JsonlSink:
    """Append one JSON line per event to ``path`` (opened now in append mode, created if missing).

    ``write`` appends to a buffer; each full ``batch`` is written with one ``write`` call.
    ``flush`` writes the buffer; ``close`` flushes and closes (idempotent); ``write`` after
    ``close`` raises ``ValueError``. Unclosed, buffered events are lost; a batch that fails
    to write is dropped and the error propagates.

    >>> import os, tempfile

    >>> from actress.jobs.replay import read_events
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     sink = JsonlSink(os.path.join(tmp, "run.jsonl"), batch=2)
    ...     with EventLog([sink]) as log:
    ...         _ = log.emit(EventType.LANE_ADDED, lane="bulk", weight=1)
    ...     [(e.type.value, e.lane, e.data) for e in read_events(sink.path).events]
    [('lane.added', 'bulk', {'weight': 1})]
    """

    __slots__ = ("path", "batch", "_buffer", "_file")

    def __init__(self, path: _Path, *, batch: int = 512) -> None:
        if batch < 1:
            raise ValueError(f"JsonlSink needs batch >= 1, got {batch}")
        self.path, self.batch = os.fspath(path), batch
        self._buffer: list[Event] = []
        self._file: Optional[io.FileIO] = open(self.path, "ab", buffering=0)

    def write(self, event: Event) -> None:
        """Buffer ``event``; write the buffer once it holds ``batch`` events.

        Raises ``ValueError`` after ``close``.

        >>> import os, tempfile

        >>> from actress.jobs.replay import read_events
        >>> sink = JsonlSink(os.path.join(tempfile.mkdtemp(), "run.jsonl"), batch=2)
        >>> sink.write(Event(EventType.JOB_QUEUED, "r", 1, 0.0))
        >>> len(read_events(sink.path).events)                  # buffered
        0
        >>> sink.write(Event(EventType.JOB_STARTED, "r", 2, 0.0))
        >>> len(read_events(sink.path).events); sink.close()    # a full batch: written
        2
        """
        if self._file is None:
            raise ValueError(f"write to a closed JsonlSink ({self.path})")
        buffer = self._buffer
        buffer.append(event)
        if len(buffer) >= self.batch:
            self.flush()

    def flush(self) -> None:
        """Write the buffered events, in one ``write`` call; with none, do nothing.

        If the write fails, the batch is dropped and the error propagates.

        >>> import os, tempfile

        >>> from actress.jobs.replay import read_events
        >>> sink = JsonlSink(os.path.join(tempfile.mkdtemp(), "run.jsonl"))  # batch 512
        >>> sink.write(Event(EventType.JOB_QUEUED, "r", 1, 0.0))
        >>> sink.flush(); sink.flush()                   # the second finds nothing to write
        >>> [e.seq for e in read_events(sink.path).events]; sink.close()
        [1]
        """
        if not self._buffer or self._file is None:
            return
        events, self._buffer = self._buffer, []
        payload = memoryview(("\n".join([e.to_json() for e in events]) + "\n").encode())
        while payload:  # a regular file takes it all in one call; loop in case it does not
            payload = payload[self._file.write(payload):]

    def close(self) -> None:
        """Flush, then close the file (idempotent); ``write`` after it raises ``ValueError``.

        >>> import os, tempfile

        >>> from actress.jobs.replay import read_events
        >>> sink = JsonlSink(os.path.join(tempfile.mkdtemp(), "run.jsonl"))
        >>> sink.write(Event(EventType.JOB_QUEUED, "r", 1, 0.0))
        >>> sink.close(); sink.close(); len(read_events(sink.path).events)
        1
        >>> sink.write(Event(EventType.JOB_STARTED, "r", 2, 0.0))
        Traceback (most recent call last):
        ValueError: write to a closed JsonlSink (.../run.jsonl)
        """
        file = self._file
        if file is not None:
            try:
                self.flush()
            finally:
                self._file = None
                file.close()


def _monotonic_ms() -> float:
    return time.monotonic() * 1000.0


class EventLog:
    """Stamp events with run, sequence and time, and write each to every sink in order.

    ``close`` closes the sinks (idempotent); after it ``active`` is ``False``, so callers
    that check it emit nothing, and ``emit``/``add`` raise ``ValueError``.

    >>> ticks = iter([10.0, 20.0])
    >>> log = EventLog([MemorySink()], run_id="r", clock=lambda: next(ticks))
    >>> [(e.seq, e.ts) for e in (log.emit(EventType.JOB_QUEUED), log.emit(EventType.JOB_STARTED))]
    [(1, 10.0), (2, 20.0)]
    >>> EventLog().emit(EventType.JOB_QUEUED) is None
    True
    """

    __slots__ = ("run_id", "_sinks", "_clock", "_seq", "_active", "_closed")

    def __init__(self, sinks: Iterable[Sink] = (), *, run_id: Optional[str] = None,
                 clock: Callable[[], float] = _monotonic_ms) -> None:
        self.run_id: str = uuid.uuid4().hex if run_id is None else run_id
        self._sinks: list[Sink] = list(sinks)
        self._clock, self._seq, self._active, self._closed = clock, 0, bool(self._sinks), False

    @property
    def active(self) -> bool:
        """``True`` iff ``emit`` would write: the log is open and has a sink.

        >>> log = EventLog()
        >>> log.active  # no sink
        False
        >>> log.add(MemorySink()); log.active
        True
        >>> log.close(); log.active
        False
        """
        return self._active

    def add(self, sink: Sink) -> None:
        """Send later events to ``sink`` too, after the sinks already there.

        A log with no sinks becomes ``active``; earlier events are not replayed. Raises
        ``ValueError`` after ``close``.

        >>> log = EventLog(run_id="r")
        >>> log.active, log.emit(EventType.JOB_QUEUED)
        (False, None)
        >>> sink = MemorySink(); log.add(sink)
        >>> log.active, log.emit(EventType.JOB_STARTED).seq, [e.type.value for e in sink.events]
        (True, 1, ['job.started'])
        """
        if self._closed:
            raise ValueError("add to a closed EventLog")
        self._sinks.append(sink)
        self._active = True

    def emit(self, type: EventType, *, job_id: Optional[str] = None, group_id: Optional[str] = None,
             lane: Optional[str] = None, kind: Optional[str] = None, attempt: Optional[int] = None,
             **data: Any) -> Optional[Event]:
        """Build the next event, write it to each sink in order, and return it.

        With no sinks: return ``None`` and consume no sequence number. If a sink raises,
        the sinks after it still get the event, then the first error propagates (the
        number is spent), as ``close`` does.

        >>> sink = MemorySink()
        >>> log = EventLog([sink], run_id="r", clock=lambda: 5.0)
        >>> e = log.emit(EventType.JOB_RETRYING, job_id="j1", attempt=1, delay_ms=100)
        >>> (e.seq, e.ts, e.job_id, e.attempt, e.data), sink.events == [e]
        ((1, 5.0, 'j1', 1, {'delay_ms': 100}), True)
        >>> print(EventLog().emit(EventType.JOB_QUEUED, job_id="j1"))   # no sinks: no event
        None
        """
        if not self._active:
            if self._closed and self._sinks:
                raise ValueError("emit to a closed EventLog")
            return None
        self._seq = seq = self._seq + 1
        event = Event(type, self.run_id, seq, self._clock(), job_id, group_id, lane, kind, attempt,
                      data)
        failed: Optional[BaseException] = None
        for sink in self._sinks:
            try:
                sink.write(event)
            except Exception as error:  # the others still get it (one terminal event each)
                if failed is None:
                    failed = error
        if failed is not None:
            raise failed
        return event

    def flush(self) -> None:
        """Flush every sink in order (a ``JsonlSink`` writes what it buffered).

        >>> import os, tempfile

        >>> from actress.jobs.replay import read_events
        >>> path = os.path.join(tempfile.mkdtemp(), "run.jsonl")
        >>> log = EventLog([JsonlSink(path)])
        >>> _ = log.emit(EventType.JOB_QUEUED, job_id="a")
        >>> len(read_events(path).events)                   # still in the sink's buffer
        0
        >>> log.flush(); len(read_events(path).events); log.close()
        1
        """
        for sink in self._sinks:
            sink.flush()

    def close(self) -> None:
        """Close every sink in order, even if one raises (the first error is re-raised).

        Idempotent: a second ``close`` does nothing.

        >>> closed = []
        >>> class Failing(MemorySink):
        ...     def close(self): closed.append(self); raise OSError(f"sink {len(closed)}")
        >>> log = EventLog([Failing(), Failing()])
        >>> log.close()
        Traceback (most recent call last):
        OSError: sink 1
        >>> len(closed), log.active, log.close()
        (2, False, None)
        """
        if self._closed:
            return
        self._closed, self._active = True, False
        errors = []
        for sink in self._sinks:
            try:
                sink.close()
            except Exception as error:
                errors.append(error)
        if errors:
            raise errors[0]

    def __enter__(self) -> EventLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
