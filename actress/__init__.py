"""actress: concurrent work as plain generators, on a small cooperative scheduler.

>>> from actress import task, run
>>> def main():
...     child = yield from task.fork(task.effect(task.wait(21)))
...     yield from task.join(child)
...     return 42
>>> run(main())
42
"""

from . import task
from ._fork import Fork
from ._instructions import Failure, Result, Status, Success
from ._kernel import Scheduler, current_scheduler
from ._fork import Deadlock
from ._run import run
from .task import (
    CURRENT, SUSPEND, Control, Controller, ControllerFork, Effect, ForkOptions, Instruction,
    Task, TaskFork, abort, all_, batch, current, effect, effects, exit_, fork, group,
    is_instruction, is_message, join, listen, loop, main, none_, resume, send, sleep, spawn,
    suspend, tag, terminate, then_, wait, with_tag,
)

__version__ = "0.2.0"

__all__ = [
    "CURRENT", "SUSPEND", "Control", "Controller", "ControllerFork", "Deadlock", "Effect", "Failure",
    "Fork", "ForkOptions", "Instruction", "Result", "Scheduler", "Status", "Success", "Task",
    "TaskFork", "abort", "all_", "batch", "current", "current_scheduler", "effect",
    "effects", "exit_", "fork", "group", "is_instruction", "is_message", "join", "listen",
    "loop", "main", "none_", "resume", "run", "send", "sleep", "spawn", "suspend", "tag",
    "task", "terminate", "then_", "wait", "with_tag",
]
