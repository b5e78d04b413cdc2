"""The asyncio side: a fork is an awaitable; wait() takes awaitables; run() for scripts."""

from __future__ import annotations

import asyncio
import gc
import logging

import pytest

import actress
from actress import task


def value_after(ms, value):
    yield from task.sleep(ms)
    return value


def cleanup_logger(log, ms=1000):
    try:
        yield from task.sleep(ms)
    finally:
        log.append("finally ran")


def test_await_a_fork_returns_its_result():
    assert asyncio.run(_await(task.fork(value_after(1, "v")))) == "v"


async def _await(awaitable):
    return await awaitable


def test_await_a_fork_raises_its_error():
    def fail():
        yield from task.sleep(1)
        raise KeyError("k")

    with pytest.raises(KeyError):
        asyncio.run(_await(task.fork(fail())))


def test_a_fork_may_be_awaited_many_times():
    async def main():
        fork = task.fork(value_after(2, "v"))
        first = asyncio.ensure_future(_await(fork))
        second = asyncio.ensure_future(_await(fork))
        return await first, await second, await fork

    assert asyncio.run(main()) == ("v", "v", "v")


def test_gather_accepts_forks():
    async def main():
        return await asyncio.gather(
            task.fork(value_after(3, "a")), task.fork(value_after(1, "b")),
            asyncio.sleep(0, "c"))

    assert asyncio.run(main()) == ["a", "b", "c"]


def test_create_task_accepts_a_fork():
    async def main():
        return await asyncio.create_task(task.fork(value_after(1, "t")))

    assert asyncio.run(main()) == "t"


def test_asyncio_run_accepts_a_fork():
    assert asyncio.run(task.fork(value_after(1, "r"))) == "r"


def test_wait_for_timeout_aborts_the_fork_and_runs_its_finally():
    log = []

    async def main():
        try:
            await asyncio.wait_for(task.fork(cleanup_logger(log)), 0.01)
        except asyncio.TimeoutError:
            log.append("timed out")

    asyncio.run(main())
    assert log == ["finally ran", "timed out"]


def test_cancelling_the_awaiting_task_aborts_the_fork():
    log = []

    async def main():
        fork = task.fork(cleanup_logger(log))
        waiter = asyncio.ensure_future(_await(fork))
        await asyncio.sleep(0.001)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        return fork.result

    result = asyncio.run(main())
    assert log == ["finally ran"]
    assert isinstance(result.error, asyncio.CancelledError)


def parked(value):
    """Waits until the test resumes it (no real time involved), then returns ``value``."""
    yield from task.suspend()
    return value


def cleanup_that_waits(log):
    """Parks until aborted; its cleanup then parks again until the test resumes it."""
    try:
        yield from task.suspend()
    finally:
        log.append("cleanup starts")
        yield from task.suspend()
        log.append("cleanup ends")


def test_a_cancelled_awaiter_waits_until_the_forks_cleanup_has_ended():
    log = []

    async def main():
        fork = task.fork(cleanup_that_waits(log))
        awaiter = asyncio.ensure_future(_await(fork))
        await asyncio.sleep(0)  # it awaits the fork
        awaiter.cancel()
        for _ in range(3):
            await asyncio.sleep(0)
        log.append(f"awaiter done: {awaiter.done()}")
        task.resume(fork)
        with pytest.raises(asyncio.CancelledError):
            await awaiter
        log.append("awaiter cancelled")
        return fork.result

    result = asyncio.run(main())
    assert log == ["cleanup starts", "awaiter done: False", "cleanup ends", "awaiter cancelled"]
    assert isinstance(result.error, asyncio.CancelledError)


def test_wait_for_and_asyncio_run_do_not_cut_a_cleanup_that_sleeps_short():
    log = []

    def work():
        try:
            yield from task.suspend()
        finally:
            log.append("cleanup starts")
            yield from task.sleep(5)
            log.append("cleanup ends")

    async def main():
        try:
            await asyncio.wait_for(task.fork(work()), 0.01)
        except asyncio.TimeoutError:
            log.append("timed out")

    asyncio.run(main())  # (the loop closes right after main returns)
    assert log == ["cleanup starts", "cleanup ends", "timed out"]


def test_a_second_cancel_of_the_awaiter_reaches_the_cleanup_it_waits_for():
    log = []

    def work():
        try:
            yield from task.suspend()
        finally:
            try:
                yield from task.suspend()
            except asyncio.CancelledError:
                log.append("cleanup cancelled too")
                raise

    async def main():
        fork = task.fork(work())
        awaiter = asyncio.ensure_future(_await(fork))
        await asyncio.sleep(0)
        awaiter.cancel()
        await asyncio.sleep(0)  # the fork is in its cleanup; the awaiter waits for it
        awaiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await awaiter
        return fork.status

    assert asyncio.run(main()) == task.Status.FINISHED
    assert log == ["cleanup cancelled too"]


def test_cancelling_one_of_two_awaiters_leaves_the_fork_running():
    async def main():
        fork = task.fork(parked("v"))
        first = asyncio.ensure_future(_await(fork))
        second = asyncio.ensure_future(_await(fork))
        await asyncio.sleep(0)  # both await the fork
        first.cancel()
        await asyncio.sleep(0)  # the first has given up
        task.resume(fork)
        return await second, first.cancelled()

    assert asyncio.run(main()) == ("v", True)


def test_cancelling_the_awaiter_leaves_a_fork_a_task_joins_running():
    def joiner(fork):
        return (yield from task.join(fork))

    async def main():
        fork = task.fork(parked("v"))
        awaiter = asyncio.ensure_future(_await(fork))
        await asyncio.sleep(0)  # it awaits the fork
        joined = task.fork(joiner(fork))
        joined.activate()
        awaiter.cancel()
        await asyncio.sleep(0)  # the awaiter has given up
        task.resume(fork)
        return await joined, awaiter.cancelled()

    assert asyncio.run(main()) == ("v", True)


def test_aborting_a_joiner_leaves_a_fork_asyncio_awaits_running():
    def joiner(fork):
        yield from task.join(fork)

    async def main():
        fork = task.fork(parked("v"))
        waiting = task.fork(joiner(fork))
        waiting.activate()
        awaiter = asyncio.ensure_future(_await(fork))
        await asyncio.sleep(0)  # it awaits the fork
        task.fork(task.abort(waiting, stop)).activate()
        task.resume(fork)
        return await awaiter, waiting.result

    stop = RuntimeError("stop")
    assert asyncio.run(main()) == ("v", task.Failure(stop))


def test_wait_on_a_coroutine_returns_its_value():
    async def coro():
        await asyncio.sleep(0)
        return 5

    def main():
        return (yield from task.wait(coro()))

    assert actress.run(main()) == 5


def test_wait_raises_the_future_error_in_the_task():
    def main():
        future = asyncio.get_running_loop().create_future()
        future.set_exception(ValueError("bad"))
        try:
            yield from task.wait(future)
        except ValueError as error:
            return f"caught {error}"

    assert actress.run(main()) == "caught bad"


def test_wait_on_a_cancelled_future_raises_cancelled_error():
    def main():
        future = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_later(0.001, future.cancel)
        try:
            yield from task.wait(future)
        except asyncio.CancelledError:
            return "cancelled"

    assert actress.run(main()) == "cancelled"


def test_aborting_a_task_cancels_the_coroutine_it_waits_on():
    log = []

    async def slow():
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            log.append("coroutine cancelled")
            raise

    def waiter():
        yield from task.wait(slow())

    def main():
        fork = yield from task.fork(waiter())
        yield from task.sleep(1)
        yield from task.abort(fork, ValueError("stop"))
        yield from task.sleep(1)

    actress.run(main())
    assert log == ["coroutine cancelled"]


def test_wait_on_an_awaitable_needs_a_running_loop():
    def main():
        future = asyncio.Future(loop=asyncio.new_event_loop())
        yield from task.wait(future)

    fork = task.fork(main()).activate()
    assert "event loop" in str(fork.result.error)


def test_sleep_without_a_loop_is_a_clear_error():
    def main():
        yield from task.sleep(10)

    fork = task.fork(main()).activate()
    error = fork.result.error
    assert isinstance(error, RuntimeError)
    assert "actress.run" in str(error)


def test_sleep_zero_needs_no_loop():
    def main():
        yield from task.sleep(0)
        return "ok"

    assert task.fork(main()).activate().result == task.Success("ok")


def test_run_returns_the_result_and_raises_the_error():
    def fail():
        yield from task.sleep(1)
        raise LookupError("x")

    assert actress.run(value_after(2, "done")) == "done"
    with pytest.raises(LookupError):
        actress.run(fail())


def test_run_inside_a_running_loop_is_a_clear_error():
    async def main():
        with pytest.raises(RuntimeError, match="await task.fork"):
            actress.run(value_after(1, "x"))

    asyncio.run(main())


def test_real_time_sleep_takes_about_that_long_in_order():
    log = []

    def sleeper(name, ms):
        yield from task.sleep(ms)
        log.append(name)

    def main():
        yield from task.fork(sleeper("b", 20))
        yield from task.fork(sleeper("a", 5))
        yield from task.sleep(30)

    actress.run(main())
    assert log == ["a", "b"]


def test_run_cancels_what_it_leaves_behind_and_runs_its_cleanup():
    log = []

    def background():
        try:
            yield from task.sleep(10_000)
        except asyncio.CancelledError:
            log.append("background cancelled")
            yield from task.sleep(1)  # cleanup may wait
            log.append("background cleaned up")
            raise

    def main():
        yield from task.spawn(background())
        yield from task.sleep(1)
        return "main done"

    assert actress.run(main()) == "main done"
    assert log == ["background cancelled", "background cleaned up"]


def test_run_cancels_tasks_it_leaves_parked_on_a_channel_an_ask_a_mailbox_or_a_coroutine(
        caplog):
    from actress.actor import start
    from actress.channel import Channel

    log = []

    def logs_cleanup(name, waiting):
        try:
            yield from waiting
        finally:
            log.append(f"{name} cleaned up")

    def busy(inbox):  # holds the first ask it gets, unanswered, waiting on a channel
        yield from inbox.receive()
        yield from logs_cleanup("busy actor", Channel(0).receive())

    def main():
        yield from start(lambda inbox: logs_cleanup("idle actor", inbox.receive()))
        ref = yield from start(busy, name="busy")
        yield from task.spawn(logs_cleanup("receiver", Channel(0).receive()))
        yield from task.spawn(logs_cleanup("asker", ref.ask("hold this")))
        yield from task.spawn(logs_cleanup("waiter", task.wait(asyncio.sleep(100))))
        yield from task.sleep(1)
        return "main done"

    with caplog.at_level(logging.ERROR, logger="actress"):
        assert actress.run(main()) == "main done"
    assert sorted(log) == ["asker cleaned up", "busy actor cleaned up", "idle actor cleaned up",
                           "receiver cleaned up", "waiter cleaned up"]
    assert "nobody joined" not in caplog.text


def test_each_run_has_its_own_scheduler():
    def main():
        me = yield from task.current()
        return me.sched

    assert actress.run(main()) is not actress.run(main())


def _steps_between_loop_turns(monkeypatch, tick_s):
    """Run a task doing 60 sleep(0) steps beside an asyncio heartbeat, on a fake
    ``perf_counter`` that moves ``tick_s`` per read; return the task's step count at each
    heartbeat."""
    now = [0.0]

    def fake_perf_counter():
        now[0] += tick_s
        return now[0]

    seen = []
    steps = [0]

    def spinner():
        for _ in range(60):
            steps[0] += 1
            yield from task.sleep(0)

    async def heartbeat():
        while steps[0] < 60:
            seen.append(steps[0])
            await asyncio.sleep(0)

    async def main():
        beat = asyncio.ensure_future(heartbeat())
        await asyncio.sleep(0)  # the heartbeat runs first
        monkeypatch.setattr("time.perf_counter", fake_perf_counter)
        await task.fork(spinner())
        await beat

    asyncio.run(main())
    return seen


def test_slow_steps_hand_the_loop_back_once_the_budget_is_spent(monkeypatch):
    # 1 ms a clock read, 5 ms budget: the loop gets a turn every few steps, not every 32
    seen = _steps_between_loop_turns(monkeypatch, 0.001)
    gaps = [b - a for a, b in zip(seen, seen[1:])]
    assert max(gaps) <= 6, seen



def test_a_drain_past_its_budget_keeps_one_callback_on_the_loop_not_one_more_per_timer(
        monkeypatch):
    # Each drain stops after its 5 ms budget (a fake perf_counter moving 1 ms a read) and
    # asks the loop to call it back; timers firing meanwhile start drains of their own.
    # Those must not each leave a chain of call-backs: at most one waits on the loop.
    now = [0.0]

    def fake_perf_counter():
        now[0] += 0.001
        return now[0]

    pending = []

    def spinner():
        for _ in range(400):
            yield from task.sleep(0)

    def sleeper():
        for _ in range(40):
            yield from task.sleep(0.01)

    async def heartbeat(done):
        loop = asyncio.get_running_loop()
        while not done.done():
            # call-backs that go on draining (a timer's own wake-up, _fire, is not one)
            pending.append(sum(1 for h in loop._ready
                               if "drain" in repr(h) and "_fire" not in repr(h)))
            await asyncio.sleep(0)

    async def main():
        monkeypatch.setattr("time.perf_counter", fake_perf_counter)
        done = asyncio.ensure_future(asyncio.gather(task.fork(spinner()), task.fork(sleeper())))
        await heartbeat(done)
        await done

    asyncio.run(main())
    assert max(pending) <= 1, pending


def test_a_task_spinning_on_sleep_0_does_not_starve_the_event_loop():
    stop = []

    def spinner():
        while not stop:
            yield from task.sleep(0)
        return "stopped"

    async def main():
        spinning = task.fork(spinner())
        spinning.activate()
        await asyncio.sleep(0)  # runs only if the drain hands the loop a turn
        stop.append(True)
        return await spinning

    assert asyncio.run(main()) == "stopped"


def test_a_closed_awaiter_no_longer_counts_as_waiting_for_the_fork():
    log = []

    def work():
        try:
            yield from task.suspend()  # until aborted
        finally:
            log.append("work cleanup")

    def joiner(fork):
        yield from task.join(fork)

    async def main():
        fork = task.fork(work())
        awaiting = _await(fork)
        awaiting.send(None)  # awaits the fork ...
        awaiting.close()     # ... and is closed (GeneratorExit), not cancelled
        alone = task.fork(joiner(fork))
        alone.activate()
        await asyncio.sleep(0)
        task.fork(task.abort(alone, stop)).activate()  # the last waiter: takes the fork
        return fork.result

    stop = RuntimeError("stop")
    assert asyncio.run(main()) == task.Failure(stop)
    assert log == ["work cleanup"]


def test_an_asyncio_deadline_on_a_scope_child_leaves_it_to_its_scope():
    from actress.scope import scope

    log, children = [], []

    def body(s):
        children.append((yield from s.fork(parked("child"))))
        return "body"  # the scope still waits for its child

    async def main():
        running = task.fork(scope(body))
        running.activate()
        await asyncio.sleep(0)
        try:
            await asyncio.wait_for(children[0], 0.001)  # the child waits for resume
        except asyncio.TimeoutError:
            log.append("gave up on the child")
        task.resume(children[0])
        return await running, children[0].result

    assert asyncio.run(main()) == ("body", task.Success("child"))
    assert log == ["gave up on the child"]


def test_a_failure_its_cancelled_awaiter_never_read_is_reported(caplog):
    reports = []

    def worker():
        yield from task.suspend()
        raise ValueError("failed while its awaiter was being cancelled")

    async def main():
        asyncio.get_running_loop().set_exception_handler(
            lambda loop, context: reports.append(str(context.get("exception"))))
        fork = task.fork(worker())
        fork.activate()
        awaiter = asyncio.ensure_future(_await(fork))
        await asyncio.sleep(0)   # it awaits the fork now
        task.resume(fork)        # the fork fails ...
        awaiter.cancel()         # ... and its only awaiter is cancelled before reading it
        with pytest.raises(asyncio.CancelledError):
            await awaiter

    with caplog.at_level(logging.ERROR, logger="actress"):
        asyncio.run(main())
        gc.collect()  # reported through the loop if collected in time, else logged
        task.fork(task.effect(task.wait(None))).activate()  # a drain flushes reports
    logged = [str(r.exc_info[1]) for r in caplog.records if r.exc_info]
    assert "failed while its awaiter was being cancelled" in reports + logged


def test_a_cancelled_awaiter_does_not_count_as_waiting_for_the_fork():
    stop = KeyError("joiner aborted")

    def joiner(fork):
        yield from task.join(fork)

    async def main():
        fork = task.fork(parked("v"))
        fork.activate()
        waiting = task.fork(joiner(fork))
        waiting.activate()
        awaiter = asyncio.ensure_future(_await(fork))
        await asyncio.sleep(0)
        awaiter.cancel()                              # gives up ...
        task.fork(task.abort(waiting, stop)).activate()  # ... and, the same turn, the joiner
        with pytest.raises(asyncio.CancelledError):
            await awaiter
        return fork.result

    assert asyncio.run(main()) == task.Failure(stop)


def test_a_task_a_finalizer_wakes_during_garbage_collection_runs_after_it():
    from actress.channel import Channel

    log = []
    inbox = Channel(1)

    def receiver():
        log.append(("got", (yield from inbox.receive())))

    class Waker:
        def __init__(self):
            self.me = self  # a cycle: only the collector frees it

        def __del__(self):
            inbox.send_nowait("sent by a finalizer")

    async def main():
        fork = task.fork(receiver())
        fork.activate()
        Waker()
        gc.collect()  # runs __del__: the receiver must not run inside the collection
        log.append("collected")
        await fork

    asyncio.run(main())
    assert log == ["collected", ("got", "sent by a finalizer")]


def test_a_task_a_worker_threads_collection_wakes_runs_on_the_loop_thread():
    import threading

    from actress.channel import Channel

    inbox, seen = Channel(1), []

    def receiver():
        item = yield from inbox.receive()
        seen.append((item, threading.current_thread() is threading.main_thread()))

    class Waker:
        def __init__(self):
            self.me = self  # a cycle: only the collector frees it

        def __del__(self):
            inbox.send_nowait("x")

    async def main():
        waiting = asyncio.ensure_future(_await(task.fork(receiver())))
        await asyncio.sleep(0)  # the receiver waits on the inbox
        gc.disable()  # so that the worker thread's collection is the one that frees it
        try:
            Waker()
            await asyncio.get_running_loop().run_in_executor(None, gc.collect)
        finally:
            gc.enable()
        await waiting

    asyncio.run(main())
    assert seen == [("x", True)]


def test_threads_each_running_actress_run_keep_their_tasks_apart():
    import sys
    import threading

    def child(i):
        yield from task.sleep(0)
        return i

    def work(n):
        total = 0
        for i in range(n):
            total += yield from task.join((yield from task.fork(child(i))))
        return total

    results = {}
    start = threading.Barrier(3)

    def runner(name):
        start.wait()
        try:
            results[name] = actress.run(work(2000))
        except BaseException as error:  # what a shared scheduler state raised
            results[name] = repr(error)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often: their drains interleave
    try:
        threads = [threading.Thread(target=runner, args=(n,)) for n in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert results == {n: sum(range(2000)) for n in range(3)}


def test_a_fork_started_in_one_thread_stays_on_its_scheduler_while_another_runs():
    import threading

    from actress._kernel import current_scheduler

    started, release = threading.Event(), threading.Event()

    def worker_job():  # actress.run in a worker thread (it sets that thread's default)
        started.set()
        yield from task.wait(asyncio.to_thread(release.wait))
        return "worker ok"

    async def main():
        here = current_scheduler()
        worker = asyncio.ensure_future(asyncio.to_thread(actress.run, worker_job()))
        await asyncio.to_thread(started.wait)  # the worker's run is going on
        app = task.fork(parked("app ok"))
        app.activate()
        release.set()
        done = await worker
        task.resume(app)
        return done, await app, app.sched is here

    assert asyncio.run(main()) == ("worker ok", "app ok", True)


def test_a_fork_sleeping_when_its_loop_closed_wakes_when_awaited_on_the_next():
    async def start():
        return task.fork(value_after(20, "woke")).activate()  # its timer: on this loop

    fork = asyncio.run(start())  # that loop closes; the fork still sleeps

    async def finish():
        return await asyncio.wait_for(fork, 10)

    assert asyncio.run(finish()) == "woke"
