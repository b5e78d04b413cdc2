"""The job engine given bad input or odd turns: a clear error that names the mistake, or a
stated outcome; never a job that does not end, nor a hang. (Found by an adversarial
review, fourth session.)"""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest

from actress import task, testing
from actress.jobs import CacheRegistry, CallbackSink, EventType, MemorySink
from actress.jobs.aio import AsyncEngine
from actress.jobs.engine import Engine


def instant(job: Any) -> Any:
    return job.payload


@pytest.mark.parametrize(("settings", "error", "message"), [
    ({"follower_retry": None}, TypeError, "Engine follower_retry must be a RetryPolicy"),
    ({"primer_retry": 3}, TypeError, "Engine primer_retry must be a RetryPolicy"),
    ({"max_active_groups": 0}, ValueError, "Engine max_active_groups must be an int >= 1"),
    ({"intake": -1}, ValueError, "Engine intake must be an int >= 0 or None, got -1"),
    ({"workers": 1.5}, ValueError, "Engine workers must be an int >= 1, got 1.5"),
    ({"on_primer_failure": "fail-group"}, ValueError,
     "Engine on_primer_failure must be 'fail_group' or 'run_without', got 'fail-group'"),
    ({"on_follower_failure": "skp"}, ValueError,
     "Engine on_follower_failure must be 'fail_group' or 'skip', got 'skp'"),
    ({"warmup_ms": -1}, ValueError, "Engine warmup_ms must be a finite number >= 0, got -1"),
    ({"warmup_ms": math.inf}, ValueError, "Engine warmup_ms must be a finite number >= 0"),
    ({"warmup_ms": math.nan}, ValueError, "Engine warmup_ms must be a finite number >= 0"),
])
def test_settings_that_would_misbehave_later_are_refused_naming_the_setting(
        settings: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error) as info:
        Engine(instant, **settings)
    assert str(info.value).startswith(message)


def test_an_executor_that_is_not_callable_is_refused() -> None:
    with pytest.raises(TypeError, match="Engine executor must be callable"):
        Engine(None)  # type: ignore[arg-type]


def test_close_with_an_unknown_mode_is_refused() -> None:
    def main() -> Any:
        engine = Engine(instant)
        yield from engine.close("dorp")  # type: ignore[arg-type]

    assert repr(testing.run(main()).error) == (
        "ValueError(\"close() mode must be 'drain' or 'drop', got 'dorp'\")")


@pytest.mark.parametrize("after", ["g1", "group handle"])
def test_after_given_one_id_or_one_group_instead_of_a_list_is_refused(after: str) -> None:
    def main() -> Any:
        engine = Engine(instant)
        first = yield from engine.submit_group("g1", "p")
        try:
            yield from engine.open_group("g2", after=first if after != "g1" else "g1")  # type: ignore[arg-type]
        except TypeError as error:
            return str(error).split(", got")[0], "g2" in engine.groups

    assert testing.run(main()).value == (
        "group 'g2': after= takes a list of groups or group ids", False)


def test_followers_given_a_string_are_refused_before_the_group_opens() -> None:
    def main() -> Any:
        engine = Engine(instant)
        try:
            yield from engine.submit_group("g", "p", "abc")
        except TypeError as error:
            return str(error), "g" in engine.groups

    assert testing.run(main()).value == (
        "group 'g': followers= takes a list of payloads, got 'abc' (write ['abc'] for one "
        "follower)", False)


class RaisingProvider:
    def fingerprint(self, key: Any, context: Any) -> Any:
        return (key, context["model"])  # KeyError: the group gave no cache_context

    def create(self, key: Any, context: Any) -> Any:
        return None

    def ready(self, entry: Any) -> bool:
        return True

    def invalidate(self, entry: Any) -> None:
        pass


def test_a_cache_provider_that_raises_ends_every_job() -> None:
    def main() -> Any:
        engine = Engine(instant, cache=CacheRegistry(RaisingProvider()))
        group = yield from engine.submit_group("g", "p", ["f"], cache_key="k")
        yield from engine.close()
        primer, follower = group.jobs
        return (primer.result.status, primer.result.reason, repr(primer.result.error),
                follower.result.status, follower.result.reason, group.state,
                engine.counts.failed)

    assert testing.run(main()).value == (
        "failed", "the cache provider failed", "KeyError('model')",
        "failed", "group g has failed", "failed", 2)


def test_close_drop_cancels_the_followers_of_a_dropped_primer() -> None:
    def slow(job: Any) -> Any:
        yield from task.sleep(10)
        return job.payload

    def main() -> Any:
        sink = MemorySink()
        engine = Engine(slow, workers=1, events=[sink])
        yield from engine.submit_group("g1", "p1")
        g2 = yield from engine.submit_group("g2", "p2", ["f2"])
        yield from task.sleep(5)  # p1 runs; p2 and f2 wait
        yield from engine.close("drop")
        return ([(j.kind, j.result.status, j.result.reason) for j in g2.jobs],
                vars(engine.counts), [e.type.value for e in sink.events if e.group_id == "g2"])

    jobs, counts, events = testing.run(main()).value
    assert jobs[0] == ("primer", "cancelled", "dropped when the engine closed")
    assert jobs[1][:2] == ("follower", "cancelled")
    assert counts == {"succeeded": 1, "failed": 0, "cancelled": 2, "quarantined": 0}
    assert "group.failed" not in events


def test_a_cancelled_primer_cancels_the_followers_waiting_for_it_saying_why() -> None:
    def slow(job: Any) -> Any:
        yield from task.sleep(10)
        return job.payload

    def main() -> Any:
        engine = Engine(slow)
        group = yield from engine.submit_group("g", "p", ["f"])
        engine.cancel_job(group.primer, "not needed")
        yield from engine.close()
        follower = group.jobs[1]
        return (group.state, follower.result.status,
                follower.result.reason == f"primer {group.primer.id} cancelled: not needed")

    assert testing.run(main()).value == ("cancelled", "cancelled", True)


def test_a_job_cancelled_by_an_event_sink_as_it_is_queued_never_runs() -> None:
    calls: list[str] = []

    def model(job: Any) -> Any:
        calls.append(job.id)
        return "made"

    def main() -> Any:
        sink = MemorySink()
        engines: list[Engine] = []

        def cancel_primers(event: Any) -> None:
            if event.type is EventType.JOB_QUEUED and event.kind == "primer":
                engine = engines[0]
                engine.cancel_job(engine.groups[event.group_id].jobs[-1])

        engines.append(Engine(model, events=[sink, CallbackSink(cancel_primers)]))
        group = yield from engines[0].submit_group("g", "p")
        yield from engines[0].close()
        events = [e.type.value for e in sink.events if e.job_id == group.primer.id]
        return events, group.primer.result.attempts

    assert testing.run(main()).value == (["job.queued", "job.cancelled"], 0)
    assert calls == []


def test_cancel_group_leaves_a_finished_group_as_it_is() -> None:
    def main() -> Any:
        engine = Engine(instant)
        group = yield from engine.submit_group("g", "p", ["f"])
        yield from group.wait()
        engine.cancel_group(group)
        yield from engine.close()
        return group.state, group.ok, [j.result.status for j in group.jobs]

    assert testing.run(main()).value == ("ready", True, ["succeeded", "succeeded"])


def test_an_async_group_used_outside_async_with_says_so() -> None:
    async def main() -> str:
        engine = AsyncEngine(instant)
        group = engine.open_group("g")
        try:
            await group.add_follower("f")
        except RuntimeError as error:
            return str(error)
        finally:
            await engine.close()
        return "no error"

    assert asyncio.run(main()) == (
        "add_follower() on a group that is not open: use "
        "`async with engine.open_group(...) as group:`")


def test_closing_an_engine_from_one_of_its_own_jobs_is_refused() -> None:
    engines: list[Engine] = []

    def closer(job: Any) -> Any:
        yield from engines[0].close()  # would wait for this very job: refused at once

    def main() -> Any:
        engines.append(Engine(closer))
        group = yield from engines[0].submit_group("g", "p")
        yield from engines[0].close()
        result = group.primer.result
        expected = (f"close() called from {group.primer!r}, a job of this engine: it would "
                    "wait for itself to end")
        return result.status, type(result.error).__name__, str(result.error) == expected

    assert testing.run(main()).value == ("failed", "RuntimeError", True)


def test_closing_the_engine_from_a_task_its_own_job_joins_is_refused_too() -> None:
    from actress.scope import shield

    engines: list[Engine] = []

    def closer(job: Any) -> Any:
        yield from shield(engines[0].close())  # its own task, which the attempt joins

    def main() -> Any:
        engines.append(Engine(closer))
        group = yield from engines[0].submit_group("g", "p")
        yield from engines[0].close()
        return group.primer.result.status, type(group.primer.result.error).__name__

    assert testing.run(main()).value == ("failed", "RuntimeError")


@pytest.mark.parametrize("how", ["after_ok", "deadline"])
def test_a_group_cancelled_with_its_primer_stays_cancelled_whatever_its_dependency_does(
        how: str) -> None:
    def slow(job: Any) -> Any:
        yield from task.sleep(10)
        if job.payload == "boom":
            raise ValueError("boom")
        return job.payload

    def main() -> Any:
        sink = MemorySink()
        engine = Engine(slow, events=[sink])
        first = yield from engine.submit_group("g1", "boom")
        options: dict[str, Any] = (
            {"after_ok": True} if how == "after_ok" else {"after_timeout_ms": 5})
        second = yield from engine.open_group("g2", after=[first], **options)
        primer = yield from second.add_primer("p")
        engine.cancel_job(primer, "not needed")
        yield from task.sleep(20)  # the dependency fails / the deadline passes
        follower = yield from second.add_follower("f")
        second.close()
        yield from engine.close()
        return (second.state, follower.result.status,
                [e.type.value for e in sink.events if e.group_id == "g2"])

    assert testing.run(main()).value == ("cancelled", "cancelled", [
        "group.opened", "job.queued", "job.cancelled", "job.queued", "job.cancelled",
        "group.closed", "group.done"])


def test_a_job_coroutine_closing_its_own_async_engine_is_refused() -> None:
    async def main() -> Any:
        engines: list[AsyncEngine] = []

        async def closer(job: Any) -> Any:
            await engines[0].close()

        engines.append(AsyncEngine(closer))
        futures = await engines[0].submit_group("g", "p")
        await asyncio.wait_for(engines[0].close(), 5)  # (it hung)
        result = await futures.primer
        return result.status, repr(result.error)

    assert asyncio.run(main()) == ("failed", "RuntimeError('close() called from a job of this "
                                   "engine: it would wait for itself to end')")


def test_a_group_id_must_be_a_str() -> None:
    def main() -> Any:
        engine = Engine(instant)
        try:
            yield from engine.submit_group(42, "p")  # type: ignore[arg-type]
        except TypeError as error:
            return str(error)

    assert testing.run(main()).value == "a group id must be a str, got 42"


def test_a_group_a_sink_cancels_as_it_opens_takes_no_admission_slot() -> None:
    engines: list[Engine] = []

    def on_event(event: Any) -> None:
        if event.type is EventType.GROUP_OPENED and event.group_id == "doomed":
            engines[0].cancel_group(engines[0].groups["doomed"])

    def main() -> Any:
        engine = Engine(instant, max_active_groups=1, events=[CallbackSink(on_event)])
        engines.append(engine)
        yield from engine.open_group("doomed")
        group = yield from engine.submit_group("next", "p", ["f"])
        yield from engine.close()
        return [j.result.status for j in group.jobs]

    assert testing.run(main()).value == ["succeeded", "succeeded"]


def test_a_cache_provider_whose_invalidate_raises_still_ends_every_job(caplog: Any) -> None:
    class Provider:
        def fingerprint(self, key: Any, context: Any) -> Any:
            return key

        def ready(self, entry: Any) -> bool:
            return True

        def invalidate(self, entry: Any) -> None:
            raise OSError("remote delete failed")

    def main() -> Any:
        cache = CacheRegistry(Provider())
        cache.store("k", "old")
        engine = Engine(instant, cache=cache)
        group = yield from engine.submit_group("g", "new", ["f"], cache_key="k")
        yield from engine.close()
        return [j.result.status for j in group.jobs], group.done, cache.creating("k")

    assert testing.run(main()).value == (["succeeded", "succeeded"], True, False)
    assert "the cache provider failed after job g/primer-" in caplog.text
