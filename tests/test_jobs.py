"""The job engine: primers gate followers, failure policies, retries, lanes, close, events."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actress import task, testing
from actress.jobs.engine import Engine, Lane
from actress.jobs.events import TERMINAL, EventType, MemorySink
from actress.jobs.retry import InvalidInput, Permanent, RetryPolicy, Transient


def executor(log, ms=10, fail=()):
    """A fake model: sleeps ``ms``, logs, fails for payloads in ``fail``."""

    def run(job):
        log.append(("start", job.payload, job.attempt))
        yield from task.sleep(ms)
        if job.payload in fail:
            raise fail[job.payload] if isinstance(fail, dict) else ValueError(job.payload)
        return f"{job.payload}<{job.primer_output}>"

    return run


def test_followers_start_only_after_the_primer_and_get_its_output(run, log):
    def main():
        engine = Engine(executor(log), workers=4)
        group = yield from engine.submit_group("g", "P", ["f1", "f2"])
        results = yield from group.wait()
        yield from engine.close()
        return [(r.kind, r.output) for r in results]

    outcome = run(main())
    assert outcome.value == [("primer", "P<None>"), ("follower", "f1<P<None>>"),
                             ("follower", "f2<P<None>>")]
    assert log == [("start", "P", 1), ("start", "f1", 1), ("start", "f2", 1)]
    assert outcome.time == 20.0


def test_an_open_group_takes_followers_before_and_after_a_late_primer(run, log):
    def main():
        engine = Engine(executor(log), workers=2)
        group = yield from engine.open_group("g")
        early = yield from group.add_follower("early")
        yield from task.sleep(50)
        assert not early.done  # waiting for the primer, not lost
        yield from group.add_primer("P")
        yield from task.sleep(5)
        yield from group.add_follower("late")
        group.close()
        results = yield from group.wait()
        yield from engine.close()
        return sorted(r.output for r in results)

    assert run(main()).value == ["P<None>", "early<P<None>>", "late<P<None>>"]
    assert [entry[1] for entry in log] == ["P", "early", "late"]


def test_a_group_closed_without_a_primer_fails_its_waiting_followers_saying_why(run, log):
    def main():
        engine = Engine(executor(log))
        group = yield from engine.open_group("g")
        job = yield from group.add_follower("f")
        group.close()
        result = yield from job.wait()
        yield from engine.close()
        return result.status, result.reason

    assert run(main()).value == ("failed", "the group was closed without a primer")
    assert log == []


def test_a_group_closed_without_a_primer_while_followers_wait_has_failed(run, log):
    def main():
        sink = MemorySink()
        engine = Engine(executor(log), events=[sink])
        group = yield from engine.open_group("g")
        yield from group.add_follower("f")
        group.close()
        yield from engine.close()
        return group.state, [(e.type.value, e.data.get("reason")) for e in sink.events
                             if e.group_id == "g"]

    assert run(main()).value == ("failed", [
        ("group.opened", None), ("job.queued", None), ("group.closed", None),
        ("group.failed", "the group was closed without a primer"),
        ("job.failed", "the group was closed without a primer"), ("group.done", None)])


def test_an_empty_group_closed_without_a_primer_is_done_not_failed(run, log):
    def main():
        sink = MemorySink()
        engine = Engine(executor(log), events=[sink])
        group = yield from engine.open_group("g")
        group.close()
        yield from engine.close()
        return (group.state, group.done, group.ok,
                [e.type.value for e in sink.events if e.group_id == "g"])

    # "ready", as submit_group("g", None, []) leaves it: it waits for no primer any more
    assert run(main()).value == (
        "ready", True, True, ["group.opened", "group.closed", "group.done"])


def test_a_group_closed_without_a_primer_before_it_is_admitted_fails_its_followers(run, log):
    def main():
        engine = Engine(executor(log), max_active_groups=1)
        first = yield from engine.open_group("g1")
        group = yield from engine.open_group("g2")  # waits for admission: g1 is active
        job = yield from group.add_follower("f")
        group.close()
        state_then = group.state
        first.close()  # g2 is admitted now: its follower has no primer to wait for
        yield from engine.close()
        return state_then, group.state, job.result.status, job.result.reason

    assert run(main()).value == (
        "waiting", "failed", "failed", "the group was closed without a primer")
    assert log == []


def test_a_group_closed_without_a_primer_while_it_waits_for_another_fails_its_followers(
        run, log):
    def main():
        engine = Engine(executor(log))
        first = yield from engine.open_group("g1")
        yield from first.add_primer("P")
        group = yield from engine.open_group("g2", after=[first])
        job = yield from group.add_follower("f")
        group.close()
        first.close()
        yield from engine.close()
        return group.state, job.result.status, job.result.reason

    assert run(main()).value == ("failed", "failed", "the group was closed without a primer")
    assert [entry[1] for entry in log] == ["P"]


def test_primer_failure_fails_the_group_without_running_followers(run, log):
    def main():
        engine = Engine(executor(log, fail=("P",)))
        group = yield from engine.submit_group("g", "P", ["f1", "f2"])
        results = yield from group.wait()
        yield from engine.close()
        return [(r.status, r.reason) for r in results]

    value = run(main()).value
    assert value[0] == ("failed", "")
    for status, reason in value[1:]:
        assert status == "failed"
        assert reason.startswith("primer g/primer-") and reason.endswith("failed: ValueError('P')")
    assert log == [("start", "P", 1)]


def test_primer_failure_can_run_followers_without_it(run, log):
    def main():
        engine = Engine(executor(log, fail=("P",)), on_primer_failure="run_without")
        group = yield from engine.submit_group("g", "P", ["f"])
        results = yield from group.wait()
        yield from engine.close()
        return [(r.status, r.output) for r in results]

    assert run(main()).value == [("failed", None), ("succeeded", "f<None>")]


def test_follower_failure_fails_the_group_and_cancels_the_rest(run, log):
    def main():
        engine = Engine(executor(log, fail=("bad",)), workers=1,
                        on_follower_failure="fail_group")
        group = yield from engine.submit_group("g", "P", ["bad", "f2", "f3"])
        results = yield from group.wait()
        yield from engine.close()
        return [r.status for r in results]

    assert run(main()).value == ["succeeded", "failed", "cancelled", "cancelled"]
    assert [entry[1] for entry in log] == ["P", "bad"]


def test_follower_failure_skip_lets_the_others_run(run, log):
    def main():
        engine = Engine(executor(log, fail=("bad",)), workers=1, on_follower_failure="skip")
        group = yield from engine.submit_group("g", "P", ["bad", "ok"])
        results = yield from group.wait()
        yield from engine.close()
        return [r.status for r in results]

    assert run(main()).value == ["succeeded", "failed", "succeeded"]


def test_retries_back_off_without_holding_a_worker(run, log):
    def flaky(job):
        log.append((job.payload, job.attempt, "start"))
        yield from task.sleep(1)
        if job.payload == "flaky" and job.attempt < 3:
            raise Transient("blip")
        return job.payload

    def main():
        sink = MemorySink()
        engine = Engine(flaky, workers=1, events=[sink],
                        follower_retry=RetryPolicy(attempts=3, backoff="fixed", base_ms=100))
        group = yield from engine.submit_group("g", None, ["flaky", "other"])
        results = yield from group.wait()
        yield from engine.close()
        retrying = [e.data["delay_ms"] for e in sink.of(EventType.JOB_RETRYING)]
        return [(r.status, r.attempts) for r in results], retrying

    outcome = run(main())
    assert outcome.value == ([("succeeded", 3), ("succeeded", 1)], [100.0, 100.0])
    # "other" ran while "flaky" backed off: the worker was free
    assert log == [("flaky", 1, "start"), ("other", 1, "start"), ("flaky", 2, "start"),
                   ("flaky", 3, "start")]
    assert outcome.time == 203.0


def test_permanent_errors_are_quarantined_and_invalid_input_fails_at_once(run, log):
    errors = {"perm": Permanent("gone"), "bad": InvalidInput("no")}

    def main():
        engine = Engine(executor(log, fail=errors),
                        follower_retry=RetryPolicy(attempts=5, base_ms=10))
        group = yield from engine.submit_group("g", None, ["perm", "bad"])
        results = yield from group.wait()
        yield from engine.close()
        return [(r.status, r.attempts) for r in results], [j.payload for j in engine.quarantined]

    assert run(main()).value == ([("quarantined", 1), ("failed", 1)], ["perm"])


def test_cancel_a_queued_job_and_a_running_job(run, log):
    def main():
        engine = Engine(executor(log, ms=50), workers=1)
        group = yield from engine.submit_group("g", None, ["a", "b"])
        a, b = group.jobs
        yield from task.sleep(10)
        engine.cancel_job(b)  # queued: never runs
        engine.cancel_job(a)  # running: cancelled at its wait
        results = yield from group.wait()
        yield from engine.close()
        return [r.status for r in results]

    assert run(main()).value == ["cancelled", "cancelled"]
    assert log == [("start", "a", 1)]


def test_cancel_group_cancels_every_job(run, log):
    def main():
        engine = Engine(executor(log, ms=50), workers=1)
        group = yield from engine.submit_group("g", "P", ["f1", "f2"])
        yield from task.sleep(10)
        engine.cancel_group(group)
        results = yield from group.wait()
        yield from engine.close()
        return [r.status for r in results]

    assert run(main()).value == ["cancelled", "cancelled", "cancelled"]


def test_close_drains_by_default(run, log):
    def main():
        engine = Engine(executor(log), workers=1)
        yield from engine.submit_group("g", None, ["a", "b", "c"])
        yield from engine.close()
        return vars(engine.counts)

    assert run(main()).value == {"succeeded": 3, "failed": 0, "cancelled": 0, "quarantined": 0}


def test_close_drop_cancels_queued_work_each_with_its_terminal_event(run, log):
    def main():
        sink = MemorySink()
        engine = Engine(executor(log), workers=1, events=[sink])
        group = yield from engine.submit_group("g", None, ["a", "b", "c"])
        yield from task.sleep(5)
        yield from engine.close("drop")
        return [r.status for r in (j.result for j in group.jobs)], len(
            [e for e in sink.events if e.type in TERMINAL])

    assert run(main()).value == (["succeeded", "cancelled", "cancelled"], 3)


def test_submitting_suspends_while_the_intake_is_full(run, log):
    def main():
        engine = Engine(executor(log, ms=10), workers=1, intake=2)
        stamps = []
        for i in range(4):
            yield from engine.submit_group(f"g{i}", None, [f"j{i}"])
            stamps.append((yield from task.current()).sched.clock.now())
        yield from engine.close()
        return stamps

    # two may wait to start; the first starts at once, then each waits for a start
    assert run(main()).value == [0.0, 0.0, 0.0, 10.0]


def test_a_job_that_adds_followers_past_the_intake_does_not_lock_the_engine(run, log):
    def work(job):
        if job.payload == "crawl":  # finds more work: a follower per item, then closes
            for i in range(3):
                yield from job.group.add_follower(f"item {i}")
            job.group.close()
        yield from task.sleep(1)
        log.append(job.payload)

    def main():
        engine = Engine(work, workers=1, intake=1)  # the crawler holds the one worker
        group = yield from engine.open_group("g")
        yield from group.add_primer("session")
        yield from group.add_follower("crawl")
        yield from group.wait()
        yield from engine.close()
        return [j.result.status for j in group.jobs]

    outcome = run(main())
    assert outcome.value == ["succeeded"] * 5
    assert log == ["session", "crawl", "item 0", "item 1", "item 2"]


def test_an_async_job_that_adds_followers_past_the_intake_does_not_lock_the_engine():
    import asyncio

    from actress.jobs.aio import AsyncEngine

    done: list[str] = []

    async def work(job):
        if job.payload == "crawl":
            for i in range(3):
                await task.fork(job.group.add_follower(f"item {i}"))
            job.group.close()
        await asyncio.sleep(0)
        done.append(job.payload)

    async def main():
        engine = AsyncEngine(work, workers=1, intake=1)
        group = await task.fork(engine.engine.open_group("g"))  # closed by the crawler
        await task.fork(group.add_primer("session"))
        await task.fork(group.add_follower("crawl"))
        await asyncio.wait_for(task.fork(group.wait()), 5)
        await engine.close()

    asyncio.run(main())
    assert done == ["session", "crawl", "item 0", "item 1", "item 2"]


def test_at_most_max_active_groups_have_jobs_queued(run, log):
    def main():
        engine = Engine(executor(log, ms=10), workers=4, max_active_groups=1)
        for i in range(3):
            yield from engine.submit_group(f"g{i}", None, [f"g{i}a", f"g{i}b"])
        yield from engine.close()

    outcome = run(main())
    assert [entry[1] for entry in log] == ["g0a", "g0b", "g1a", "g1b", "g2a", "g2b"]
    assert outcome.time == 30.0


def test_warmup_delays_followers_after_the_primer(run, log):
    def main():
        engine = Engine(executor(log, ms=10), warmup_ms=25)
        group = yield from engine.submit_group("g", "P", ["f"])
        yield from group.wait()
        yield from engine.close()

    assert run(main()).time == 45.0


def test_lane_shares_follow_weights_whatever_the_submission_order(run):
    order: list[str] = []

    def instant(job):
        order.append(job.lane)
        return None

    def main():
        engine = Engine(instant, workers=1, lanes={"A": Lane(2), "B": Lane(1)})
        for i in range(400):
            yield from engine.submit_group(f"a{i}", f"pa{i}", [], lane="A")
        for i in range(400):
            yield from engine.submit_group(f"b{i}", f"pb{i}", [], lane="B")
        yield from engine.close()

    run(main())
    share = order[:300].count("A") / 300
    assert abs(share - 2 / 3) <= 0.03


def test_lane_shares_apply_to_followers_too(run):
    order: list[str] = []

    def instant(job):
        if job.kind == "follower":
            order.append(job.lane)
        return None

    def main():
        engine = Engine(instant, workers=1, lanes={"A": Lane(2), "B": Lane(1)})
        ga = yield from engine.submit_group("a", None, [f"a{i}" for i in range(400)], lane="A")
        gb = yield from engine.submit_group("b", None, [f"b{i}" for i in range(400)], lane="B")
        yield from engine.close()
        del ga, gb

    run(main())
    share = order[:300].count("A") / 300
    assert abs(share - 2 / 3) <= 0.03


def test_max_inflight_is_never_exceeded(run):
    running = {"now": 0, "max": 0}

    def slow(job):
        running["now"] += 1
        running["max"] = max(running["max"], running["now"])
        yield from task.sleep(5)
        running["now"] -= 1

    def main():
        engine = Engine(slow, workers=8, lanes={"capped": Lane(1, max_inflight=2)})
        yield from engine.submit_group("g", None, list(range(20)), lane="capped")
        yield from engine.close()

    outcome = run(main())
    assert running["max"] == 2 and outcome.time == 50.0


def test_follower_starts_interleave_across_ready_groups(run):
    order: list[str] = []

    def instant(job):
        order.append(job.group_id)
        return None

    def main():
        engine = Engine(instant, workers=1)
        for name in ("x", "y", "z"):
            group = yield from engine.open_group(name)
            for i in range(3):
                yield from group.add_follower(i)
        for name in ("x", "y", "z"):
            yield from engine.groups[name].add_primer("p")
            engine.groups[name].close()
        yield from engine.close()

    run(main())
    followers = order[3:]
    assert followers == ["x", "y", "z"] * 3


def test_events_say_each_step_in_order(run, log):
    def main():
        sink = MemorySink()
        engine = Engine(executor(log), events=[sink], run_id="r1")
        group = yield from engine.submit_group("g", "P", ["f"])
        yield from group.wait()
        yield from engine.close()
        return [(e.type.value, e.kind) for e in sink.events], [e.seq for e in sink.events]

    types, seqs = run(main()).value
    assert types == [
        ("group.opened", None), ("job.queued", "primer"), ("job.queued", "follower"),
        ("group.closed", None), ("job.started", "primer"), ("job.succeeded", "primer"),
        ("group.primer_done", None), ("group.followers_ready", None),
        ("job.started", "follower"), ("job.succeeded", "follower"), ("group.done", None),
        ("engine.closed", None)]
    assert seqs == list(range(1, len(seqs) + 1))


# -- property: random workloads never lose a job nor end one twice ---------------------------


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), groups=st.integers(1, 6), workers=st.integers(1, 4),
       drop=st.booleans())
def test_every_job_ends_exactly_once_under_random_failures_and_cancels(seed, groups, workers,
                                                                       drop):
    rnd = random.Random(seed)
    sink = MemorySink()

    def flaky(job):
        yield from task.sleep(rnd.randint(0, 5))
        roll = rnd.random()
        if roll < 0.15:
            raise Transient("blip")
        if roll < 0.2:
            raise Permanent("gone")
        if roll < 0.25:
            raise ValueError("bad")
        return job.payload

    def main():
        engine = Engine(flaky, workers=workers, events=[sink],
                        primer_retry=RetryPolicy(attempts=2, base_ms=3),
                        follower_retry=RetryPolicy(attempts=3, base_ms=2),
                        on_follower_failure=rnd.choice(["skip", "fail_group"]),
                        on_primer_failure=rnd.choice(["fail_group", "run_without"]))
        made = []
        for g in range(groups):
            group = yield from engine.open_group(f"g{g}")
            if rnd.random() < 0.8:
                made.append((yield from group.add_primer(f"p{g}")))
            for i in range(rnd.randint(0, 4)):
                made.append((yield from group.add_follower(f"f{g}.{i}")))
                if rnd.random() < 0.2:
                    yield from task.sleep(rnd.randint(0, 4))
            if rnd.random() < 0.15:
                engine.cancel_group(group)
            elif rnd.random() < 0.2 and made:
                engine.cancel_job(rnd.choice(made))
            group.close()
        yield from engine.close("drop" if drop else "drain")
        return made

    outcome = testing.run(main())
    assert outcome.ok, outcome.error
    made = outcome.value
    assert all(job.result is not None for job in made)
    terminal = [e.job_id for e in sink.events if e.type in TERMINAL]
    assert sorted(terminal) == sorted(job.id for job in made)  # each exactly once


# -- dependencies between groups ---------------------------------------------------------------


def test_a_group_starts_after_the_groups_it_depends_on(run, log):
    def main():
        engine = Engine(executor(log, ms=10), workers=4)
        first = yield from engine.submit_group("first", "P1", ["f1"])
        group = yield from engine.open_group("second", after=[first])
        yield from group.add_primer("P2")
        group.close()
        yield from engine.close()

    run(main())
    assert [entry[1] for entry in log] == ["P1", "f1", "P2"]


def test_a_group_may_depend_on_a_group_of_another_engine(run, log):
    def main():
        gpu, cpu = Engine(executor(log, ms=10)), Engine(executor(log, ms=1))
        weights = yield from gpu.submit_group("weights", "load")
        report = yield from cpu.submit_group("report", "P", ["f"], after=[weights])
        yield from gpu.close()
        yield from cpu.close()
        results = yield from report.wait()
        return [r.status for r in results], gpu.counts.succeeded, cpu.counts.succeeded

    outcome = run(main())
    assert outcome.value == (["succeeded", "succeeded"], 1, 2)  # each ran its own jobs
    assert [entry[1] for entry in log] == ["load", "P", "f"]
    assert outcome.time == 12.0


def test_cancelling_a_job_or_group_through_another_engine_is_refused(run, log):
    def main():
        one, two = Engine(executor(log)), Engine(executor(log))
        group = yield from one.submit_group("g", "P")
        errors = []
        for cancel in (lambda: two.cancel_job(group.primer), lambda: two.cancel_group(group)):
            try:
                cancel()
            except ValueError as error:
                errors.append(str(error))
        expected = [f"{group.primer!r} belongs to another engine: cancel it there",
                    f"{group!r} belongs to another engine: cancel it there"]
        yield from one.close()
        yield from two.close()
        return errors == expected, group.primer.result.status

    assert run(main()).value == (True, "succeeded")  # refused, and the job went on


def test_after_ok_fails_the_group_when_a_dependency_failed(run, log):
    def main():
        engine = Engine(executor(log, fail=("P1",)))
        first = yield from engine.submit_group("first", "P1", [])
        second = yield from engine.submit_group("second", "P2", ["f2"], after=[first],
                                                after_ok=True)
        results = yield from second.wait()
        yield from engine.close()
        return [(r.status, r.reason) for r in results]

    value = run(main()).value
    assert value == [("failed", "group first it depends on did not succeed")] * 2
    assert [entry[1] for entry in log] == ["P1"]


def test_a_dependency_timeout_fails_the_group(run, log):
    def main():
        engine = Engine(executor(log, ms=100))
        slow = yield from engine.submit_group("slow", "P1", [])
        late = yield from engine.submit_group("late", "P2", [], after=[slow],
                                              after_timeout_ms=30)
        results = yield from late.wait()
        yield from engine.close()
        return [(r.status, r.reason) for r in results]

    outcome = run(main())
    assert outcome.value == [("failed", "the groups it depends on were not done after 30 ms")]


def test_a_group_cannot_wait_on_an_unknown_group(run):
    def main():
        engine = Engine(executor([]))
        yield from engine.open_group("g", after=["nobody"])

    assert "cannot wait on 'nobody'" in str(run(main()).error)


def test_a_dependency_that_is_not_a_group_is_refused_before_the_group_exists(run):
    def main(engine):
        try:
            yield from engine.open_group("g", after=[1])
        except TypeError as error:
            return str(error), list(engine.groups)

    engine = Engine(executor([]))
    assert run(main(engine)).value == (
        "group 'g': after= takes groups or group ids, got 1", [])


def test_jobs_added_to_a_group_whose_dependency_already_failed_fail_at_once(run, log):
    def main():
        engine = Engine(executor(log, fail=("P1",)))
        first = yield from engine.submit_group("first", "P1", [])
        yield from first.wait()
        second = yield from engine.submit_group("second", "P2", ["f"], after=[first],
                                                after_ok=True)
        results = yield from second.wait()
        yield from engine.close()
        return [r.status for r in results]

    assert run(main()).value == ["failed", "failed"]


# -- the cache registry -------------------------------------------------------------------------


class Prefixes:
    """A fake provider: prefix caches by key; counts what it made and dropped."""

    def __init__(self):
        self.made, self.dropped, self.usable = [], [], True

    def fingerprint(self, key, context):
        return (key, context.get("model", "m1"))

    def create(self, key, context):
        self.made.append(key)
        yield from task.sleep(10)
        return f"cache:{key}"

    def ready(self, entry):
        return self.usable

    def invalidate(self, entry):
        self.dropped.append(entry.key)


def test_cache_is_made_once_under_concurrent_demand():
    from actress.jobs.cache import CacheRegistry

    provider = Prefixes()
    registry = CacheRegistry(provider)

    def main():
        entries = yield from task.all_([registry.get("k") for _ in range(5)])
        return {e.value for e in entries}

    assert testing.run(main()).value == {"cache:k"}
    assert provider.made == ["k"]


def test_cache_entries_expire_and_not_ready_ones_are_dropped():
    from actress.jobs.cache import CacheRegistry

    provider = Prefixes()
    registry = CacheRegistry(provider, ttl_ms=50)

    def main():
        yield from registry.get("k")
        yield from task.sleep(60)
        yield from registry.get("k")  # expired: made again
        provider.usable = False
        yield from registry.get("k")  # not ready: made again
        return provider.made, provider.dropped

    assert testing.run(main()).value == (["k", "k", "k"], ["k", "k"])


def test_groups_with_the_same_cache_key_skip_their_primer_on_a_hit(run, log):
    from actress.jobs.cache import CacheRegistry

    def main():
        engine = Engine(executor(log, ms=10), cache=CacheRegistry(Prefixes()))
        g1 = yield from engine.submit_group("g1", "warm", ["a"], cache_key="docs",
                                           skip_primer_on_hit=True)
        g2 = yield from engine.submit_group("g2", "warm", ["b"], cache_key="docs",
                                           skip_primer_on_hit=True)  # waits for g1's primer
        yield from g1.wait()
        yield from g2.wait()
        g3 = yield from engine.submit_group("g3", "warm", ["c"], cache_key="docs",
                                           skip_primer_on_hit=True)  # a plain hit
        results = yield from g3.wait()
        yield from engine.close()
        return g2.primer.result.reason, results[0].reason, results[1].output

    assert run(main()).value == ("cache hit", "cache hit", "c<warm<None>>")
    assert [entry[1] for entry in log] == ["warm", "a", "b", "c"]


def test_a_failed_primer_lets_the_waiting_group_make_the_cache_itself(run, log):
    from actress.jobs.cache import CacheRegistry

    calls = {"n": 0}

    def first_fails(job):
        log.append(job.payload)
        yield from task.sleep(10)
        if job.kind == "primer":
            calls["n"] += 1
            if calls["n"] == 1:
                raise ValueError("no session")
        return job.payload

    def main():
        engine = Engine(first_fails, cache=CacheRegistry(Prefixes()))
        g1 = yield from engine.submit_group("g1", "warm1", ["a"], cache_key="docs",
                                           skip_primer_on_hit=True)
        g2 = yield from engine.submit_group("g2", "warm2", ["b"], cache_key="docs",
                                           skip_primer_on_hit=True)
        r1 = yield from g1.wait()
        r2 = yield from g2.wait()
        yield from engine.close()
        return [r.status for r in r1], [r.status for r in r2]

    assert run(main()).value == (["failed", "failed"], ["succeeded", "succeeded"])
    assert log == ["warm1", "warm2", "b"]


# -- the asyncio face ----------------------------------------------------------------------------


def test_async_engine_submits_and_resolves_futures():
    import asyncio

    from actress.jobs.aio import AsyncEngine

    async def model(job):
        await asyncio.sleep(0.001)
        return f"{job.payload}<{job.primer_output}>"

    async def main():
        engine = AsyncEngine(model, workers=2)
        futures = await engine.submit_group("g", "P", ["a", "b"])
        results = await futures.wait()
        await engine.close()
        return [(r.kind, r.output) for r in results]

    assert asyncio.run(main()) == [("primer", "P<None>"), ("follower", "a<P<None>>"),
                                   ("follower", "b<P<None>>")]


def test_cancelling_a_wait_on_async_group_futures_leaves_the_jobs_futures_alone():
    import asyncio

    from actress.jobs.aio import AsyncEngine

    async def model(job):
        await asyncio.sleep(0.01)
        return job.payload

    async def main():
        engine = AsyncEngine(model)
        futures = await engine.submit_group("g", "P", ["a"])
        waiting = asyncio.ensure_future(futures.wait())
        await asyncio.sleep(0)
        waiting.cancel()  # the wait gives up ...
        results = [await f for f in [futures.primer, *futures.followers]]  # ... not the jobs
        await engine.close()
        return [(r.status, r.output) for r in results]

    assert asyncio.run(main()) == [("succeeded", "P"), ("succeeded", "a")]


def test_async_open_group_first_submit_is_the_primer_and_close_ends_it():
    import asyncio

    from actress.jobs.aio import AsyncEngine

    async def main():
        engine = AsyncEngine(lambda job: job.payload.upper())
        async with engine.open_group("g") as group:
            early = await group.add_follower("early")  # before the primer: waits
            primer = await group.submit_primer("p")
            late = await group.submit("late")
        results = [await f for f in (primer, early, late)]
        await engine.close()
        return [(r.kind, r.output) for r in results]

    assert asyncio.run(main()) == [("primer", "P"), ("follower", "EARLY"), ("follower", "LATE")]


def test_thread_executor_runs_blocking_work_off_the_loop():
    import threading

    import actress
    from actress.jobs.engine import ThreadExecutor

    names = []

    def blocking(job):
        names.append(threading.current_thread().name)
        return job.payload * 2

    pool = ThreadExecutor(blocking, max_workers=2)

    def main():
        engine = Engine(pool, workers=2)
        group = yield from engine.submit_group("g", None, [1, 2, 3])
        results = yield from group.wait()
        yield from engine.close()
        return [r.output for r in results]

    try:
        assert actress.run(main()) == [2, 4, 6]
    finally:
        pool.shutdown()
    assert all(name.startswith("actress-job") for name in names)


def test_workers_reserved_for_primers_let_a_new_group_start_at_once(run, log):
    def main():
        engine = Engine(executor(log, ms=10), workers=2, primer_reserve=1)
        yield from engine.submit_group("big", None, [f"f{i}" for i in range(6)])
        yield from task.sleep(15)
        yield from engine.submit_group("new", "P", [])
        yield from engine.close()

    outcome = run(main())
    starts = [entry[1] for entry in log]
    # followers use one worker at a time; the new primer takes the reserved one at once
    assert starts == ["f0", "f1", "P", "f2", "f3", "f4", "f5"]
    assert outcome.time == 65.0  # f2 waits for P: with one worker busy, the other is reserved


def test_primer_reserve_must_leave_a_worker_for_followers():
    with pytest.raises(ValueError, match="primer_reserve"):
        Engine(executor([]), workers=2, primer_reserve=2)


def test_a_dependency_deadline_that_no_longer_matters_leaves_no_timer(run, log):
    def main():
        engine = Engine(executor(log, ms=10))
        first = yield from engine.submit_group("first", "P1", [])
        yield from engine.submit_group("second", "P2", [], after=[first],
                                       after_timeout_ms=10_000)
        yield from engine.close()

    assert run(main(), settle=True).time == 20.0  # not 10,000


def test_lanes_can_be_added_and_reweighted_while_running(run):
    order: list[str] = []

    def instant(job):
        order.append(job.lane)
        return None

    def main():
        sink = MemorySink()
        engine = Engine(instant, workers=1, events=[sink])
        engine.add_lane("A", weight=1)
        engine.add_lane("B", weight=1)
        for i in range(300):
            yield from engine.submit_group(f"a{i}", f"pa{i}", [], lane="A")
            yield from engine.submit_group(f"b{i}", f"pb{i}", [], lane="B")
        engine.reweight("A", 3)
        yield from engine.close()
        return [e.type.value for e in sink.events if e.type.value.startswith("lane.")]

    assert run(main()).value == ["lane.added", "lane.added", "lane.changed"]
    share = order[:200].count("A") / 200
    assert abs(share - 3 / 4) <= 0.03
