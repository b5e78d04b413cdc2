"""The shape of the code: layering, linear costs, types, examples that run."""

from __future__ import annotations

import ast
import gc
import pathlib
import subprocess
import sys

import pytest

from actress import task
from actress.actor import serve

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "actress"

# Each module may import only modules of a lower layer (or its own layer's helpers).
LAYERS = {
    "_instructions": 0,
    "_clock": 0,
    "_report": 0,
    "_mistakes": 1,
    "_fork": 1,
    "_call": 1,
    "_joins": 2,
    "_kernel": 2,
    "_effects": 3,
    "task": 3,
    "_run": 4,
    "testing": 4,
    "scope": 4,
    "channel": 4,
    "_ask": 5,
    "actor": 5,
    "supervisor": 5,
    "__init__": 6,
    "jobs.lanes": 0,
    "jobs.events": 0,
    "jobs.retry": 5,
    "jobs.cache": 5,
    "jobs.groups": 5,
    "jobs.workers": 6,
    "jobs.admission": 6,
    "jobs.lifecycle": 6,
    "jobs.engine": 7,
    "jobs.aio": 8,
    "jobs.replay": 1,
    "jobs.watch": 2,
    "jobs.__init__": 9,
}
ALLOWED_SAME_LAYER = {
    ("task", "_effects"), ("_effects", "task"), ("supervisor", "actor"), ("_kernel", "_joins"),
    ("_fork", "_mistakes"), ("_mistakes", "_fork"), ("actor", "_ask"),
}


def _imports(module: str) -> set[str]:
    """Modules of the package imported by ``module`` (type-checking-only imports aside),
    named as in LAYERS (``jobs.engine``)."""
    package = module.rpartition(".")[0]  # "" at the top, "jobs" in actress/jobs
    found = set()
    todo: list[ast.AST] = [ast.parse((PACKAGE / f"{module.replace('.', '/')}.py").read_text())]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            continue
        if isinstance(node, ast.ImportFrom) and node.level >= 1:
            base = package if node.level == 1 else ""
            names = [node.module] if node.module else [alias.name for alias in node.names]
            for name in names:
                first = name.split(".")[0]
                found.add(f"{base}.{first}" if base else first)
        todo.extend(ast.iter_child_nodes(node))
    return found


@pytest.mark.parametrize("module", sorted(LAYERS))
def test_modules_import_only_lower_layers(module):
    for imported in _imports(module):
        same = (module, imported) in ALLOWED_SAME_LAYER
        assert LAYERS[imported] < LAYERS[module] or same, f"{module} imports {imported}"


def test_every_module_is_in_a_layer():
    found = {str(p.relative_to(PACKAGE).with_suffix("")).replace("/", ".")
             for p in PACKAGE.rglob("*.py")}
    assert found == set(LAYERS)


def test_kernel_does_not_import_asyncio():
    for module in ("_kernel", "_instructions", "_fork"):
        tree = ast.parse((PACKAGE / f"{module}.py").read_text())
        top_level = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        names = {a.name for n in top_level for a in n.names} | {
            n.module for n in top_level if isinstance(n, ast.ImportFrom) and n.module}
        assert "asyncio" not in names, module


def _python_calls(program) -> int:
    """Count Python-level function calls made while running ``program`` to the end."""
    from actress import _kernel, _report

    calls = 0
    collector = _kernel._gc_phase.__code__  # (runs when a collection does, not per task)

    def profiler(frame, event, arg):
        nonlocal calls
        if event == "call" and frame.f_code is not collector:
            calls += 1

    gc.collect()  # earlier tests' garbage, and the failures it reports, are not counted
    _report.flush_reports()
    sys.setprofile(profiler)
    try:
        task.fork(program).activate()
    finally:
        sys.setprofile(None)
    return calls


def _fork_all_then_join_all(n):
    def child(i):
        return i
        yield

    def main():
        forks = []
        for i in range(n):
            forks.append((yield from task.fork(child(i))))
        for fork in forks:
            yield from task.join(fork)

    return main()


def _sleepers(n):
    def sleeper():
        for _ in range(4):
            yield from task.sleep(0)

    def main():
        forks = []
        for _ in range(n):
            forks.append((yield from task.fork(sleeper())))
        yield from task.group(forks)

    return main()


def _batch_failing_among_sleepers(n):
    def fail():
        yield from task.sleep(0)
        raise ValueError("one member fails: the others are aborted")

    def main():
        try:  # (suspended members: no clock is needed to run this)
            yield from task.batch([task.suspend() for _ in range(n)] + [fail()])
        except ValueError:
            pass

    return main()


def _abort_nested_joins(n):
    def nest(depth):
        if depth:
            return (yield from task.join((yield from task.fork(nest(depth - 1)))))
        yield from task.suspend()

    def main():
        top = yield from task.fork(nest(n))
        yield from task.sleep(0)
        yield from task.abort(top, ValueError("abort the whole chain"))

    return main()


@pytest.mark.parametrize("program", [_fork_all_then_join_all, _sleepers,
                                     _batch_failing_among_sleepers, _abort_nested_joins])
def test_work_per_task_does_not_grow_with_the_number_of_tasks(program):
    small, large = _python_calls(program(500)), _python_calls(program(4000))
    assert large / small == pytest.approx(8, rel=0.05)


def test_mypy_strict_is_clean():
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", str(PACKAGE)],
        capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_public_function_has_a_runnable_example():
    import actress
    import actress.actor
    import actress.channel
    import actress.jobs
    import actress.scope
    import actress.supervisor
    import actress.testing

    missing = []
    for module in (task, actress, actress.testing, actress.scope, actress.channel,
                   actress.actor, actress.supervisor, actress.jobs):
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if callable(obj) and getattr(obj, "__module__", "").startswith("actress"):
                if not isinstance(obj, type) and ">>>" not in (obj.__doc__ or ""):
                    missing.append(f"{module.__name__}.{name}")
    assert missing == []


@pytest.mark.parametrize("example", sorted(p.name for p in (ROOT / "examples").glob("*.py")))
def test_examples_run(example, tmp_path):
    # The job examples write their event log to the path given (by default a fixed name in
    # the system's temp dir, which another user's or another run's file may hold).
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / example), str(tmp_path / "events.jsonl")],
        capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


def _producer(n):
    for i in range(n):
        yield from task.send(i)


def _listen(n):
    yield from task.listen({"a": _producer(n)})


def _join_messages(n):
    fork = yield from task.fork(_producer(n))
    yield from task.join(fork)


def _spawn_join(n):
    def child():
        return 1
        yield

    for _ in range(n):
        fork = yield from task.fork(child())
        yield from task.join(fork)


def _sleep_zero(n):
    for _ in range(n):
        yield from task.sleep(0)


def _ask_idle_server(n):
    ref = yield from serve(lambda message: message)
    for i in range(n):
        yield from ref.ask(i)
    ref.stop()


# Python-level calls (generator resumptions included) per operation on the hot paths, as
# measured when they were tuned; a slow path taken by mistake shows up here as more calls.
HOT_PATHS = {_listen: 10, _join_messages: 7, _spawn_join: 6, _sleep_zero: 3,
             _ask_idle_server: 5}


@pytest.mark.parametrize("program", list(HOT_PATHS), ids=lambda p: p.__name__)
def test_hot_paths_stay_on_the_fast_path(program, monkeypatch):
    from actress import _fork

    # as in a program whose tasks all run in one thread (tests before this one used more)
    monkeypatch.setattr(_fork, "shared", False)
    monkeypatch.setattr(_fork, "drain_thread", None)
    _python_calls(program(10))  # first-use costs (the thread's scheduler, ABC caches) first
    per_op = (_python_calls(program(2000)) - _python_calls(program(1000))) / 1000
    assert per_op <= HOT_PATHS[program]
