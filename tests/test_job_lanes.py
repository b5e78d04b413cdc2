"""Weighted fair lanes: fairness across lanes, order within a lane, caps, cancels, cost."""

from __future__ import annotations

from collections import Counter
from typing import Any, Hashable, Optional

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actress.jobs.lanes import Entry, LaneQueue, Lanes, Queued


def make(*lanes: tuple[str, float] | tuple[str, float, int]) -> Lanes[str]:
    q: Lanes[str] = Lanes()
    for spec in lanes:
        q.add(*spec)
    return q


def fill(q: Lanes[str], lane: str, n: int, group: Hashable = "g") -> list[Entry[str]]:
    return [q.push(lane, f"{lane}{i}", group=group) for i in range(n)]


def drain(q: Lanes[str], n: Optional[int] = None) -> list[str]:
    """Pop up to ``n`` entries (all if None) and return their items; lanes are freed at once."""
    out: list[str] = []
    while n is None or len(out) < n:
        entry = q.pop()
        if entry is None:
            break
        q.done(entry.lane)
        out.append(entry.item)
    return out


# --- lanes: add, names, errors ------------------------------------------------------------

def test_names_and_contains_follow_the_order_of_add() -> None:
    q = make(("b", 1), ("a", 2))
    assert q.names() == ["b", "a"]
    assert "a" in q and "c" not in q


@pytest.mark.parametrize(("args", "message"), [
    (("a",), "lane 'a' exists already"),
    (("b", 0), "lane 'b': weight must be between 1e-06 and 1e+06, got 0"),
    (("b", -1.5), "lane 'b': weight must be between 1e-06 and 1e+06, got -1.5"),
    (("b", float("inf")), "lane 'b': weight must be between 1e-06 and 1e+06, got inf"),
    (("b", float("nan")), "lane 'b': weight must be between 1e-06 and 1e+06, got nan"),
    (("b", 1e-17), "lane 'b': weight must be between 1e-06 and 1e+06, got 1e-17"),
    (("b", 1e17), "lane 'b': weight must be between 1e-06 and 1e+06, got 1e+17"),
    (("b", 1, 0), "lane 'b': max_inflight must be None or an int >= 1, got 0"),
])
def test_add_rejects_duplicates_bad_weights_and_caps(args: tuple[Any, ...], message: str) -> None:
    q = make(("a", 1))
    with pytest.raises(ValueError) as info:
        q.add(*args)
    assert str(info.value) == message


def test_a_lane_name_must_be_a_str() -> None:
    with pytest.raises(TypeError, match="a lane name must be a str, got 42"):
        make(("a", 1)).add(42)  # type: ignore[arg-type]


def test_reweight_and_set_max_inflight_validate_too() -> None:
    q = make(("a", 1))
    with pytest.raises(ValueError, match="weight must be between 1e-06 and 1e.06, got 0"):
        q.reweight("a", 0)
    with pytest.raises(ValueError, match="max_inflight must be None or an int >= 1, got 0"):
        q.set_max_inflight("a", 0)


@pytest.mark.parametrize("call", [
    lambda q: q.push("nope", "x", group=1), lambda q: q.queued("nope"),
    lambda q: q.inflight("nope"), lambda q: q.done("nope"), lambda q: q.reweight("nope", 2),
    lambda q: q.set_max_inflight("nope", 2),
])
def test_an_unknown_lane_raises_key_error_naming_it_and_the_lanes(call: Any) -> None:
    q = make(("a", 1), ("b", 1))
    with pytest.raises(KeyError) as info:
        call(q)
    assert info.value.args[0] == "unknown lane 'nope' (lanes: a, b)"


def test_done_without_an_entry_in_flight_raises() -> None:
    q = make(("a", 1))
    with pytest.raises(ValueError, match="lane 'a' has no entry in flight"):
        q.done("a")


def test_pop_on_empty_lanes_returns_none() -> None:
    assert make().pop() is None
    assert make(("a", 1)).pop() is None


def test_push_returns_an_entry_describing_the_item() -> None:
    q = make(("a", 1))
    entry = q.push("a", "x", group="g7", primer=True)
    assert (entry.lane, entry.item, entry.group, entry.primer, entry.cancelled) == (
        "a", "x", "g7", True, False)
    assert q.pop() is entry


# --- within a lane ------------------------------------------------------------------------

def test_primers_come_before_followers_in_fifo_order() -> None:
    q = make(("a", 1))
    q.push("a", "f1", group=1)
    q.push("a", "p1", group=1, primer=True)
    q.push("a", "f2", group=2)
    q.push("a", "p2", group=2, primer=True)
    assert drain(q) == ["p1", "p2", "f1", "f2"]


def test_a_primer_pushed_later_jumps_ahead_of_queued_followers() -> None:
    q = make(("a", 1))
    fill(q, "a", 3)
    assert drain(q, 1) == ["a0"]
    q.push("a", "primer", group="h", primer=True)
    assert drain(q) == ["primer", "a1", "a2"]


def test_followers_take_turns_across_groups_in_the_order_groups_arrived() -> None:
    q = make(("a", 1))
    for group, n in (("g1", 3), ("g2", 2), ("g3", 1)):
        for i in range(n):
            q.push("a", f"{group}.{i}", group=group)
    assert drain(q) == ["g1.0", "g2.0", "g3.0", "g1.1", "g2.1", "g1.2"]


def test_a_new_group_is_not_stuck_behind_a_big_backlog() -> None:
    q = make(("a", 1))
    for i in range(100):
        q.push("a", f"big.{i}", group="big")
    assert drain(q, 2) == ["big.0", "big.1"]
    q.push("a", "small.0", group="small")
    assert drain(q, 4) == ["big.2", "small.0", "big.3", "big.4"]


def test_a_group_that_ran_dry_and_refills_joins_the_back_of_the_rotation() -> None:
    q = make(("a", 1))
    q.push("a", "x.0", group="x")
    q.push("a", "y.0", group="y")
    q.push("a", "y.1", group="y")
    assert drain(q, 1) == ["x.0"]  # x has no followers left
    q.push("a", "x.1", group="x")
    assert drain(q) == ["y.0", "x.1", "y.1"]


# --- across lanes -------------------------------------------------------------------------

def test_equal_weights_alternate_and_ties_go_to_the_lane_added_first() -> None:
    q = make(("a", 1), ("b", 1))
    fill(q, "b", 3)
    fill(q, "a", 3)
    assert drain(q) == ["a0", "b0", "a1", "b1", "a2", "b2"]


def test_weights_two_to_one_give_two_thirds_whatever_the_order_of_pushes() -> None:
    for order in (("a", "b"), ("b", "a")):
        q = make(("a", 2), ("b", 1))
        for lane in order:
            fill(q, lane, 600 if lane == "a" else 300)
        first = Counter(item[0] for item in drain(q, 300))
        assert abs(first["a"] / 300 - 2 / 3) <= 0.01
        assert first["a"] == 200  # exactly, as it happens


def test_weights_two_to_one_exact_order() -> None:
    q = make(("a", 2), ("b", 1))
    fill(q, "a", 4)
    fill(q, "b", 2)
    assert drain(q) == ["a0", "b0", "a1", "a2", "b1", "a3"]


def test_an_idle_lanes_share_goes_to_the_others() -> None:
    q = make(("a", 1), ("b", 1), ("c", 2))
    fill(q, "a", 50)
    fill(q, "b", 50)
    assert Counter(item[0] for item in drain(q, 40)) == {"a": 20, "b": 20}


def test_a_lane_that_was_idle_gets_no_credit_for_it() -> None:
    q = make(("a", 1), ("b", 1))
    fill(q, "a", 200)
    assert len(drain(q, 100)) == 100
    fill(q, "b", 50)
    assert [item[0] for item in drain(q, 6)] == ["b", "a", "b", "a", "b", "a"]


def test_a_lane_emptied_by_cancels_gets_no_credit_either() -> None:
    q = make(("a", 1), ("b", 1))
    fill(q, "a", 200)
    gone = fill(q, "b", 3)
    assert [item[0] for item in drain(q, 2)] == ["a", "b"]
    for entry in gone:
        q.cancel(entry)
    drain(q, 50)  # a alone
    fill(q, "b", 10, group="h")
    assert [item[0] for item in drain(q, 4)] == ["b", "a", "b", "a"]


def test_a_lane_added_beside_a_lone_busy_lane_starts_at_the_current_virtual_time() -> None:
    q = make(("a", 1))  # alone and uncapped: served without the heap
    fill(q, "a", 6)
    assert drain(q, 3) == ["a0", "a1", "a2"]  # a's virtual time is 3, the last pop's 2
    q.add("b")
    fill(q, "b", 3)
    assert drain(q, 4) == ["b0", "a3", "b1", "a4"]


def test_a_lone_lane_serves_primers_only_pops_too() -> None:
    q = make(("a", 1))
    fill(q, "a", 2)
    primer = q.push("a", "p", group="g", primer=True)
    assert q.pop(primers_only=True) is primer
    assert q.pop(primers_only=True) is None
    assert drain(q) == ["a0", "a1"]


def test_capping_the_lone_lane_then_lifting_the_cap_keeps_its_queue() -> None:
    q = make(("a", 1))
    fill(q, "a", 3)
    q.set_max_inflight("a", 1)
    first = q.pop()
    assert (first.item if first else None, q.pop()) == ("a0", None)
    q.set_max_inflight("a", None)
    assert drain(q) == ["a1", "a2"]


def test_reweight_takes_effect_for_the_following_pops() -> None:
    q = make(("a", 1), ("b", 1))
    fill(q, "a", 100)
    fill(q, "b", 100)
    assert Counter(item[0] for item in drain(q, 20)) == {"a": 10, "b": 10}
    q.reweight("a", 3)
    assert Counter(item[0] for item in drain(q, 40)) == {"a": 30, "b": 10}


# --- max_inflight -------------------------------------------------------------------------

def test_max_inflight_is_never_exceeded_until_done() -> None:
    q = make(("a", 1, 2), ("b", 1))
    fill(q, "a", 5)
    fill(q, "b", 1)
    popped = [q.pop() for _ in range(4)]
    assert [e.item if e else None for e in popped] == ["a0", "b0", "a1", None]
    assert (q.inflight("a"), q.queued("a")) == (2, 3)
    q.done("a")
    entry = q.pop()
    assert entry is not None and entry.item == "a2"
    assert q.pop() is None


def test_a_capped_lane_under_load_never_holds_more_than_its_cap() -> None:
    q = make(("a", 1, 3), ("b", 2, 1))
    fill(q, "a", 100)
    fill(q, "b", 100)
    running: list[Entry[str]] = []
    for step in range(300):
        while (entry := q.pop()) is not None:
            running.append(entry)
        assert q.inflight("a") <= 3 and q.inflight("b") <= 1
        assert q.inflight("a") == sum(e.lane == "a" for e in running)
        if running:
            finished = running.pop(step % len(running))
            q.done(finished.lane)
    assert len(q) == 0


def test_a_lane_blocked_at_its_cap_gets_no_credit_when_freed() -> None:
    q = make(("b", 1), ("a", 1, 1))
    fill(q, "a", 50)
    fill(q, "b", 50)
    first = [q.pop() for _ in range(11)]
    assert [e.item if e else None for e in first] == ["b0", "a0", *[f"b{i}" for i in range(1, 10)]]
    q.done("a")  # a was blocked while b ran 9 more: it comes back level, not 8 ahead
    out = []
    for _ in range(6):
        entry = q.pop()
        assert entry is not None
        out.append(entry.item)
        q.done(entry.lane)
    assert out == ["a1", "b10", "a2", "b11", "a3", "b12"]


def test_set_max_inflight_lowered_blocks_and_lifted_unblocks() -> None:
    q = make(("a", 1))
    fill(q, "a", 5)
    assert [q.pop() is not None for _ in range(2)] == [True, True]
    q.set_max_inflight("a", 1)
    assert q.pop() is None
    q.done("a")
    assert q.pop() is None  # one still in flight, the cap is 1
    q.done("a")
    assert q.pop() is not None
    assert q.pop() is None
    q.set_max_inflight("a", None)
    assert [e.item for e in (q.pop(), q.pop()) if e] == ["a3", "a4"]


# --- cancel -------------------------------------------------------------------------------

def test_cancelled_entries_never_pop_and_do_not_count() -> None:
    q = make(("a", 1), ("b", 1))
    entries = fill(q, "a", 4)
    fill(q, "b", 1)
    assert q.cancel(entries[1]) and q.cancel(entries[2])
    assert entries[1].cancelled
    assert (len(q), q.queued("a"), q.queued("b")) == (3, 2, 1)
    assert drain(q) == ["a0", "b0", "a3"]
    assert len(q) == 0


def test_cancel_returns_false_when_already_cancelled_or_popped() -> None:
    q = make(("a", 1))
    first, second = fill(q, "a", 2)
    assert q.pop() is first
    assert q.cancel(first) is False and first.cancelled is False
    assert q.cancel(second) is True
    assert q.cancel(second) is False
    assert q.pop() is None


def test_a_cancelled_primer_is_skipped() -> None:
    q = make(("a", 1))
    primer = q.push("a", "p", group=1, primer=True)
    q.push("a", "f", group=1)
    q.cancel(primer)
    assert drain(q) == ["f"]


def test_a_cancelled_follower_does_not_use_its_groups_turn() -> None:
    q = make(("a", 1))
    x = [q.push("a", f"x.{i}", group="x") for i in range(3)]
    q.push("a", "y.0", group="y")
    q.cancel(x[0])
    assert drain(q) == ["x.1", "y.0", "x.2"]


def test_a_group_emptied_by_cancels_and_refilled_goes_to_the_back() -> None:
    q = make(("a", 1))
    x = q.push("a", "x.0", group="x")
    q.push("a", "y.0", group="y")
    q.push("a", "y.1", group="y")
    q.cancel(x)
    q.push("a", "x.1", group="x")
    assert drain(q) == ["y.0", "x.1", "y.1"]


def test_a_lane_with_only_cancelled_entries_is_not_eligible() -> None:
    q = make(("a", 1), ("b", 5))
    for entry in fill(q, "b", 10):
        q.cancel(entry)
    fill(q, "a", 2)
    assert drain(q) == ["a0", "a1"]


# --- queueing objects themselves (LaneQueue) -----------------------------------------------

class Task(Queued):
    __slots__ = ("name", "lane")

    def __init__(self, name: str, lane: str = "a") -> None:
        self.name, self.lane = name, lane


def names(q: LaneQueue[Task]) -> list[str]:
    out = []
    while (node := q.pop()) is not None:
        q.done(node.lane)
        out.append(node.name)
    return out


def test_a_queued_object_pops_as_itself_in_the_same_order_as_entries() -> None:
    q: LaneQueue[Task] = LaneQueue()
    q.add("a", 2)
    q.add("b")
    for i in range(3):
        q.queue(Task(f"a{i}", "a"), "a", group=i % 2)
        q.queue(Task(f"b{i}", "b"), "b", group="g")
    q.queue(Task("ap", "a"), "a", group=2, primer=True)
    assert names(q) == ["ap", "b0", "a0", "a1", "b1", "a2", "b2"]


def test_queueing_an_object_twice_or_after_its_cancel_is_an_error() -> None:
    q: LaneQueue[Task] = LaneQueue()
    q.add("a")
    t = Task("t")
    q.queue(t, "a", "g")
    with pytest.raises(ValueError, match="is queued already"):
        q.queue(t, "a", "g")
    assert q.cancel(t) is True
    with pytest.raises(ValueError, match="is cancelled"):
        q.queue(t, "a", "g")
    assert (len(q), q.pop()) == (0, None)


def test_a_popped_object_may_be_queued_again() -> None:
    q: LaneQueue[Task] = LaneQueue()
    q.add("a")
    t = Task("t")
    q.queue(t, "a", "g", primer=True)
    assert q.pop() is t
    q.queue(t, "a", "g")  # (a retried job goes back this way)
    assert (len(q), q.pop(), q.pop()) == (1, t, None)


def test_cancel_of_an_object_never_queued_returns_false() -> None:
    q: LaneQueue[Task] = LaneQueue()
    q.add("a")
    assert q.cancel(Task("t")) is False
    with pytest.raises(KeyError, match="unknown lane 'z'"):
        q.queue(Task("t"), "z", "g")


def test_an_entry_taken_from_a_group_keeps_nothing_queued_after_it_alive() -> None:
    import gc
    import weakref

    class Item:
        pass

    q: Lanes[Item] = make(("a", 1))  # type: ignore[assignment]
    first = q.push("a", Item(), group="g")
    second_item = Item()
    q.push("a", second_item, group="g")
    gone = weakref.ref(second_item)
    del second_item
    assert q.pop() is first
    q.done("a")
    q.pop()  # the second: dropped at once
    gc.collect()
    assert gone() is None and first.item is not None


def test_a_popped_primer_keeps_nothing_queued_in_its_lane_alive() -> None:
    import gc
    import weakref

    class Item:
        pass

    for primers_only in (False, True):
        q: Lanes[Item] = make(("a", 1))  # type: ignore[assignment]
        primer = q.push("a", Item(), group="g", primer=True)
        queued = Item()
        q.push("a", queued, group="g")
        gone = weakref.ref(queued)
        del queued
        assert q.pop(primers_only) is primer
        del q  # the queue goes; the popped primer alone must not hold the follower
        gc.collect()
        assert gone() is None


def test_an_engine_job_waits_in_the_lanes_as_itself() -> None:
    from actress.jobs import Engine, Job
    assert issubclass(Job, Queued)
    seen: list[tuple[str, str]] = []

    def main() -> Any:
        engine = Engine(lambda job: seen.append((job.kind, job.lane)))
        group = yield from engine.open_group("g", lane="default")
        yield from group.add_follower("f")
        yield from group.add_primer("p")
        group.close()
        yield from engine.close()

    from actress import testing
    assert testing.run(main()).ok
    assert seen == [("primer", "default"), ("follower", "default")]


# --- cost ---------------------------------------------------------------------------------

def test_pop_looks_at_one_queue_head_per_entry_with_10000_groups() -> None:
    q = make(("a", 1))
    for g in range(10_000):
        q.push("a", f"g{g}", group=g)
    assert drain(q) == [f"g{g}" for g in range(10_000)]
    assert q._lanes["a"].probes == 10_000  # no scan over groups: one head per pop


def test_cancelled_entries_cost_one_look_each_at_most() -> None:
    q = make(("a", 1))
    entries = [q.push("a", f"g{g}", group=g % 100) for g in range(10_000)]
    for entry in entries[::2]:
        q.cancel(entry)
    assert len(drain(q)) == 5_000
    assert q._lanes["a"].probes <= 10_000


def test_the_lane_heap_stays_small_under_push_cancel_churn() -> None:
    q = make(*[(f"l{i}", 1) for i in range(10)])
    for _ in range(10_000):
        q.cancel(q.push("l3", "x", group=1))
    assert len(q._heap) <= 2 * 0 + 17
    fill(q, "l7", 1)
    assert drain(q) == ["l70"]


# --- against a model that scans everything ------------------------------------------------

class Model:
    """The rules written the slow, obvious way: scan every lane and every entry."""

    def __init__(self, lanes: list[tuple[str, float, Optional[int]]]) -> None:
        self.order = [name for name, _, _ in lanes]
        self.weight = {name: w for name, w, _ in lanes}
        self.cap = {name: c for name, _, c in lanes}
        self.vtime = {name: 0.0 for name in self.order}
        self.inflight = {name: 0 for name in self.order}
        self.queue: dict[str, list[tuple[int, bool, int]]] = {n: [] for n in self.order}
        self.turns: dict[str, list[int]] = {n: [] for n in self.order}  # groups with followers
        self.was = {name: False for name in self.order}
        self.vnow = 0.0

    def eligible(self, name: str) -> bool:
        cap = self.cap[name]
        return bool(self.queue[name]) and (cap is None or self.inflight[name] < cap)

    def settle(self) -> None:
        for name in self.order:
            now = self.eligible(name)
            if now and not self.was[name]:
                self.vtime[name] = max(self.vtime[name], self.vnow)
            self.was[name] = now

    def push(self, name: str, key: int, primer: bool, group: int) -> None:
        self.queue[name].append((key, primer, group))
        if not primer and group not in self.turns[name]:
            self.turns[name].append(group)
        self.settle()

    def cancel(self, name: str, key: int) -> None:
        queue = self.queue[name]
        (gone,) = [e for e in queue if e[0] == key]
        queue.remove(gone)
        self.forget(name, gone)
        self.settle()

    def forget(self, name: str, gone: tuple[int, bool, int]) -> None:
        _, primer, group = gone
        if not primer and not any(not p and g == group for _, p, g in self.queue[name]):
            self.turns[name].remove(group)

    def add(self, name: str, weight: float, cap: Optional[int]) -> None:
        self.order.append(name)
        self.weight[name], self.cap[name], self.vtime[name] = weight, cap, 0.0
        self.inflight[name], self.queue[name], self.turns[name] = 0, [], []
        self.was[name] = False

    def pop(self, primers_only: bool = False) -> Optional[int]:
        ready = [n for n in self.order if self.eligible(n)
                 and (not primers_only or any(e[1] for e in self.queue[n]))]
        if not ready:
            return None
        name = min(ready, key=lambda n: (self.vtime[n], self.order.index(n)))
        queue = self.queue[name]
        primers = [e for e in queue if e[1]]
        if primers:
            entry = primers[0]
        else:
            group = self.turns[name].pop(0)
            self.turns[name].append(group)
            entry = next(e for e in queue if e[2] == group)
        queue.remove(entry)
        self.forget(name, entry)
        self.vnow = self.vtime[name]
        self.vtime[name] += 1.0 / self.weight[name]
        self.inflight[name] += 1
        self.settle()
        return entry[0]

    def done(self, name: str) -> None:
        self.inflight[name] -= 1
        self.settle()


LANES = ["a", "b", "c"]
push = st.tuples(st.just("push"), st.sampled_from(LANES), st.booleans(), st.integers(0, 3))
pop = st.tuples(st.just("pop"), st.booleans())
done = st.tuples(st.just("done"), st.sampled_from(LANES))
ops = st.one_of(
    push, push, push, push, pop, pop, pop, done, done,
    st.tuples(st.just("cancel"), st.integers(0, 30)), st.tuples(st.just("cancel"), st.integers(0, 30)),
    st.tuples(st.just("cap"), st.sampled_from(LANES), st.sampled_from([None, 1, 2])),
    st.tuples(st.just("weight"), st.sampled_from(LANES), st.sampled_from([0.5, 1.0, 3.0])),
    st.tuples(st.just("add")),
)


@settings(max_examples=300, deadline=None)
@given(
    weights=st.lists(st.sampled_from([1.0, 2.0, 0.5, 3.0]), min_size=3, max_size=3),
    caps=st.lists(st.sampled_from([None, 1, 2, 3]), min_size=3, max_size=3),
    first=st.sampled_from([1, 1, 2, 3]),
    program=st.lists(ops, min_size=20, max_size=150),
)
def test_lanes_agree_with_the_scanning_model(
        weights: list[float], caps: list[Optional[int]], first: int,
        program: list[tuple[Any, ...]]) -> None:
    """Starting with 1 to 3 lanes (one uncapped lane has no heap) and adding the others
    as the program goes; primers-only pops too."""
    specs = list(zip(LANES, weights, caps))
    q: Lanes[int] = Lanes()
    for name, weight, cap in specs[:first]:
        q.add(name, weight, cap)
    model = Model(specs[:first])
    entries: list[Entry[int]] = []
    for op in program:
        if len(op) > 1 and op[0] != "pop" and op[1] in LANES and op[1] not in model.order:
            continue  # a lane not added yet
        if op[0] == "add":
            if len(model.order) < len(LANES):
                name, weight, cap = specs[len(model.order)]
                q.add(name, weight, cap)
                model.add(name, weight, cap)
        elif op[0] == "push":
            _, lane, primer, group = op
            entries.append(q.push(lane, len(entries), group=group, primer=primer))
            model.push(lane, len(entries) - 1, primer, group)
        elif op[0] == "pop":
            entry = q.pop(primers_only=op[1])
            assert (entry.item if entry else None) == model.pop(primers_only=op[1])
        elif op[0] == "done" and q.inflight(op[1]):
            q.done(op[1])
            model.done(op[1])
        elif op[0] == "cancel" and op[1] < len(entries):
            entry = entries[op[1]]
            queued = any(e[0] == entry.item for e in model.queue[entry.lane])
            assert q.cancel(entry) is queued
            if queued:
                model.cancel(entry.lane, entry.item)
        elif op[0] == "cap":
            q.set_max_inflight(op[1], op[2])
            model.cap[op[1]] = op[2]
            model.settle()
        elif op[0] == "weight":
            q.reweight(op[1], op[2])
            model.weight[op[1]] = op[2]
        assert len(q) == sum(len(v) for v in model.queue.values())
        for name in model.order:
            assert (q.queued(name), q.inflight(name)) == (len(model.queue[name]), model.inflight[name])
