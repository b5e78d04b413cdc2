"""Weighted fair lanes: which queued job runs next.

Across lanes, start-time fair queueing: each lane has a virtual time that a pop advances
by ``1 / weight``; ``pop`` serves the eligible lane (queued work, under its
``max_inflight``) with the smallest virtual time, the lane added first on a tie. A lane
that becomes eligible again starts at ``max(its virtual time, the virtual time of the
last pop)``: idling earns no credit. Within a lane, primers first (FIFO), then followers
round-robin across groups, in the order the groups got a queued follower.

Every operation costs O(log lanes) (amortized): a heap of lanes with lazy invalidation,
per-lane deques, per-group chains through the queued objects themselves (no list or
deque per group); cancelled entries are skipped when met, never searched. With a single
lane and no cap (the usual set-up) there is nothing to choose between: the heap is left
empty and ``pop`` takes from that lane directly, keeping its virtual time so that a lane
added later starts where the heap would have started it.

What is queued is a ``Queued`` object: ``LaneQueue`` holds such objects themselves (the
engine's jobs are ``Queued``: no second object per queued job for the collector to
walk); ``Lanes`` wraps plain items in ``Entry`` objects.

Uses: collections, heapq. Never: asyncio, the kernel, the scheduler.
"""

from __future__ import annotations

import heapq
from collections import deque
from typing import Any, Generic, Hashable, Optional, TypeVar, Union, cast

T = TypeVar("T")
N = TypeVar("N", bound="Queued")

__all__ = ["Entry", "LaneQueue", "Lanes", "Queued"]


class Queued:
    """Something a ``LaneQueue`` holds as itself: subclass it (its three slots are the
    queue's) and ``queue`` the objects, one object less per item than wrapping each in an
    ``Entry`` as ``Lanes.push`` does (the job engine's jobs are queued this way).

    >>> class Photo(Queued):
    ...     __slots__ = ("path",)
    ...     def __init__(self, path: str) -> None:
    ...         self.path = path
    >>> lanes: LaneQueue[Photo] = LaneQueue(); lanes.add("bulk")
    >>> lanes.queue(Photo("1.png"), "bulk", group="album-7")
    >>> lanes.queue(Photo("2.png"), "bulk", group="album-7")
    >>> lanes.pop().path, len(lanes)
    ('1.png', 1)
    """

    __slots__ = ("_box", "_queued", "_next")
    #: while queued: the follower group it waits in, or (a primer) its lane
    _box: Union[_Group[Any], _Lane[Any], None]
    #: _OUT (never queued, or popped), _IN (queued) or _CANCELLED
    _queued: int
    #: the next follower queued in its group (a chain through the queued objects: no list
    #: per group)
    _next: Optional[Queued]


_OUT, _IN, _CANCELLED = 0, 1, 2


class Entry(Queued, Generic[T]):
    """A queued item: the handle ``Lanes.push`` returns, and ``Lanes.pop`` gives back.

    >>> lanes: Lanes[str] = Lanes(); lanes.add("bulk")
    >>> lanes.push("bulk", "resize 1.png", group="album-7")
    Entry('bulk', 'resize 1.png', group='album-7')
    """

    __slots__ = ("lane", "item", "group", "primer")

    def __init__(self, lane: str, item: T, group: Hashable, primer: bool) -> None:
        self.lane = lane
        self.item = item
        self.group = group
        self.primer = primer
        self._queued = _OUT

    @property
    def cancelled(self) -> bool:
        """Whether it was withdrawn with ``cancel``.

        >>> lanes: Lanes[str] = Lanes(); lanes.add("a")
        >>> kept, dropped = lanes.push("a", "x", group=1), lanes.push("a", "y", group=1)
        >>> _ = lanes.cancel(dropped)
        >>> lanes.pop() is kept, kept.cancelled, dropped.cancelled  # popped is not cancelled
        (True, False, True)
        """
        return self._queued == _CANCELLED

    def __repr__(self) -> str:
        flags = (", primer" if self.primer else "") + (", cancelled" if self.cancelled else "")
        return f"Entry({self.lane!r}, {self.item!r}, group={self.group!r}{flags})"


class _Group(Generic[N]):
    __slots__ = ("key", "lane", "first", "last", "live")

    def __init__(self, key: Hashable, lane: _Lane[N]) -> None:
        self.key = key
        self.lane = lane
        #: the chain of its queued followers (``_next``), cancelled ones left in it
        self.first: Optional[N] = None
        self.last: Optional[N] = None
        self.live = 0  # entries not cancelled; 0 means stale (dropped from ``groups``)


class _Lane(Generic[N]):
    __slots__ = ("order", "weight", "max_inflight", "vtime", "inflight", "count",
                 "primers", "groups", "rotation", "listed", "stamp", "probes")

    def __init__(self, order: int, weight: float, max_inflight: Optional[int]) -> None:
        self.order = order
        self.weight = weight
        self.max_inflight = max_inflight
        self.vtime = 0.0
        self.inflight = 0
        self.count = 0  # queued, not cancelled
        self.primers: deque[N] = deque()
        self.groups: dict[Hashable, _Group[N]] = {}  # group key -> its current box
        self.rotation: deque[_Group[N]] = deque()  # follower groups, in turn order
        self.listed = False  # has a valid item in the heap
        self.stamp = 0  # heap items carrying an older stamp are stale
        self.probes = 0  # queue heads looked at by pops (tests check it stays O(1) per pop)

    def eligible(self) -> bool:
        cap = self.max_inflight
        return self.count > 0 and (cap is None or self.inflight < cap)

    def take(self) -> N:
        """Remove and return the next live entry (the caller knows ``count > 0``)."""
        primers = self.primers
        while primers:
            self.probes += 1
            entry = primers.popleft()
            if entry._queued == _IN:  # (else cancelled)
                entry._box = None  # (a popped entry must not keep its lane alive)
                return entry
        rotation = self.rotation
        while True:
            self.probes += 1
            box = rotation[0]
            if box.live == 0:  # every entry left in it was cancelled
                rotation.popleft()
                continue
            taken: N = box.first  # type: ignore[assignment]  # (live > 0: not None)
            nxt = taken._next
            box.first = nxt  # type: ignore[assignment]  # (a node of this queue)
            if nxt is None:
                box.last = None
            else:
                taken._next = None  # (a taken entry must not keep the chain alive)
            if taken._queued != _IN:  # cancelled
                continue
            taken._box = None
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


class LaneQueue(Generic[N]):
    """A weighted fair queue of ``Queued`` objects across named lanes (see the module
    docstring for the order); ``Lanes`` is the same queue for plain items.

    >>> class Job(Queued):
    ...     __slots__ = ("name",)
    ...     def __init__(self, name: str) -> None:
    ...         self.name = name
    >>> lanes: LaneQueue[Job] = LaneQueue(); lanes.add("paid", weight=2); lanes.add("free")
    >>> for n in range(3):
    ...     lanes.queue(Job(f"p{n}"), "paid", group=n)
    ...     lanes.queue(Job(f"f{n}"), "free", group=n)
    >>> [lanes.pop().name for _ in range(6)], len(lanes)
    (['p0', 'f0', 'p1', 'p2', 'f1', 'f2'], 0)
    """

    def __init__(self) -> None:
        self._lanes: dict[str, _Lane[N]] = {}
        self._by_order: list[_Lane[N]] = []
        self._heap: list[tuple[float, int, int]] = []  # (vtime, order, stamp)
        self._listed = 0
        self._vnow = 0.0  # the virtual time of the last entry popped
        self._len = 0
        #: the only lane, while there is one and it has no cap (the heap is then unused)
        self._solo: Optional[_Lane[N]] = None

    def add(self, name: str, weight: float = 1.0, max_inflight: Optional[int] = None) -> None:
        """Add an empty lane; its share of pops is proportional to ``weight``.

        Raises ``ValueError`` on a duplicate name, a weight outside 1e-06..1e+06 (a
        share is a ratio), or ``max_inflight < 1``; ``TypeError`` on a name that is not a
        ``str``.

        >>> Lanes[str]().add("a", weight=0)
        Traceback (most recent call last):
        ...
        ValueError: lane 'a': weight must be between 1e-06 and 1e+06, got 0
        """
        if name in self._lanes:
            raise ValueError(f"lane {name!r} exists already")
        _check(name, weight, max_inflight)
        lane: _Lane[N] = _Lane(len(self._by_order), float(weight), max_inflight)
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

    def queue(self, node: N, lane: str, group: Hashable, primer: bool = False) -> None:
        """Queue ``node`` in ``lane`` for ``group`` (among the primers if ``primer``).

        Raises ``KeyError`` for an unknown lane, ``ValueError`` if ``node`` is queued
        already or was cancelled (a popped node may be queued again).

        >>> lanes: LaneQueue[Entry[str]] = LaneQueue(); lanes.add("a")
        >>> entry = Entry("a", "plan", group="g", primer=True)
        >>> lanes.queue(entry, "a", "g", primer=True); lanes.pop() is entry
        True
        """
        try:
            state = self._lanes[lane]
        except KeyError:
            raise self._unknown(lane) from None
        try:
            was = node._queued
        except AttributeError:  # never queued
            was = _OUT
        if was != _OUT:
            raise ValueError(f"{node!r} is {'queued already' if was == _IN else 'cancelled'}")
        node._queued = _IN
        if primer:
            node._box = state
            state.primers.append(node)
        else:
            box = state.groups.get(group)
            if box is None:
                box = state.groups[group] = _Group(group, state)
                state.rotation.append(box)
            node._box = box
            node._next = None
            last = box.last
            if last is None:
                box.first = node
            else:
                last._next = node
            box.last = node
            box.live += 1
        state.count += 1
        self._len += 1
        if state.count == 1:
            self._refresh(state)

    def cancel(self, node: N) -> bool:
        """Withdraw a queued node: ``pop`` will skip it and ``len`` no longer counts it.

        Returns ``False`` (and does nothing) if it was popped or cancelled already.

        >>> lanes: Lanes[str] = Lanes(); lanes.add("a")
        >>> e = lanes.push("a", "x", group=1)
        >>> lanes.cancel(e), lanes.cancel(e), len(lanes), lanes.pop(), e.cancelled
        (True, False, 0, None, True)
        """
        if getattr(node, "_queued", _OUT) != _IN:
            return False
        node._queued = _CANCELLED
        box = node._box
        node._box = None
        if type(box) is _Group:
            lane = box.lane
            box.live -= 1
            if box.live == 0:  # stale: a new follower of this group starts a new turn
                del lane.groups[box.key]
        else:
            lane = cast("_Lane[N]", box)
        lane.count -= 1
        self._len -= 1
        if lane.count == 0:
            lane.clear()
            self._refresh(lane)
        return True

    def pop(self, primers_only: bool = False) -> Optional[N]:
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
        entry._queued = _OUT
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

    def _pop_primer(self) -> Optional[N]:
        best: Optional[_Lane[N]] = None
        solo = self._solo
        for lane in self._by_order:
            primers = lane.primers
            while primers and primers[0]._queued != _IN:
                primers.popleft()
            if primers and (lane.listed or lane is solo) \
                    and (best is None or lane.vtime < best.vtime):
                best = lane
        if best is None:
            return None
        entry = best.primers.popleft()
        entry._queued = _OUT
        entry._box = None
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

    def _lane(self, name: str) -> _Lane[N]:
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

    def _refresh(self, lane: _Lane[N]) -> None:
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

    def _unlist(self, lane: _Lane[N]) -> None:
        lane.listed = False
        lane.stamp += 1  # its heap item, if any, is stale now
        self._listed -= 1
        heap = self._heap
        if len(heap) > 2 * self._listed + 16:  # mostly stale: drop them (paid by the unlists)
            by_order = self._by_order
            heap[:] = [i for i in heap if by_order[i[1]].listed and by_order[i[1]].stamp == i[2]]
            heapq.heapify(heap)


class Lanes(LaneQueue[Entry[T]]):
    """A ``LaneQueue`` of plain items: ``push`` wraps each in an ``Entry``.

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

    def push(self, lane: str, item: T, group: Hashable, primer: bool = False) -> Entry[T]:
        """Queue ``item`` in ``lane`` for ``group``; return its ``Entry`` (to ``cancel`` it).

        Raises ``KeyError`` for an unknown lane.

        >>> lanes: Lanes[str] = Lanes(); lanes.add("a")
        >>> lanes.push("a", "plan", group="g", primer=True)
        Entry('a', 'plan', group='g', primer)
        """
        entry = Entry(lane, item, group, primer)
        self.queue(entry, lane, group, primer)
        return entry


#: The weights a lane may have: a share is a ratio, and these keep every lane's virtual
#: time exact in a float for any run (a weight of 1e-17 made one lane's step swallow
#: every other lane's, so the first lane took every pop).
MIN_WEIGHT, MAX_WEIGHT = 1e-6, 1e6


def _check(name: str, weight: float, max_inflight: Optional[int]) -> None:
    if type(name) is not str:
        raise TypeError(f"a lane name must be a str, got {name!r}")
    if not MIN_WEIGHT <= weight <= MAX_WEIGHT:
        raise ValueError(f"lane {name!r}: weight must be between {MIN_WEIGHT:g} and "
                         f"{MAX_WEIGHT:g}, got {weight!r}")
    if max_inflight is not None and (type(max_inflight) is not int or max_inflight < 1):
        raise ValueError(f"lane {name!r}: max_inflight must be None or an int >= 1, "
                         f"got {max_inflight!r}")
