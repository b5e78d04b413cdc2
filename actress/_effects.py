"""Effects: tasks that matter for the messages they send, and ways to combine them.

``tag``/``listen`` label messages, ``batch``/``effects`` merge effects, ``loop`` feeds
every message back to a function that returns the next effect, ``all_`` gathers results.
All are plain generators over the kernel's watch/park instructions.

Uses: _instructions, _fork. Never: the scheduler loop, asyncio.
"""

from __future__ import annotations

import inspect
from types import CoroutineType, GeneratorType
from collections.abc import Mapping
from typing import Any, Callable, Generator, Iterable, Optional, TypeVar, Union

from ._fork import DONE, FAILED, Fork, pass_down
from ._mistakes import _MISTAKES, as_generator, check_task, message_codes, mistake
from ._instructions import (
    CONTROL_TYPES, OP_ABORT, OP_WATCH_ALL, PARK, UNWATCH, ExitSignal, _Op,
)

T = TypeVar("T")
U = TypeVar("U")
M = TypeVar("M")


class _NoneEffect:
    """The effect that sends nothing and ends at once. It is one shared object (so that
    ``listen`` and ``tag`` can tell it), driven by hand as 0.1's generator was: ``next``
    and ``send`` end it at once, ``throw`` raises."""

    __slots__ = ()

    def __iter__(self) -> Generator[Any, Any, None]:
        return _nothing()

    def __next__(self) -> Any:
        raise StopIteration

    def send(self, value: Any) -> Any:
        raise StopIteration

    def throw(self, error: BaseException, *rest: Any) -> Any:
        raise error

    def close(self) -> None:
        pass

    def __repr__(self) -> str:
        return "none_()"


def _nothing() -> Generator[Any, Any, None]:
    return
    yield  # pragma: no cover - makes this a generator


NONE_: Any = _NoneEffect()


def none_() -> Any:
    """Return the empty effect: it sends no message (like ``[]`` for lists).

    >>> from actress import testing
    >>> testing.run(none_()).messages
    []
    """
    return NONE_


def with_tag(tag: str, value: Any) -> dict[str, Any]:
    """Box ``value`` as ``{"type": tag, tag: value}``.

    >>> with_tag("inc", 1)
    {'type': 'inc', 'inc': 1}
    """
    return {"type": tag, tag: value}


class Tagged:
    """An effect whose every message is boxed with its tags (innermost first)."""

    __slots__ = ("source", "tags")

    def __init__(self, source: Any, tags: tuple[str, ...]) -> None:
        self.source = source
        self.tags = tags

    def __iter__(self) -> Generator[Any, Any, Any]:
        return _tagging(self.source, self.tags)

    def __str__(self) -> str:
        return "TaggedEffect"

    __repr__ = __str__


def tag(effect: Any, name: str) -> Any:
    """Box every message of ``effect`` as ``{"type": name, name: message}``.

    Tags nest, outermost last. Tagging ``none_()`` returns ``none_()`` itself.

    >>> from actress import task, testing
    >>> def fx():
    ...     yield from task.send(1)
    >>> testing.run(tag(tag(fx(), "foo"), "bar")).messages
    [{'type': 'bar', 'bar': {'type': 'foo', 'foo': 1}}]
    """
    if effect is NONE_:
        return NONE_
    if isinstance(effect, Tagged):
        return Tagged(effect.source, effect.tags + (name,))
    if type(effect) is not GeneratorType:
        check_task(effect, "tag")
    return Tagged(effect, (name,))


def _tagging(source: Any, tags: tuple[str, ...]) -> Generator[Any, Any, Any]:
    gen = as_generator(source)
    send, throw = gen.send, gen.throw
    controls = CONTROL_TYPES
    value: Any = None
    error: Optional[BaseException] = None
    while True:
        try:
            if error is None:
                out = send(value)
            else:
                error, e = None, error
                out = throw(e)
        except StopIteration as stop:
            return stop.value
        kind = type(out)
        if kind not in controls and not (kind is tuple and out and type(out[0]) is _Op):
            if kind in _MISTAKES:
                error = mistake(out, gen)  # (None: task.send sent it: a message)
                if error is not None:
                    value = None
                    continue
            for name in tags:
                out = {"type": name, name: out}
        try:
            value = yield out
        except BaseException as thrown:  # forwarded to the tagged effect
            error = thrown
            value = None


def cancel_members(forks: Iterable[Fork[Any, Any, Any]], error: BaseException) -> Generator[Any, Any, None]:
    """Stop watching ``forks`` and abort those not finished, as their group ends with ``error``.

    Cancellation goes down: a group (``group``, ``all_``, ``loop``...) that fails, is aborted
    or is exited takes its members with it; an exit ends them with ``None``.
    """
    if isinstance(error, GeneratorExit):
        return  # being closed: no more waiting is possible
    yield UNWATCH
    live = tuple(f for f in forks if f.st < DONE)
    if live:
        pass_down(live, error)
        traceback = error.__traceback__
        try:
            yield (OP_ABORT, live, ExitSignal(None) if type(error) is ExitSignal else error)
        finally:  # each member the error went through added its frames: not the group's
            error.__traceback__ = traceback


def then_(
    task: Generator[Any, Any, T],
    resolve: Callable[[T], U],
    reject: Callable[[Exception], U],
) -> Generator[Any, Any, U]:
    """Run ``task``; return ``resolve(result)``, or ``reject(error)`` if the task or
    ``resolve`` raised.

    >>> from actress import testing
    >>> def boom():
    ...     raise ValueError("x")
    ...     yield
    >>> testing.run(then_(boom(), str, lambda e: f"caught {e}")).value
    'caught x'
    """
    try:  # (as in 0.1 and the JS original: an error raised by resolve goes to reject)
        return resolve((yield from task))
    except Exception as error:
        return reject(error)


def effect(task: Generator[Any, Any, T]) -> Generator[Any, Any, None]:
    """Turn a task into an effect that sends the task's result as its one message.

    >>> from actress import testing
    >>> def answer():
    ...     return 42
    ...     yield
    >>> testing.run(effect(answer())).messages
    [42]
    """
    message = yield from task
    yield message


message_codes.add(effect.__code__)


def _start(effects: Iterable[Any], where: str) -> list[Fork[Any, Any, Any]]:
    items = list(effects)  # (all checked before any starts: none is left running alone)
    for fx in items:
        if type(fx) is not GeneratorType:
            try:
                check_task(fx, where)
            except TypeError:
                for other in items:  # none of them runs now: no "never awaited" warning
                    if type(other) is CoroutineType:
                        other.close()
                raise
    forks = []
    for fx in items:
        f: Fork[Any, Any, Any] = Fork(fx)
        f.activate()
        forks.append(f)
    return forks


def batch(effects: Iterable[Any]) -> Generator[Any, Any, None]:
    """Run several effects concurrently as one; messages arrive in the order they are sent.

    >>> from actress import task, testing
    >>> def after(ms, msg):
    ...     yield from task.sleep(ms)
    ...     yield from task.send(msg)
    >>> testing.run(batch([after(5, "foo"), after(1, "bar")])).messages
    ['bar', 'foo']
    """
    from .task import group

    yield from group(_start(effects, "batch"))


def effects(tasks: list[Generator[Any, Any, Any]]) -> Any:
    """Run several tasks concurrently as one effect of their results, in completion order.

    >>> from actress import task, testing
    >>> def after(ms, value):
    ...     yield from task.sleep(ms)
    ...     return value
    >>> testing.run(effects([after(5, "foo"), after(1, "bar")])).messages
    ['bar', 'foo']
    """
    if not tasks:
        return NONE_
    return batch([effect(t) for t in tasks])


def listen(sources: Mapping[str, Any]) -> Generator[Any, Any, None]:
    """Merge several effects into one whose messages are tagged with their source's key.

    >>> from actress import task, testing
    >>> def one(msg):
    ...     yield from task.send(msg)
    >>> testing.run(listen({"a": one(1), "b": one(2)})).messages
    [{'type': 'a', 'a': 1}, {'type': 'b', 'b': 2}]
    """
    from .task import group

    yield from group(_start((tag(fx, name) for name, fx in sources.items() if fx is not NONE_),
                            "listen"))


def all_(tasks: Union[Iterable[Any], Mapping[Any, Any]]) -> Generator[Any, Any, Any]:
    """Run tasks concurrently; return their results in input order (a dict of tasks
    gives a dict of results, keys kept).

    The first failure aborts the others (in input order) and is raised. As in actress
    0.1, the tasks' messages are not passed on.

    >>> from actress import task, testing
    >>> def after(ms, value):
    ...     yield from task.sleep(ms)
    ...     return value
    >>> testing.run(all_([after(9, "a"), after(1, "b")])).value
    ['a', 'b']
    >>> testing.run(all_({"x": after(9, "a"), "y": after(1, "b")})).value
    {'x': 'a', 'y': 'b'}
    """
    if isinstance(tasks, Mapping):
        keys = list(tasks)
        values = yield from all_([tasks[k] for k in keys])
        return dict(zip(keys, values))
    forks = _start(tasks, "all_")
    results: list[Any] = [None] * len(forks)
    if not forks:
        return results
    index = {f: i for i, f in enumerate(forks)}
    left = len(forks)
    try:
        got = yield (OP_WATCH_ALL, forks, False)
        while True:
            if type(got) is Fork:
                if got.st == FAILED:
                    raise got.error  # type: ignore[misc]
                results[index[got]] = got.value
                left -= 1
                if not left:
                    return results
            got = yield PARK
    except BaseException as error:
        yield from cancel_members(forks, error)
        raise


_NOT_MAPPINGS = frozenset({tuple, str, int, float, bool, bytes, list, type(None)})


def _message_handler(next_: Callable[..., Any]) -> Callable[[Any], Any]:
    """Call ``next_`` with a mapping message (a dict, a dict subclass, an ``OrderedDict``)
    as keyword arguments when they bind, as 0.1 did."""
    try:
        signature = inspect.signature(next_)
    except (TypeError, ValueError):
        return next_
    binds: dict[tuple[Any, ...], bool] = {}

    def call(message: Any) -> Any:
        kind = type(message)
        if kind is dict or (kind not in _NOT_MAPPINGS and isinstance(message, Mapping)):
            keys = tuple(message)
            ok = binds.get(keys)
            if ok is None:
                try:
                    signature.bind(**message)
                    ok = True
                except TypeError:
                    ok = False
                binds[keys] = ok
            if ok:
                return next_(**message)
        return next_(message)

    return call


def loop(init: Any, next_: Callable[[Any], Any]) -> Generator[Any, Any, None]:
    """Run ``init``; feed each message to ``next_``, run the effect it returns, and so on.

    Messages are consumed, breadth-first; the loop ends when every effect has ended. If
    one fails, the others are aborted and the error is raised.

    >>> from actress import task, testing
    >>> seen = []
    >>> def step(n):
    ...     seen.append(n)
    ...     if n < 3:
    ...         yield from task.send(n + 1)
    >>> _ = testing.run(loop(step(0), step)); seen
    [0, 1, 2, 3]
    """
    call = _message_handler(next_)
    if type(init) is not GeneratorType:
        check_task(init, "loop")
    first: Fork[Any, Any, Any] = Fork(init)
    live: dict[Fork[Any, Any, Any], None] = {first: None}
    try:
        got = yield (OP_WATCH_ALL, (first,), True)
        while True:
            if type(got) is tuple:  # a message: (value,)
                fx = call(got[0])
                if fx is None:
                    fx = NONE_
                elif type(fx) is not GeneratorType:
                    check_task(fx, "loop (what next_ returned)")
                f: Fork[Any, Any, Any] = Fork(fx)
                live[f] = None
                got = yield (OP_WATCH_ALL, (f,), False)
                continue
            if type(got) is Fork:
                live.pop(got, None)
                if got.st == FAILED:
                    raise got.error  # type: ignore[misc]
                if not live:
                    return
            got = yield PARK
    except BaseException as error:
        yield from cancel_members(live, error)
        raise
