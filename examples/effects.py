"""Effects: tag messages by source, merge them, and react to each with `loop`.

A tiny "search box": keystrokes and a clock are two effects; `listen` merges them, tagging
each message with its source; `loop` hands every message to `update`, which returns the
next effect to run (here: a simulated search when typing pauses).

Run it: ``python examples/effects.py``.
"""

from __future__ import annotations

from typing import Any, Generator

from actress import run, task

Task = Generator[Any, Any, Any]


def keystrokes(text: str, gap_ms: int) -> Task:
    """Type ``text`` one character every ``gap_ms`` milliseconds."""
    typed = ""
    for char in text:
        yield from task.sleep(gap_ms)
        typed += char
        yield from task.send(typed)


def clock(ticks: int, every_ms: int) -> Task:
    for n in range(ticks):
        yield from task.sleep(every_ms)
        yield from task.send(n)


def search(query: str) -> Task:
    """Pretend to query a server; send the results as one message."""
    yield from task.sleep(15)
    yield from task.send({"results": [f"{query}-{i}" for i in range(2)]})


def update(message: dict[str, Any]) -> Any:
    """React to one message; return the effect to run next (or none)."""
    kind = message["type"]
    if kind == "keys":
        print(f"typed   {message['keys']!r}")
        return task.tag(search(message["keys"]), "search") if len(message["keys"]) == 3 else task.none_()
    if kind == "clock":
        print(f"tick    {message['clock']}")
    elif kind == "search":
        print(f"results {message['search']['results']}")
    return task.none_()


def main() -> Task:
    yield from task.loop(task.listen({"keys": keystrokes("actress", 4), "clock": clock(3, 10)}), update)
    return "done"


if __name__ == "__main__":
    print(run(main()))
