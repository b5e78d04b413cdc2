"""Race two mirrors under a deadline; the loser is cancelled and cleans up.

``race`` returns the first task to finish and cancels the others (their ``finally``
blocks run, and may wait). ``timeout`` raises TimeoutError when the deadline passes;
``move_on_after`` returns a default instead. Deadlines nest.

Run: python examples/race_timeout.py
"""

from __future__ import annotations

from typing import Any, Generator

import actress
from actress import task
from actress.scope import move_on_after, race, timeout


def fetch(mirror: str, ms: float) -> Generator[Any, Any, str]:
    print(f"  {mirror}: connecting")
    try:
        yield from task.sleep(ms)
        return f"page from {mirror}"
    finally:
        print(f"  {mirror}: closing the connection")


def main() -> Generator[Any, Any, None]:
    print("race, under a 50 ms deadline:")
    winner = yield from timeout(50, race({"eu": fetch("eu", 30), "us": fetch("us", 10)}))
    print(f"  winner: {winner}")

    print("race, both too slow for a 20 ms deadline:")
    try:
        yield from timeout(20, race({"eu": fetch("eu", 80), "us": fetch("us", 90)}))
    except TimeoutError as error:
        print(f"  TimeoutError: {error}")

    print("move_on_after 20 ms, with a default:")
    page = yield from move_on_after(20, fetch("slow", 100), default="cached page")
    print(f"  got: {page}")


if __name__ == "__main__":
    actress.run(main())
