"""Property tests: random programs of forks, joins, aborts and exits keep the kernel's promises.

A *program* is a tree of task specs. Each task runs a list of steps (sleep, send, fork a
child, join / group / abort / exit_ another task's handle, raise, return) inside
``try/finally``; its ``finally`` logs and may itself wait (sleep or send). A small
interpreter (``Interpreter``) runs the program on ``testing.run`` and keeps an event
log, and each test checks one invariant on what happened.

Programs cannot deadlock by construction: a task only joins tasks with a larger id than
its own (never itself or an ancestor), and nothing suspends.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Generator, Optional, Union

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from actress import task, testing
from actress.task import Failure, Fork, Success

TaskGen = Generator[Any, Any, Any]

# -- programs -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Sleep:
    """``sleep(ms)``."""

    ms: int


@dataclass(frozen=True)
class Send:
    """``send`` a message named after the task and the step."""


@dataclass(frozen=True)
class ForkChild:
    """``fork`` the task ``child`` (it starts at once) and keep its handle."""

    child: "Spec"


@dataclass(frozen=True)
class Join:
    """``join`` ``target``; its error is caught (and logged) so the task goes on."""

    target: Optional[int]


@dataclass(frozen=True)
class Group:
    """``group`` the ``targets``; the failure it raises is caught like a join's."""

    targets: tuple[int, ...]


@dataclass(frozen=True)
class Abort:
    """``sleep(delay)`` unless ``delay`` is None, then abort ``target``."""

    target: Optional[int]
    delay: Optional[int] = None


@dataclass(frozen=True)
class Exit:
    """``sleep(delay)`` unless ``delay`` is None, then ``exit_`` ``target``."""

    target: Optional[int]
    delay: Optional[int] = None


@dataclass(frozen=True)
class Raise:
    """Raise a ``Boom``."""


@dataclass(frozen=True)
class Return:
    """Return a value named after the task and the step."""


Step = Union[Sleep, Send, ForkChild, Join, Group, Abort, Exit, Raise, Return]
Cleanup = Union[None, Sleep, Send]


@dataclass(frozen=True)
class Spec:
    """One task: its id, its steps, how it catches errors, what its ``finally`` waits on.

    ``catch`` is ``"none"`` (errors end the task), ``"return"`` (the body is wrapped in
    ``except Exception`` that returns) or ``"continue"`` (each step is wrapped in
    ``except Exception`` and the task goes on).
    """

    tid: int
    steps: tuple[Step, ...] = ()
    catch: str = "none"
    cleanup: Cleanup = None


def all_specs(spec: Spec) -> list[Spec]:
    """``spec`` and every task it may fork, depth first."""
    out = [spec]
    for step in spec.steps:
        if isinstance(step, ForkChild):
            out.extend(all_specs(step.child))
    return out


MAX_TASKS = 30
MAX_DEPTH = 3
MAX_STEPS = 8


_CATCH = st.sampled_from(["none", "return", "continue"])
_CLEANUP = st.one_of(st.none(), st.builds(Sleep, st.integers(0, 5)), st.just(Send()))
_MS = st.integers(0, 5)
_DELAY = st.one_of(st.none(), _MS)
_COIN = st.booleans()
_GROUP_SIZE = st.integers(1, 3)
_BASE_KINDS = ["sleep"] * 4 + ["send", "join", "join", "group"] + ["abort", "abort", "exit", "exit"]
#: the kinds of step a task may take: (may end the task, may fork) -> strategy
_KINDS = {
    (ends, forks): st.sampled_from(
        _BASE_KINDS + (["raise", "return"] if ends else []) + (["fork"] * 6 if forks else []))
    for ends in (False, True) for forks in (False, True)
}


@st.composite
def programs(draw: Any, max_tasks: int = MAX_TASKS, max_depth: int = MAX_DEPTH) -> Spec:
    """A random task tree (ids in depth-first order, the root is 0).

    A task joins (or groups) only tasks with a larger id than its own: its descendants,
    later siblings and their subtrees, never itself or an ancestor. Every wait then goes
    to a larger id, so no set of tasks can wait for each other. Aborts and exits may
    target any task but the root (exiting the root breaks ``testing.run``: see the last
    test in this file). Targets are drawn as raw numbers first and mapped to ids once the
    tree is complete (a target with no candidate is ``None``); a step whose target has no
    handle when it runs is skipped.
    """
    count = 0
    raw = st.builds(Raw, st.integers(0, max_tasks))

    def joinable(known: list[int]) -> Optional[int]:
        # a fork this task or its descendants made earlier (it exists by now unless a
        # descendant has not got there), or any larger id
        if known and draw(_COIN):
            return known[draw(st.integers(0, len(known) - 1))]
        return draw(raw)  # type: ignore[no-any-return]

    def make(depth: int) -> Spec:
        nonlocal count
        tid = count
        count += 1
        catch = draw(_CATCH)
        cleanup = draw(_CLEANUP)
        steps: list[Step] = []
        known: list[int] = []
        for i in range(draw(st.integers(4 if depth == 0 else 1, MAX_STEPS))):
            # live a little before ending: interrupts then find more tasks busy
            kind = draw(_KINDS[i >= 2, depth < max_depth and count < max_tasks])
            step: Step
            if kind == "sleep":
                step = Sleep(draw(_MS))
            elif kind == "send":
                step = Send()
            elif kind == "raise":
                step = Raise()
            elif kind == "return":
                step = Return()
            elif kind == "fork":
                step = ForkChild(make(depth + 1))
                known.extend(s.tid for s in all_specs(step.child))
            elif kind == "group":
                step = Group(tuple(joinable(known) for _ in range(draw(_GROUP_SIZE))))
            elif kind == "join":
                step = Join(joinable(known))
            else:
                delay = draw(_DELAY)
                step = (Abort if kind == "abort" else Exit)(draw(raw), delay)
            steps.append(step)
            if kind == "return" or (kind == "raise" and catch != "continue"):
                break  # later steps could never run
        return Spec(tid, tuple(steps), catch, cleanup)

    return resolve(make(0), count)


class Raw(int):
    """A target drawn as a raw number, to be mapped to a task id by ``resolve``."""


def resolve(spec: Spec, total: int) -> Spec:
    """Map the raw targets of ``spec`` (and its children) to task ids; see ``programs``."""
    tid = spec.tid

    def later(raw: Optional[int]) -> Optional[int]:
        span = total - tid - 1
        if type(raw) is not Raw:
            return raw
        return None if span <= 0 else tid + 1 + raw % span

    def anyone(raw: Optional[int]) -> Optional[int]:
        return None if total <= 1 else 1 + raw % (total - 1)

    steps: list[Step] = []
    for step in spec.steps:
        if isinstance(step, ForkChild):
            step = ForkChild(resolve(step.child, total))
        elif isinstance(step, Join):
            step = Join(later(step.target))
        elif isinstance(step, Group):
            targets = [later(t) for t in step.targets]
            step = Group(tuple(t for t in targets if t is not None))
        elif isinstance(step, Abort):
            step = Abort(anyone(step.target), step.delay)
        elif isinstance(step, Exit):
            step = Exit(anyone(step.target), step.delay)
        steps.append(step)
    return Spec(tid, tuple(steps), spec.catch, spec.cleanup)


# -- the interpreter ----------------------------------------------------------------------


class Boom(Exception):
    """Raised by a ``Raise`` step."""


class Halt(Exception):
    """Thrown into a fork by an ``Abort`` step."""


def show(error: BaseException) -> str:
    return f"{type(error).__name__}({', '.join(map(repr, error.args))})"


@dataclass
class Interpreter:
    """Runs a program and records what happened.

    ``log``: the event log (plain tuples, comparable between runs). ``handles``: each
    forked task's handle by task id. ``ends``: how each started generator ended,
    ``("returned", value)`` or ``("raised", error)``. ``sent``: the aborts and exits
    issued to each task while it was not finished, in order. ``snapshots``: each fork's
    result when first seen finished; ``changes`` lists every later disagreement.
    ``broken``: joins and groups that returned something their forks did not end with.
    ``thrown``: the last error thrown into each task while it joined or grouped.
    ``waiting``: for each task id, the tasks now in a join or group on it. ``taken``: the
    tasks a last joiner's abort or exit was passed down to.
    """

    log: list[tuple[Any, ...]] = field(default_factory=list)
    handles: dict[int, Fork[Any, Any, Any]] = field(default_factory=dict)
    ends: dict[int, list[tuple[str, Any]]] = field(default_factory=dict)
    sent: dict[int, list[tuple[str, Any]]] = field(default_factory=dict)
    made: list[BaseException] = field(default_factory=list)
    snapshots: dict[int, Any] = field(default_factory=dict)
    changes: list[tuple[Any, ...]] = field(default_factory=list)
    broken: list[tuple[Any, ...]] = field(default_factory=list)
    thrown: dict[int, BaseException] = field(default_factory=dict)
    waiting: dict[int, set[int]] = field(default_factory=dict)
    taken: set[int] = field(default_factory=set)

    def emit(self, *event: Any) -> None:
        self.log.append(event)

    # -- invariant 4: results are final ----------------------------------------------

    def observe(self, where: str) -> None:
        for tid, fork in self.handles.items():
            self.observe_one(tid, fork, where)

    def observe_one(self, tid: int, fork: Fork[Any, Any, Any], where: str) -> None:
        if tid in self.snapshots:
            status, result = fork.status, fork.result
            if status != "finished" or result != self.snapshots[tid]:
                self.changes.append((where, tid, self.snapshots[tid], status, result))
        elif fork.status == "finished":
            self.snapshots[tid] = fork.result

    # -- tasks -----------------------------------------------------------------------

    def task(self, spec: Spec) -> TaskGen:
        """A task for ``spec``: logs its start and exactly how its generator ended."""
        tid = spec.tid
        self.emit("start", tid)
        try:
            value = yield from self.body(spec)
        except BaseException as error:
            self.emit("end", tid, "raised", show(error))
            self.ends.setdefault(tid, []).append(("raised", error))
            self.observe(f"end {tid}")
            raise
        self.emit("end", tid, "returned", value)
        self.ends.setdefault(tid, []).append(("returned", value))
        self.observe(f"end {tid}")
        return value

    def body(self, spec: Spec) -> TaskGen:
        tid = spec.tid
        closed = False
        try:
            if spec.catch == "return":
                try:
                    return (yield from self.steps(spec))
                except Exception as error:
                    self.emit("caught", tid, show(error))
                    return f"caught-{tid}"
            return (yield from self.steps(spec))
        except GeneratorExit:  # abandoned by the kernel and garbage collected
            closed = True
            raise
        finally:
            self.emit("finally", tid)
            self.observe(f"finally {tid}")
            if closed:
                pass  # a closing generator must not yield
            elif isinstance(spec.cleanup, Sleep):
                yield from task.sleep(spec.cleanup.ms)
            elif isinstance(spec.cleanup, Send):
                self.emit("send", tid, f"bye-{tid}")
                yield from task.send(f"bye-{tid}")
            self.emit("cleaned", tid)

    def steps(self, spec: Spec) -> TaskGen:
        tid = spec.tid
        for i, step in enumerate(spec.steps):
            self.observe(f"t{tid}.{i}")
            if spec.catch == "continue":
                try:
                    done, value = yield from self.step(tid, i, step)
                except Exception as error:
                    self.emit("caught", tid, i, show(error))
                    continue
            else:
                done, value = yield from self.step(tid, i, step)
            if done:
                return value
        return f"done-{tid}"

    def relay(
        self, tid: int, inner: TaskGen, members: Optional[dict[int, Any]] = None,
        joined: Optional[tuple[int, Fork[Any, Any, Any]]] = None,
    ) -> TaskGen:
        """Drive ``inner`` (a join or a group) like ``yield from``, logging its messages.

        An abort or exit of a group's caller cancels the group's unfinished ``members``
        (by task id) with the same error, an exit with ``None``: recorded in ``sent``.
        Only the first cancelling counts: an error thrown while the group cancels (after
        a member failed: the group gets that member's handle) only stops the cancelling.
        An abort or exit of the ``joined`` fork's last joiner does the same to that fork,
        once in its life (``taken``: joiners cancelled together pass their abort down
        once). Who else waits is the model's own record (``waiting``), not the kernel's.
        """
        forks = list((members or {}).values())
        cancelled = any(isinstance(f.result, Failure) for f in forks)
        value: Any = None
        error: Optional[BaseException] = None
        while True:
            try:
                if error is None:
                    out = inner.send(value)
                else:
                    thrown, error = error, None
                    out = inner.throw(thrown)
            except StopIteration as stop:
                return stop.value
            if task.is_message(out):
                self.emit("relayed", tid, out)
            try:
                value = yield out
                if value in forks and isinstance(value.result, Failure):
                    cancelled = True  # the group cancels the others with that failure
            except BaseException as thrown:
                value, error = None, thrown
                self.thrown[tid] = thrown
                if joined is not None and not isinstance(thrown, GeneratorExit):
                    target, fork = joined
                    alone = self.waiting[target] == {tid}
                    if fork.status != "finished" and alone and target not in self.taken:
                        self.taken.add(target)
                        cancel = ("abort", thrown) if isinstance(thrown, Exception) else ("exit", None)
                        self.sent.setdefault(target, []).append(cancel)
                        self.emit("abandon", tid, target, *cancel[:1],
                                  show(thrown) if cancel[0] == "abort" else None)
                if members and not cancelled and not isinstance(thrown, GeneratorExit):
                    cancelled = True
                    cancel = ("abort", thrown) if isinstance(thrown, Exception) else ("exit", None)
                    for member, fork in (members or {}).items():
                        if fork.status != "finished":
                            self.sent.setdefault(member, []).append(cancel)

    def failed_with(self, fork: Fork[Any, Any, Any], error: BaseException) -> bool:
        return fork.status == "finished" and fork.result == Failure(error)

    def step(self, tid: int, i: int, step: Step) -> Generator[Any, Any, tuple[bool, Any]]:
        label = f"{tid}.{i}"
        if isinstance(step, Sleep):
            self.emit("sleep", tid, step.ms)
            yield from task.sleep(step.ms)
            self.emit("slept", tid)
        elif isinstance(step, Send):
            self.emit("send", tid, f"m{label}")
            yield from task.send(f"m{label}")
        elif isinstance(step, Raise):
            error = Boom(f"b{label}")
            self.made.append(error)
            self.emit("raise", tid, show(error))
            raise error
        elif isinstance(step, Return):
            self.emit("return", tid, f"r{label}")
            return True, f"r{label}"
        elif isinstance(step, ForkChild):
            fork = yield from task.fork(self.task(step.child))
            self.handles[step.child.tid] = fork
            self.emit("forked", tid, step.child.tid)
        elif isinstance(step, Join):
            fork = self.handles.get(step.target)
            if fork is None:  # the descendant that forks it has not got there (yet)
                self.emit("join-skip", tid, step.target)
                return False, None
            self.emit("join", tid, step.target)
            self.waiting.setdefault(step.target, set()).add(tid)
            try:
                value = yield from self.relay(tid, task.join(fork), joined=(step.target, fork))
            except Exception as error:
                if not self.failed_with(fork, error) or self.thrown.get(tid) is error:
                    raise  # thrown into this task (and maybe on into the fork), not a join result
                self.emit("joined", tid, step.target, "raised", show(error))
            else:
                self.emit("joined", tid, step.target, "returned", value)
                if fork.result != Success(value):
                    self.broken.append((label, "join returned", value, fork.result))
            finally:
                self.waiting[step.target].discard(tid)
        elif isinstance(step, Group):
            members = {t: self.handles[t] for t in step.targets if t in self.handles}
            forks = list(members.values())
            self.emit("group", tid, tuple(members))
            for member in members:
                self.waiting.setdefault(member, set()).add(tid)
            try:
                yield from self.relay(tid, task.group(forks), members)
            except Exception as error:
                if not any(self.failed_with(f, error) for f in forks) or (
                        self.thrown.get(tid) is error):
                    raise  # thrown into this task (and on into the members), not a group result
                self.emit("grouped", tid, "raised", show(error))
            else:
                self.emit("grouped", tid, "returned")
                results = [f.result for f in forks]
                if not all(isinstance(r, Success) for r in results):
                    self.broken.append((label, "group returned", results))
            finally:
                for member in members:
                    self.waiting[member].discard(tid)
        elif isinstance(step, (Abort, Exit)):
            if step.delay is not None:
                self.emit("sleep", tid, step.delay)
                yield from task.sleep(step.delay)
                self.emit("slept", tid)
            fork = self.handles.get(step.target)
            if fork is None:
                self.emit("interrupt-skip", tid, step.target)
                return False, None
            finished = fork.status == "finished"
            if isinstance(step, Abort):
                error = Halt(f"h{label}")
                self.made.append(error)
                self.emit("abort", tid, step.target, show(error))
                if not finished:
                    self.sent.setdefault(step.target, []).append(("abort", error))
                yield from task.abort(fork, error)
            else:
                value = f"x{label}"
                self.emit("exit", tid, step.target, value)
                if not finished:
                    self.sent.setdefault(step.target, []).append(("exit", value))
                yield from task.exit_(fork, value)
            self.emit("interrupted", tid, step.target, str(fork.status))
            if finished:
                self.observe_one(step.target, fork, f"late interrupt {label}")
        return False, None


@dataclass
class Run:
    program: Spec
    interp: Interpreter
    outcome: Optional[testing.Outcome[Any]]
    error: Optional[BaseException]


def run_program(program: Spec) -> Run:
    """Run ``program`` with ``settle=True``; a ``Deadlock`` (or any error) is kept, not raised."""
    interp = Interpreter()
    try:
        outcome = testing.run(interp.task(program), settle=True)
    except Exception as error:  # Deadlock, or a kernel error escaping the run
        return Run(program, interp, None, error)
    finally:
        for fork in interp.handles.values():
            fork.result  # noqa: B018 - marks failures as seen: they are expected here
    return Run(program, interp, outcome, None)


def finished_run(program: Spec) -> Run:
    result = run_program(program)
    assert result.error is None, f"the run raised {result.error!r}"
    return result


def started(interp: Interpreter) -> set[int]:
    return {event[1] for event in interp.log if event[0] == "start"}


def expected_result(interp: Interpreter, tid: int) -> Any:
    """The result a fork must have, from how its generator ended (or never ran)."""
    ends = interp.ends.get(tid)
    if ends:
        how, what = ends[0]
        if how == "returned":
            return Success(what)
        if isinstance(what, Exception):
            return Failure(what)
        # ended by an exit signal: the value of the last exit_ sent while it was active
        exits = [v for kind, v in interp.sent.get(tid, []) if kind == "exit"]
        assert exits, f"task {tid} ended with {what!r} but nobody exited it"
        return Success(exits[-1])
    # never ran: ended by the first abort or exit_ sent to it, else by a group that
    # failed (not recorded: it aborts with the error a member failed with, one the
    # program made)
    sent = interp.sent.get(tid, [])
    if sent:
        kind, what = sent[0]
        return Success(what) if kind == "exit" else Failure(what)
    result = interp.handles[tid].result
    assert isinstance(result, Failure) and any(result.error is e for e in interp.made), (
        f"task {tid} never ran and ended with {result!r}")
    return result


SETTINGS = settings(
    derandomize=True,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],  # no slow "explain" phase
    max_examples=int(os.environ.get("ACTRESS_EXAMPLES", "200")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# -- invariants ---------------------------------------------------------------------------


@SETTINGS
@given(programs())
def test_every_started_task_finishes_exactly_once(program: Spec) -> None:
    result = finished_run(program)
    interp = result.interp
    starts = [e[1] for e in interp.log if e[0] == "start"]
    ends = [e[1] for e in interp.log if e[0] == "end"]
    assert sorted(starts) == sorted(set(starts)), "a task started twice"
    assert sorted(ends) == sorted(starts), "a started task did not end exactly once"
    unfinished = {tid: f.status for tid, f in interp.handles.items() if f.status != "finished"}
    assert unfinished == {}


@SETTINGS
@given(programs())
def test_every_started_task_runs_its_finally_exactly_once(program: Spec) -> None:
    interp = finished_run(program).interp
    finallies: dict[int, int] = {}
    for event in interp.log:
        if event[0] == "finally":
            finallies[event[1]] = finallies.get(event[1], 0) + 1
    assert finallies == {tid: 1 for tid in started(interp)}


@SETTINGS
@given(programs())
def test_no_program_deadlocks_and_the_root_finishes(program: Spec) -> None:
    result = run_program(program)
    assert result.error is None, f"the run raised {result.error!r}"
    assert result.outcome is not None
    root_ends = [e for e in result.interp.log if e[:2] == ("end", program.tid)]
    assert len(root_ends) == 1
    assert result.outcome.ok == (root_ends[0][2] == "returned")


@SETTINGS
@given(programs())
def test_a_finished_fork_result_never_changes(program: Spec) -> None:
    interp = finished_run(program).interp
    interp.observe("after the run")
    assert interp.changes == []
    assert set(interp.snapshots) == set(interp.handles)


@SETTINGS
@given(programs())
def test_the_same_program_gives_the_same_event_log(program: Spec) -> None:
    first, second = run_program(program), run_program(program)

    def summary(run: Run) -> Any:
        out = run.outcome
        ending = None if out is None else (
            out.ok, out.value, None if out.error is None else show(out.error),
            out.messages, out.time)
        return run.interp.log, ending, None if run.error is None else show(run.error)

    assert summary(first) == summary(second)


def unfelt_abandons(log: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The abandons (a last joiner aborted or exited) that never reached a fork already
    started: an abort must be caught by the fork or end it; an exit must end it."""
    problems = []
    for index, event in enumerate(log):
        if event[0] != "abandon":
            continue
        _, _, target, kind, error = event
        if ("start", target) not in log[:index]:
            continue  # never ran: the result checks cover it
        later = [e for e in log[index + 1:] if len(e) > 1 and e[1] == target]
        if kind == "abort":
            felt = any(e[0] == "caught" and e[-1] == error for e in later) or any(
                e[0] == "end" and e[2:] == ("raised", error) for e in later)
        else:
            felt = any(e[0] == "end" for e in later)
        if not felt:
            problems.append((index, event))
    return problems


@SETTINGS
@given(programs())
def test_an_abandoned_fork_gets_its_last_joiners_abort_or_exit(program: Spec) -> None:
    assert unfelt_abandons(finished_run(program).interp.log) == []


@SETTINGS
@given(programs())
def test_exited_forks_succeed_with_the_exit_value_and_aborted_forks_fail_with_the_error(
    program: Spec,
) -> None:
    interp = finished_run(program).interp
    wrong = {}
    for tid, fork in interp.handles.items():
        expected = expected_result(interp, tid)
        if fork.result != expected:
            wrong[tid] = (fork.result, expected)
    assert wrong == {}


@SETTINGS
@given(programs())
def test_join_and_group_return_only_what_their_forks_ended_with(program: Spec) -> None:
    assert finished_run(program).interp.broken == []


def message_flow(log: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Check, in log order, that each message a join or group passed up was sent (or
    passed up) by a fork it watched, during that wait; and that a join or group that
    ended normally first passed up every such message. Return the problems found."""
    windows: dict[int, tuple[set[int], Counter[Any]]] = {}  # joiner: (watched, pending)
    problems: list[tuple[Any, ...]] = []
    for index, event in enumerate(log):
        kind, tid = event[0], event[1]
        if kind == "join":
            windows[tid] = ({event[2]}, Counter())
        elif kind == "group":
            windows[tid] = (set(event[2]), Counter())
        elif kind in ("joined", "grouped"):
            _, pending = windows.pop(tid)
            if kind == "joined" or event[2] == "returned":
                left = +pending
                if left:
                    problems.append((index, event, "never passed up", dict(left)))
        elif kind in ("send", "relayed"):
            message = event[2]
            if kind == "relayed":
                window = windows.get(tid)
                if window is None or window[1][message] <= 0:
                    problems.append((index, event, "not sent by a watched fork"))
                else:
                    window[1][message] -= 1
            for watched, pending in windows.values():
                if tid in watched:
                    pending[message] += 1
    return problems


@SETTINGS
@given(programs())
def test_messages_flow_to_the_tasks_joining_their_sender(program: Spec) -> None:
    result = finished_run(program)
    log = result.interp.log
    assert message_flow(log) == []
    assert result.outcome is not None
    assert result.outcome.messages == [
        e[2] for e in log if e[0] in ("send", "relayed") and e[1] == program.tid]


# -- the interpreter on a hand-written program --------------------------------------------


def test_interpreter_runs_a_hand_written_program() -> None:
    program = Spec(0, (
        ForkChild(Spec(1, (Sleep(2), Send(), Return()))),
        ForkChild(Spec(2, (Sleep(5),), cleanup=Sleep(1))),
        Sleep(1),
        Abort(2),
        Join(1),
        Join(2),
        ForkChild(Spec(3, (Send(), Sleep(3)), catch="return", cleanup=Send())),
        Sleep(0),
        Exit(3),
        Join(3),
        Return(),
    ))
    result = finished_run(program)
    assert result.interp.log == [
        ("start", 0), ("forked", 0, 1), ("forked", 0, 2), ("sleep", 0, 1),
        ("start", 1), ("sleep", 1, 2),
        ("start", 2), ("sleep", 2, 5),
        # t=1
        ("slept", 0),
        ("abort", 0, 2, "Halt('h0.3')"),
        ("finally", 2),  # before abort returns; its cleanup sleeps until t=2
        ("interrupted", 0, 2, "active"),
        ("join", 0, 1),
        # t=2: 1's timer was set before 2's cleanup timer, so 1 goes first
        ("slept", 1), ("send", 1, "m1.1"),
        ("relayed", 0, "m1.1"),  # passed up through the join before 1 goes on
        ("return", 1, "r1.2"),
        ("finally", 1), ("cleaned", 1), ("end", 1, "returned", "r1.2"),
        ("joined", 0, 1, "returned", "r1.2"),
        ("join", 0, 2),  # 2 is ready: it runs next
        ("cleaned", 2), ("end", 2, "raised", "Halt('h0.3')"),
        ("joined", 0, 2, "raised", "Halt('h0.3')"),
        ("forked", 0, 3), ("sleep", 0, 0),
        ("start", 3), ("send", 3, "m3.0"), ("sleep", 3, 3),  # nobody joins 3: dropped
        ("slept", 0),
        ("exit", 0, 3, "x0.8"),
        ("finally", 3), ("send", 3, "bye-3"), ("cleaned", 3),
        ("end", 3, "raised", "ExitSignal('x0.8')"),
        ("interrupted", 0, 3, "finished"),
        ("join", 0, 3), ("joined", 0, 3, "returned", "x0.8"),
        ("return", 0, "r0.10"), ("finally", 0), ("cleaned", 0), ("end", 0, "returned", "r0.10"),
    ]
    outcome = result.outcome
    assert outcome is not None
    assert (outcome.ok, outcome.value, outcome.messages, outcome.time) == (
        True, "r0.10", ["m1.1"], 2.0)
    handles = result.interp.handles
    assert handles[1].result == Success("r1.2")
    assert handles[2].result == Failure(result.interp.made[0])
    assert handles[3].result == Success("x0.8")


# -- found by these programs ---------------------------------------------------------------


def test_exiting_the_root_task_gives_an_outcome_with_the_exit_value() -> None:
    def child(root: Fork[Any, Any, Any]) -> TaskGen:
        yield from task.exit_(root, "bye")

    def main() -> TaskGen:
        me = yield from task.current()
        yield from task.join((yield from task.fork(child(me))))
        return "not reached"

    outcome = testing.run(main())
    assert (outcome.ok, outcome.value, outcome.error) == (True, "bye", None)
