"""What a task may not yield: a generator, a coroutine, a ``sleep`` or a fork yielded with
``yield`` instead of delegated to with ``yield from``, unless it is a message; and how
anything a task may be given becomes something the kernel can step.

Uses: _instructions. Never: the kernel (its drivers call ``mistake`` on what they get).
"""

from __future__ import annotations

from types import CodeType, CoroutineType, GeneratorType
from typing import Any, Generator, Iterable, Optional

from ._instructions import SleepZero

#: What yielding each type (without ``from``) is called in the error; ``_fork`` adds the
#: fork.
_MISTAKES: dict[type, str] = {
    GeneratorType: "a generator", CoroutineType: "a coroutine", SleepZero: "a sleep"}


def mistake(value: object, gen: Any = None) -> Optional[TypeError]:
    """Return the error for a task that yielded a task (``yield x`` for ``yield from x``).

    Every driver calls this on what a task yields before taking it as a message, passing
    the generator it steps as ``gen``: a value that ``task.send`` yielded is a message
    whatever its type (sending a fork handle up is fine; yielding one is the mistake).

    >>> from actress import task
    >>> mistake("a message") is None
    True
    >>> print(mistake(task.sleep(0)))  # doctest: +ELLIPSIS
    a task yielded a sleep (...) instead of delegating to it: write `yield from ...`, ...
    >>> sender = task.send(task.sleep(0))
    >>> mistake(next(sender), sender) is None  # sent, not yielded by mistake
    True
    """
    what = _MISTAKES.get(type(value))
    if what is None:
        return None
    if gen is not None and _yielded_as_message(gen):
        return None
    return TypeError(
        f"a task yielded {what} ({value!r}) instead of delegating to it: "
        "write `yield from ...`, not `yield ...` (for example `yield from task.sleep(10)`)"
    )


#: The code of the generators whose plain yields are messages: ``task.send``, and those
#: that pass their forks' messages up as they came (``join``, ``wait_end``, ``group``,
#: ``effect``). Each module adds its own. A message may be a fork, a generator or a
#: ``sleep``: only such a yield, from anywhere else, is a mistake.
message_codes: set[CodeType] = set()


def _yielded_as_message(gen: Any) -> bool:
    """Whether ``gen`` (suspended at a yield) yielded from one of ``message_codes`` (rare:
    only asked when a task yields a value of a mistake's type)."""
    while True:
        inner = getattr(gen, "gi_yieldfrom", None)
        if inner is None:
            return getattr(gen, "gi_code", None) in message_codes
        gen = inner


def as_generator(task: Any) -> Any:
    """Return something with ``send``/``throw`` that runs ``task``.

    What cannot run (not iterable) becomes a task that fails with the error, so that it
    is reported to whoever joins it rather than escaping the scheduler.
    """
    if type(task) is GeneratorType:
        return task
    try:
        it = iter(task)
    except Exception:
        what = f"{type(task).__name__} {task!r}"
        if type(task) is CoroutineType:
            task.close()
            what = f"a coroutine {task!r} (`async def`; tasks are `def` with `yield`)"
        return _failing(TypeError(f"a task must be a generator, got {what}"))
    if type(it) is GeneratorType or (hasattr(it, "send") and hasattr(it, "throw")):
        return it
    return _delegate(it)


def _delegate(it: Iterable[Any]) -> Generator[Any, Any, Any]:
    return (yield from it)


def _failing(error: BaseException) -> Generator[Any, Any, Any]:
    raise error
    yield  # pragma: no cover - makes this a generator



__all__ = ["as_generator", "check_task", "message_codes", "mistake"]


_CONTAINERS = (list, tuple, dict, set, frozenset, str, bytes, range)


def check_task(task: Any, where: str) -> None:
    """Raise a ``TypeError`` that names the mistake if ``task`` cannot run as a task:
    a coroutine, a fork, a container, ``None`` or anything not iterable. ``where`` is
    the function it was given to (``fork``, ``batch``, ``loop (what next_ returned)``).

    >>> check_task(None, "batch")
    Traceback (most recent call last):
    ...
    TypeError: task.batch() takes a generator (a task), got NoneType None: does the function that made it lack a `yield`?
    """
    if type(task) is CoroutineType:
        task.close()
        raise TypeError(
            f"task.{where}() takes a generator (a task), got a coroutine: tasks are written "
            "with `yield from`; to wait for a coroutine inside a task use task.wait(coro)")
    from ._fork import Fork  # (here: _fork imports this module)

    if isinstance(task, Fork):
        raise TypeError(f"task.{where}() takes a task, got a fork: join it instead")
    if type(task) in (list, tuple) and task and all(
            type(t) is GeneratorType for t in task):
        raise TypeError(
            f"task.{where}() takes a generator (a task), got {type(task).__name__} "
            f"{task!r}: several tasks run as one with task.batch([...]) or task.all_([...])")
    if type(task) in _CONTAINERS or task is None:
        raise TypeError(
            f"task.{where}() takes a generator (a task), got {type(task).__name__} "
            f"{task!r}: does the function that made it lack a `yield`?")
    if not hasattr(type(task), "__iter__"):
        raise TypeError(f"task.{where}() takes a generator (a task), got {task!r}")
