"""Actor micro-benchmarks: actress channels and actors vs asyncio (and pykka, thespian).

What it measures (each figure from a fresh worker process; best of N alternating runs):

1. ``pingpong``: two tasks bounce a counter through two ``Channel(1)``, 100k round trips,
   reported per ONE-WAY message (2 messages per round trip). asyncio: the main coroutine
   and one Task bounce it through two unbounded ``asyncio.Queue`` (``await put`` /
   ``await get``). An extra row gives ours with rendezvous channels, ``Channel(0)``; it
   is not part of the ratio.
2. ``tell``: 100k ``ref.tell(i)`` from a task into one counting actor, then a final
   ``ask`` that returns only once the actor has handled them all; per tell. asyncio:
   ``queue.put_nowait(i)`` into a Queue a consumer Task drains, then a final request
   carrying a Future for the reply.
3. ``ask_task``: 50k request/reply round trips from a task, ``yield from ref.ask(i)``
   against an echo server, ``serve(lambda m: m)``: a request/reply actor written the
   way actress recommends, which an ask finds idle and runs without a switch (then the
   asker lets the others run once); per round trip. An extra row (not in the ratio)
   asks an echo actor written as a receive loop (``msg.reply(msg.message)``), which
   costs two switches per ask. asyncio: a server Task reads ``(value, future)`` from a
   Queue and sets the result; the client does
   ``fut = loop.create_future(); await q.put((i, fut)); await fut``.
4. ``ask_asyncio``: 20k round trips from asyncio code, ``await ref.ask(i)`` in an
   ``async def`` run by ``asyncio.run`` (the echo server started with
   ``ref = await task.fork(serve(...))``; an extra row, not in the ratio, asks the
   receive-loop echo); per round trip. The baseline is the asyncio Queue+Future code of
   3, measured again in its own worker at this size.
5. ``memory``: bytes per idle actor (tracemalloc, after ``gc.collect()``): 10k echo
   actors started one by one, each parked in ``receive()``; the figure is (traced after
   - traced before) / 10k and includes everything the actor needs (its ref, mailbox,
   inbox, scope, forks, generators and frames). asyncio: 10k Tasks, each parked in
   ``await q.get()`` on its own Queue (Queue, Task, coroutine and waiter future counted).

Times are measured inside the workload with ``time.perf_counter_ns`` (starting an actor
or a task before the loop is not counted; stopping it after the loop is not counted).
Every worker first runs the workload at 1/20 of its size (imports, caches, allocator
arenas), then measures it once. Ratios are "times better than": other / ours, for times
and for bytes alike, so higher is better for actress.

pykka and thespian are optional: when importable they run 1-3 (pykka with
``ThreadingActor``, driven from the main thread, its ``ask`` blocking; thespian on its
in-process ``simpleSystemBase``) at smaller sizes; when not, their columns say
"skipped" and a note says why. Their memory is not measured (pykka's actors are OS
threads, whose stacks tracemalloc does not see).

Run::

    python bench/actors.py              # full run, best of 5 (about 3 minutes)
    python bench/actors.py --quick      # small sizes, 1 repetition (smoke test)
    python bench/actors.py --reps 9 --only pingpong,ask_task

The output is a table, target checks marked PASS/MISS (a miss never fails the run), and,
as the last line of stdout, one JSON object with every figure. JSON keys: ``<key>_ns`` is
ours, ``asyncio_<key>_ns`` / ``pykka_<key>_ns`` / ``thespian_<key>_ns`` the others,
``<key>_vs_<other>`` the ratio other / ours. The exit status is 1 only when a workload
of ours (or an asyncio baseline) crashed or timed out.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import platform
import sys
import threading
import time
import tracemalloc
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, Callable, Optional

from _harness import (REPO_ROOT, Cell, Targets, WorkerRun, add_only, add_reps_and_timeout,
                      any_failed, check_args, emit_result, fmt_bytes, fmt_ns, fmt_ratio,
                      import_ours, importable, log_run, new_parser, print_json_line,
                      print_notes, print_table, print_title, problems_of, reps_of, rotated,
                      rounded, run_worker_process, safe_ratio, size_label, timeout_note)
from _harness import check as _check

RESULT_MARK = "@@ACTORS-BENCH-RESULT "

Gen = Generator[Any, Any, Any]

#: Every side a workload may run on, in the order the runs alternate.
SIDES = ("ours", "ours_rendezvous", "ours_loop", "asyncio", "pykka", "thespian")
#: Sides that are optional third-party packages (skipped when not importable).
OPTIONAL = ("pykka", "thespian")

# --------------------------------------------------------------------------------------
# Workload definitions
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    """One benchmarked workload: its sizes per mode and which sides run it."""

    name: str  # the name --only takes
    key: str  # the name its figures have in the JSON
    title: str
    full: int
    quick: int
    sides: tuple[str, ...]
    other_full: Optional[int] = None  # size for pykka / thespian (slower: thread hops)
    other_quick: Optional[int] = None
    per_item: int = 1  # operations per unit of size (pingpong: 2 messages per round trip)
    kind: str = "time"  # "time" (ns per op) or "memory" (bytes per actor)

    def size(self, side: str, quick: bool) -> int:
        if side in OPTIONAL and self.other_full is not None and self.other_quick is not None:
            return self.other_quick if quick else self.other_full
        return self.quick if quick else self.full

    def ops(self, size: int) -> int:
        """Number of operations a run's total is divided by."""
        return size * self.per_item


WORKLOADS: tuple[Workload, ...] = (
    Workload("pingpong", "pingpong", "ping-pong through two channels (per message)",
             100_000, 5_000, ("ours", "ours_rendezvous", "asyncio", "pykka", "thespian"),
             other_full=10_000, other_quick=1_000, per_item=2),
    Workload("tell", "tell", "tell into one actor, then one ask (per tell)",
             100_000, 5_000, ("ours", "asyncio", "pykka", "thespian"),
             other_full=20_000, other_quick=1_000),
    Workload("ask_task", "ask", "ask from a task (per round trip)",
             50_000, 2_000, ("ours", "ours_loop", "asyncio", "pykka", "thespian"),
             other_full=5_000, other_quick=500),
    Workload("ask_asyncio", "ask_asyncio", "await ref.ask() from asyncio (per round trip)",
             20_000, 1_000, ("ours", "ours_loop", "asyncio")),
    Workload("memory", "memory", "memory per idle actor (tracemalloc)",
             10_000, 1_000, ("ours", "asyncio"), kind="memory"),
)
WORKLOAD_BY_NAME = {w.name: w for w in WORKLOADS}

# --------------------------------------------------------------------------------------
# Worker side: runs one workload once in a fresh process and prints a result line
# --------------------------------------------------------------------------------------


class Ours:
    """The workloads written with actress (channels, actors)."""

    def __init__(self) -> None:
        import_ours()
        import actress
        from actress import task
        from actress.actor import Call, serve, start
        from actress.channel import Channel

        self.actress = actress
        self.task = task
        self.Channel = Channel
        self.Call = Call
        self.start = start
        self.serve = serve

    # -- actor and task bodies ---------------------------------------------------------

    @staticmethod
    def ponger(a: Any, b: Any, n: int) -> Gen:
        for _ in range(n):
            x = yield from a.receive()
            yield from b.send(x)

    def counter(self, inbox: Any) -> Gen:
        """Counts plain tells; answers a ``Call`` with the count."""
        call_type = self.Call
        n = 0
        while True:
            msg = yield from inbox.receive()
            if type(msg) is call_type:
                msg.reply(n)
            else:
                n += 1

    @staticmethod
    def echo(inbox: Any) -> Gen:
        while True:
            msg = yield from inbox.receive()
            msg.reply(msg.message)

    # -- workloads (each returns the measured ns, or bytes) ----------------------------

    def pingpong_main(self, n: int, capacity: int) -> Gen:
        a: Any = self.Channel(capacity)
        b: Any = self.Channel(capacity)
        pong = yield from self.task.fork(self.ponger(a, b, n))
        total = 0
        t0 = time.perf_counter_ns()
        for i in range(n):
            yield from a.send(i)
            total += yield from b.receive()
        ns = time.perf_counter_ns() - t0
        _check(total == n * (n - 1) // 2, f"pingpong: got {total!r}")
        yield from self.task.join(pong)
        return ns

    def tell_main(self, n: int) -> Gen:
        ref = yield from self.start(self.counter, name="counter")
        t0 = time.perf_counter_ns()
        for i in range(n):
            ref.tell(i)
        got = yield from ref.ask("get")
        ns = time.perf_counter_ns() - t0
        _check(got == n, f"tell: the actor counted {got!r} of {n}")
        yield from self._stop(ref)
        return ns

    def ask_main(self, n: int, loop: bool) -> Gen:
        if loop:
            ref = yield from self.start(self.echo, name="echo")
        else:
            ref = yield from self.serve(lambda message: message, name="echo")
        total = 0
        t0 = time.perf_counter_ns()
        for i in range(n):
            total += yield from ref.ask(i)
        ns = time.perf_counter_ns() - t0
        _check(total == n * (n - 1) // 2, f"ask: got {total!r}")
        yield from self._stop(ref)
        return ns

    async def ask_from_asyncio(self, n: int, loop: bool) -> int:
        if loop:
            ref = await self.task.fork(self.start(self.echo, name="echo"))
        else:
            ref = await self.task.fork(self.serve(lambda message: message, name="echo"))
        total = 0
        t0 = time.perf_counter_ns()
        for i in range(n):
            total += await ref.ask(i)
        ns = time.perf_counter_ns() - t0
        _check(total == n * (n - 1) // 2, f"ask_asyncio: got {total!r}")
        await self.task.fork(self._stop(ref))
        return ns

    def memory_main(self, n: int) -> Gen:
        start, echo = self.start, self.echo
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        refs = []
        for _ in range(n):
            refs.append((yield from start(echo)))
        after = tracemalloc.get_traced_memory()[0]
        parked = sum(1 for r in refs if r.mailbox.statistics().receivers_waiting == 1)
        _check(parked == n, f"memory: only {parked} of {n} actors parked in receive()")
        for ref in refs:
            ref.stop()
        for ref in refs:
            reason = yield from ref.join()
            _check(reason is None, f"memory: an actor ended with {reason!r}")
        return after - before

    @staticmethod
    def _stop(ref: Any) -> Gen:
        ref.stop()
        reason = yield from ref.join()
        _check(reason is None, f"{ref!r} ended with {reason!r}")

    # -- driver ------------------------------------------------------------------------

    def run(self, name: str, n: int, side: str) -> dict[str, Any]:
        run = self.actress.run
        gc.collect()
        if name == "pingpong":
            return {"ns": run(self.pingpong_main(n, 0 if side == "ours_rendezvous" else 1))}
        if name == "tell":
            return {"ns": run(self.tell_main(n))}
        if name == "ask_task":
            return {"ns": run(self.ask_main(n, side == "ours_loop"))}
        if name == "ask_asyncio":
            return {"ns": asyncio.run(self.ask_from_asyncio(n, side == "ours_loop"))}
        if name == "memory":
            tracemalloc.start()
            try:
                return {"bytes_total": run(self.memory_main(n))}
            finally:
                tracemalloc.stop()
        raise ValueError(f"unknown workload {name!r}")


class Asyncio:
    """The asyncio baselines: Tasks, Queues and Futures."""

    @staticmethod
    async def ponger(a: asyncio.Queue[int], b: asyncio.Queue[int], n: int) -> None:
        for _ in range(n):
            x = await a.get()
            await b.put(x)

    @staticmethod
    async def counter(q: asyncio.Queue[Any]) -> None:
        """Counts plain items; answers ``("get", future)`` with the count; ends on None."""
        n = 0
        while True:
            msg = await q.get()
            if msg is None:
                return
            if type(msg) is tuple:
                msg[1].set_result(n)
            else:
                n += 1

    @staticmethod
    async def server(q: asyncio.Queue[Any]) -> None:
        """Echo: sets each ``(value, future)``'s future to the value; ends on None."""
        while True:
            item = await q.get()
            if item is None:
                return
            value, fut = item
            fut.set_result(value)

    @staticmethod
    async def parked(q: asyncio.Queue[int], count: list[int]) -> int:
        count[0] += 1
        return await q.get()

    async def pingpong(self, n: int) -> int:
        a: asyncio.Queue[int] = asyncio.Queue()
        b: asyncio.Queue[int] = asyncio.Queue()
        pong = asyncio.create_task(self.ponger(a, b, n))
        total = 0
        t0 = time.perf_counter_ns()
        for i in range(n):
            await a.put(i)
            total += await b.get()
        ns = time.perf_counter_ns() - t0
        _check(total == n * (n - 1) // 2, f"pingpong: got {total!r}")
        await pong
        return ns

    async def tell(self, n: int) -> int:
        q: asyncio.Queue[Any] = asyncio.Queue()
        consumer = asyncio.create_task(self.counter(q))
        await asyncio.sleep(0)  # let it park in get(), as our actor is parked in receive()
        loop = asyncio.get_running_loop()
        t0 = time.perf_counter_ns()
        for i in range(n):
            q.put_nowait(i)
        fut: asyncio.Future[int] = loop.create_future()
        q.put_nowait(("get", fut))
        got = await fut
        ns = time.perf_counter_ns() - t0
        _check(got == n, f"tell: the consumer counted {got!r} of {n}")
        q.put_nowait(None)
        await consumer
        return ns

    async def ask(self, n: int) -> int:
        q: asyncio.Queue[Any] = asyncio.Queue()
        server = asyncio.create_task(self.server(q))
        await asyncio.sleep(0)
        loop = asyncio.get_running_loop()
        total = 0
        t0 = time.perf_counter_ns()
        for i in range(n):
            fut = loop.create_future()
            await q.put((i, fut))
            total += await fut
        ns = time.perf_counter_ns() - t0
        _check(total == n * (n - 1) // 2, f"ask: got {total!r}")
        await q.put(None)
        await server
        return ns

    async def memory(self, n: int) -> int:
        count = [0]
        tracemalloc.start()
        try:
            gc.collect()
            before = tracemalloc.get_traced_memory()[0]
            queues: list[asyncio.Queue[int]] = [asyncio.Queue() for _ in range(n)]
            tasks = [asyncio.create_task(self.parked(q, count)) for q in queues]
            turns = 0
            while count[0] < n and turns < 1000:  # let every task run up to its get()
                await asyncio.sleep(0)
                turns += 1
            after = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
        _check(count[0] == n, f"memory: only {count[0]} of {n} asyncio tasks parked")
        for q in queues:
            q.put_nowait(1)
        results = await asyncio.gather(*tasks)
        _check(sum(results) == n, "memory: asyncio tasks did not finish")
        return after - before

    def run(self, name: str, n: int, side: str) -> dict[str, Any]:
        gc.collect()
        if name == "pingpong":
            return {"ns": asyncio.run(self.pingpong(n))}
        if name == "tell":
            return {"ns": asyncio.run(self.tell(n))}
        if name in ("ask_task", "ask_asyncio"):  # one baseline for both
            return {"ns": asyncio.run(self.ask(n))}
        if name == "memory":
            return {"bytes_total": asyncio.run(self.memory(n))}
        raise ValueError(f"no asyncio baseline for {name!r}")


class Pykka:
    """pykka (thread per actor): actors driven from the main thread."""

    def __init__(self) -> None:
        import pykka  # type: ignore[import-not-found,unused-ignore]

        self.pykka = pykka

        class Counter(pykka.ThreadingActor):  # type: ignore[misc,unused-ignore]
            def __init__(self) -> None:
                super().__init__()
                self.n = 0

            def on_receive(self, message: Any) -> Any:
                if message == "get":
                    return self.n
                self.n += 1
                return None

        class Echo(pykka.ThreadingActor):  # type: ignore[misc,unused-ignore]
            def on_receive(self, message: Any) -> Any:
                return message

        class Pong(pykka.ThreadingActor):  # type: ignore[misc,unused-ignore]
            def __init__(self) -> None:
                super().__init__()
                self.peer: Any = None

            def on_receive(self, message: Any) -> Any:
                if type(message) is tuple:  # ("peer", ref), asked before the run
                    self.peer = message[1]
                    return True
                self.peer.tell(message + 1)
                return None

        class Ping(pykka.ThreadingActor):  # type: ignore[misc,unused-ignore]
            def __init__(self, pong: Any, n: int, done: threading.Event) -> None:
                super().__init__()
                self.pong, self.n, self.done = pong, n, done

            def on_receive(self, message: Any) -> Any:
                if message == self.n:
                    self.done.set()
                else:
                    self.pong.tell(message)
                return None

        self.Counter, self.Echo, self.Pong, self.Ping = Counter, Echo, Pong, Ping

    def run(self, name: str, n: int, side: str) -> dict[str, Any]:
        gc.collect()
        try:
            if name == "pingpong":
                # ping -> pong (one message), pong -> ping with the counter + 1 (another)
                done = threading.Event()
                pong = self.Pong.start()
                ping = self.Ping.start(pong, n, done)
                pong.ask(("peer", ping))
                t0 = time.perf_counter_ns()
                ping.tell(0)
                _check(done.wait(120), "pingpong: pykka did not finish")
                ns = time.perf_counter_ns() - t0
            elif name == "tell":
                ref: Any = self.Counter.start()
                t0 = time.perf_counter_ns()
                for i in range(n):
                    ref.tell(i)
                got = ref.ask("get")
                ns = time.perf_counter_ns() - t0
                _check(got == n, f"tell: pykka counted {got!r} of {n}")
            elif name == "ask_task":
                echo: Any = self.Echo.start()
                total = 0
                t0 = time.perf_counter_ns()
                for i in range(n):
                    total += echo.ask(i)
                ns = time.perf_counter_ns() - t0
                _check(total == n * (n - 1) // 2, f"ask: pykka got {total!r}")
            else:
                raise ValueError(f"no pykka version of {name!r}")
        finally:
            self.pykka.ActorRegistry.stop_all()
        return {"ns": ns}


class Thespian:
    """thespian on its in-process ``simpleSystemBase``."""

    def __init__(self) -> None:
        from thespian.actors import (  # type: ignore[import-not-found,import-untyped,unused-ignore]
            Actor, ActorSystem)

        self.ActorSystem = ActorSystem

        class Counter(Actor):  # type: ignore[misc,unused-ignore]
            n = 0

            def receiveMessage(self, message: Any, sender: Any) -> None:
                if message == "get":
                    self.send(sender, self.n)
                elif type(message) is int:
                    self.n += 1

        class Echo(Actor):  # type: ignore[misc,unused-ignore]
            def receiveMessage(self, message: Any, sender: Any) -> None:
                if type(message) is int:
                    self.send(sender, message)

        class Pong(Actor):  # type: ignore[misc,unused-ignore]
            def receiveMessage(self, message: Any, sender: Any) -> None:
                if type(message) is int:
                    self.send(sender, message + 1)

        class Ping(Actor):  # type: ignore[misc,unused-ignore]
            def receiveMessage(self, message: Any, sender: Any) -> None:
                if type(message) is tuple:  # ("start", n, pong): remember who asked
                    _, self.n, self.pong = message
                    self.client = sender
                    self.send(self.pong, 0)
                elif type(message) is int:
                    if message == self.n:
                        self.send(self.client, message)
                    else:
                        self.send(self.pong, message)

        self.Counter, self.Echo, self.Pong, self.Ping = Counter, Echo, Pong, Ping

    def run(self, name: str, n: int, side: str) -> dict[str, Any]:
        gc.collect()
        asys = self.ActorSystem("simpleSystemBase")
        try:
            if name == "pingpong":
                pong = asys.createActor(self.Pong)
                ping = asys.createActor(self.Ping)
                t0 = time.perf_counter_ns()
                got = asys.ask(ping, ("start", n, pong), 120)
                ns = time.perf_counter_ns() - t0
                _check(got == n, f"pingpong: thespian answered {got!r}")
            elif name == "tell":
                ref = asys.createActor(self.Counter)
                t0 = time.perf_counter_ns()
                for i in range(n):
                    asys.tell(ref, i)
                got = asys.ask(ref, "get", 120)
                ns = time.perf_counter_ns() - t0
                _check(got == n, f"tell: thespian counted {got!r} of {n}")
            elif name == "ask_task":
                ref = asys.createActor(self.Echo)
                total = 0
                t0 = time.perf_counter_ns()
                for i in range(n):
                    total += asys.ask(ref, i, 120)
                ns = time.perf_counter_ns() - t0
                _check(total == n * (n - 1) // 2, f"ask: thespian got {total!r}")
            else:
                raise ValueError(f"no thespian version of {name!r}")
        finally:
            asys.shutdown()
        return {"ns": ns}


def worker_main(side: str, name: str, n: int) -> None:
    """Entry point of a worker process: warm up, run once, print the result line."""
    runner: Callable[[str, int, str], dict[str, Any]]
    if side in ("ours", "ours_rendezvous", "ours_loop"):
        runner = Ours().run
    elif side == "asyncio":
        runner = Asyncio().run
    elif side == "pykka":
        runner = Pykka().run
    elif side == "thespian":
        runner = Thespian().run
    else:
        raise ValueError(f"unknown side {side!r}")
    runner(name, max(10, n // 20), side)  # warm-up: imports, first-use caches, arenas
    emit_result(RESULT_MARK, runner(name, n, side))


# --------------------------------------------------------------------------------------
# Driver side: alternates worker processes and reports
# --------------------------------------------------------------------------------------


def run_worker(side: str, wl: Workload, size: int, timeout: float) -> WorkerRun:
    """Run one worker process (PYTHONPATH kept: it may be where pykka / thespian are)."""
    return run_worker_process(sys.executable, os.path.abspath(__file__),
                              [side, wl.name, str(size)], RESULT_MARK, timeout,
                              keep_pythonpath=True)


def driver_main(args: argparse.Namespace) -> int:
    quick: bool = args.quick
    reps = reps_of(args)
    timeout: float = args.timeout
    selected = ([WORKLOAD_BY_NAME[n] for n in args.only.split(",") if n] if args.only
                else list(WORKLOADS))

    notes: list[str] = []
    available = {side: True for side in SIDES}
    for module in OPTIONAL:
        if not importable(module):
            available[module] = False
            notes.append(f"{module} skipped: not importable by {sys.executable} "
                         f"(optional; `pip install -e '.[bench]'` to include it)")

    cells: dict[tuple[str, str], Cell] = {}
    started = time.monotonic()
    for wl in selected:
        sides = [s for s in wl.sides if available[s]]
        for side in sides:
            cells[(wl.name, side)] = Cell(sizes=(wl.size(side, quick),),
                                          figure="bytes_total" if wl.kind == "memory" else "ns")
        for rep in range(reps):
            for side in rotated(sides, rep):
                cell = cells[(wl.name, side)]
                if cell.status != "ok":
                    continue  # a timeout or crash is not retried
                run = run_worker(side, wl, cell.sizes[0], timeout)
                shown = "" if run.result is None else f" {cell.value(run.result):,.0f}"
                log_run(started, wl.name, side, rep, reps, run.status, shown, widths=(12, 16))
                cell.record(run)

    notes.append(timeout_note(timeout))
    return report(selected, cells, available, reps, quick, notes, time.monotonic() - started)


def report(selected: list[Workload], cells: dict[tuple[str, str], Cell],
           available: dict[str, bool], reps: int, quick: bool, notes: list[str],
           elapsed: float) -> int:
    """Print the table, the target checks, notes, problems and the JSON line; return the
    exit status."""

    def per_op(wl: Workload, side: str) -> Optional[float]:
        c = cells.get((wl.name, side))
        if c is None or c.best is None:
            return None
        return c.best / wl.ops(c.sizes[0])

    def shown(wl: Workload, side: str, text: str) -> str:
        c = cells.get((wl.name, side))
        if c is None:
            if side in wl.sides and not available[side]:
                return "skipped"
            return "n/a"
        if c.status != "ok":
            return c.status
        return f"{text} @{size_label(c.sizes)}"

    fig: dict[str, Any] = {}
    rows: list[tuple[str, ...]] = []
    others = ("asyncio", "pykka", "thespian")

    for wl in selected:
        fmt = fmt_bytes if wl.kind == "memory" else fmt_ns
        ours = per_op(wl, "ours")
        row: list[str] = [wl.title, shown(wl, "ours", fmt(ours))]
        if wl.kind == "memory":
            fig["bytes_per_idle_actor"] = rounded(ours)
        else:
            fig[f"{wl.key}_ns"] = rounded(ours)
        for other in others:
            value = per_op(wl, other)
            ratio = rounded(safe_ratio(value, ours), 2)
            if wl.kind == "memory":
                if other == "asyncio":
                    fig["asyncio_bytes_per_idle_task"] = rounded(value)
                    fig["memory_vs_asyncio"] = ratio
            elif other in wl.sides:  # keys only for the sides this workload has
                fig[f"{other}_{wl.key}_ns"] = rounded(value)
                fig[f"{wl.key}_vs_{other}"] = ratio
            row += [shown(wl, other, fmt(value)),
                    fmt_ratio(ratio) if (wl.name, other) in cells else "-"]
        rows.append(tuple(row))
        if wl.name == "pingpong":
            rdv = per_op(wl, "ours_rendezvous")
            fig["pingpong_rendezvous_ns"] = rounded(rdv)
            rows.append(("  ours with Channel(0) rendezvous (not in ratio)",
                         shown(wl, "ours_rendezvous", fmt_ns(rdv)),
                         *(["", ""] * len(others))))
        if wl.name in ("ask_task", "ask_asyncio"):
            loop_ns = per_op(wl, "ours_loop")
            fig[f"{wl.key}_loop_ns"] = rounded(loop_ns)
            fig[f"{wl.key}_loop_vs_asyncio"] = rounded(
                safe_ratio(per_op(wl, "asyncio"), loop_ns), 2)
            rows.append(("  ours, asking a receive-loop actor (not in ratio)",
                         shown(wl, "ours_loop", fmt_ns(loop_ns)), "",
                         fmt_ratio(fig[f"{wl.key}_loop_vs_asyncio"])
                         if (wl.name, "ours_loop") in cells else "-",
                         *(["", ""] * (len(others) - 1))))

    mode = "quick" if quick else "full"
    print_title("actor", mode, reps, elapsed)
    print(f"  ours: actress from {REPO_ROOT}")
    print("  ratios: other / ours, for times and bytes alike (higher is better for ours);"
          " @size = workload size")
    print()
    print_table(("workload", "ours", "asyncio", "vs asyncio", "pykka", "vs pykka",
                 "thespian", "vs thespian"), rows)

    # ---- targets -------------------------------------------------------------------
    targets = Targets(label_width=48, value_spec=",.2f")

    def target(key: str, label: str, value: Optional[float], goal: float) -> None:
        targets.check(key, label, value, goal, lambda v: v >= goal)

    names = {w.name for w in selected}
    print("targets")
    if "pingpong" in names:
        target("pingpong_vs_asyncio", "ping-pong >= 5x faster than asyncio",
               fig.get("pingpong_vs_asyncio"), 5.0)
    if "ask_task" in names:
        target("ask_vs_asyncio", "ask from a task >= 10x faster than asyncio",
               fig.get("ask_vs_asyncio"), 10.0)

    # ---- notes and problems ----------------------------------------------------------
    if "ask_asyncio" in names:
        notes.append("ask_asyncio: the asyncio figure is the Queue+Future client/server of "
                     "ask_task, measured again at this size; `await ref.ask()` into an idle "
                     "server runs its handler in the awaiting coroutine; into a receive loop "
                     "it puts the call in the mailbox and waits on an asyncio future (a task "
                     "only when the mailbox is full)")
    if "ask_task" in names:
        notes.append("ask_task: ours asks a server (serve), whose handler an ask that finds "
                     "it idle runs in the asking task, then yields once; the receive-loop "
                     "row costs two task switches per ask")
    if "memory" in names:
        notes.append("memory: ours counts ref, mailbox Channel, inbox, scope, forks, "
                     "generators and frames; asyncio counts a Queue, Task, coroutine and "
                     "the getter future per task; pykka/thespian not measured")
    if any(available[m] for m in OPTIONAL):
        notes.append("pykka/thespian run smaller sizes (see @size); pykka is driven from the "
                     "main thread (blocking ask), thespian on simpleSystemBase; their "
                     "ping-pong is two actors bouncing the counter")
    print_notes(notes, problems_of(cells))

    # ---- JSON -------------------------------------------------------------------------
    summary: dict[str, Any] = dict(fig)
    summary["sizes"] = {f"{name}_{side}": c.sizes[0] for (name, side), c in cells.items()}
    summary["status"] = {f"{name}_{side}": c.status for (name, side), c in cells.items()}
    summary["skipped"] = [m for m in OPTIONAL if not available[m]]
    summary["reps"] = reps
    summary["mode"] = mode
    summary["targets"] = targets.entries
    summary["python"] = platform.python_version()
    print_json_line(summary)
    return 1 if any_failed(cells, ("ours", "ours_rendezvous", "ours_loop", "asyncio")) else 0


def main(argv: Optional[list[str]] = None) -> int:
    args_list = sys.argv[1:] if argv is None else argv
    if args_list[:1] == ["--worker"]:
        side, name, size = args_list[1:4]
        worker_main(side, name, int(size))
        return 0
    parser = new_parser(__doc__)
    add_reps_and_timeout(parser, 120.0)
    add_only(parser, ",".join(w.name for w in WORKLOADS))
    args = parser.parse_args(args_list)
    check_args(parser, args, WORKLOAD_BY_NAME, reps_at_least_one=True)
    return driver_main(args)


if __name__ == "__main__":
    sys.exit(main())
