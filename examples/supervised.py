"""A supervised worker crashes on bad input and is restarted with fresh state.

The supervisor restarts a crashed child (one_for_one) after a short backoff; the child
keeps its address (ActorRef) and the messages queued for it. The ask that made it crash
fails with ActorCrashed; the next one is answered by the new incarnation. After more
than 3 restarts in a second, the supervisor gives up and escalates.

Run: python examples/supervised.py
"""

from __future__ import annotations

from typing import Any, Generator

import actress
from actress.actor import ActorCrashed, Call, Inbox
from actress.supervisor import Child, SupervisorGaveUp, supervise


def parser(inbox: Inbox[Call[str, int]]) -> Generator[Any, Any, None]:
    seen = 0  # private state: reset by a restart
    print("parser: (re)started")
    while True:
        call = yield from inbox.receive()
        seen += 1
        call.reply(int(call.message))  # int("oops") raises: the actor crashes
        print(f"parser: parsed {call.message!r} ({seen} since start)")


def main() -> Generator[Any, Any, None]:
    sup = yield from supervise([Child("parser", parser)], max_restarts=3, within_ms=1000,
                               backoff_ms=lambda n: 5.0 * n, name="parsers")
    ref = sup["parser"]
    for text in ["1", "2", "oops", "3", "bad", "worse", "nope", "4"]:
        try:
            value = yield from ref.ask(text)
            print(f"main: {text!r} -> {value}")
        except ActorCrashed as error:
            print(f"main: {text!r} crashed the parser ({error.__cause__!r})")
        except actress.actor.ActorStopped:
            print(f"main: {text!r} not accepted: the parser is gone")
    try:
        yield from sup.join()
    except SupervisorGaveUp as error:
        print(f"main: the supervisor gave up after {sup.restarts['parser']} restarts: {error}")


if __name__ == "__main__":
    actress.run(main())
