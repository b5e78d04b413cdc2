"""The harness shared by the three benchmark scripts (kernel.py, actors.py, jobs.py).

It holds what the scripts did alike, each difference kept as a parameter:

- command line: ``new_parser`` (with ``--quick``), ``add_reps_and_timeout``, ``add_only``,
  ``check_args``, ``reps_of``;
- worker side: ``check`` (a failed sanity check), ``import_ours`` (this repository's
  ``actress``), ``warm_up_sizes`` and ``emit_result`` (the result line a worker prints);
- driver side: ``run_worker_process`` (one fresh worker process, its result line
  parsed), ``Cell`` (the runs of one workload on one side), ``rotated`` (the order of a
  repetition's runs), ``log_run`` (the progress line on stderr), ``timeout_note``,
  ``importable`` (an optional package);
- report: the number formats (``fmt_ns``, ``fmt_bytes``, ``fmt_ratio``, ``safe_ratio``,
  ``rounded``, ``size_label``), ``print_title``, ``print_table``, ``Targets`` (the
  PASS/MISS lines), ``problems_of``, ``any_failed``, ``print_notes`` and
  ``print_json_line``.

The scripts run as ``python bench/X.py``, from any folder, and start themselves again as
``python bench/X.py --worker ...``; either way Python puts ``bench/`` first on
``sys.path``, so they import this module as ``_harness``. It uses the standard library
only, since the workers of the reference sides run it under their own interpreters.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Optional

#: The repository whose ``actress`` the "ours" sides measure (the parent of ``bench/``).
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# --------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------


def new_parser(doc: Optional[str]) -> argparse.ArgumentParser:
    """A parser described by the first paragraph of ``doc``, with ``--quick``."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0] if doc else None)
    parser.add_argument("--quick", action="store_true", help="small sizes, 1 repetition")
    return parser


def add_reps_and_timeout(parser: argparse.ArgumentParser, timeout: float) -> None:
    """``--reps`` and ``--timeout`` (seconds per worker run, ``timeout`` by default)."""
    parser.add_argument("--reps", type=int, default=None,
                        help="alternating runs per side, best kept (default 3, 1 with --quick)")
    parser.add_argument("--timeout", type=float, default=timeout,
                        help="seconds per worker run before it counts as 'timeout' "
                        f"(default {timeout:g})")


def add_only(parser: argparse.ArgumentParser, names: str) -> None:
    """``--only``; ``names`` lists the workloads it takes, for the help."""
    parser.add_argument("--only", default="", help="comma-separated workloads: " + names)


def check_args(parser: argparse.ArgumentParser, args: argparse.Namespace,
               known: Collection[str], *, reps_at_least_one: bool) -> None:
    """Exit with a usage error on a workload of ``--only`` not in ``known`` (and, with
    ``reps_at_least_one``, on ``--reps`` below 1)."""
    for name in filter(None, args.only.split(",")):
        if name not in known:
            parser.error(f"unknown workload {name!r}")
    if reps_at_least_one and args.reps is not None and args.reps < 1:
        parser.error("--reps must be at least 1")


def reps_of(args: argparse.Namespace) -> int:
    """The repetitions asked for: ``--reps``, else 5 (1 with ``--quick``): on a shared
    machine whose speed swings by tens of percent, five alternating runs give both sides'
    best a fair chance at a quiet stretch."""
    reps: int = args.reps if args.reps is not None else (1 if args.quick else 5)
    return reps


# --------------------------------------------------------------------------------------
# Worker side
# --------------------------------------------------------------------------------------


def check(ok: bool, message: str) -> None:
    """Fail the worker run (it then shows 'error') when a sanity check does not hold."""
    if not ok:
        raise AssertionError(message)


def import_ours() -> None:
    """Make sure ``actress`` is imported from this repository, not from elsewhere."""
    sys.path.insert(0, REPO_ROOT)
    module = importlib.import_module("actress")
    where = os.path.abspath(module.__file__ or "")
    if not where.startswith(REPO_ROOT + os.sep):
        raise RuntimeError(f"imported actress from {where}, not from {REPO_ROOT}")


def warm_up_sizes(sizes: tuple[int, ...]) -> tuple[int, ...]:
    """The sizes of a worker's warm-up run: the first at 1/20 (at least 10), the rest kept."""
    return tuple([max(10, sizes[0] // 20)] + list(sizes[1:]))


def emit_result(mark: str, result: dict[str, Any]) -> None:
    """Print a worker's result line: ``mark`` and the result (with the Python version) as
    JSON."""
    result["python"] = sys.version.split()[0]
    print(mark + json.dumps(result), flush=True)


# --------------------------------------------------------------------------------------
# Driver side
# --------------------------------------------------------------------------------------


class WorkerRun(NamedTuple):
    """What one worker process gave."""

    status: str  # ok | timeout | error
    result: Optional[dict[str, Any]]  # its result line, parsed (None unless ok)
    detail: str  # why there is no result (the tail of its stderr)
    stderr: str


def run_worker_process(python: str, script: str, args: Sequence[str], mark: str,
                       timeout: float, *, keep_pythonpath: bool) -> WorkerRun:
    """Run ``python script --worker *args`` in a fresh process (in the script's folder)
    and parse its last line starting with ``mark``. ``keep_pythonpath=False`` drops
    ``PYTHONPATH`` from its environment."""
    cmd = [python, script, "--worker", *args]
    env = dict(os.environ)
    if not keep_pythonpath:
        env.pop("PYTHONPATH", None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                              cwd=os.path.dirname(script), check=False)
    except subprocess.TimeoutExpired:
        return WorkerRun("timeout", None, f"no result within {timeout:.0f}s", "")
    result: Optional[dict[str, Any]] = None
    for line in proc.stdout.splitlines():
        if line.startswith(mark):
            result = json.loads(line[len(mark):])
    if proc.returncode != 0 or result is None:
        tail = "\n".join(proc.stderr.strip().splitlines()[-40:])
        return WorkerRun("error", None, tail or f"exit status {proc.returncode}, no result",
                         proc.stderr)
    return WorkerRun("ok", result, "", proc.stderr)


@dataclass
class Cell:
    """The runs of one workload on one side, or why there are none."""

    sizes: tuple[int, ...] = ()
    figure: str = "ns"  # the result key that ``value`` and ``best`` read
    results: list[dict[str, Any]] = field(default_factory=list)  # one per run that succeeded
    status: str = "ok"  # ok | timeout | error
    detail: str = ""
    stderr: str = ""  # the first stderr a run wrote

    def value(self, result: dict[str, Any]) -> float:
        """One run's figure (ns total or bytes total)."""
        return float(result[self.figure])

    @property
    def best(self) -> Optional[float]:
        """The lowest figure of the runs; None when there is none or a run failed."""
        if not self.results or self.status != "ok":
            return None
        return min(self.value(r) for r in self.results)

    def record(self, run: WorkerRun) -> None:
        """Keep a run's result, or its failure (a failed cell is not run again)."""
        if run.stderr.strip() and not self.stderr:
            self.stderr = run.stderr
        if run.status == "ok" and run.result is not None:
            self.results.append(run.result)
        else:
            self.status, self.detail = run.status, run.detail


def rotated(sides: list[str], rep: int) -> list[str]:
    """The sides in the order repetition ``rep`` runs them: who goes first rotates, so that
    machine noise falls on all."""
    return sides[rep % len(sides):] + sides[:rep % len(sides)]


def log_run(started: float, name: str, side: str, rep: int, reps: int, status: str,
            shown: str, widths: tuple[int, int]) -> None:
    """Print a run's progress line on stderr; ``widths`` pads the name and the side."""
    print(f"[{time.monotonic() - started:6.1f}s] {name:<{widths[0]}} {side:<{widths[1]}} "
          f"run {rep + 1}/{reps}: {status}{shown}", file=sys.stderr, flush=True)


def timeout_note(timeout: float) -> str:
    """The note on how a worker run is bounded."""
    return (f"each worker run is a fresh process with a {timeout:.0f}s timeout; a side that "
            "times out or crashes is not retried and shows 'timeout' or 'error'")


def importable(module: str) -> bool:
    """Whether ``module`` can be imported by the workers (same interpreter, same env)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


# --------------------------------------------------------------------------------------
# Report: number formats
# --------------------------------------------------------------------------------------


def fmt_ns(ns: Optional[float]) -> str:
    if ns is None:
        return "-"
    if ns >= 10_000:
        return f"{ns / 1000:,.1f} us"
    return f"{ns:,.0f} ns"


def fmt_bytes(b: Optional[float]) -> str:
    return "-" if b is None else f"{b:,.0f} B"


def safe_ratio(num: Optional[float], den: Optional[float]) -> Optional[float]:
    """``num / den``, or None when either is missing or ``den`` is 0."""
    if num is None or den is None or den == 0:
        return None
    return num / den


def fmt_ratio(r: Optional[float]) -> str:
    return "-" if r is None else f"{r:,.2f}x"


def rounded(x: Optional[float], digits: int = 1) -> Optional[float]:
    return None if x is None else round(x, digits)


def size_label(sizes: tuple[int, ...]) -> str:
    """``(100_000,)`` -> ``100k``, ``(500, 10)`` -> ``500x10``."""
    def k(v: int) -> str:
        return f"{v // 1000}k" if v >= 1000 and v % 1000 == 0 else str(v)
    return "x".join(k(s) for s in sizes)


# --------------------------------------------------------------------------------------
# Report: printing
# --------------------------------------------------------------------------------------


def print_title(what: str, mode: str, reps: int, elapsed: float) -> None:
    """The first line of a report: ``actress <what> benchmark (...)``."""
    print(f"actress {what} benchmark ({mode}, best of {reps}, Python "
          f"{platform.python_version()}, {os.cpu_count()} CPUs, {elapsed:.0f}s)")


def print_table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    """The table: the first column left-aligned, the others right-aligned; a blank line
    after it."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def fmt_row(r: tuple[str, ...]) -> str:
        return "  ".join(v.ljust(widths[i]) if i == 0 else v.rjust(widths[i])
                         for i, v in enumerate(r))

    line = fmt_row(header)
    print(line)
    print("-" * len(line))
    for row in rows:
        print(fmt_row(row))
    print()


class Targets:
    """Target checks, each printed as a PASS/MISS (or n/a) line and kept for the JSON."""

    def __init__(self, label_width: int, value_spec: str) -> None:
        self.label_width = label_width  # the label column's width
        self.value_spec = value_spec  # the format of the value shown
        self.entries: dict[str, dict[str, Any]] = {}

    def check(self, key: str, label: str, value: Optional[float], goal: float,
              passed: Callable[[float], bool], op: str = "") -> None:
        """Judge ``value`` with ``passed`` (n/a when None); ``op``, when given, goes into
        the JSON entry."""
        verdict = None if value is None else passed(value)
        entry: dict[str, Any] = {"value": value}
        if op:
            entry["op"] = op
        entry["goal"] = goal
        entry["pass"] = verdict
        self.entries[key] = entry
        mark = "n/a " if verdict is None else ("PASS" if verdict else "MISS")
        shown = "-" if value is None else format(value, self.value_spec)
        print(f"  {mark}  {label:<{self.label_width}} {shown}")


def problems_of(cells: dict[tuple[str, str], Cell], same_error_once: bool = False
                ) -> list[str]:
    """A paragraph per cell that failed or wrote to stderr. With ``same_error_once``, an
    error seen before (same innermost frame and message) is named, not repeated."""
    problems: list[str] = []
    seen: dict[str, str] = {}  # traceback -> first workload that showed it
    for (name, side), c in cells.items():
        if c.status != "ok":
            key = "\n".join(c.detail.splitlines()[-4:])  # innermost frame and the error
            if same_error_once and key in seen:
                problems.append(f"--- {name} / {side}: {c.status}, same error as {seen[key]}")
            else:
                seen[key] = f"{name} / {side}"
                problems.append(f"--- {name} / {side}: {c.status}\n{c.detail}")
        elif c.stderr.strip():
            head = "\n".join(c.stderr.strip().splitlines()[:12])
            problems.append(f"--- {name} / {side}: ok, but wrote to stderr:\n{head}")
    return problems


def any_failed(cells: dict[tuple[str, str], Cell], sides: Collection[str]) -> bool:
    """Whether a cell of one of ``sides`` timed out or crashed."""
    return any(c.status != "ok" and side in sides for (_, side), c in cells.items())


def print_notes(notes: list[str], problems: list[str]) -> None:
    """The notes, then the problems (if any), after a blank line each."""
    print()
    print("notes")
    for n in notes:
        print(f"  - {n}")
    if problems:
        print()
        print("problems")
        for p in problems:
            print(p)


def print_json_line(summary: dict[str, Any]) -> None:
    """The last line of stdout: every figure as one JSON object."""
    print()
    print(json.dumps(summary))
