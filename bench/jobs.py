"""Job-engine benchmarks: ``actress.jobs`` vs acty (grouped async jobs).

What it measures (each figure from a fresh worker process; best of N alternating runs):

1. ``jobs_1000x10``: 1,000 groups of 10 jobs (1 primer + 9 followers), instant executor,
   all submitted, then ``close()`` drains; jobs/s from the first submit until everything
   has ended. Also with the JSONL event sink on (a file in a temp dir), and, for ours, the
   asyncio face (``AsyncEngine``) as an extra row.
2. ``jobs_10000x1``: 10,000 single-job groups (primer only); also with the JSONL sink.
3. ``scaling``: 300 x 10 and 3,000 x 10; the figure is jobs/s(3000x10) / jobs/s(300x10)
   (1.0 = the cost per job does not grow with the number of groups). The 300 x 10 side is
   timed over 10 rounds, each on a fresh engine, so both sides time 30,000 jobs: a run of
   3,000 jobs lasts ~20 ms, and whether a garbage collection of the oldest generation
   lands in it or not swings it by half, which "best of N" would turn into a bias.
4. ``memory``: bytes per queued follower beyond its payload (tracemalloc): a group whose
   primer is running and parked (its executor returns a future that is resolved only
   after the measurement), then 10,000 ``add_follower(shared)`` calls with ONE shared
   payload object, so the payload costs nothing; (traced after - traced before) / 10,000.
   The list that keeps the returned handles is allocated before the window.
5. ``lanes``: lanes A and B with weights 2:1, ONE worker, instant executor, all of A
   submitted before any of B; A's share of the first 300 completions (recorded by the
   executor, in call order). ``primers``: 600 single-job groups in A, then 300 in B.
   ``followers``: one group per lane with 600 / 300 followers and no primer (primer
   payload None). The goal is 2/3 within 0.03.

Sides:

- ``ours``: ``actress.jobs.Engine`` from this repository (the parent of ``bench/``),
  driven by a generator main under ``actress.run(main())``; ``workers=3``.
- ``ours_aio``: ``actress.jobs.aio.AsyncEngine`` under ``asyncio.run`` (1000x10 only).
- ``acty``: acty 0.1.1 / acty-core 0.1.0 run in its own interpreter
  (``/work/ref-acty/bin/python``, or the env var ``ACTY_PYTHON``; skipped with a note when
  missing): ``ActyEngine(executor=..., config=EngineConfig(primer_workers=1,
  follower_workers=2))`` (its defaults, 3 workers as ours), ``await
  engine.submit_group(gid, primer, followers, group_context={"lane": ...})``, an executor
  with ``async execute(job, *, pool) -> JobResult``; structlog filtered to WARNING.
  acty's ``close()`` cancels followers that have not run yet, so its timed section
  awaits every job's future and then closes.

Runs alternate ours, ours_aio, acty, then rotate who goes first, so machine noise falls
on every side. Each worker first runs the workload at 1/20 of its size (imports, caches,
allocator arenas), then measures it once (the lane workloads are not warmed up: they are
deterministic counts, not times). Timings are never asserted: a missed target prints
MISS and the exit status stays 0; it is 1 only when a workload of ours crashed or timed
out.

Run::

    python bench/jobs.py               # full run, best of 5 (about 5 minutes with acty)
    python bench/jobs.py --quick       # small sizes, 1 repetition (smoke test)
    python bench/jobs.py --no-acty     # ours only
    python bench/jobs.py --reps 9 --only jobs_1000x10,lanes

The output is a table, target checks marked PASS/MISS, notes, and, as the last line of
stdout, one JSON object with every figure. In ``--quick`` mode the sizes are smaller
(see ``sizes`` in the JSON) but the keys keep their full-size names.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import os
import platform
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, Callable, Optional

from _harness import (REPO_ROOT, Cell, Targets, WorkerRun, add_only, add_reps_and_timeout,
                      any_failed, check_args, emit_result, fmt_ratio, import_ours,
                      log_run, new_parser, print_json_line, print_notes, print_table,
                      print_title, problems_of, reps_of, rotated, rounded, run_worker_process,
                      safe_ratio, timeout_note, warm_up_sizes)
from _harness import check as _check

DEFAULT_ACTY_PYTHON = "/work/ref-acty/bin/python"
RESULT_MARK = "@@JOBS-BENCH-RESULT "

#: Workers on each side for the throughput workloads (acty's defaults: 1 primer + 2 follower).
WORKERS = 3
#: The lane target: weights 2:1.
SHARE_GOAL = 2 / 3
SHARE_TOLERANCE = 0.03

Gen = Generator[Any, Any, Any]

SIDES = ("ours", "ours_aio", "acty")

# --------------------------------------------------------------------------------------
# Workload definitions
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    """One benchmarked workload: its sizes per mode and which sides run it."""

    name: str  # unique name (also accepted by --only)
    group: str  # the --only name it belongs to
    key: str  # the name its figure has in the JSON (ours; acty's is "acty_" + key)
    title: str
    full: tuple[int, ...]
    quick: tuple[int, ...]
    sides: tuple[str, ...] = ("ours", "acty")
    kind: str = "rate"  # "rate" (jobs/s), "memory" (bytes per follower), "share" (fraction)
    jsonl: bool = False
    acty_max_reps: Optional[int] = None  # cap acty's repetitions (a very slow run)
    rounds: int = 1  # timed rounds per run, each on a fresh engine (times summed)

    def sizes(self, quick: bool) -> tuple[int, ...]:
        return self.quick if quick else self.full


WORKLOADS: tuple[Workload, ...] = (
    Workload("jobs_1000x10", "jobs_1000x10", "jobs_per_s_1000x10",
             "jobs/s, groups x (1 primer + 9 followers)", (1000, 10), (200, 10),
             sides=("ours", "ours_aio", "acty")),
    Workload("jobs_1000x10_jsonl", "jobs_1000x10", "jobs_per_s_1000x10_jsonl",
             "  same, JSONL event sink on", (1000, 10), (200, 10), jsonl=True),
    Workload("jobs_10000x1", "jobs_10000x1", "jobs_per_s_10000x1",
             "jobs/s, single-job groups (primer only)", (10_000, 1), (2_000, 1)),
    Workload("jobs_10000x1_jsonl", "jobs_10000x1", "jobs_per_s_10000x1_jsonl",
             "  same, JSONL event sink on", (10_000, 1), (2_000, 1), jsonl=True),
    Workload("scaling_300", "scaling", "jobs_per_s_300x10",
             "jobs/s, few groups x 10 (10 rounds)", (300, 10), (100, 10), rounds=10),
    Workload("scaling_3000", "scaling", "jobs_per_s_3000x10",
             "jobs/s, many groups x 10", (3000, 10), (1000, 10), acty_max_reps=1),
    Workload("memory", "memory", "bytes_per_queued_follower",
             "bytes per queued follower (tracemalloc)", (10_000,), (2_000,), kind="memory"),
    Workload("lanes_primers", "lanes", "lane_share_a_first_primers",
             "lane A share of first 300, 2:1, primers", (600, 300), (600, 300), kind="share"),
    Workload("lanes_followers", "lanes", "lane_share_a_first_followers",
             "lane A share of first 300, 2:1, followers", (600, 300), (600, 300),
             kind="share"),
)
WORKLOAD_BY_NAME = {w.name: w for w in WORKLOADS}
GROUPS = tuple(dict.fromkeys(w.group for w in WORKLOADS))

# --------------------------------------------------------------------------------------
# Worker side, shared helpers
# --------------------------------------------------------------------------------------


def _payloads(per_group: int) -> tuple[dict[str, int], list[dict[str, int]]]:
    """A primer payload and the follower payloads, built once and shared by every group
    (both sides get the same mapping objects; acty passes a mapping through unwrapped)."""
    return {"primer": 0}, [{"follower": i} for i in range(1, per_group)]


def _share(order: list[str], first: int) -> float:
    head = order[:first]
    _check(len(head) == first, f"only {len(head)} completions recorded, expected {first}")
    return head.count("A") / first


# --------------------------------------------------------------------------------------
# Worker side: ours (actress.jobs, generator face and asyncio face)
# --------------------------------------------------------------------------------------


def _count_succeeded_lines(path: str) -> int:
    with open(path, "rb") as f:
        return sum(1 for line in f if b'"type":"job.succeeded"' in line)


def ours_rate(groups: int, per_group: int, jsonl: bool, rounds: int = 1) -> dict[str, Any]:
    """``groups`` groups of ``per_group`` jobs through the generator face, ``rounds`` times
    (a fresh engine each); ns for all."""
    ns = 0
    for _ in range(rounds):
        ns += _ours_rate_once(groups, per_group, jsonl)
    return {"ns": ns, "jobs": groups * per_group * rounds}


def _counting_executor() -> tuple[Callable[[Any], Any], list[int]]:
    """The instant executor the rate workloads use (it returns the payload), and its count."""
    ran = [0]

    def executor(job: Any) -> Any:
        ran[0] += 1
        return job.payload

    return executor, ran


def _ours_rate_once(groups: int, per_group: int, jsonl: bool) -> int:
    import actress
    from actress.jobs.engine import Engine, Job
    from actress.jobs.events import JsonlSink, Sink

    executor, ran = _counting_executor()
    primer, followers = _payloads(per_group)
    total = groups * per_group
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="actress-jobs-bench-") as tmp:
        path = os.path.join(tmp, "events.jsonl")
        sinks: list[Sink] = [JsonlSink(path)] if jsonl else []
        engine = Engine(executor, workers=WORKERS, events=sinks)

        def main() -> Gen:
            gc.collect()
            t0 = time.perf_counter_ns()
            for g in range(groups):
                yield from engine.submit_group(f"g{g}", primer, followers)
            yield from engine.close()
            out["ns"] = time.perf_counter_ns() - t0

        actress.run(main())
        _check(ran[0] == total, f"executor ran {ran[0]} jobs of {total}")
        _check(engine.counts.succeeded == total,
               f"engine counted {vars(engine.counts)}, expected {total} succeeded")
        if jsonl:
            lines = _count_succeeded_lines(path)
            _check(lines == total, f"JSONL file has {lines} job.succeeded lines, not {total}")
    ns: int = out["ns"]
    return ns


def ours_aio_rate(groups: int, per_group: int) -> dict[str, Any]:
    """The same through ``AsyncEngine`` (asyncio face) under ``asyncio.run``."""
    from actress.jobs.aio import AsyncEngine, GroupFutures
    executor, ran = _counting_executor()
    primer, followers = _payloads(per_group)
    total = groups * per_group

    async def main() -> int:
        engine = AsyncEngine(executor, workers=WORKERS)
        submitted: list[GroupFutures] = []
        gc.collect()
        t0 = time.perf_counter_ns()
        for g in range(groups):
            submitted.append(await engine.submit_group(f"g{g}", primer, followers))
        await engine.close()
        ns = time.perf_counter_ns() - t0
        ok = 0
        for gf in submitted:
            for fut in ([gf.primer] if gf.primer is not None else []) + gf.followers:
                _check(fut.done(), "a job's future is not done after close()")
                ok += fut.result().ok
        _check(ok == total, f"{ok} futures succeeded, expected {total}")
        return ns

    ns = asyncio.run(main())
    _check(ran[0] == total, f"executor ran {ran[0]} jobs of {total}")
    return {"ns": ns, "jobs": total}


def ours_memory(n: int) -> dict[str, Any]:
    """Bytes for ``n`` followers queued behind a running (parked) primer."""
    import actress
    from actress import task
    from actress.jobs.engine import Engine, Job

    shared = {"shared": "payload"}
    gate: list[asyncio.Future[str]] = []
    seen = {"primer_started": 0, "primed_followers": 0}

    def executor(job: Job) -> Any:
        if job.kind == "primer":
            seen["primer_started"] += 1
            fut: asyncio.Future[str] = asyncio.get_running_loop().create_future()
            gate.append(fut)
            return fut
        if job.primer_output == "primed" and job.payload is shared:
            seen["primed_followers"] += 1
        return None

    out: dict[str, Any] = {}

    def main() -> Gen:
        engine = Engine(executor, workers=WORKERS)
        group = yield from engine.open_group("g")
        yield from group.add_primer("primer")
        turns = 0
        while not gate and turns < 100:  # let the dispatcher start the primer
            yield from task.sleep(0)
            turns += 1
        _check(len(gate) == 1, "the primer did not start")
        handles: list[Any] = [None] * n
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        for i in range(n):
            handles[i] = yield from group.add_follower(shared)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        out["bytes_total"] = after - before
        out["queued"] = sum(1 for job in handles if not job.done)
        gate[0].set_result("primed")
        group.close()
        yield from engine.close()
        out["succeeded"] = engine.counts.succeeded

    tracemalloc.start()
    try:
        actress.run(main())
    finally:
        tracemalloc.stop()
    _check(out["queued"] == n, f"only {out['queued']} of {n} followers were still queued")
    _check(out["succeeded"] == n + 1, f"{out['succeeded']} jobs succeeded, expected {n + 1}")
    _check(seen["primed_followers"] == n,
           f"{seen['primed_followers']} of {n} followers saw the primer's output")
    return {"bytes_total": out["bytes_total"], "n": n}


def ours_lanes(mode: str, a: int, b: int) -> dict[str, Any]:
    """Lane A's share of the first ``b`` completions, one worker, A submitted first."""
    import actress
    from actress.jobs.engine import Engine, Job, Lane

    order: list[str] = []

    def executor(job: Job) -> Any:
        order.append(job.lane)
        return None

    payload = {"x": 1}
    out: dict[str, Any] = {}

    def main() -> Gen:
        engine = Engine(executor, workers=1, lanes={"A": Lane(2), "B": Lane(1)})
        if mode == "primers":
            for i in range(a):
                yield from engine.submit_group(f"a{i}", payload, (), lane="A")
            for i in range(b):
                yield from engine.submit_group(f"b{i}", payload, (), lane="B")
        else:
            yield from engine.submit_group("a", None, [payload] * a, lane="A")
            yield from engine.submit_group("b", None, [payload] * b, lane="B")
        out["ran_before_all_submitted"] = len(order)
        yield from engine.close()
        out["counts"] = vars(engine.counts)

    actress.run(main())
    _check(len(order) == a + b, f"{len(order)} jobs ran, expected {a + b}")
    _check(out["counts"]["succeeded"] == a + b, f"engine counted {out['counts']}")
    return {"share": _share(order, b), "ran_before_all_submitted": out["ran_before_all_submitted"]}


# --------------------------------------------------------------------------------------
# Worker side: acty (in its own interpreter; imported by name, untyped here)
# --------------------------------------------------------------------------------------


class _Acty:
    """The acty modules this benchmark uses."""

    def __init__(self) -> None:
        import logging

        structlog = importlib.import_module("structlog")
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
        acty = importlib.import_module("acty")
        self.ActyEngine: Any = acty.ActyEngine
        self.EngineConfig: Any = acty.EngineConfig
        self.JobResult: Any = importlib.import_module("acty_core.core.types").JobResult
        self.LaneConfig: Any = importlib.import_module(
            "acty_core.scheduler.work_stealing").LaneConfig
        self.JsonlEventSink: Any = importlib.import_module(
            "acty_core.events.sinks.jsonl").JsonlEventSink


class _ActyExecutor:
    """An instant acty executor; optionally holds jobs at a gate and records lanes."""

    def __init__(self, job_result: Any, gate: Optional[asyncio.Event] = None) -> None:
        self.job_result = job_result
        self.gate = gate
        self.ran = 0
        self.entered = 0
        self.order: list[tuple[str, str]] = []  # (kind, lane) in completion order

    async def execute(self, job: Any, *, pool: str) -> Any:
        self.entered += 1
        if self.gate is not None and not self.gate.is_set():
            await self.gate.wait()
        self.ran += 1
        context = job.context or {}
        group_context = context.get("group_context") or {}
        self.order.append((job.kind, group_context.get("lane") or "default"))
        return self.job_result(job_id=job.id, kind=job.kind, ok=True, output=job.payload,
                               group_id=job.group_id)


def acty_rate(groups: int, per_group: int, jsonl: bool, rounds: int = 1) -> dict[str, Any]:
    """``groups`` groups of ``per_group`` jobs through ``ActyEngine``, ``rounds`` times (a
    fresh engine each); ns for all."""
    acty = _Acty()
    ns = 0
    for _ in range(rounds):
        ns += _acty_rate_once(acty, groups, per_group, jsonl)
    return {"ns": ns, "jobs": groups * per_group * rounds}


def _acty_rate_once(acty: _Acty, groups: int, per_group: int, jsonl: bool) -> int:
    primer, followers = _payloads(per_group)
    total = groups * per_group
    ex = _ActyExecutor(acty.JobResult)
    from pathlib import Path

    with tempfile.TemporaryDirectory(prefix="acty-jobs-bench-") as tmp:
        path = Path(tmp) / "events.jsonl"
        sink = acty.JsonlEventSink(path) if jsonl else None

        async def main() -> tuple[int, int]:
            engine = acty.ActyEngine(
                executor=ex,
                config=acty.EngineConfig(primer_workers=1, follower_workers=WORKERS - 1),
                event_sinks=[sink] if sink is not None else None)
            futures: list[Any] = []
            gc.collect()
            t0 = time.perf_counter_ns()
            for g in range(groups):
                sub = await engine.submit_group(f"g{g}", primer, followers)
                futures.append(sub.primer)
                futures.extend(sub.followers)
            # acty's close() cancels followers that have not run: wait for every job first.
            results = await asyncio.gather(*futures)
            await engine.close()
            ns = time.perf_counter_ns() - t0
            return ns, sum(1 for r in results if r.ok)

        ns, ok = asyncio.run(main())
        if sink is not None:
            sink.close()
            _check(path.stat().st_size > 0, "acty's JSONL file is empty")
    _check(ok == total, f"acty: {ok} jobs succeeded, expected {total}")
    _check(ex.ran == total, f"acty: executor ran {ex.ran} jobs of {total}")
    return ns


def acty_memory(n: int) -> dict[str, Any]:
    """Bytes for ``n`` followers added to an open acty group whose primer is parked."""
    acty = _Acty()
    shared = {"shared": "payload"}

    async def main() -> dict[str, Any]:
        gate = asyncio.Event()
        ex = _ActyExecutor(acty.JobResult, gate)
        engine = acty.ActyEngine(
            executor=ex, config=acty.EngineConfig(primer_workers=1, follower_workers=WORKERS - 1))
        handle = engine.open_group("g")
        await handle
        primer_future = await handle.submit_primer({"primer": 0})
        for _ in range(100):  # let the scheduler start the primer (it parks at the gate)
            if ex.entered:
                break
            await asyncio.sleep(0)
        _check(ex.entered == 1 and ex.ran == 0, "acty: the primer did not start and park")
        handles: list[Any] = [None] * n
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        for i in range(n):
            handles[i] = await handle.add_follower(shared)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        queued = sum(1 for f in handles if not f.done())
        gate.set()
        await handle.close()
        results = await asyncio.gather(primer_future, *handles)
        await engine.close()
        return {"bytes_total": after - before, "queued": queued,
                "ok": sum(1 for r in results if r.ok)}

    tracemalloc.start()
    try:
        out = asyncio.run(main())
    finally:
        tracemalloc.stop()
    _check(out["queued"] == n, f"acty: only {out['queued']} of {n} followers were queued")
    _check(out["ok"] == n + 1, f"acty: {out['ok']} jobs succeeded, expected {n + 1}")
    return {"bytes_total": out["bytes_total"], "n": n}


def acty_lanes(mode: str, a: int, b: int) -> dict[str, Any]:
    """Lane A's share of the first ``b`` completions (of the measured kind), weights 2:1.

    acty needs a worker in each pool (primer, follower): 1 + 1. Its submit awaits, so the
    executor holds the first job at a gate until every group is submitted. acty always
    runs a primer per group (a None primer payload is still a primer job), so in
    ``followers`` each group has a primer and only follower completions are counted.
    """
    acty = _Acty()
    payload = {"x": 1}

    gate = asyncio.Event()  # not bound to a loop until used (Python >= 3.10)
    ex = _ActyExecutor(acty.JobResult, gate)

    async def main() -> dict[str, Any]:
        lanes = {"A": acty.LaneConfig(weight=2), "B": acty.LaneConfig(weight=1)}
        engine = acty.ActyEngine(
            executor=ex,
            config=acty.EngineConfig(primer_workers=1, follower_workers=1, lane_configs=lanes))
        futures: list[Any] = []
        if mode == "primers":
            for lane, count in (("A", a), ("B", b)):
                for i in range(count):
                    sub = await engine.submit_group(f"{lane}{i}", payload, [],
                                                    group_context={"lane": lane})
                    futures.append(sub.primer)
        else:
            for lane, count in (("A", a), ("B", b)):
                sub = await engine.submit_group(lane, payload, [payload] * count,
                                                group_context={"lane": lane})
                futures.append(sub.primer)
                futures.extend(sub.followers)
        ran_before = ex.ran
        gate.set()
        results = await asyncio.gather(*futures)
        await engine.close()
        return {"ran_before": ran_before, "ok": sum(1 for r in results if r.ok),
                "expected": len(futures)}

    out = asyncio.run(main())
    _check(out["ok"] == out["expected"], f"acty: {out['ok']} of {out['expected']} succeeded")
    kind = "primer" if mode == "primers" else "follower"
    order = [lane for k, lane in ex.order if k == kind]
    _check(len(order) == a + b, f"acty: {len(order)} {kind} jobs ran, expected {a + b}")
    return {"share": _share(order, b), "ran_before_all_submitted": out["ran_before"]}


# --------------------------------------------------------------------------------------
# Worker entry point
# --------------------------------------------------------------------------------------


def run_once(side: str, wl: Workload, sizes: tuple[int, ...], rounds: int = 1,
             ) -> dict[str, Any]:
    if wl.kind == "rate":
        groups, per_group = sizes
        if side == "ours":
            return ours_rate(groups, per_group, wl.jsonl, rounds)
        if side == "ours_aio":
            _check(rounds == 1, "the asyncio face runs one round")
            return ours_aio_rate(groups, per_group)
        return acty_rate(groups, per_group, wl.jsonl, rounds)
    if wl.kind == "memory":
        return ours_memory(sizes[0]) if side == "ours" else acty_memory(sizes[0])
    mode = "primers" if wl.name == "lanes_primers" else "followers"
    return ours_lanes(mode, *sizes) if side == "ours" else acty_lanes(mode, *sizes)


def worker_main(side: str, name: str, sizes: tuple[int, ...]) -> None:
    """Entry point of a worker process: warm up, run once, print the result line."""
    wl = WORKLOAD_BY_NAME[name]
    if side in ("ours", "ours_aio"):
        import_ours()
    if wl.kind != "share":
        run_once(side, wl, warm_up_sizes(sizes))
    emit_result(RESULT_MARK, run_once(side, wl, sizes, wl.rounds))


# --------------------------------------------------------------------------------------
# Driver side: alternates worker processes and reports
# --------------------------------------------------------------------------------------


def _value(kind: str, result: dict[str, Any]) -> float:
    """One run's figure: jobs/s, bytes per follower, or the share."""
    if kind == "rate":
        return float(result["jobs"]) / (float(result["ns"]) / 1e9)
    if kind == "memory":
        return float(result["bytes_total"]) / float(result["n"])
    return float(result["share"])


def best_value(kind: str, cell: Optional[Cell]) -> Optional[float]:
    """Best of the runs: highest jobs/s, fewest bytes; for a share the WORST run (farthest
    from the goal), so that a lucky run never hides an unfair one."""
    if cell is None or cell.status != "ok" or not cell.results:
        return None
    values = [_value(kind, r) for r in cell.results]
    if kind == "rate":
        return max(values)
    if kind == "memory":
        return min(values)
    return max(values, key=lambda v: abs(v - SHARE_GOAL))


def run_worker(python: str, side: str, wl: Workload, sizes: tuple[int, ...],
               timeout: float) -> WorkerRun:
    """Run one worker process (acty's interpreter sees only its own packages: PYTHONPATH is
    dropped for it)."""
    return run_worker_process(python, os.path.abspath(__file__),
                              [side, wl.name, ",".join(str(s) for s in sizes)], RESULT_MARK,
                              timeout, keep_pythonpath=side != "acty")


def acty_preflight(python: str) -> tuple[Optional[str], str]:
    """(versions, why not) for acty's interpreter."""
    if not os.path.exists(python):
        return None, (f"acty skipped: no interpreter at {python} (set ACTY_PYTHON, or "
                      "`python3 -m venv /work/ref-acty && /work/ref-acty/bin/pip install "
                      "--ignore-requires-python acty acty-core`)")
    code = ("import importlib.metadata as m, acty, acty_core, sys; "
            "print(m.version('acty'), m.version('acty-core'), sys.version.split()[0])")
    try:
        proc = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=120,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return None, f"acty skipped: {python} failed to start ({error!r})"
    if proc.returncode != 0:
        tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
        return None, f"acty skipped: `import acty` failed under {python}: {tail}"
    acty_v, core_v, py_v = proc.stdout.split()
    return f"acty {acty_v}, acty-core {core_v}, Python {py_v}", ""


def driver_main(args: argparse.Namespace) -> int:
    quick: bool = args.quick
    reps = reps_of(args)
    timeout: float = args.timeout
    only = [n for n in args.only.split(",") if n]
    selected = [w for w in WORKLOADS if not only or w.group in only or w.name in only]

    notes: list[str] = []
    acty_python = os.environ.get("ACTY_PYTHON") or DEFAULT_ACTY_PYTHON
    acty_version: Optional[str] = None
    if args.no_acty:
        notes.append("acty skipped: --no-acty")
    else:
        acty_version, why = acty_preflight(acty_python)
        if acty_version is None:
            notes.append(why)
            print(why, file=sys.stderr)
    pythons = {"ours": sys.executable, "ours_aio": sys.executable, "acty": acty_python}

    cells: dict[tuple[str, str], Cell] = {}
    started = time.monotonic()
    # Repetitions go round a whole --only group (e.g. 300x10 and 3000x10, or with and
    # without JSONL), so the figures compared with each other see the same machine noise.
    for group in GROUPS:
        members = [w for w in selected if w.group == group]
        for wl in members:
            for side in wl.sides:
                if side != "acty" or acty_version is not None:
                    cells[(wl.name, side)] = Cell(sizes=wl.sizes(quick))
        for rep in range(reps):
            for wl in members:
                sides = [s for s in wl.sides if (wl.name, s) in cells]
                for side in rotated(sides, rep):
                    cell = cells[(wl.name, side)]
                    if cell.status != "ok":
                        continue  # a timeout or crash is not retried
                    if side == "acty" and wl.acty_max_reps is not None \
                            and len(cell.results) >= wl.acty_max_reps:
                        continue
                    run = run_worker(pythons[side], side, wl, cell.sizes, timeout)
                    shown = "" if run.result is None else f" {_value(wl.kind, run.result):,.4g}"
                    log_run(started, wl.name, side, rep, reps, run.status, shown,
                            widths=(18, 9))
                    cell.record(run)

    notes.append(timeout_note(timeout))
    return report(selected, cells, reps, quick, notes, acty_version, acty_python,
                  time.monotonic() - started)


def _fmt(kind: str, v: Optional[float]) -> str:
    if v is None:
        return "-"
    if kind == "rate":
        return f"{v:,.0f} jobs/s"
    if kind == "memory":
        return f"{v:,.0f} B"
    return f"{v:.3f}"


def _size_label(wl: Workload, sizes: tuple[int, ...]) -> str:
    if wl.kind == "rate":
        return f"{sizes[0]}x{sizes[1]}" + (f" x{wl.rounds}" if wl.rounds > 1 else "")
    if wl.kind == "share":
        return f"{sizes[0]}+{sizes[1]}"
    return str(sizes[0])


def report(selected: list[Workload], cells: dict[tuple[str, str], Cell], reps: int,
           quick: bool, notes: list[str], acty_version: Optional[str], acty_python: str,
           elapsed: float) -> int:
    """Print the table, the target checks, notes, problems and the JSON line; return the
    exit status."""
    fig: dict[str, Any] = {}
    rows: list[tuple[str, ...]] = []
    digits = {"rate": 0, "memory": 1, "share": 4}

    def shown(wl: Workload, side: str, value: Optional[float]) -> str:
        c = cells.get((wl.name, side))
        if c is None:
            return "skipped" if side in wl.sides else "n/a"
        if c.status != "ok":
            return c.status
        return _fmt(wl.kind, value)

    values: dict[tuple[str, str], Optional[float]] = {}
    for wl in selected:
        ours = best_value(wl.kind, cells.get((wl.name, "ours")))
        acty = best_value(wl.kind, cells.get((wl.name, "acty")))
        values[(wl.name, "ours")], values[(wl.name, "acty")] = ours, acty
        fig[wl.key] = rounded(ours, digits[wl.kind])
        fig["acty_" + wl.key] = rounded(acty, digits[wl.kind])
        ratio: Optional[float] = None
        if wl.kind == "rate":
            ratio = safe_ratio(ours, acty)
            fig[wl.key.replace("jobs_per_s_", "vs_acty_")] = rounded(ratio, 2)
        elif wl.kind == "memory":
            ratio = safe_ratio(acty, ours)
            fig["memory_vs_acty"] = rounded(ratio, 2)
        size = _size_label(wl, wl.sizes(quick))
        rows.append((wl.title, size, shown(wl, "ours", ours), shown(wl, "acty", acty),
                     fmt_ratio(ratio)))
        if "ours_aio" in wl.sides:
            aio = best_value(wl.kind, cells.get((wl.name, "ours_aio")))
            fig[wl.key + "_aio"] = rounded(aio, 0)
            ratio_aio = safe_ratio(aio, acty)
            fig[wl.key.replace("jobs_per_s_", "vs_acty_") + "_aio"] = rounded(ratio_aio, 2)
            rows.append(("  same, asyncio face (AsyncEngine)", size, shown(wl, "ours_aio", aio),
                         "", fmt_ratio(ratio_aio)))

    names = {w.name for w in selected}
    # Derived figures: JSONL cost, scaling.
    for base in ("1000x10", "10000x1"):
        if f"jobs_{base}" in names and f"jobs_{base}_jsonl" in names:
            for prefix in ("", "acty_"):
                plain = fig.get(f"{prefix}jobs_per_s_{base}")
                logged = fig.get(f"{prefix}jobs_per_s_{base}_jsonl")
                kept = safe_ratio(logged, plain)
                fig[f"{prefix}jsonl_cost_{base}"] = None if kept is None else round(1 - kept, 3)
    if "scaling_300" in names and "scaling_3000" in names:
        for prefix in ("", "acty_"):
            fig[f"{prefix}scaling_3000_vs_300"] = rounded(
                safe_ratio(fig.get(f"{prefix}jobs_per_s_3000x10"),
                           fig.get(f"{prefix}jobs_per_s_300x10")), 3)
        s_ours, s_acty = fig["scaling_3000_vs_300"], fig["acty_scaling_3000_vs_300"]
        rows.append(("  scaling: jobs/s many / few groups", "", _fmt("share", s_ours),
                     _fmt("share", s_acty), ""))

    mode = "quick" if quick else "full"
    print_title("job-engine", mode, reps, elapsed)
    print(f"  ours: actress.jobs from {REPO_ROOT} (generator face under actress.run, "
          f"workers={WORKERS})")
    print(f"  acty: {acty_version + ' at ' + acty_python if acty_version else 'not measured'}")
    print("  ratios: ours/acty for jobs/s, acty/ours for bytes (higher is better for ours);"
          " shares: the worst run")
    print()
    print_table(("workload", "size", "ours", "acty", "ours vs acty"), rows)

    # ---- targets -------------------------------------------------------------------
    targets = Targets(label_width=52, value_spec=",.4g")
    print("targets")
    for base in ("1000x10", "10000x1"):
        if f"jobs_{base}" in names:
            targets.check(f"vs_acty_{base}", f"jobs/s {base} >= 30x acty",
                          fig.get(f"vs_acty_{base}"), 30.0, lambda v: v >= 30.0, op=">=")
    if "scaling_300" in names and "scaling_3000" in names:
        targets.check("scaling_3000_vs_300", "jobs/s 3000x10 / 300x10 >= 0.8",
                      fig.get("scaling_3000_vs_300"), 0.8, lambda v: v >= 0.8, op=">=")
    if "memory" in names:
        targets.check("bytes_per_queued_follower", "bytes per queued follower <= 300",
                      fig.get("bytes_per_queued_follower"), 300.0, lambda v: v <= 300.0,
                      op="<=")
    for wl in selected:
        if wl.kind == "share":
            targets.check(wl.key, f"{wl.key} within {SHARE_TOLERANCE} of 2/3", fig.get(wl.key),
                          round(SHARE_GOAL, 4),
                          lambda v: abs(v - SHARE_GOAL) <= SHARE_TOLERANCE + 1e-9,
                          op="within 0.03 of")

    # ---- notes and problems ----------------------------------------------------------
    if acty_version is not None:
        notes.append("acty: EngineConfig(primer_workers=1, follower_workers=2) (its defaults, "
                     f"{WORKERS} workers like ours), structlog filtered to WARNING; its close() "
                     "cancels followers that have not run, so its timed section awaits every "
                     "job's future, then closes (ours: close() drains)")
        if "scaling_3000" in names and not quick:
            notes.append("acty's many-groups scaling run is measured once (its cost per job "
                         "grows with the number of groups: one run takes close to a minute)")
        if any(w.kind == "share" for w in selected):
            notes.append("acty lanes: 1 primer + 1 follower worker (a pool cannot be empty); "
                         "its submit awaits, so the executor holds the first job at a gate "
                         "until all groups are submitted; it always runs a primer per group, "
                         "so 'followers' gives each group a primer and counts follower "
                         "completions only")
    if any(w.kind == "share" for w in selected):
        notes.append("ours lanes: Engine(workers=1, lanes={'A': Lane(2), 'B': Lane(1)}); "
                     "submitting never suspends here, so every job is queued before the "
                     "first one runs (ran_before_all_submitted in the JSON)")
    if "memory" in names:
        notes.append("memory: the followers wait behind a running, parked primer; one shared "
                     "payload; counts the job object, its id, the group's bookkeeping and "
                     "the engine's (acty: its futures, job records and queue entries)")
    extras: dict[str, Any] = {}
    for (name, side), c in cells.items():
        for res in c.results:
            if "ran_before_all_submitted" in res:
                extras.setdefault(f"{name}_{side}_ran_before_all_submitted",
                                  res["ran_before_all_submitted"])
        wl = WORKLOAD_BY_NAME[name]
        if wl.kind == "share" and c.results:
            seen = sorted({round(_value("share", res), 4) for res in c.results})
            if len(seen) > 1:
                notes.append(f"{name} / {side}: the share varied across runs: {seen}")
        if c.status != "ok" and side == "acty":
            last = (c.detail.strip().splitlines() or ["?"])[-1]
            notes.append(f"acty failed on {name} ({c.status}): {last}; its keys are null")
    print_notes(notes, problems_of(cells))

    # ---- JSON -------------------------------------------------------------------------
    summary: dict[str, Any] = dict(fig)
    summary.update(extras)
    summary["sizes"] = {f"{name}_{side}": list(c.sizes) for (name, side), c in cells.items()}
    summary["rounds"] = {w.name: w.rounds for w in selected if w.rounds > 1}
    summary["status"] = {f"{name}_{side}": c.status for (name, side), c in cells.items()}
    summary["acty"] = acty_version
    summary["targets"] = targets.entries
    summary["reps"] = reps
    summary["mode"] = mode
    summary["python"] = platform.python_version()
    summary["notes"] = notes
    print_json_line(summary)
    return 1 if any_failed(cells, ("ours", "ours_aio")) else 0


def main(argv: Optional[list[str]] = None) -> int:
    args_list = sys.argv[1:] if argv is None else argv
    if args_list[:1] == ["--worker"]:
        side, name, sizes = args_list[1:4]
        worker_main(side, name, tuple(int(s) for s in sizes.split(",")))
        return 0
    parser = new_parser(__doc__)
    add_reps_and_timeout(parser, 300.0)
    parser.add_argument("--no-acty", action="store_true", help="skip acty")
    add_only(parser, ",".join(GROUPS)
             + " (or a single variant: " + ",".join(WORKLOAD_BY_NAME) + ")")
    args = parser.parse_args(args_list)
    check_args(parser, args, {*GROUPS, *WORKLOAD_BY_NAME}, reps_at_least_one=True)
    return driver_main(args)


if __name__ == "__main__":
    sys.exit(main())
