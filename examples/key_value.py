"""A key-value server: one handler per message, asked from tasks and from asyncio.

``inbox.serve(handler)`` hands every message to ``handler(message)``, one at a time, and
answers an ``ask`` with what it returns. An ask that finds the server idle runs the
handler right in the asking task (no switch to the server), then lets the other tasks run
once: here two clients interleave, ask by ask. A bad request raises in the handler: the
server crashes in its own task, the ask fails with ActorCrashed, and the supervisor
restarts it with a fresh table after setting it up again.

Run: python examples/key_value.py
"""

from __future__ import annotations

import asyncio
from typing import Any, Generator

from actress import task
from actress.actor import ActorCrashed, ActorRef, Inbox
from actress.supervisor import Child, supervise


def kv_server(inbox: Inbox[Any]) -> Generator[Any, Any, None]:
    table: dict[str, int] = {"answer": 42}  # set-up: a restart makes a fresh table
    print("kv: serving", sorted(table))

    def handle(request: tuple[str, ...]) -> Any:
        op, key, *value = request
        if op == "put":
            table[key] = int(value[0])  # int("many") raises: the server crashes
            return "ok"
        if op == "get":
            return table.get(key)
        raise ValueError(f"unknown request {request!r}")

    yield from inbox.serve(handle)


def client(name: str, kv: ActorRef[Any], keys: list[str]) -> Generator[Any, Any, int]:
    total = 0
    for i, key in enumerate(keys):
        print(f"{name}: put {key}={i} -> {(yield from kv.ask(('put', key, str(i))))}")
        total += (yield from kv.ask(("get", key))) or 0
    return total


def main() -> Generator[Any, Any, Any]:
    sup = yield from supervise([Child("kv", kv_server)], name="kv-sup")
    kv = sup["kv"]
    a = yield from task.fork(client("a", kv, ["x", "y"]))
    b = yield from task.fork(client("b", kv, ["z"]))
    print("totals:", (yield from task.join(a)), (yield from task.join(b)))
    try:
        yield from kv.ask(("put", "x", "many"))
    except ActorCrashed as error:
        print(f"main: the bad put crashed the server ({error.__cause__!r})")
    print("main: after the restart, x is", (yield from kv.ask(("get", "x"))),
          "and answer is", (yield from kv.ask(("get", "answer"))))
    return sup


async def from_asyncio() -> None:
    sup = await task.fork(main())
    kv = sup["kv"]
    print("asyncio: get answer ->", await kv.ask(("get", "answer")))
    sup.stop()
    await task.fork(sup.join())
    print("asyncio: restarts:", sup.restarts["kv"])


if __name__ == "__main__":
    asyncio.run(from_asyncio())
