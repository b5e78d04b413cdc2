"""Kernel micro-benchmarks: actress (this repo) vs asyncio vs the published actress 0.1.

What it measures (each a separate, fresh worker process; best time of N alternating runs):

1. spawn+join one at a time: fork a trivial child, join it, repeat (50k), vs
   ``await asyncio.create_task(coro())`` 50k times.
2. fork all then join all in order, at 100k and at 20k (per-op ns of both and their
   ratio, ~1.0 means linear). actress 0.1 runs the same sizes: its quadratic cost
   (a list ``pop(index)`` per join) shows in its ratio; a per-run timeout guards it.
3. sleep(0) switches: 5k tasks each doing 40 ``task.sleep(0)`` (forked from and joined
   by one main task) vs 5k asyncio tasks each doing 40 ``asyncio.sleep(0)``, gathered.
4. 100k messages through ``task.listen({"a": effect})`` inside a top-level fork
   (messages dropped at the top), in messages/s.
5. 100k messages from a forked producer through ``task.join`` in main, in messages/s.
6. a top-level ``await task.fork(t())`` where t returns at once (20k awaits) vs
   ``await asyncio.create_task(coro())``.
7. memory per parked task (tracemalloc): 10k forks parked in ``task.suspend()`` vs 10k
   asyncio Tasks parked on ``await fut`` of one shared unresolved future; the
   generator/coroutine objects and their frames are created inside the measured window.

"ours" imports ``actress`` from this repository (the parent of ``bench/``). The reference
runs the same workloads under ``/work/ref-actress/bin/python`` (override with the env
var ``ACTRESS_REF_PYTHON``; skipped with a note when that interpreter is missing), with
``sys.path`` arranged so it imports its own ``actress``. Runs alternate ours, asyncio,
reference, ours, ... so machine noise falls on every side; the minimum is reported.

Run::

    python bench/kernel.py            # full run, best of 5 (about 3 minutes)
    python bench/kernel.py --quick    # small sizes, 1 repetition (smoke test)
    python bench/kernel.py --no-ref   # skip the published actress 0.1
    python bench/kernel.py --reps 9 --only spawn_join,sleep0

The output is a table, target checks marked PASS/MISS (a miss never fails the run), and,
as the last line of stdout, one JSON object with every figure. The exit status is 1 only
when a workload of ours (or an asyncio baseline) crashed or timed out.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import os
import platform
import sys
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Optional

from _harness import (REPO_ROOT, Cell, Targets, WorkerRun, add_only, add_reps_and_timeout,
                      any_failed, check_args, emit_result, fmt_bytes, fmt_ns, fmt_ratio,
                      log_run, new_parser, print_json_line, print_notes, print_table,
                      print_title, problems_of, reps_of, rounded, run_worker_process,
                      safe_ratio, size_label, timeout_note, warm_up_sizes)
from _harness import check as _check

DEFAULT_REF_PYTHON = "/work/ref-actress/bin/python"
RESULT_MARK = "@@KERNEL-BENCH-RESULT "

Gen = Generator[Any, Any, Any]

# --------------------------------------------------------------------------------------
# Workload definitions
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    """One benchmarked workload: its sizes per mode and which sides run it."""

    name: str
    title: str
    full: tuple[int, ...]
    quick: tuple[int, ...]
    ref_full: Optional[tuple[int, ...]] = None  # reference sizes when they must differ
    ref_quick: Optional[tuple[int, ...]] = None
    asyncio: bool = True  # has an asyncio baseline
    kind: str = "time"  # "time" (ns per op), "rate" (ops per second), "memory" (bytes per task)

    def sizes(self, side: str, quick: bool) -> tuple[int, ...]:
        if side == "ref":
            ref = self.ref_quick if quick else self.ref_full
            if ref is not None:
                return ref
        return self.quick if quick else self.full


WORKLOADS: tuple[Workload, ...] = (
    Workload("spawn_join", "spawn+join, one at a time", (50_000,), (2_000,)),
    Workload("fork_join_all_100k", "fork all, then join all", (100_000,), (5_000,)),
    Workload("fork_join_all_20k", "fork all, then join all", (20_000,), (1_000,)),
    Workload("sleep0", "sleep(0) switch", (5_000, 40), (500, 10)),
    Workload("listen", "messages through listen", (100_000,), (5_000,), asyncio=False, kind="rate"),
    Workload("join_msgs", "messages through a join", (100_000,), (5_000,), asyncio=False, kind="rate"),
    Workload("toplevel_await", "top-level await fork(t())", (20_000,), (1_000,)),
    Workload("memory", "memory per parked task", (10_000,), (1_000,), kind="memory"),
)
WORKLOAD_BY_NAME = {w.name: w for w in WORKLOADS}
SIDES = ("ours", "asyncio", "ref")

# --------------------------------------------------------------------------------------
# Worker side: runs one workload once in a fresh process and prints a result line
# --------------------------------------------------------------------------------------


def _ops(name: str, sizes: tuple[int, ...]) -> int:
    """Number of operations a workload's total time is divided by."""
    if name == "sleep0":
        return sizes[0] * sizes[1]
    return sizes[0]


def _import_actress(side: str) -> ModuleType:
    """Import ``actress.task`` for ``side``, checking that it comes from the right place."""
    if side == "ours":
        sys.path.insert(0, REPO_ROOT)
    else:
        # The reference must import ITS actress, never this repo's.
        sys.path[:] = [p for p in sys.path if p and os.path.abspath(p) != REPO_ROOT]
    module = importlib.import_module("actress.task")
    where = os.path.abspath(module.__file__ or "")
    inside = where.startswith(REPO_ROOT + os.sep)
    if side == "ours" and not inside:
        raise RuntimeError(f"'ours' imported actress from {where}, not from {REPO_ROOT}")
    if side == "ref" and inside:
        raise RuntimeError(f"the reference imported actress from this repo ({where})")
    return module


class ActressWorkloads:
    """The workloads written against the ``actress.task`` API (ours or the reference)."""

    def __init__(self, task: ModuleType) -> None:
        self.task = task

    # -- task bodies -------------------------------------------------------------------

    @staticmethod
    def child(i: int) -> Gen:
        return i
        yield  # pylint: disable=unreachable

    def spawn_join_main(self, n: int) -> Gen:
        task, child = self.task, self.child
        total = 0
        for i in range(n):
            fork = yield from task.fork(child(i))
            total += yield from task.join(fork)
        return total

    def fork_all_main(self, n: int) -> Gen:
        task, child = self.task, self.child
        forks = []
        for i in range(n):
            forks.append((yield from task.fork(child(i))))
        total = 0
        for fork in forks:
            total += yield from task.join(fork)
        return total

    def sleeper(self, k: int) -> Gen:
        sleep = self.task.sleep
        for _ in range(k):
            yield from sleep(0)
        return k

    def sleep_main(self, n: int, k: int) -> Gen:
        task, sleeper = self.task, self.sleeper
        forks = []
        for _ in range(n):
            forks.append((yield from task.fork(sleeper(k))))
        total = 0
        for fork in forks:
            total += yield from task.join(fork)
        return total

    def producer(self, n: int, done: list[int]) -> Gen:
        send = self.task.send
        for i in range(n):
            yield from send(i)
        done[0] = n

    def listener(self, n: int, done: list[int]) -> Gen:
        yield from self.task.listen({"a": self.producer(n, done)})

    def join_msgs_main(self, n: int, done: list[int]) -> Gen:
        fork = yield from self.task.fork(self.producer(n, done))
        yield from self.task.join(fork)

    def parked(self, count: list[int]) -> Gen:
        count[0] += 1
        yield from self.task.suspend()
        return 1

    def memory_main(self, n: int, out: dict[str, int]) -> Gen:
        task, parked = self.task, self.parked
        count = [0]
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        forks = []
        for _ in range(n):
            forks.append((yield from task.fork(parked(count))))
        turns = 0
        while count[0] < n and turns < 1000:  # let every fork run up to its suspend()
            yield from task.sleep(0)
            turns += 1
        after = tracemalloc.get_traced_memory()[0]
        out["bytes_total"] = after - before
        out["parked"] = count[0]
        for fork in forks:
            task.resume(fork)
        total = 0
        for fork in forks:
            total += yield from task.join(fork)
        out["finished"] = total

    # -- drivers -----------------------------------------------------------------------

    async def run(self, name: str, sizes: tuple[int, ...]) -> dict[str, Any]:
        """Run ``name`` once; return its measured figures."""
        task = self.task
        n = sizes[0]
        gc.collect()
        if name == "spawn_join":
            t0 = time.perf_counter_ns()
            total = await task.fork(self.spawn_join_main(n))
            ns = time.perf_counter_ns() - t0
            _check(total == n * (n - 1) // 2, f"spawn_join returned {total!r}")
        elif name.startswith("fork_join_all"):
            t0 = time.perf_counter_ns()
            total = await task.fork(self.fork_all_main(n))
            ns = time.perf_counter_ns() - t0
            _check(total == n * (n - 1) // 2, f"fork_join_all returned {total!r}")
        elif name == "sleep0":
            k = sizes[1]
            t0 = time.perf_counter_ns()
            total = await task.fork(self.sleep_main(n, k))
            ns = time.perf_counter_ns() - t0
            _check(total == n * k, f"sleep0 returned {total!r}")
        elif name in ("listen", "join_msgs"):
            done = [0]
            body = self.listener(n, done) if name == "listen" else self.join_msgs_main(n, done)
            t0 = time.perf_counter_ns()
            await task.fork(body)
            ns = time.perf_counter_ns() - t0
            _check(done[0] == n, f"{name}: producer did not finish ({done[0]} of {n})")
        elif name == "toplevel_await":
            instant = self.child
            total = 0
            t0 = time.perf_counter_ns()
            for _ in range(n):
                total += await task.fork(instant(1))
            ns = time.perf_counter_ns() - t0
            _check(total == n, f"toplevel_await summed {total!r}")
        elif name == "memory":
            out: dict[str, int] = {}
            tracemalloc.start()
            try:
                await task.fork(self.memory_main(n, out))
            finally:
                tracemalloc.stop()
            _check(out.get("parked") == n, f"memory: only {out.get('parked')} of {n} forks parked")
            _check(out.get("finished") == n, f"memory: only {out.get('finished')} of {n} finished")
            return {"bytes_total": out["bytes_total"]}
        else:
            raise ValueError(f"unknown workload {name!r}")
        return {"ns": ns}


class AsyncioWorkloads:
    """The asyncio baselines."""

    @staticmethod
    async def child(i: int) -> int:
        return i

    @staticmethod
    async def sleeper(k: int) -> int:
        sleep = asyncio.sleep
        for _ in range(k):
            await sleep(0)
        return k

    @staticmethod
    async def parked(fut: asyncio.Future[None], count: list[int]) -> int:
        count[0] += 1
        await fut
        return 1

    async def run(self, name: str, sizes: tuple[int, ...]) -> dict[str, Any]:
        """Run ``name`` once; return its measured figures."""
        n = sizes[0]
        child, create_task = self.child, asyncio.create_task
        gc.collect()
        if name in ("spawn_join", "toplevel_await"):
            total = 0
            t0 = time.perf_counter_ns()
            for i in range(n):
                total += await create_task(child(i))
            ns = time.perf_counter_ns() - t0
            _check(total == n * (n - 1) // 2, f"{name} summed {total!r}")
        elif name.startswith("fork_join_all"):
            t0 = time.perf_counter_ns()
            tasks = [create_task(child(i)) for i in range(n)]
            total = 0
            for t in tasks:
                total += await t
            ns = time.perf_counter_ns() - t0
            _check(total == n * (n - 1) // 2, f"fork_join_all summed {total!r}")
        elif name == "sleep0":
            k = sizes[1]
            t0 = time.perf_counter_ns()
            results = await asyncio.gather(*[self.sleeper(k) for _ in range(n)])
            ns = time.perf_counter_ns() - t0
            _check(sum(results) == n * k, "sleep0: wrong results")
        elif name == "memory":
            return {"bytes_total": await self._memory(n)}
        else:
            raise ValueError(f"no asyncio baseline for {name!r}")
        return {"ns": ns}

    async def _memory(self, n: int) -> int:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        count = [0]
        tracemalloc.start()
        try:
            gc.collect()
            before = tracemalloc.get_traced_memory()[0]
            tasks = [asyncio.create_task(self.parked(fut, count)) for _ in range(n)]
            turns = 0
            while count[0] < n and turns < 1000:
                await asyncio.sleep(0)
                turns += 1
            after = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
        _check(count[0] == n, f"memory: only {count[0]} of {n} asyncio tasks parked")
        fut.set_result(None)
        results = await asyncio.gather(*tasks)
        _check(sum(results) == n, "memory: asyncio tasks did not finish")
        return after - before


def worker_main(side: str, name: str, sizes: tuple[int, ...]) -> None:
    """Entry point of a worker process: warm up, run once, print the result line."""
    runner: Callable[[str, tuple[int, ...]], Awaitable[dict[str, Any]]]
    if side == "asyncio":
        runner = AsyncioWorkloads().run
    else:
        runner = ActressWorkloads(_import_actress(side)).run
    warm = warm_up_sizes(sizes)

    async def go() -> dict[str, Any]:
        await runner(name, warm)  # warm-up: imports, first-use caches, allocator arenas
        return await runner(name, sizes)

    emit_result(RESULT_MARK, asyncio.run(go()))


# --------------------------------------------------------------------------------------
# Driver side: alternates worker processes and reports
# --------------------------------------------------------------------------------------


def run_worker(python: str, side: str, wl: Workload, sizes: tuple[int, ...],
               timeout: float) -> WorkerRun:
    """Run one worker (each side arranges its own ``sys.path``: PYTHONPATH is dropped)."""
    return run_worker_process(python, os.path.abspath(__file__),
                              [side, wl.name, *[str(s) for s in sizes]], RESULT_MARK, timeout,
                              keep_pythonpath=False)


def _fmt_rate(rate: Optional[float]) -> str:
    if rate is None:
        return "-"
    if rate >= 1e6:
        return f"{rate / 1e6:.2f} M/s"
    return f"{rate / 1e3:,.0f} k/s"


def driver_main(args: argparse.Namespace) -> int:
    quick: bool = args.quick
    reps = reps_of(args)
    timeout: float = args.timeout
    selected = [WORKLOAD_BY_NAME[n] for n in args.only.split(",")] if args.only else list(WORKLOADS)

    ref_python = os.environ.get("ACTRESS_REF_PYTHON", DEFAULT_REF_PYTHON)
    notes: list[str] = []
    use_ref = not args.no_ref
    if args.no_ref:
        notes.append("reference (actress 0.1) skipped: --no-ref")
    elif not (os.path.isfile(ref_python) and os.access(ref_python, os.X_OK)):
        use_ref = False
        notes.append(f"reference (actress 0.1) skipped: no interpreter at {ref_python} "
                     "(set ACTRESS_REF_PYTHON)")

    pythons = {"ours": sys.executable, "asyncio": sys.executable, "ref": ref_python}
    cells: dict[tuple[str, str], Cell] = {}
    started = time.monotonic()
    for wl in selected:
        sides = [s for s in SIDES if (s != "asyncio" or wl.asyncio) and (s != "ref" or use_ref)]
        for side in sides:
            cells[(wl.name, side)] = Cell(sizes=wl.sizes(side, quick),
                                          figure="bytes_total" if wl.kind == "memory" else "ns")
        for rep in range(reps):
            for side in sides:
                cell = cells[(wl.name, side)]
                if cell.status != "ok":
                    continue  # a timeout or crash is not retried
                run = run_worker(pythons[side], side, wl, cell.sizes, timeout)
                shown = "" if run.result is None else f" {cell.value(run.result):,.0f}"
                log_run(started, wl.name, side, rep, reps, run.status, shown, widths=(20, 8))
                cell.record(run)

    notes.append(timeout_note(timeout))
    return report(selected, cells, reps, quick, use_ref, ref_python, notes,
                  time.monotonic() - started)


def report(selected: list[Workload], cells: dict[tuple[str, str], Cell], reps: int,
           quick: bool, use_ref: bool, ref_python: str, notes: list[str],
           elapsed: float) -> int:
    """Print the table, the target checks, problems, and the JSON line; return exit status."""

    def cell(name: str, side: str) -> Optional[Cell]:
        return cells.get((name, side))

    def per_op(name: str, side: str) -> Optional[float]:
        c = cell(name, side)
        if c is None or c.best is None:
            return None
        return c.best / _ops(name, c.sizes)

    def per_task(name: str, side: str) -> Optional[float]:
        c = cell(name, side)
        if c is None or c.best is None:
            return None
        return c.best / c.sizes[0]

    def shown(name: str, side: str, text: str) -> str:
        c = cell(name, side)
        if c is None:
            return "-" if side != "ref" or use_ref else "skipped"
        if c.status != "ok":
            return c.status
        return f"{text} @{size_label(c.sizes)}"

    fig: dict[str, Any] = {}
    rows: list[tuple[str, str, str, str, str, str]] = []

    def time_row(name: str, title: str, key: str, ratio_key: str = "") -> None:
        ratio_key = ratio_key or key
        ours, aio, ref = per_op(name, "ours"), per_op(name, "asyncio"), per_op(name, "ref")
        fig[f"{key}_ns"] = rounded(ours)
        fig[f"{key}_asyncio_ns"] = rounded(aio)
        fig[f"{key}_actress01_ns"] = rounded(ref)
        fig[f"{ratio_key}_vs_asyncio"] = rounded(safe_ratio(aio, ours), 2)
        fig[f"{ratio_key}_vs_actress01"] = rounded(safe_ratio(ref, ours), 2)
        rows.append((title, shown(name, "ours", fmt_ns(ours)),
                     shown(name, "asyncio", fmt_ns(aio)), shown(name, "ref", fmt_ns(ref)),
                     fmt_ratio(fig[f"{ratio_key}_vs_asyncio"]),
                     fmt_ratio(fig[f"{ratio_key}_vs_actress01"])))

    def rate_row(name: str, title: str, key: str) -> None:
        o, r = per_op(name, "ours"), per_op(name, "ref")
        ours = None if o is None else 1e9 / o
        ref = None if r is None else 1e9 / r
        fig[f"{key}_msgs_per_s"] = rounded(ours, 0)
        fig[f"{key}_actress01_msgs_per_s"] = rounded(ref, 0)
        fig[f"{key}_vs_actress01"] = rounded(safe_ratio(ours, ref), 2)
        rows.append((title, shown(name, "ours", _fmt_rate(ours)), "-",
                     shown(name, "ref", _fmt_rate(ref)), "-",
                     fmt_ratio(fig[f"{key}_vs_actress01"])))

    names = {w.name for w in selected}
    if "spawn_join" in names:
        time_row("spawn_join", "spawn+join one at a time (per op)", "spawn_join")
    for name in ("fork_join_all_100k", "fork_join_all_20k"):
        if name in names:
            label = "big" if name.endswith("100k") else "small"
            time_row(name, f"fork all, then join all, {label} (per op)", name)
    if "fork_join_all_100k" in names and "fork_join_all_20k" in names:
        fig["linearity_100k_vs_20k"] = rounded(safe_ratio(per_op("fork_join_all_100k", "ours"),
                                                     per_op("fork_join_all_20k", "ours")), 2)
        fig["linearity_100k_vs_20k_asyncio"] = rounded(
            safe_ratio(per_op("fork_join_all_100k", "asyncio"),
                   per_op("fork_join_all_20k", "asyncio")), 2)
        fig["linearity_actress01"] = rounded(safe_ratio(per_op("fork_join_all_100k", "ref"),
                                                   per_op("fork_join_all_20k", "ref")), 2)
        rows.append(("  per-op ratio big/small (1.0 = linear)",
                     fmt_ratio(fig["linearity_100k_vs_20k"]),
                     fmt_ratio(fig["linearity_100k_vs_20k_asyncio"]),
                     fmt_ratio(fig["linearity_actress01"]), "", ""))
    if "sleep0" in names:
        time_row("sleep0", "sleep(0) (per switch)", "sleep0_switch", "sleep0")
    if "listen" in names:
        rate_row("listen", "messages through listen", "listen")
    if "join_msgs" in names:
        rate_row("join_msgs", "messages through a join", "join")
    if "toplevel_await" in names:
        time_row("toplevel_await", "top-level await fork(t()) (per await)", "toplevel_await")
    if "memory" in names:
        ours, aio, ref = (per_task("memory", s) for s in SIDES)
        fig["bytes_per_parked_task"] = rounded(ours)
        fig["bytes_per_parked_asyncio_task"] = rounded(aio)
        fig["bytes_per_parked_actress01_task"] = rounded(ref)
        fig["memory_vs_asyncio"] = rounded(safe_ratio(aio, ours), 2)
        fig["memory_vs_actress01"] = rounded(safe_ratio(ref, ours), 2)
        rows.append(("memory per parked task (tracemalloc)",
                     shown("memory", "ours", fmt_bytes(ours)),
                     shown("memory", "asyncio", fmt_bytes(aio)),
                     shown("memory", "ref", fmt_bytes(ref)),
                     fmt_ratio(fig["memory_vs_asyncio"]), fmt_ratio(fig["memory_vs_actress01"])))

    mode = "quick" if quick else "full"
    print_title("kernel", mode, reps, elapsed)
    print(f"  ours:    actress from {REPO_ROOT}")
    print(f"  ref:     actress 0.1 under {ref_python}" if use_ref else "  ref:     skipped")
    print("  ratios are 'times better than': other/ours for times and bytes, ours/other for rates;"
          " @size = workload size")
    print()
    print_table(("workload", "ours", "asyncio", "actress 0.1", "vs asyncio", "vs 0.1"), rows)

    # ---- targets -------------------------------------------------------------------
    targets = Targets(label_width=52, value_spec=",.2f")

    def target(key: str, label: str, value: Optional[float], goal: float,
               higher_is_better: bool = True) -> None:
        targets.check(key, label, value, goal,
                      (lambda v: v >= goal) if higher_is_better else (lambda v: v < goal))

    print("targets")
    if "spawn_join" in names:
        target("spawn_join_vs_asyncio", "spawn+join >= 4x faster than asyncio",
               fig["spawn_join_vs_asyncio"], 4.0)
    if "sleep0" in names:
        target("sleep0_vs_asyncio", "sleep(0) switch >= 5x faster than asyncio",
               fig["sleep0_vs_asyncio"], 5.0)
    if "spawn_join" in names:
        target("spawn_join_vs_actress01", "spawn+join >= 15x actress 0.1",
               fig["spawn_join_vs_actress01"], 15.0)
    if "sleep0" in names:
        target("sleep0_vs_actress01", "sleep(0) switch >= 15x actress 0.1",
               fig["sleep0_vs_actress01"], 15.0)
    if "listen" in names:
        target("listen_vs_actress01", "listen messages >= 10x actress 0.1",
               fig["listen_vs_actress01"], 10.0)
    if "memory" in names:
        aio_bytes = fig["bytes_per_parked_asyncio_task"]
        target("memory_below_asyncio",
               f"bytes per parked task < asyncio Task's ({'-' if aio_bytes is None else aio_bytes})",
               fig["bytes_per_parked_task"] if aio_bytes is not None else None,
               aio_bytes if aio_bytes is not None else 0.0, higher_is_better=False)

    # ---- notes and problems -----------------------------------------------------------
    notes.append("memory: the asyncio tasks all wait on ONE shared future (asyncio's cheapest "
                 "parking); figures include each task's handle, generator/coroutine and frame, "
                 "and the scheduler's bookkeeping")
    print_notes(notes, problems_of(cells, same_error_once=True))

    # ---- JSON -------------------------------------------------------------------------
    summary: dict[str, Any] = dict(fig)
    summary["sizes"] = {f"{name}_{side}": list(c.sizes) for (name, side), c in cells.items()}
    summary["reps"] = reps
    summary["mode"] = mode
    summary["targets"] = targets.entries
    summary["status"] = {f"{name}_{side}": c.status for (name, side), c in cells.items()}
    summary["ref_python"] = ref_python if use_ref else None
    summary["python"] = platform.python_version()
    print_json_line(summary)
    return 1 if any_failed(cells, ("ours", "asyncio")) else 0


def main(argv: Optional[list[str]] = None) -> int:
    args_list = sys.argv[1:] if argv is None else argv
    if args_list[:1] == ["--worker"]:
        side, name, *sizes = args_list[1:]
        worker_main(side, name, tuple(int(s) for s in sizes))
        return 0
    parser = new_parser(__doc__)
    parser.add_argument("--no-ref", action="store_true", help="skip the published actress 0.1")
    add_reps_and_timeout(parser, 60.0)
    add_only(parser, ",".join(w.name for w in WORKLOADS))
    args = parser.parse_args(args_list)
    check_args(parser, args, WORKLOAD_BY_NAME, reps_at_least_one=False)
    return driver_main(args)


if __name__ == "__main__":
    sys.exit(main())
