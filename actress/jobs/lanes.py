"""Weighted fair lanes: which queued job runs next.

Across lanes, start-time fair queueing: each lane has a virtual time that a pop advances
by ``1 / weight``; ``pop`` serves the eligible lane (queued work, under its
``max_inflight``) with the smallest virtual time, the lane added first on a tie. A lane
that becomes eligible again starts at ``max(its virtual time, the virtual time of the
last pop)``: idling earns no credit. Within a lane, primers first (FIFO), then followers
round-robin across groups, in the order the groups got a queued follower.

Every operation costs O(log lanes) (amortized): a heap of lanes with lazy invalidation,
per-lane deques, per-group lists read from a moving head (a deque's first block is 512
bytes: too much for a group of a few followers); cancelled entries are skipped when met,
never searched. With a single lane and no cap (the usual set-up) there is nothing to
choose between: the heap is left empty and ``pop`` takes from that lane directly, keeping
its virtual time so that a lane added later starts where the heap would have started it.

Uses: collections, heapq. Never: asyncio, the kernel, the scheduler.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from typing import Generic, Hashable, Optional, TypeVar

T = TypeVar("T")

__all__ = ["Entry", "Lanes"]


class Entry(Generic[T]):
    """A queued item: the handle ``Lanes.push`` returns, and ``Lanes.pop`` gives back.

    >>> lanes: Lanes[str] = Lanes(); lanes.add("bulk")
    >>> lanes.push("bulk", "resize 1.png", group="album-7")
    Entry('bulk', 'resize 1.png', group='album-7')
    """

    __slots__ = ("lane", "item", "group", "primer", "cancelled", "_box", "_queued")

    def __init__(self, lane: str, item: T, group: Hashable, primer: bool,
                 box: Optional[_Group[T]]) -> None:
        self.lane = lane
        self.item = item
        self.group = group
        self.primer = primer
        self.cancelled = False
        self._box = box  # the follower group it waits in (None for a primer)
        self._queued = True  # False once popped or cancelled

    def __repr__(self) -> str:
        flags = (", primer" if self.primer else "") + (", cancelled" if self.cancelled else "")
        return f"Entry({self.lane!r}, {self.item!r}, group={self.group!r}{flags})"


class _Group(Generic[T]):
    __slots__ = ("key", "entries", "head", "live")

    def __init__(self, key: Hashable) -> None:
        self.key = key
        #: queued entries from ``head`` on; the taken ones before it are None (dropped in
        #: one slice once they are most of the list)
        self.entries: list[Optional[Entry[T]]] = []
        self.head = 0
        self.live = 0  # entries not cancelled; 0 means stale (dropped from ``groups``)


class _Lane(Generic[T]):
    __slots__ = ("order", "weight", "max_inflight", "vtime", "inflight", "count",
                 "primers", "groups", "rotation", "listed", "stamp", "probes")

    def __init__(self, order: int, weight: float, max_inflight: Optional[int]) -> None:
        self.order = order
        self.weight = weight
        self.max_inflight = max_inflight
        self.vtime = 0.0
        self.inflight = 0
        self.count = 0  # queued, not cancelled
        self.primers: deque[Entry[T]] = deque()
        self.groups: dict[Hashable, _Group[T]] = {}  # group key -> its current box
        self.rotation: deque[_Group[T]] = deque()  # follower groups, in turn order
        self.listed = False  # has a valid item in the heap
        self.stamp = 0  # heap items carrying an older stamp are stale
        self.probes = 0  # queue heads looked at by pops (tests check it stays O(1) per pop)

    def eligible(self) -> bool:
        cap = self.max_inflight
        return self.count > 0 and (cap is None or self.inflight < cap)

    def take(self) -> Entry[T]:
        """Remove and return the next live entry (the caller knows ``count > 0``)."""
        primers = self.primers
        while primers:
            self.probes += 1
            entry = primers.popleft()
            if not entry.cancelled:
                return entry
        rotation = self.rotation
        while True:
            self.probes += 1
            box = rotation[0]
            if box.live == 0:  # every entry left in it was cancelled
                rotation.popleft()
                continue
            entries, i = box.entries, box.head
            taken = entries[i]
            entries[i] = None  # (the list must not keep a taken entry, nor its item, alive)
            i += 1
            if i >= 32 and i * 2 >= len(entries):
                del entries[:i]
                i = 0
            box.head = i
            if taken is None or taken.cancelled:
                continue
            box.live -= 1
            if box.live:
                rotation.rotate(-1)  # its turn is used: to the back
            else:
                rotation.popleft()
                del self.groups[box.key]
            return taken

    def clear(self) -> None:  # all left are cancelled: paid for by the cancels, once each
        self.primers.clear()
        self.groups.clear()
        self.rotation.clear()


class Lanes(Generic[T]):
    """A weighted fair queue of jobs across named lanes.

    >>> lanes: Lanes[str] = Lanes()
    >>> lanes.add("paid", weight=2)
    >>> lanes.add("free")
    >>> for n in range(3):
    ...     _ = lanes.push("paid", f"p{n}", group=n)
    ...     _ = lanes.push("free", f"f{n}", group=n)
    >>> [lanes.pop().item for _ in range(6)], len(lanes)
    (['p0', 'f0', 'p1', 'p2', 'f1', 'f2'], 0)
    >>> "paid" in lanes, lanes.names()
    (True, ['paid', 'free'])
    """

    def __init__(self) -> None:
        self._lanes: dict[str, _Lane[T]] = {}
        self._by_order: list[_Lane[T]] = []
        self._heap: list[tuple[float, int, int]] = []  # (vtime, order, stamp)
        self._listed = 0
        self._vnow = 0.0  # the virtual time of the last entry popped
        self._len = 0
        #: the only lane, while there is one and it has no cap (the heap is then unused)
        self._solo: Optional[_Lane[T]] = None

    def add(self, name: str, weight: float = 1.0, max_inflight: Optional[int] = None) -> None:
        """Add an empty lane; its share of pops is proportional to ``weight``.

        Raises ``ValueError`` on a duplicate name, a weight that is not finite and > 0,
        or ``max_inflight < 1``.

        >>> Lanes[str]().add("a", weight=0)
        Traceback (most recent call last):
        ...
        ValueError: lane 'a': weight must be finite and > 0, got 0
        """
        if name in self._lanes:
            raise ValueError(f"lane {name!r} exists already")
        _check(name, weight, max_inflight)
        lane: _Lane[T] = _Lane(len(self._by_order), float(weight), max_inflight)
        self._lanes[name] = lane
        self._by_order.append(lane)
        self._solo_or_heap()

    def reweight(self, name: str, weight: float) -> None:
        """Change a lane's weight; it counts from the next pop on (no catch-up).

        >>> lanes: Lanes[str] = Lanes(); lanes.add("a"); lanes.reweight("a", 3)
        """
        lane = self._lane(name)
        _check(name, weight, None)
        lane.weight = float(weight)

    def set_max_inflight(self, name: str, max_inflight: Optional[int]) -> None:
        """Change a lane's cap on entries in flight (``None``: no cap). Lowering it below
        what is in flight stops pops from the lane until enough are ``done``.

        >>> lanes: Lanes[str] = Lanes(); lanes.add("a")
        >>> _ = lanes.push("a", "x", group=1); lanes.set_max_inflight("a", 1)
        >>> lanes.pop().item, lanes.inflight("a")
        ('x', 1)
        """
        lane = self._lane(name)
        _check(name, lane.weight, max_inflight)
        lane.max_inflight = max_inflight
        self._solo_or_heap()
        self._refresh(lane)

    def __contains__(self, name: object) -> bool:
        return name in self._lanes

    def names(self) -> list[str]:
        """Return the lane names, in the order they were added.

        >>> lanes: Lanes[str] = Lanes(); lanes.add("b"); lanes.add("a")
        >>> lanes.names()
        ['b', 'a']
        """
        return list(self._lanes)

    def push(self, lane: str, item: T, group: Hashable, primer: bool = False) -> Entry[T]:
        """Queue ``item`` in ``lane`` for ``group``; return its ``Entry`` (to ``cancel`` it).

        Raises ``KeyError`` for an unknown lane.

        >>> lanes: Lanes[str] = Lanes(); lanes.add("a")
        >>> lanes.push("a", "plan", group="g", primer=True)
        Entry('a', 'plan', group='g', primer)
        """
        try:
            state = self._lanes[lane]
        except KeyError:
            raise self._unknown(lane) from None
        if primer:
            entry = Entry(lane, item, group, True, None)
            state.primers.append(entry)
        else:
            box = state.groups.get(group)
            if box is None:
                box = state.groups[group] = _Group(group)
                state.rotation.append(box)
            entry = Entry(lane, item, group, False, box)
            box.entries.append(entry)
            box.live += 1
        state.count += 1
        self._len += 1
        if state.count == 1:
            self._refresh(state)
        return entry

    def cancel(self, entry: Entry[T]) -> bool:
        """Withdraw a queued entry: ``pop`` will skip it and ``len`` no longer counts it.

        Returns ``False`` (and does nothing) if it was popped or cancelled already.

        >>> lanes: Lanes[str] = Lanes(); lanes.add("a")
        >>> e = lanes.push("a", "x", group=1)
        >>> lanes.cancel(e), lanes.cancel(e), len(lanes), lanes.pop()
        (True, False, 0, None)
        """
        if not entry._queued:
            return False
        entry._queued = False
        entry.cancelled = True
        lane = self._lanes[entry.lane]
        box = entry._box
        if box is not None:
            box.live -= 1
            if box.live == 0:  # stale: a new follower of this group starts a new turn
                del lane.groups[box.key]
        lane.count -= 1
        self._len -= 1
        if lane.count == 0:
            lane.clear()
            self._refresh(lane)
        return True

    def pop(self, primers_only: bool = False) -> Optional[Entry[T]]:
        """Remove and return the next entry to run and count it in flight in its lane;
        ``None`` if no lane has queued work under its ``max_inflight``.

        ``primers_only``: the next primer, by the same virtual-time order among the lanes
        that have one (for workers reserved to primers; this looks at each lane, not at
        each group).

        >>> lanes: Lanes[str] = Lanes(); lanes.add("a", max_inflight=1)
        >>> _ = lanes.push("a", "x", group=1); _ = lanes.push("a", "y", group=1)
        >>> lanes.pop().item, lanes.pop()
        ('x', None)
        """
        if primers_only:
            return self._pop_primer()
        heap = self._heap
        lane = self._solo
        if lane is not None:  # the only lane: nothing to choose, no heap item to update
            if not lane.count:
                return None
            vtime = lane.vtime
        else:
            by_order = self._by_order
            while heap:
                vtime, order, stamp = heap[0]
                lane = by_order[order]
                if lane.listed and lane.stamp == stamp:
                    break
                heapq.heappop(heap)
            else:
                return None
        entry = lane.take()
        entry._queued = False
        lane.count -= 1
        lane.inflight += 1
        self._len -= 1
        self._vnow = vtime
        lane.vtime = vtime + 1.0 / lane.weight
        if heap:  # (empty while a lane is solo)
            cap = lane.max_inflight  # lane.eligible(), inlined: this is every dispatch
            if lane.count > 0 and (cap is None or lane.inflight < cap):
                heapq.heapreplace(heap, (lane.vtime, order, stamp))
            else:
                heapq.heappop(heap)
                self._unlist(lane)
        return entry

    def _pop_primer(self) -> Optional[Entry[T]]:
        best: Optional[_Lane[T]] = None
        solo = self._solo
        for lane in self._by_order:
            primers = lane.primers
            while primers and primers[0].cancelled:
                primers.popleft()
            if primers and (lane.listed or lane is solo) \
                    and (best is None or lane.vtime < best.vtime):
                best = lane
        if best is None:
            return None
        entry = best.primers.popleft()
        entry._queued = False
        best.count -= 1
        best.inflight += 1
        self._len -= 1
        self._vnow = best.vtime
        best.vtime += 1.0 / best.weight
        if best is not solo:
            self._unlist(best)  # its heap item carries the old virtual time
            self._refresh(best)
        return entry

    def done(self, lane: str) -> None:
        """Record that one of ``lane``'s entries in flight finished (frees room under its
        ``max_inflight``). Raises ``ValueError`` if none is in flight.

        >>> lanes: Lanes[str] = Lanes(); lanes.add("a")
        >>> _ = lanes.push("a", "x", group=1); _ = lanes.pop()
        >>> lanes.done("a"); lanes.inflight("a")
        0
        """
        try:
            state = self._lanes[lane]
        except KeyError:
            raise self._unknown(lane) from None
        if state.inflight == 0:
            raise ValueError(f"lane {lane!r} has no entry in flight")
        state.inflight -= 1
        if state.max_inflight is not None:  # without a cap, in-flight counts do not gate it
            self._refresh(state)

    def __len__(self) -> int:
        return self._len

    def queued(self, lane: str) -> int:
        """Return how many entries wait in ``lane`` (cancelled ones not counted).

        >>> lanes: Lanes[str] = Lanes(); lanes.add("a"); _ = lanes.push("a", "x", group=1)
        >>> lanes.queued("a")
        1
        """
        return self._lane(lane).count

    def inflight(self, lane: str) -> int:
        """Return how many of ``lane``'s popped entries are not ``done`` yet.

        >>> lanes: Lanes[str] = Lanes(); lanes.add("a"); lanes.inflight("a")
        0
        """
        return self._lane(lane).inflight

    def _lane(self, name: str) -> _Lane[T]:
        try:
            return self._lanes[name]
        except KeyError:
            raise self._unknown(name) from None

    def _unknown(self, name: str) -> KeyError:
        return KeyError(f"unknown lane {name!r} (lanes: {', '.join(self._lanes) or 'none'})")

    def _solo_or_heap(self) -> None:
        """After a lane is added or capped: switch between the solo lane and the heap."""
        by_order = self._by_order
        solo = by_order[0] if len(by_order) == 1 and by_order[0].max_inflight is None else None
        if solo is self._solo:
            return
        self._solo = solo
        self._heap.clear()
        self._listed = 0
        for lane in by_order:
            lane.listed = False
            lane.stamp += 1
            if solo is None:
                self._refresh(lane)

    def _refresh(self, lane: _Lane[T]) -> None:
        """List or unlist ``lane`` in the heap after its eligibility may have changed."""
        if lane is self._solo:
            return
        if lane.eligible():
            if not lane.listed:  # back from empty or blocked: no credit for the gap
                lane.vtime = max(lane.vtime, self._vnow)
                lane.listed = True
                self._listed += 1
                heapq.heappush(self._heap, (lane.vtime, lane.order, lane.stamp))
        elif lane.listed:
            self._unlist(lane)

    def _unlist(self, lane: _Lane[T]) -> None:
        lane.listed = False
        lane.stamp += 1  # its heap item, if any, is stale now
        self._listed -= 1
        heap = self._heap
        if len(heap) > 2 * self._listed + 16:  # mostly stale: drop them (paid by the unlists)
            by_order = self._by_order
            heap[:] = [i for i in heap if by_order[i[1]].listed and by_order[i[1]].stamp == i[2]]
            heapq.heapify(heap)


def _check(name: str, weight: float, max_inflight: Optional[int]) -> None:
    if not 0 < weight < math.inf:
        raise ValueError(f"lane {name!r}: weight must be finite and > 0, got {weight!r}")
    if max_inflight is not None and (type(max_inflight) is not int or max_inflight < 1):
        raise ValueError(f"lane {name!r}: max_inflight must be None or an int >= 1, "
                         f"got {max_inflight!r}")
