"""Channels: typed queues between tasks, with buffer policies, close, and select.

``Channel(0)`` is a rendezvous (a send waits for a receiver), ``Channel(n)`` holds ``n``
items (a sender waits when full), ``Channel(n, policy="drop")`` drops the new item when
full, ``policy="slide"`` drops the oldest, ``Channel(math.inf)`` never fills.

Rules that hold under cancellation (tests/test_channel.py checks them with hypothesis):
- ``send`` returns: the item was accepted, exactly once. ``send`` raises: it was not.
  (A sender cancelled after its item was taken returns normally and gets the
  cancellation at its next wait.)
- ``receive`` returns: the item is the caller's. ``receive`` raises: nothing was taken (an
  item handed to a receiver that is cancelled before it runs goes to the next receiver,
  or back to the head of the buffer).
- After ``close()``, sends raise ``Closed`` (also senders waiting then: not accepted);
  receivers drain the buffer, then get ``Closed``.

Waiting is ``suspend``/``resume`` on the waiting task; a hand-off to a waiting receiver
costs no scheduler round trip for the sender.

Uses: _fork, _instructions. Never: the kernel's internals, asyncio.
"""

from __future__ import annotations

import math
import weakref
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Generator, Generic, Iterable, Literal, Optional, TypeVar, cast

from . import _fork
from ._fork import DONE, Fork
from ._instructions import Waiter

T = TypeVar("T")

__all__ = ["Channel", "ChannelStats", "Closed", "WouldBlock", "select"]

Policy = Literal["block", "drop", "slide"]

_WAITING, _GOT, _TAKEN, _CLOSED = range(4)


class Closed(Exception):
    """The channel is closed (for a receiver: closed and drained)."""


class WouldBlock(Exception):
    """A ``_nowait`` operation would have had to wait."""


# A task parked on a channel is a ``Waiter``: ``task`` is filled in by the kernel as the
# task parks; ``item`` is what a sender offers or what a receiver was handed; ``state`` is
# _WAITING until a peer or close() ends the wait; ``source`` is the channel that served it
# (for select).


@dataclass(frozen=True)
class ChannelStats:
    """A snapshot of a channel (``Channel.statistics()``)."""

    name: str
    capacity: float
    policy: str
    buffered: int
    senders_waiting: int
    receivers_waiting: int
    dropped: int
    closed: bool


_channels: weakref.WeakSet[Channel[Any]] = weakref.WeakSet()

#: A channel's buffer until its first item is buffered: a channel whose receivers always
#: wait for items (an idle actor's mailbox, a rendezvous channel) never makes a deque. It
#: reads as an empty deque; every place that appends first replaces it with a real one
#: (``Channel._buffer``), and one that forgot would fail loudly: a tuple has no append.
_NO_BUF: deque[Any] = cast("deque[Any]", ())


class Channel(Generic[T]):
    """A queue of ``T`` between tasks; see the module docstring for the rules.

    >>> from actress import task, testing
    >>> def producer(ch):
    ...     for i in range(3):
    ...         yield from ch.send(i)
    ...     ch.close()
    >>> def consumer(ch):
    ...     got = []
    ...     yield from ch.for_each(got.append)
    ...     return got
    >>> def main():
    ...     ch = Channel(1)
    ...     yield from task.fork(producer(ch))
    ...     return (yield from consumer(ch))
    >>> testing.run(main()).value
    [0, 1, 2]
    """

    __slots__ = ("_buf", "_cap", "_policy", "_receivers", "_senders", "_spare", "_closed", "name",
                 "_dropped", "owner", "__weakref__")

    def __init__(self, capacity: float = 0, *, policy: Policy = "block", name: str = "") -> None:
        if not isinstance(capacity, (int, float)) or isinstance(capacity, bool):
            raise TypeError(f"Channel capacity must be a number (0, n or math.inf), got "
                            f"{capacity!r}")
        if not (capacity >= 0):
            raise ValueError(f"Channel capacity must be >= 0, got {capacity!r}")
        if capacity != math.inf and capacity != int(capacity):
            raise ValueError(f"Channel capacity must be a whole number or math.inf, got {capacity!r}")
        if policy not in ("block", "drop", "slide"):
            raise ValueError(f"Channel policy must be 'block', 'drop' or 'slide', got {policy!r}")
        if policy != "block" and capacity < 1:
            raise ValueError(f"a {policy!r} channel needs a capacity of at least 1")
        self._buf: deque[T] = _NO_BUF
        self._cap = capacity
        self._policy = policy
        self._receivers: deque[Waiter] = deque()
        self._senders: Optional[deque[Waiter]] = None  # made when a sender first waits
        self._spare: Optional[Waiter] = None  # a receive's waiter, done with: the next one's
        self._closed = False
        self.name = name
        self._dropped = 0
        #: What reads this channel, for diagnostics (an actor's mailbox: its ``Inbox``).
        self.owner: Any = None
        _channels.add(self)

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        cap = "unbounded" if self._cap == math.inf else f"capacity={int(self._cap)}"
        return f"<Channel{label} {cap}{' closed' if self._closed else ''}>"

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called.

        >>> ch = Channel(1)
        >>> ch.send_nowait("a"); ch.close()
        >>> ch.closed, ch.receive_nowait()  # closed, and what it holds can still be taken
        (True, 'a')
        """
        return self._closed

    # -- sending ----------------------------------------------------------------------

    def send(self, item: T) -> Generator[Any, Any, None]:
        """Put ``item`` in; wait while a ``block`` channel is full (or, at capacity 0,
        until a receiver takes it). Raises ``Closed`` if the channel is closed.

        >>> from actress import task, testing
        >>> def taker(ch):
        ...     yield from task.sleep(10)
        ...     yield from ch.receive()
        >>> def main(ch):
        ...     yield from task.fork(taker(ch))
        ...     yield from ch.send("a")  # room in the buffer: returns at once
        ...     yield from ch.send("b")  # full: waits until the taker takes "a"
        >>> testing.run(main(Channel(1))).time
        10.0
        """
        # The two common cases first. (A receiver waits only while the buffer is empty
        # and the channel open.)
        rs = self._receivers
        if rs:
            w = rs.popleft()
            if w.state == _WAITING:  # hand it to the waiting receiver
                w.item = item
                w.state = _GOT
                w.source = self
                f = w.task
                f.sched.resume(f)
                return
            # a select served by another channel: the general path below
        elif len(self._buf) < self._cap and not self._closed:
            buf = self._buf
            if buf is _NO_BUF:
                buf = self._buf = deque()
            buf.append(item)
            return
        if self._try_send(item):
            return
        w = Waiter()
        w.item = item
        w.state = _WAITING
        if self._senders is None:
            self._senders = deque()
        self._senders.append(w)
        try:
            yield w
            while w.state == _WAITING:  # woken by someone else's resume(): wait on
                yield w
        except BaseException as error:
            if w.state == _WAITING:
                if self._senders is not None and w in self._senders:  # (not if close()
                    self._senders.remove(w)                           # took it off)
                raise
            if w.state == _TAKEN:  # accepted after all: return, cancel at the next wait
                me = w.task
                me.sched.interrupt(me, error)
                return
            raise
        if w.state == _CLOSED:
            raise Closed(f"{self!r} was closed before the item was accepted")

    def send_nowait(self, item: T) -> None:
        """Put ``item`` in now, or raise ``WouldBlock`` (full) or ``Closed``.

        >>> ch = Channel(1)
        >>> ch.send_nowait("a")
        >>> ch.send_nowait("b")
        Traceback (most recent call last):
        ...
        actress.channel.WouldBlock: <Channel capacity=1> is full
        """
        if not self._try_send(item):
            raise WouldBlock(f"{self!r} is full")

    def _try_send(self, item: T) -> bool:
        if self._closed:
            raise Closed(f"cannot send to {self!r}: it is closed")
        rs = self._receivers
        while rs:  # a receiver waits (so the buffer is empty): hand the item over
            w = rs.popleft()
            if w.state != _WAITING:  # a select that was served by another channel
                continue
            w.item = item
            w.state = _GOT
            w.source = self
            w.task.sched.resume(w.task)
            return True
        buf = self._buf
        if len(buf) < self._cap:
            self._buffer().append(item)
            return True
        if self._policy == "block":
            return False
        self._dropped += 1
        if self._policy == "slide":
            buf.popleft()
            buf.append(item)
        return True

    # -- receiving --------------------------------------------------------------------

    def receive(self) -> Generator[Any, Any, T]:
        """Take the next item; wait if there is none. Raises ``Closed`` once the channel
        is closed and drained.

        >>> from actress import testing
        >>> ch = Channel(1)
        >>> ch.send_nowait("a")
        >>> ch.close()
        >>> testing.run(ch.receive()).value  # closed, but "a" is still buffered
        'a'
        >>> testing.run(ch.receive()).error  # closed and drained
        Closed('<Channel capacity=1 closed> is closed and drained')
        """
        buf = self._buf
        if buf or self._senders:
            return self._take()
        if self._closed:
            raise Closed(f"{self!r} is closed and drained")
        w = self._spare
        if w is None:
            w = Waiter()
        else:
            self._spare = None
        w.state = _WAITING
        self._receivers.append(w)
        try:
            yield w
            while w.state == _WAITING:  # woken by someone else's resume(): wait on
                yield w
        except BaseException:
            if w.state == _WAITING:
                try:
                    self._receivers.remove(w)
                except ValueError:  # (close() took it off already, and is waking it)
                    pass
            elif w.state == _GOT:
                self._give_back(w.item)
            raise
        if w.state == _GOT:
            item = w.item
            w.item = w.task = w.source = None  # (kept for the next wait: holds nothing)
            self._spare = w
            return item  # type: ignore[no-any-return]
        if self._buf:  # closed, but an item given back by a cancelled receiver is left
            return self._take()
        raise Closed(f"{self!r} is closed and drained")

    def receive_nowait(self) -> T:
        """Take the next item now, or raise ``WouldBlock`` (empty) or ``Closed`` (closed
        and drained).

        >>> ch = Channel(2)
        >>> ch.send_nowait("a")
        >>> ch.receive_nowait()
        'a'
        """
        if self._buf or self._senders:
            return self._take()
        if self._closed:
            raise Closed(f"{self!r} is closed and drained")
        raise WouldBlock(f"{self!r} is empty")

    def _take(self) -> T:
        buf = self._buf
        ss = self._senders
        if buf:
            item = buf.popleft()
            if ss:  # room now: the first waiting sender's item moves in
                w = ss.popleft()
                buf.append(w.item)
                self._accept(w)
            return item
        w = ss.popleft()  # type: ignore[union-attr]  # rendezvous: straight from the sender
        self._accept(w)
        return w.item  # type: ignore[no-any-return]

    def _buffer(self) -> deque[T]:
        """The buffer, to append to: made now if it is still ``_NO_BUF``."""
        buf = self._buf
        if buf is _NO_BUF:
            buf = self._buf = deque()
        return buf

    def _accept(self, w: Waiter) -> None:
        w.state = _TAKEN
        w.task.sched.resume(w.task)

    def _give_back(self, item: T) -> None:
        """An item handed to a receiver that was cancelled before it ran: not lost."""
        rs = self._receivers
        while rs:
            w = rs.popleft()
            if w.state != _WAITING:
                continue
            w.item = item
            w.state = _GOT
            w.source = self
            w.task.sched.resume(w.task)
            return
        self._buffer().appendleft(item)  # may exceed the capacity by this one item

    def for_each(self, handle: Callable[[T], Any]) -> Generator[Any, Any, int]:
        """Receive until the channel is closed and drained, calling ``handle(item)`` on
        each (if it returns a generator, it runs as part of this task); return the count.

        >>> from actress import task, testing
        >>> def handle(item):
        ...     yield from task.sleep(10)  # a generator: it runs in the receiving task
        >>> ch = Channel(2)
        >>> ch.send_nowait("a")
        >>> ch.send_nowait("b")
        >>> ch.close()
        >>> testing.run(ch.for_each(handle))
        Outcome(ok=True, value=2, error=None, messages=[], time=20.0)
        """
        n = 0
        while True:
            try:
                item = yield from self.receive()
            except Closed:
                return n
            out = handle(item)
            if out is not None and hasattr(out, "send") and hasattr(out, "throw"):
                yield from out
            n += 1

    # -- closing and looking ----------------------------------------------------------

    def close(self) -> None:
        """Close the channel: no more sends (waiting senders get ``Closed``, their items
        not accepted); receivers take what is buffered, then get ``Closed``.

        >>> ch = Channel(2)
        >>> ch.send_nowait("last")
        >>> ch.close()
        >>> ch.receive_nowait()
        'last'
        >>> ch.receive_nowait()
        Traceback (most recent call last):
        ...
        actress.channel.Closed: <Channel capacity=2 closed> is closed and drained
        """
        if self._closed:
            return
        self._closed = True
        waiters = list(self._senders or ())
        self._senders = None
        if not self._buf:
            waiters += self._receivers
            self._receivers.clear()
        for w in waiters:
            if w.state == _WAITING:
                w.state = _CLOSED
                w.source = self
                if w.task.st < DONE:
                    w.task.sched.resume(w.task)

    def statistics(self) -> ChannelStats:
        """Return a snapshot: buffered items, waiting tasks, counts, closed or not.

        >>> Channel(4, name="jobs").statistics().capacity
        4
        """
        return ChannelStats(
            self.name, self._cap, self._policy, len(self._buf),
            sum(w.state == _WAITING for w in self._senders or ()),
            sum(w.state == _WAITING for w in self._receivers), self._dropped, self._closed)

    def waits(self, sched: Any = None) -> list[str]:
        """Describe the tasks waiting on this channel (of ``sched``, if given), for
        deadlock reports.

        >>> from actress import task, testing
        >>> def main(ch):
        ...     yield from task.fork(ch.receive(), name="reader")
        ...     yield from task.sleep(0)  # the reader starts waiting
        ...     print(*ch.waits())
        ...     ch.send_nowait("job")  # taken: nobody waits any more
        ...     return ch.waits()
        >>> testing.run(main(Channel(name="q"))).value  # doctest: +ELLIPSIS
        Fork(id=..., name='reader', status='active') waits to receive from <Channel 'q' capacity=0>
        []
        """
        def task_of(w: Waiter) -> Any:  # (unset while the task has not parked in it yet)
            return getattr(w, "task", None)

        def mine(w: Waiter) -> bool:
            if w.state != _WAITING:
                return False
            return sched is None or getattr(task_of(w), "sched", None) is sched
        out = [f"{task_of(w)!r} waits to send to {self!r}" for w in tuple(self._senders or ())
               if mine(w)]
        out += [f"{task_of(w)!r} waits to receive from {self!r}"
                for w in tuple(self._receivers) if mine(w)]
        return out


def select(channels: Iterable[Channel[Any]]) -> Generator[Any, Any, tuple[Channel[Any], Any]]:
    """Receive from whichever of ``channels`` has an item first; return ``(channel, item)``.

    Takes from exactly one channel. Ready channels are tried in the order given. Raises
    ``Closed`` when every channel is closed and drained; a closed channel is skipped
    while others may still deliver.

    >>> from actress import task, testing
    >>> def main():
    ...     a, b = Channel(1, name="a"), Channel(1, name="b")
    ...     b.send_nowait("from b")
    ...     ch, item = yield from select([a, b])
    ...     return ch.name, item
    >>> testing.run(main()).value
    ('b', 'from b')
    """
    chans = list(dict.fromkeys(channels))
    if not chans:
        raise ValueError("select() needs at least one channel")
    while True:
        open_ = []
        for ch in chans:
            if ch._buf or ch._senders:
                return ch, ch._take()
            if not ch._closed:
                open_.append(ch)
        if not open_:
            raise Closed("every channel given to select() is closed and drained")
        w = Waiter()
        w.state = _WAITING
        w.source = None
        for ch in open_:
            ch._receivers.append(w)
        try:
            while w.state == _WAITING:
                yield w
        except BaseException:
            if w.state == _GOT:
                w.source._give_back(w.item)
            raise
        finally:
            for ch in open_:
                if ch is not w.source or w.state != _GOT:
                    try:
                        ch._receivers.remove(w)
                    except ValueError:
                        pass
        if w.state == _GOT:
            return w.source, w.item
        chans = [ch for ch in chans if not (ch._closed and not ch._buf and not ch._senders)]
        if not chans:
            raise Closed("every channel given to select() is closed and drained")
        # one channel closed while we waited: wait on the others


def _deadlock_report(sched: Any) -> list[str]:
    lines: list[str] = []
    for ch in list(_channels):
        lines += ch.waits(sched)
    return lines


def _parked(sched: Any) -> list[Fork[Any, Any, Any]]:
    """The tasks of ``sched`` waiting to send or receive on any channel."""
    # (tuple() copies a deque atomically: another thread's scheduler may use a channel)
    return [w.task for ch in list(_channels)
            for w in (*tuple(ch._senders or ()), *tuple(ch._receivers))
            if w.state == _WAITING and getattr(getattr(w, "task", None), "sched", None) is sched]


_fork.diagnostics.append(_deadlock_report)
_fork.parked.append(_parked)
