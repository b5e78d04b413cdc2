"""The main demo: fork/join, messages, abort with cleanup, and awaiting a fork from asyncio.

Run it: ``python examples/demo.py``. Every line it prints says what just happened.
"""

from __future__ import annotations

import asyncio
from typing import Any, Generator

from actress import task

Task = Generator[Any, Any, Any]


def worker(name: str, ms: int) -> Task:
    """Sleep ``ms`` milliseconds, tell whoever joins us, return our name."""
    print(f"   {name}: working for {ms} ms")
    yield from task.sleep(ms)
    yield from task.send(f"done:{name}")  # a message to whoever joins this task
    return name


def fork_and_join() -> Task:
    a = yield from task.fork(worker("a", 30))
    b = yield from task.fork(worker("b", 10))
    results = [(yield from task.join(a)), (yield from task.join(b))]
    print(f"   joined both: {results}")
    return results


def slow_download(log: list[str]) -> Task:
    try:
        log.append("download: started")
        yield from task.sleep(1_000)
        log.append("download: finished")  # never reached: we are aborted first
    finally:
        log.append("download: cleaning up (closing the connection)")
        yield from task.sleep(5)  # cleanup may itself wait
        log.append("download: cleaned up")


def abort_with_cleanup() -> Task:
    log: list[str] = []
    download = yield from task.fork(slow_download(log))
    yield from task.sleep(20)
    log.append("main: giving up on the download")
    yield from task.abort(download, TimeoutError("too slow"))
    log.append("main: abort returned")
    try:
        yield from task.join(download)
    except TimeoutError as error:
        log.append(f"main: join raised {type(error).__name__}: {error}")
    return log


def ticker(count: int) -> Task:
    for n in range(count):
        yield from task.sleep(5)
        yield from task.send({"tick": n})


def show(message: Any) -> Any:
    """Print a message; return the next effect to run for it (none)."""
    print(f"   got {message}")
    return task.none_()


def listen_to_ticks() -> Task:
    # listen() tags each message with its source; loop() hands every message to show().
    yield from task.loop(task.listen({"clock": ticker(3)}), show)


async def main() -> None:
    print("1. fork two workers and join them:")
    print(f"   result: {await task.fork(fork_and_join())}")

    print("2. messages flow to whoever drives a task:")
    await task.fork(listen_to_ticks())

    print("3. abort a task: its cleanup starts at once and may wait; a join waits for it:")
    for line in await task.fork(abort_with_cleanup()):
        print(f"   {line}")

    print("4. a fork is an awaitable: gather it with asyncio tasks, cancel it from asyncio:")
    forks = [task.fork(worker(f"w{i}", 5 * i)) for i in range(3)]
    print(f"   gathered: {await asyncio.gather(*forks, asyncio.sleep(0.001, 'asyncio'))}")
    log: list[str] = []
    download = asyncio.ensure_future(task.fork(slow_download(log)))
    await asyncio.sleep(0.01)
    download.cancel()
    try:
        await download
    except asyncio.CancelledError:
        print(f"   cancelled from asyncio; the await waited for the cleanup: {log[1:]}")


if __name__ == "__main__":
    asyncio.run(main())
