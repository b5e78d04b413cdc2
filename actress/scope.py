"""Scopes: structured concurrency, written as tasks on top of the task API.

A *scope* runs a body that starts children attached to it. The scope ends only when the
body and every child have ended. The first error cancels the siblings and the body; the
scope waits for their cleanup (which may yield) and raises an ``ExceptionGroup`` holding
every error (always a group, even for one error, as ``asyncio.TaskGroup`` does: catch
with ``except*``). ``race``, ``timeout``, ``move_on_after`` and ``shield`` are built the
same way: ordinary tasks using ``fork``, ``suspend``/``resume`` and a non-blocking
cancel (``Scheduler.interrupt``), never a kernel branch.

Cancellation is the ``Cancelled`` exception (a ``BaseException``, so ``except Exception``
does not swallow it) thrown at the task's current wait; a task running right now gets it
at its next wait. Each ``Cancelled`` names its *source* (a scope or a deadline); only that
source absorbs it, so cancellations from outer scopes go through inner ones.

Uses: task, _fork, _instructions. Never: the kernel's internals, asyncio.
"""

from __future__ import annotations

import weakref
from types import GeneratorType
from typing import Any, Callable, Generator, Iterable, Mapping, Optional, TypeVar, Union, overload

from . import _fork
from ._fork import DONE, FAILED, Fork, wait_end
from ._instructions import CURRENT, SLEEP0, SUSPEND, ExitSignal
from ._mistakes import check_task as _check_task
from .task import fork, resume, sleep

T = TypeVar("T")
K = TypeVar("K")

__all__ = [
    "Cancelled", "Scope", "cancel", "current_cancelled", "move_on_after", "race", "scope",
    "shield", "timeout",
]


class Cancelled(BaseException):
    """Thrown into a task whose scope, deadline or ``cancel`` asked it to stop.

    ``source`` is what cancelled it (a ``Scope``, a deadline, or ``None``); the scope or
    deadline that raised it is the one that absorbs it.
    """

    def __init__(self, reason: str = "cancelled", source: object = None) -> None:
        super().__init__(reason)
        self.source = source


# Cancellations delivered to a task and not absorbed yet (see ``current_cancelled``).
_requests: weakref.WeakKeyDictionary[Fork[Any, Any, Any], int] = weakref.WeakKeyDictionary()
# A shielded task -> the task it shields (a cancellation pending there counts here too).
_shielded_for: weakref.WeakKeyDictionary[Fork[Any, Any, Any], Fork[Any, Any, Any]] = (
    weakref.WeakKeyDictionary())


def cancel(target: Fork[Any, Any, Any], error: Optional[BaseException] = None) -> None:
    """Ask ``target`` to stop: throw ``error`` (a ``Cancelled``) at its wait; do not wait.

    A task that is running now gets it at its next wait; a finished one is left alone.
    Use ``task.abort`` instead to wait until the target has reacted.

    >>> from actress import task, testing
    >>> def worker(log):
    ...     try:
    ...         yield from task.sleep(100)
    ...     except Cancelled:
    ...         log.append("cancelled")
    >>> def main(log):
    ...     w = yield from task.fork(worker(log))
    ...     yield from task.sleep(1)
    ...     cancel(w)
    ...     yield from task.join(w)
    ...     return log
    >>> testing.run(main([])).value
    ['cancelled']
    """
    if target.st >= DONE:
        return
    if error is None:
        error = Cancelled()
    _requests[target] = _requests.get(target, 0) + 1
    _fork.interrupt_now(target, error)


def _count_passed_down(target: Fork[Any, Any, Any], error: BaseException) -> None:
    """A group or a last joiner passes ``error`` down to ``target``: a ``Cancelled`` is
    pending there too (its cleanup asks ``current_cancelled``)."""
    if isinstance(error, Cancelled) and target.st < DONE:
        _requests[target] = _requests.get(target, 0) + 1


_fork.passed_down.append(_count_passed_down)


def _absorb(me: Fork[Any, Any, Any]) -> None:
    n = _requests.get(me, 0)
    if n > 1:
        _requests[me] = n - 1
    elif n:
        del _requests[me]


def current_cancelled() -> Generator[Any, Any, bool]:
    """Return whether a cancellation (a scope's, a deadline's, ``cancel``) is pending
    for the running task: it is running cleanup, or a ``shield`` is holding it back. A
    ``Cancelled`` passed down to it counts too (as a member of a group that was
    cancelled, or a fork its last joiner took along).

    >>> from actress import testing
    >>> def guarded():
    ...     return (yield from shield(cleanup()))
    >>> def cleanup():
    ...     yield from sleep(10)
    ...     return (yield from current_cancelled())
    >>> testing.run(move_on_after(5, guarded(), default="moved on")).value
    'moved on'
    """
    me: Optional[Fork[Any, Any, Any]] = yield CURRENT
    while me is not None:
        if _requests.get(me):
            return True
        me = _shielded_for.get(me)
    return False


class Scope:
    """The handle a scope's body gets: start attached children, cancel them all.

    >>> from actress import task, testing
    >>> def child(name, ms):
    ...     yield from task.sleep(ms)
    ...     return name
    >>> def body(s):
    ...     a = yield from s.fork(child("a", 20))
    ...     b = yield from s.fork(child("b", 10))
    ...     return [a, b]
    >>> def main():
    ...     a, b = yield from scope(body)
    ...     return a.result.value, b.result.value
    >>> testing.run(main())
    Outcome(ok=True, value=('a', 'b'), error=None, messages=[], time=20.0)
    """

    __slots__ = ("owner", "name", "children", "errors", "cancel_called", "_in_body",
                 "_waiting", "_owner_pending", "_owner_hits", "_ended")

    def __init__(self, owner: Fork[Any, Any, Any], name: str = "") -> None:
        self.owner = owner
        self.name = name
        #: Children still running, in the order they started.
        self.children: dict[Fork[Any, Any, Any], None] = {}
        #: Errors of the body and the children, in the order they happened.
        self.errors: list[BaseException] = []
        #: Whether the scope was cancelled (by ``cancel`` or by a first error).
        self.cancel_called = False
        self._in_body = False
        self._waiting = False
        self._owner_pending = False  # a cancel of the body waits for the body's next yield
        self._owner_hits = 0  # cancels thrown at the body, not seen coming back yet
        self._ended = False

    def __repr__(self) -> str:
        return f"<Scope {self.name or hex(id(self))} children={len(self.children)}>"

    def fork(self, task: Any, *, name: str = "") -> Generator[Any, Any, Fork[Any, Any, Any]]:
        """Start ``task`` as a child of this scope; return its handle (join it if you like).

        Its failure cancels the scope; its messages are dropped unless it is joined.
        Started in a scope that is already cancelled, it is cancelled at its first step.

        >>> from actress import testing
        >>> def failing():
        ...     yield from sleep(5)
        ...     raise ValueError("boom")
        >>> def body(s):
        ...     yield from s.fork(sleep(100))  # cancelled at 5 ms, when its sibling fails
        ...     yield from s.fork(failing())
        >>> outcome = testing.run(scope(body))
        >>> outcome.error.exceptions, outcome.time
        ((ValueError('boom'),), 5.0)
        """
        _check_task(task, "Scope.fork")
        if self._ended:
            raise RuntimeError(f"{self!r} has ended: it takes no more children")
        child: Fork[Any, Any, Any] = Fork(None, name)
        gen = _attached(self, child, task)
        next(gen)  # to the line inside its ``try``: a cancel before its first step is seen
        child.gen = gen
        self.children[child] = None
        yield from child
        if self.cancel_called:
            cancel(child, Cancelled(f"{self!r} was cancelled", self))
        return child

    def cancel(self, reason: str = "scope cancelled") -> None:
        """Cancel every child and the body (at its next wait); does not wait.

        The scope still waits for every child's cleanup before it ends.

        >>> from actress import testing
        >>> def body(s):
        ...     yield from s.fork(sleep(100))
        ...     yield from sleep(10)
        ...     s.cancel()  # returns at once; the scope raises nothing for its own cancel
        ...     return "cancelled"
        >>> outcome = testing.run(scope(body))
        >>> outcome.value, outcome.time
        ('cancelled', 10.0)
        """
        if self.cancel_called:
            return
        self.cancel_called = True
        if self._in_body:
            owner = self.owner
            if _fork.lands_later(owner):
                self._owner_pending = True  # delivered at its next wait, maybe after the body
            self._owner_hits += 1
            cancel(owner, Cancelled(reason, self))
        for child in reversed(list(self.children)):  # the front stack: first child runs first
            cancel(child, Cancelled(reason, self))

    def _child_failed(self, child: Fork[Any, Any, Any], error: BaseException) -> None:
        child.extra().seen = True  # the scope reports it
        self.children.pop(child, None)
        if isinstance(error, Cancelled) and error.source is self:
            _absorb(child)
            return
        if type(error) is ExitSignal or isinstance(error, GeneratorExit):
            return
        self.errors.append(error)
        self.cancel(f"a child of {self!r} failed: {error!r}")

    def _child_ended(self, child: Fork[Any, Any, Any]) -> None:
        self.children.pop(child, None)
        if not self.children and self._waiting:
            resume(self.owner)


def _attached(s: Scope, me: Fork[Any, Any, Any], task: Any) -> Generator[Any, Any, Any]:
    try:
        yield  # primed by Scope.fork: the kernel never sees this
        return (yield from task)
    except BaseException as error:
        s._child_failed(me, error)
        raise
    finally:
        s._child_ended(me)


_fork.OWNED_BODIES.add(_attached.__code__)  # a join in the body does not own a child


def scope(body: Callable[[Scope], Any], *, name: str = "") -> Generator[Any, Any, Any]:
    """Run ``body(scope)``; return its result once it and every child it started ended.

    The first error (of the body or a child) cancels the others; once all have ended the
    scope raises an ``ExceptionGroup`` of every error, in the order they happened. If the
    task running the scope is cancelled or aborted from outside, the children are
    cancelled, their cleanup awaited, and that error goes on up (grouped with any child
    errors, if there were some).

    >>> from actress import task, testing
    >>> def failing():
    ...     yield from task.sleep(5)
    ...     raise ValueError("boom")
    >>> def patient(log):
    ...     try:
    ...         yield from task.sleep(100)
    ...     finally:
    ...         log.append("patient cleaned up")
    >>> def body(s, log):
    ...     yield from s.fork(failing())
    ...     yield from s.fork(patient(log))
    >>> def main(log):
    ...     try:
    ...         yield from scope(lambda s: body(s, log))
    ...     except* ValueError as group:
    ...         log.append(repr(group.exceptions))
    ...     return log
    >>> testing.run(main([])).value
    ['patient cleaned up', "(ValueError('boom'),)"]
    """
    me: Fork[Any, Any, Any] = yield CURRENT
    s = Scope(me, name)
    try:  # (one frame: a parked scope is part of every idle actor)
        outer: Optional[BaseException] = None
        result: Any = None
        gen = body(s)
        if type(gen) is not GeneratorType:
            raise TypeError(f"scope() needs body(scope) to return a generator (a function "
                            f"with yield), got {gen!r} from {body!r}")
        s._in_body = True
        try:
            result = yield from gen
        except BaseException as error:
            rest = _without_own(s, me, error)
            if rest is None:
                pass
            elif isinstance(rest, Exception) and not _fork.thrown_in(me, rest):
                s.errors.append(rest)
            else:  # a cancellation, or an abort from outside that the body let through
                outer = rest
        finally:
            s._in_body = False
        if isinstance(outer, GeneratorExit):  # being closed: no more waiting is possible
            s.cancel()
            raise outer
        if outer is not None or s.errors:
            s.cancel()
        while s.children or s._owner_pending:
            s._waiting = True
            try:
                if s.children:
                    yield SUSPEND
                else:
                    s._owner_pending = False
                    yield SLEEP0  # a cancel aimed at us while we ran lands here, not outside
            except BaseException as error:
                rest = _without_own(s, me, error)
                if rest is not None and outer is None:
                    outer = rest
                s.cancel()
            finally:
                s._waiting = False
        while s._owner_hits:  # cancellations of ours the body caught and kept quiet
            s._owner_hits -= 1
            _absorb(me)
        if outer is not None:
            if s.errors and not isinstance(outer, (ExitSignal, KeyboardInterrupt, SystemExit)):
                raise BaseExceptionGroup(f"{s!r} was interrupted", [outer, *s.errors])
            raise outer
        if s.errors:
            n = len(s.errors)
            raise BaseExceptionGroup(f"{n} error{'s' if n > 1 else ''} in {s!r}", s.errors)
        return result
    finally:
        s._ended = True


def _is_own(s: Scope) -> Callable[[BaseException], bool]:
    return lambda e: isinstance(e, Cancelled) and e.source is s


def _without_own(s: Scope, me: Fork[Any, Any, Any], error: BaseException) -> Optional[BaseException]:
    """Absorb the scope's own cancellations in ``error`` (bare, or inside a group an inner
    scope made); return what is left, or None."""
    if isinstance(error, Cancelled) and error.source is s:
        mine = 1
        rest: Optional[BaseException] = None
    elif isinstance(error, BaseExceptionGroup):
        found, rest = error.split(_is_own(s))
        mine = _count(found)
    else:
        return error
    for _ in range(mine):
        if s._owner_hits:
            s._owner_hits -= 1
            _absorb(me)
    return rest


def _count(group: Optional[BaseException]) -> int:
    if group is None:
        return 0
    if isinstance(group, BaseExceptionGroup):
        return sum(_count(e) for e in group.exceptions)
    return 1


@overload
def race(tasks: Mapping[K, Any]) -> Generator[Any, Any, tuple[K, Any]]: ...  # type: ignore[overload-overlap]
@overload
def race(tasks: Iterable[Any]) -> Generator[Any, Any, tuple[int, Any]]: ...


def race(tasks: Union[Mapping[Any, Any], Iterable[Any]]) -> Generator[Any, Any, tuple[Any, Any]]:
    """Run tasks concurrently; the first to finish wins, the rest are cancelled and awaited.

    Returns ``(key, value)`` of the winner (the index for a list). If the first task to
    finish failed, its error is raised as it is. Losers' cleanup may yield; ``race``
    returns after all of it. If a loser fails otherwise than by its cancellation (its
    cleanup raised), ``race`` raises an ``ExceptionGroup`` of those errors, as a scope
    does: the winner's value is not returned then, but no error is dropped. Messages of
    the racers are dropped.

    >>> from actress import task, testing
    >>> def after(ms, value):
    ...     yield from task.sleep(ms)
    ...     return value
    >>> testing.run(race({"slow": after(20, "s"), "fast": after(5, "f")})).value
    ('fast', 'f')
    """
    items = list(tasks.items()) if isinstance(tasks, Mapping) else list(enumerate(tasks))
    if not items:
        raise ValueError("race() needs at least one task")
    for _, t in items:
        _check_task(t, "race")
    if len({id(t) for _, t in items}) != len(items):
        raise ValueError("race() got the same task twice (a generator runs once: make one "
                         "per entry)")
    first: list[tuple[Any, Any, bool]] = []

    def runner(s: Scope, key: Any, t: Any) -> Generator[Any, Any, None]:
        try:
            value = yield from t
        except Exception as error:
            if first:
                raise
            first.append((key, error, False))
        else:
            if first:
                return
            first.append((key, value, True))
        s.cancel("lost the race")

    def body(s: Scope) -> Generator[Any, Any, None]:
        for key, t in items:
            yield from s.fork(runner(s, key, t))

    try:
        yield from scope(body, name="race")
    except BaseExceptionGroup as group:  # a loser failed in its cleanup
        if first and not first[0][2]:  # the deciding error first, then the others
            raise BaseExceptionGroup(str(group), [first[0][1], *group.exceptions]) from None
        raise
    key, value, ok = first[0]
    if ok:
        return key, value
    raise value


class _Deadline:
    __slots__ = ("ms", "done", "fired", "absorbed")

    def __init__(self, ms: float) -> None:
        self.ms = ms
        self.done = False  # the task under the deadline has ended
        self.fired = False  # the alarm went off
        self.absorbed = False  # its Cancelled came back and was taken

    def __repr__(self) -> str:
        return f"<deadline of {self.ms:g} ms>"


def _alarm(target: Fork[Any, Any, Any], deadline: _Deadline) -> Generator[Any, Any, None]:
    if deadline.done:  # the task finished before the alarm first ran
        return
    yield from sleep(deadline.ms)
    if not deadline.done:
        deadline.fired = True
        cancel(target, Cancelled(f"deadline of {deadline.ms:g} ms passed", deadline))


def _under_deadline(ms: float, task: Any) -> Generator[Any, Any, tuple[bool, Any]]:
    """Run ``task`` inline; (True, result), or (False, None) if the deadline cut it."""
    if not isinstance(ms, (int, float)) or isinstance(ms, bool):
        raise TypeError(f"a deadline needs a number of milliseconds, got {ms!r}")
    if ms != ms:
        raise ValueError("a deadline of NaN milliseconds: give a number (0 or less is due "
                         "at once)")
    _check_task(task, "timeout")
    me: Fork[Any, Any, Any] = yield CURRENT
    deadline = _Deadline(float(ms))
    timer = yield from fork(_alarm(me, deadline), name=repr(deadline))
    try:
        return True, (yield from task)
    except BaseException as error:
        if isinstance(error, Cancelled) and error.source is deadline:
            deadline.absorbed = True
            _absorb(me)
            return False, None
        if isinstance(error, BaseExceptionGroup):
            mine, rest = error.split(lambda e: isinstance(e, Cancelled) and e.source is deadline)
            if mine is not None:
                deadline.absorbed = True
                _absorb(me)
                if rest is None:
                    return False, None
                raise rest from None
        raise
    finally:
        deadline.done = True
        if deadline.fired and not deadline.absorbed:
            _absorb(me)  # held back by a shield or swallowed: no longer pending
        if timer.st < DONE:
            resume(timer)  # wakes the alarm, which sees ``done`` and ends


def timeout(ms: float, task: Any) -> Generator[Any, Any, Any]:
    """Run ``task``; if it has not finished after ``ms`` milliseconds, cancel it (its
    cleanup runs, and may yield) and raise ``TimeoutError``. Deadlines nest.

    >>> from actress import task, testing
    >>> def slow():
    ...     yield from task.sleep(50)
    >>> testing.run(timeout(10, slow())).error
    TimeoutError('deadline of 10 ms passed')
    """
    ok, value = yield from _under_deadline(ms, task)
    if not ok:
        raise TimeoutError(f"deadline of {float(ms):g} ms passed")
    return value


def move_on_after(ms: float, task: Any, default: Any = None) -> Generator[Any, Any, Any]:
    """Run ``task``; if it has not finished after ``ms`` milliseconds, cancel it (its
    cleanup runs) and return ``default``. Deadlines nest.

    >>> from actress import task, testing
    >>> def slow():
    ...     yield from task.sleep(50)
    ...     return "finished"
    >>> testing.run(move_on_after(10, slow(), default="gave up")).value
    'gave up'
    """
    ok, value = yield from _under_deadline(ms, task)
    return value if ok else default


def shield(task: Any) -> Generator[Any, Any, Any]:
    """Run ``task`` to the end even if the caller is cancelled meanwhile; then raise the
    cancellation. For cleanup that must finish (close a session, flush a log).

    The shielded task runs as its own fork; its messages pass through the caller. Inside
    it, ``current_cancelled()`` tells whether a cancellation is being held back.

    >>> from actress import task, testing
    >>> def flush(log):
    ...     yield from task.sleep(20)
    ...     log.append("flushed")
    >>> def main(log):
    ...     try:
    ...         yield from shield(flush(log))
    ...     except TimeoutError:
    ...         pass
    >>> def run_it(log):
    ...     try:
    ...         yield from timeout(5, shield(flush(log)))
    ...     except TimeoutError:
    ...         log.append("timed out after the flush")
    ...     return log
    >>> testing.run(run_it([])).value
    ['flushed', 'timed out after the flush']
    """
    _check_task(task, "shield")
    me: Fork[Any, Any, Any] = yield CURRENT
    inner: Fork[Any, Any, Any] = yield from fork(task)
    _shielded_for[inner] = me
    held: Optional[BaseException] = None
    while True:
        try:
            value = (yield from wait_end(inner)).take()
            break
        except BaseException as error:
            if isinstance(error, GeneratorExit):  # being closed: no more waiting is possible
                raise
            if inner.st == FAILED and inner.value is error:
                if held is not None:
                    raise held from error
                raise
            if held is None:  # a cancellation of ours: keep waiting, raise the first after
                held = error
    if held is not None:
        raise held
    return value
