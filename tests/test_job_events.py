"""Job events: sequence and time stamping, sinks, the JSON line format, reading back, following."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actress.jobs.events import (TERMINAL, CallbackSink, Event, EventLog, EventType, JsonlSink,
                                 MemorySink)
from actress.jobs.replay import ReadResult, follow, read_events

Q, S = EventType.JOB_QUEUED, EventType.JOB_STARTED
OK, FAIL = EventType.JOB_SUCCEEDED, EventType.JOB_FAILED


def ticking(start: float = 0.0, step: float = 1.0) -> Any:
    """A clock returning start, start+step, ..."""
    now = [start - step]

    def clock() -> float:
        now[0] += step
        return now[0]
    return clock


def line(seq: int, type: EventType = Q, **kw: Any) -> str:
    return Event(type, "r", seq, float(seq), **kw).to_json() + "\n"


class Recorder:
    """A sink that records the calls made on it."""

    def __init__(self, name: str, calls: list[tuple[str, Any]]) -> None:
        self.name, self.calls = name, calls

    def write(self, event: Event) -> None:
        self.calls.append((self.name, event.seq))

    def flush(self) -> None:
        self.calls.append((self.name, "flush"))

    def close(self) -> None:
        self.calls.append((self.name, "close"))


# -- EventLog -----------------------------------------------------------------------------


def test_seq_counts_from_1_and_ts_comes_from_the_clock() -> None:
    sink = MemorySink()
    log = EventLog([sink], run_id="run-1", clock=ticking(100.0, 10.0))
    for t in (Q, S, OK):
        log.emit(t, job_id="j")
    assert [(e.type, e.run_id, e.seq, e.ts) for e in sink.events] == [
        (Q, "run-1", 1, 100.0), (S, "run-1", 2, 110.0), (OK, "run-1", 3, 120.0)]


def test_emit_puts_fields_and_keyword_data_on_the_event_it_returns() -> None:
    sink = MemorySink()
    log = EventLog([sink], run_id="r", clock=lambda: 5.0)
    event = log.emit(EventType.JOB_RETRYING, job_id="j", group_id="g", lane="bulk", kind="follower",
                     attempt=2, error="ValueError('x')", delay_ms=100)
    assert event == Event(EventType.JOB_RETRYING, "r", 1, 5.0, "j", "g", "bulk", "follower", 2,
                          {"error": "ValueError('x')", "delay_ms": 100})
    assert sink.events == [event] and sink.events[0] is event


def test_run_id_defaults_to_a_fresh_uuid4_hex() -> None:
    a, b = EventLog().run_id, EventLog().run_id
    assert re.fullmatch(r"[0-9a-f]{12}4[0-9a-f]{19}", a) and a != b


def test_no_sinks_emit_returns_none_and_consumes_no_seq() -> None:
    ticks: list[int] = []

    def clock() -> float:
        ticks.append(1)
        return 0.0

    log = EventLog(clock=clock)
    assert log.active is False
    assert log.emit(Q, job_id="j") is None
    assert log.emit(S, job_id="j") is None
    assert ticks == []                       # the clock was not even read
    sink = MemorySink()
    log.add(sink)
    assert log.active is True
    event = log.emit(OK, job_id="j")
    assert event is not None and event.seq == 1


def test_sinks_receive_each_event_in_order() -> None:
    calls: list[tuple[str, Any]] = []
    log = EventLog([Recorder("a", calls), Recorder("b", calls)])
    log.emit(Q)
    log.add(Recorder("c", calls))
    log.emit(S)
    log.flush()
    assert calls == [("a", 1), ("b", 1), ("a", 2), ("b", 2), ("c", 2),
                     ("a", "flush"), ("b", "flush"), ("c", "flush")]


def test_callback_sink_calls_fn_per_event() -> None:
    seen: list[Event] = []
    log = EventLog([CallbackSink(seen.append)])
    first, second = log.emit(Q), log.emit(S)
    assert seen == [first, second]


def test_close_closes_every_sink_once_and_is_idempotent() -> None:
    calls: list[tuple[str, Any]] = []
    log = EventLog([Recorder("a", calls), Recorder("b", calls)])
    log.close()
    log.close()
    assert calls == [("a", "close"), ("b", "close")]
    assert log.active is False


def test_close_closes_later_sinks_when_one_raises_then_reraises() -> None:
    calls: list[tuple[str, Any]] = []

    class Broken(Recorder):
        def close(self) -> None:
            raise OSError("disk gone")

    log = EventLog([Broken("a", calls), Recorder("b", calls)])
    with pytest.raises(OSError, match="disk gone"):
        log.close()
    assert calls == [("b", "close")]
    log.close()                              # already closed: nothing happens


def test_a_sink_that_raises_does_not_keep_the_event_from_the_sinks_after_it() -> None:
    calls: list[tuple[str, Any]] = []

    class Broken(Recorder):
        def write(self, event: Event) -> None:
            raise OSError("disk full")

    log = EventLog([Broken("a", calls), Recorder("b", calls)])
    with pytest.raises(OSError, match="disk full"):
        log.emit(Q)
    assert calls == [("b", 1)]


def test_emit_and_add_after_close_raise() -> None:
    log = EventLog([MemorySink()])
    log.close()
    with pytest.raises(ValueError, match="closed"):
        log.emit(Q)
    with pytest.raises(ValueError, match="closed"):
        log.add(MemorySink())


def test_event_log_is_a_context_manager_that_closes() -> None:
    calls: list[tuple[str, Any]] = []
    with EventLog([Recorder("a", calls)]) as log:
        log.emit(Q)
    assert calls == [("a", 1), ("a", "close")]


# -- Event and the line format ------------------------------------------------------------


def test_terminal_types_are_exactly_the_four_job_endings() -> None:
    assert TERMINAL == {EventType.JOB_SUCCEEDED, EventType.JOB_FAILED, EventType.JOB_CANCELLED,
                        EventType.JOB_QUARANTINED}


def test_to_json_is_one_compact_line_with_keys_in_schema_order() -> None:
    event = Event(EventType.GROUP_DONE, "r", 7, 1.5, group_id="g", lane="bulk",
                  data={"counts": {"succeeded": 2, "failed": 0}})
    assert event.to_json() == (
        '{"v":1,"type":"group.done","run_id":"r","seq":7,"ts":1.5,"job_id":null,"group_id":"g",'
        '"lane":"bulk","kind":null,"attempt":null,"data":{"counts":{"succeeded":2,"failed":0}}}')


@pytest.mark.parametrize("event", [
    Event(Q, "r", 1, 0.0),
    Event(EventType.JOB_RETRYING, "run", 42, 123.456789, "j-1", "g-1", "lane é", "primer", 3,
          {"error": "ValueError('x')", "delay_ms": 100, "nested": {"a": [1, 2.5, None, True]}}),
])
def test_to_json_from_json_round_trip_exactly(event: Event) -> None:
    back = Event.from_json(event.to_json())
    assert back == event
    assert type(back.type) is EventType and back.to_json() == event.to_json()


def test_data_values_json_cannot_encode_are_written_as_repr() -> None:
    class Thing:
        def __repr__(self) -> str:
            return "<thing>"

    event = Event(FAIL, "r", 1, 0.0, data={"error": ValueError("x"), "thing": [Thing()],
                                            "ratio": float("nan"), "by_pair": {(1, 2): 3}, "ok": 1})
    assert json.loads(event.to_json())["data"] == {
        "error": "ValueError('x')", "thing": ["<thing>"], "ratio": "nan", "by_pair": "{(1, 2): 3}",
        "ok": 1}


def test_events_are_hashable_despite_dict_data() -> None:
    assert len({Event(Q, "r", 1, 0.0, data={"a": 1}), Event(Q, "r", 1, 0.0, data={"a": 1})}) == 1


@pytest.mark.parametrize("text", [
    "garbage",
    line(1)[:40],                                              # truncated
    "[1, 2]",                                                  # not an object
    line(1).replace("job.queued", "job.exploded"),             # unknown type
    line(1).replace('"seq":1,', ""),                          # missing seq
    line(1).replace('"seq":1', '"seq":"1"'),                   # wrong type
    line(1).replace('"job_id":null', '"job_id":5'),
    line(1).replace('"data":{}', '"data":[]'),
    line(1).replace('"v":1', '"v":2'),                         # unknown schema version
    line(1).replace('"ts":1.0', '"ts":1' + "0" * 400),         # overflows a float
])
def test_from_json_raises_value_error_on_malformed_input(text: str) -> None:
    with pytest.raises(ValueError):
        Event.from_json(text)


def test_from_json_reads_missing_optional_keys_as_none_and_ignores_unknown_keys() -> None:
    event = Event.from_json('{"v":1,"type":"job.started","run_id":"r","seq":2,"ts":3,"extra":1}')
    assert event == Event(S, "r", 2, 3.0)


# -- MemorySink ---------------------------------------------------------------------------


def test_memory_sink_of_and_terminal() -> None:
    sink = MemorySink()
    log = EventLog([sink])
    log.emit(Q, job_id="a")
    log.emit(Q, job_id="b")
    log.emit(EventType.JOB_RETRYING, job_id="a")
    log.emit(FAIL, job_id="b")
    log.emit(OK, job_id="a")
    assert [e.job_id for e in sink.of(Q)] == ["a", "b"]
    assert [(e.type, e.seq) for e in sink.terminal("a")] == [(OK, 5)]
    assert [(e.type, e.seq) for e in sink.terminal("b")] == [(FAIL, 4)]
    assert sink.terminal("c") == []


# -- JsonlSink ----------------------------------------------------------------------------


def test_jsonl_sink_creates_the_file_at_once(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    JsonlSink(path).close()
    assert path.read_bytes() == b""


def test_jsonl_sink_writes_nothing_until_a_batch_fills_or_flush(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    log = EventLog([JsonlSink(path, batch=3)], run_id="r")
    log.emit(Q)
    log.emit(S)
    assert path.read_bytes() == b""
    log.emit(OK)                                   # the batch is full: written
    assert [e.seq for e in read_events(path).events] == [1, 2, 3]
    log.emit(Q)
    assert [e.seq for e in read_events(path).events] == [1, 2, 3]
    log.flush()
    assert [e.seq for e in read_events(path).events] == [1, 2, 3, 4]


def test_jsonl_sink_writes_each_batch_with_one_write_call(tmp_path: Path) -> None:
    sink = JsonlSink(tmp_path / "run.jsonl", batch=4)
    assert sink._file is not None
    real: io.FileIO = sink._file
    writes: list[bytes] = []

    class Counting:
        def write(self, data: Any) -> int:
            writes.append(bytes(data))
            return real.write(data)

        def close(self) -> None:
            real.close()

    sink._file = Counting()  # type: ignore[assignment]
    log = EventLog([sink])
    for _ in range(10):
        log.emit(Q)
    log.close()
    assert [w.count(b"\n") for w in writes] == [4, 4, 2]


def test_jsonl_sink_close_writes_one_line_per_event(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    sink = MemorySink()
    log = EventLog([JsonlSink(path), sink], run_id="r", clock=ticking())
    for i in range(5):
        log.emit(Q, job_id=f"j{i}", payload={"i": i})
    log.close()
    lines = path.read_text().splitlines(keepends=True)
    assert lines == [e.to_json() + "\n" for e in sink.events]
    assert read_events(path) == ReadResult(sink.events, 0)


def test_jsonl_sinks_on_the_same_file_append_in_turn(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    path.write_text(line(1))
    for run_id in ("first", "second"):
        with EventLog([JsonlSink(path)], run_id=run_id) as log:
            log.emit(Q)
            log.emit(S)
    assert [(e.run_id, e.seq) for e in read_events(path).events] == [
        ("r", 1), ("first", 1), ("first", 2), ("second", 1), ("second", 2)]


def test_jsonl_sink_write_after_close_raises_and_close_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    sink = JsonlSink(path)
    sink.write(Event(Q, "r", 1, 0.0))
    sink.close()
    sink.close()
    sink.flush()                                   # nothing buffered: nothing to do
    with pytest.raises(ValueError, match="closed"):
        sink.write(Event(Q, "r", 2, 0.0))
    assert path.read_text() == line(1).replace('"ts":1.0', '"ts":0.0')


def test_jsonl_sink_rejects_a_batch_below_one(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        JsonlSink(tmp_path / "run.jsonl", batch=0)


# -- read_events --------------------------------------------------------------------------


def test_read_events_skips_and_counts_malformed_lines(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    path.write_bytes("".join([
        line(1),
        "garbage\n",
        line(2)[:30] + "\n",                                       # truncated JSON
        line(3).replace("job.queued", "job.exploded"),             # unknown type
        line(4).replace('"seq":4,', ""),                           # missing seq
        "\n   \n",                                                 # blank: ignored, not counted
        line(5),
    ]).encode() + b"\xff\xfe\n" + line(6).encode())                # invalid UTF-8
    result = read_events(path)
    assert [e.seq for e in result.events] == [1, 5, 6]
    assert result.skipped == 5


def test_read_events_reads_a_final_line_without_newline(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    path.write_text(line(1) + line(2).rstrip("\n"))
    assert read_events(path) == ReadResult([Event(Q, "r", 1, 1.0), Event(Q, "r", 2, 2.0)], 0)


# -- follow -------------------------------------------------------------------------------


def append(path: Path, text: str) -> None:
    with open(path, "a") as f:
        f.write(text)


def test_follow_yields_existing_then_appended_events(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    path.write_text(line(1) + line(2))
    stopping = [False]
    events: Iterator[Event] = follow(path, poll_s=0.001, stop=lambda: stopping[0])
    assert next(events).seq == 1
    append(path, line(3))
    assert next(events).seq == 2
    assert next(events).seq == 3
    append(path, line(4) + line(5))
    assert [next(events).seq, next(events).seq] == [4, 5]
    stopping[0] = True
    assert list(events) == []


def test_follow_holds_back_a_partial_last_line_until_completed(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    whole = line(2)
    path.write_text(line(1) + whole[:20])
    stopping = [False]
    events = follow(path, poll_s=0.001, stop=lambda: stopping[0])
    assert next(events).seq == 1
    append(path, whole[20:])
    assert next(events) == Event(Q, "r", 2, 2.0)
    append(path, whole[:10])
    stopping[0] = True
    assert list(events) == []                      # a partial line at the end is dropped


def test_follow_skips_malformed_complete_lines(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    path.write_text(line(1) + "garbage\n" + line(2).replace('"seq":2,', "") + "\n" + line(3))
    assert [e.seq for e in follow(path, stop=lambda: True)] == [1, 3]


def test_follow_ends_after_idle_timeout_with_no_new_data(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    path.write_text(line(1))
    assert [e.seq for e in follow(path, poll_s=0.001, idle_timeout_s=0.01)] == [1]


def test_follow_checks_stop_only_once_caught_up(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    path.write_text(line(1) + line(2))
    asked: list[int] = []

    def stop() -> bool:
        asked.append(len(seen))
        return True

    seen: list[int] = []
    for event in follow(path, stop=stop):
        seen.append(event.seq)
    assert seen == [1, 2] and asked == [2]


def test_follow_waits_for_a_file_that_does_not_exist_yet(tmp_path: Path) -> None:
    path = tmp_path / "later.jsonl"
    polls: list[int] = []

    def stop() -> bool:                            # called each time follow has caught up
        polls.append(1)
        if len(polls) == 1:
            path.write_text(line(1))               # appears while follow waits
        return len(polls) > 1

    assert [e.seq for e in follow(path, poll_s=0.0, stop=stop)] == [1]
    assert len(polls) == 2


def test_watch_replays_a_log_written_by_the_engine(tmp_path):
    import io

    from actress import task, testing
    from actress.jobs.engine import Engine, Lane
    from actress.jobs.events import JsonlSink
    from actress.jobs.watch import main

    path = tmp_path / "run.jsonl"

    def model(job):
        yield from task.sleep(10)
        if job.payload == "bad":
            raise ValueError("bad")
        return job.payload

    def run_it():
        engine = Engine(model, workers=2, lanes={"a": Lane(2)}, events=[JsonlSink(path)])
        yield from engine.submit_group("g", "p", ["x", "bad"], lane="a")
        yield from engine.close()

    testing.run(run_it())
    with open(path, "a") as f:
        f.write("not json\n")
    out = io.StringIO()
    assert main([str(path)], out=out) == 0
    text = out.getvalue().splitlines()
    assert text[0].startswith("3/3 jobs ended (1 failed, 2 succeeded); 0 running, 0 waiting; 0 retries")
    assert text[1] == "  lane a: 3/3 ended, 0 running"
    assert text[3] == "  every job ended exactly once: True"
    assert text[4] == "  1 malformed line skipped"


def test_watch_prints_to_stdout_as_it_is_when_called(tmp_path):
    import contextlib

    from actress.jobs.events import EventLog, JsonlSink
    from actress.jobs.watch import main  # imported before stdout is redirected

    path = tmp_path / "run.jsonl"
    with EventLog([JsonlSink(path)]) as log:
        log.emit(EventType.JOB_QUEUED, job_id="j", lane="a")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main([str(path)]) == 0
    assert out.getvalue().startswith("0/1 jobs ended")


def test_watch_follows_a_log_until_the_engine_closes(tmp_path):
    import io

    from actress import testing
    from actress.jobs.engine import Engine
    from actress.jobs.events import JsonlSink
    from actress.jobs.watch import main

    path = tmp_path / "run.jsonl"

    def run_it():
        engine = Engine(lambda job: job.payload, events=[JsonlSink(path)])
        yield from engine.submit_group("g", None, ["a", "b"])
        yield from engine.close()

    testing.run(run_it())
    out = io.StringIO()
    assert main([str(path), "--follow", "--idle", "1"], out=out) == 0
    assert "every job ended exactly once: True" in out.getvalue()
    assert "has not closed" not in out.getvalue()


_LEAF = st.one_of(st.none(), st.booleans(), st.integers(), st.text(),
                  st.floats(allow_nan=False, allow_infinity=False))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(), st.one_of(_LEAF, st.dictionaries(st.text(), _LEAF, max_size=4)),
                       max_size=6))
def test_event_data_written_by_hand_is_what_the_json_encoder_writes(data):
    from actress.jobs.events import _encode, _flat

    assert _flat(data) == _encode(data)


def test_summarize_checks_a_file_holding_two_runs_run_by_run() -> None:
    from actress.jobs.replay import summarize

    def run(run_id: str, ended: int) -> list[Event]:
        sink = MemorySink()
        log = EventLog([sink], run_id=run_id, clock=ticking())
        log.emit(Q, job_id="g/primer-1")  # the same job id in every run
        for _ in range(ended):
            log.emit(OK, job_id="g/primer-1")
        return sink.events

    assert summarize(run("r1", 1) + run("r2", 1)).each_job_ended_once
    twice = summarize(run("r1", 1) + run("r2", 2))
    assert (twice.jobs, twice.ended_twice, twice.unended) == (2, {"r2:g/primer-1"}, set())


def test_job_errors_whose_repr_raises_are_written_and_end_their_jobs() -> None:
    from actress import testing
    from actress.jobs.engine import Engine

    class Odd(Exception):
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    def fails(job: Any) -> Any:
        raise Odd()

    def main() -> Any:
        sink = MemorySink()
        engine = Engine(fails, events=[sink])
        group = yield from engine.submit_group("g", "p", ["f"])
        yield from engine.close()
        errors = [e.data.get("error") for e in sink.events if e.type is FAIL]
        return [j.result.status for j in group.jobs], errors[0]

    statuses, error = testing.run(main()).value
    assert statuses == ["failed", "failed"]
    assert error == "<Odd object (its repr raised RuntimeError)>"
