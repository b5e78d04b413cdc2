"""Jobs: groups of a primer and followers, fair lanes, retries, caches and an event log.

Built as ordinary tasks on the kernel: a dispatcher task and one task per running job.

>>> from actress.jobs import Engine, Lane, RetryPolicy
>>> Engine(lambda job: job.payload, workers=2, lanes={"a": Lane(2)}).workers
2
"""

from .aio import AsyncEngine, AsyncGroup, GroupFutures
from .cache import CacheEntry, CacheProvider, CacheRegistry
from .engine import Counts, Engine, Group, Job, JobResult, Lane, ThreadExecutor
from .events import TERMINAL, CallbackSink, Event, EventLog, EventType, JsonlSink, MemorySink, Sink
from .lanes import Entry, LaneQueue, Lanes, Queued
from .replay import ReadResult, Summary, follow, read_events, summarize
from .retry import NO_RETRY, InvalidInput, Permanent, RetryPolicy, Transient, retrying

__all__ = [
    "NO_RETRY", "TERMINAL", "AsyncEngine", "AsyncGroup", "CacheEntry", "CacheProvider",
    "CacheRegistry", "CallbackSink", "Counts", "Engine", "Entry", "Event", "EventLog",
    "EventType", "Group", "GroupFutures", "InvalidInput", "Job", "JobResult", "JsonlSink",
    "Lane", "LaneQueue", "Lanes", "MemorySink", "Permanent", "Queued", "ReadResult",
    "RetryPolicy", "Sink", "Summary", "ThreadExecutor", "Transient", "follow", "read_events",
    "retrying", "summarize",
]
