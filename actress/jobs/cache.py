"""A cache registry: what primers prepared (a session, a warm prefix cache), kept by key.

A *provider* says how to identify (``fingerprint``), make (``create``), check
(``ready``) and drop (``invalidate``) a cache. The registry keeps one entry per
fingerprint, with an optional expiry, and makes each one once even when many tasks (or
many groups' primers) ask for it at the same time: the others wait for that one creation
(single flight). The engine uses it to let groups with the same cache key reuse what an
earlier primer prepared and, if asked, skip their own primer on a hit.

Uses: task (``wait``), _instructions. Never: the kernel's internals, asyncio.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import CoroutineType, GeneratorType
from typing import Any, Callable, Generator, Hashable, Mapping, Optional, Protocol

from .._fork import scheduler
from .._instructions import Waiter, waiter
from ..task import wait

__all__ = ["CacheEntry", "CacheProvider", "CacheRegistry"]


@dataclass
class CacheEntry:
    """One cached thing: its key, fingerprint, value, and when it expires (ms, or None)."""

    key: Hashable
    fingerprint: Hashable
    value: Any
    created_ms: float
    expires_ms: Optional[float]


class CacheProvider(Protocol):
    """How a kind of cache is identified, made, checked and dropped."""

    def fingerprint(self, key: Hashable, context: Mapping[str, Any]) -> Hashable:
        """What identifies the cached thing (e.g. a hash of the shared prefix).

        Keys with the same fingerprint share one entry:

        >>> class Prefix:
        ...     def fingerprint(self, key, context): return key.split("/")[0]
        ...     def ready(self, entry): return True
        >>> registry = CacheRegistry(Prefix())
        >>> _ = registry.store("docs/intro", "warm docs")
        >>> registry.peek("docs/faq").value
        'warm docs'
        """
        ...

    def create(self, key: Hashable, context: Mapping[str, Any]) -> Any:
        """Make it: a value, an awaitable, or a generator (run as part of the task).

        >>> from actress import task, testing
        >>> class Slow:
        ...     def fingerprint(self, key, context): return key
        ...     def create(self, key, context):  # a generator: it runs in the asking task
        ...         yield from task.sleep(10)
        ...         return f"cache for {key}"
        >>> def main():
        ...     return (yield from CacheRegistry(Slow()).get("docs")).value
        >>> testing.run(main())
        Outcome(ok=True, value='cache for docs', error=None, messages=[], time=10.0)
        """
        ...

    def ready(self, entry: CacheEntry) -> bool:
        """Whether the entry can still be used (the provider's own check).

        >>> class Checked:
        ...     def fingerprint(self, key, context): return key
        ...     def ready(self, entry): return entry.value != "stale"
        ...     def invalidate(self, entry): print("dropped", entry.value)
        >>> registry = CacheRegistry(Checked())
        >>> _ = registry.store("a", "fresh"); _ = registry.store("b", "stale")
        >>> registry.peek("a").value
        'fresh'
        >>> print(registry.peek("b"))  # not ready: dropped, and not returned
        dropped stale
        None
        """
        ...

    def invalidate(self, entry: CacheEntry) -> None:
        """Drop it on the provider's side.

        The registry calls it when it drops an entry: invalidated, replaced, expired or
        no longer ready.

        >>> class Logged:
        ...     def fingerprint(self, key, context): return key
        ...     def invalidate(self, entry): print("dropped", entry.key, entry.value)
        >>> registry = CacheRegistry(Logged())
        >>> _ = registry.store("docs", "v1")
        >>> _ = registry.store("docs", "v2")  # replaced: v1 is dropped
        dropped docs v1
        >>> registry.invalidate("docs")
        dropped docs v2
        """
        ...


class CacheRegistry:
    """Cache entries by fingerprint: single flight, expiry, reuse across groups.

    >>> from actress import task, testing
    >>> class Prefix:
    ...     made = 0
    ...     def fingerprint(self, key, context): return key
    ...     def create(self, key, context):
    ...         Prefix.made += 1
    ...         yield from task.sleep(10)
    ...         return f"cache for {key}"
    ...     def ready(self, entry): return True
    ...     def invalidate(self, entry): pass
    >>> registry = CacheRegistry(Prefix(), ttl_ms=1000)
    >>> def main():
    ...     results = yield from task.all_([registry.get("docs"), registry.get("docs")])
    ...     return results[0].value, results[0] is results[1], Prefix.made
    >>> testing.run(main()).value
    ('cache for docs', True, 1)
    """

    def __init__(self, provider: CacheProvider, *, ttl_ms: Optional[float] = None,
                 clock: Optional[Callable[[], float]] = None) -> None:
        self.provider = provider
        self.ttl_ms = ttl_ms
        self._clock = clock
        self._entries: dict[Hashable, CacheEntry] = {}
        self._inflight: dict[Hashable, list[Waiter]] = {}  # fingerprint -> waiters
        self.hits = 0
        self.misses = 0
        self.creations = 0

    def _now(self) -> float:
        if self._clock is not None:
            return self._clock()
        return scheduler().clock.now()

    def fingerprint(self, key: Hashable, context: Optional[Mapping[str, Any]] = None) -> Hashable:
        """The provider's fingerprint of ``key`` in ``context`` (``None``: an empty one).

        >>> class Prefix:
        ...     def fingerprint(self, key, context): return (key, context.get("model"))
        >>> registry = CacheRegistry(Prefix())
        >>> registry.fingerprint("docs"), registry.fingerprint("docs", {"model": "m1"})
        (('docs', None), ('docs', 'm1'))
        """
        return self.provider.fingerprint(key, context or {})

    def peek(self, key: Hashable, context: Optional[Mapping[str, Any]] = None) -> Optional[CacheEntry]:
        """A usable entry for ``key``, or None; an expired or not-ready one is invalidated.

        >>> class Prefix:
        ...     def fingerprint(self, key, context): return key
        ...     def ready(self, entry): return True
        ...     def invalidate(self, entry): print("dropped", entry.value)
        >>> now = 0.0
        >>> registry = CacheRegistry(Prefix(), ttl_ms=100, clock=lambda: now)
        >>> registry.store("docs", "warm prefix") is registry.peek("docs")
        True
        >>> now = 100.0                            # expired: dropped, and not returned
        >>> print(registry.peek("docs"))
        dropped warm prefix
        None
        """
        fp = self.fingerprint(key, context)
        entry = self._entries.get(fp)
        if entry is None:
            return None
        if (entry.expires_ms is not None and self._now() >= entry.expires_ms) or \
                not self.provider.ready(entry):
            self._drop(fp, entry)
            return None
        return entry

    def creating(self, key: Hashable, context: Optional[Mapping[str, Any]] = None) -> bool:
        """Whether an entry for ``key`` is being made right now.

        >>> class Prefix:
        ...     def fingerprint(self, key, context): return key
        >>> registry = CacheRegistry(Prefix())
        >>> registry.creating("docs")
        False
        >>> registry.begin("docs"); registry.creating("docs")
        True
        >>> _ = registry.store("docs", "warm prefix"); registry.creating("docs")  # made
        False
        """
        return self.fingerprint(key, context) in self._inflight

    def get(self, key: Hashable, context: Optional[Mapping[str, Any]] = None,
            ) -> Generator[Any, Any, CacheEntry]:
        """The entry for ``key``: a usable one, or one made now (once, whoever else asks).

        >>> from actress import testing
        >>> class Prefix:
        ...     def fingerprint(self, key, context): return key
        ...     def create(self, key, context): return f"cache for {key}"
        ...     def ready(self, entry): return True
        >>> registry = CacheRegistry(Prefix())
        >>> def main():
        ...     first = yield from registry.get("docs")          # a miss: made now
        ...     again = yield from registry.get("docs")          # a hit: the same entry
        ...     return again is first, again.value, registry.creations
        >>> testing.run(main()).value
        (True, 'cache for docs', 1)
        """
        ctx = context or {}
        fp = self.fingerprint(key, ctx)
        while True:
            entry = self.peek(key, ctx)
            if entry is not None:
                self.hits += 1
                return entry
            if fp not in self._inflight:
                break
            yield from self._wait_for(fp)  # someone is making it: take theirs
        self.misses += 1
        self.begin(fp)
        try:
            made = self.provider.create(key, ctx)
            if type(made) is GeneratorType:
                value = yield from made
            elif type(made) is CoroutineType or hasattr(made, "__await__"):
                value = yield from wait(made)
            else:
                value = made
        except BaseException:
            self.end(fp)
            raise
        return self.store(key, value, ctx)

    def _wait_for(self, fp: Hashable) -> Generator[Any, Any, None]:
        w = waiter()
        self._inflight[fp].append(w)
        try:
            while fp in self._inflight:
                yield w
        finally:
            w.task = None

    def begin(self, fp: Hashable) -> None:
        """Mark ``fp`` as being made (others asking for it wait).

        It stays marked until ``store`` or ``end``; marking it again changes nothing.

        >>> class Prefix:
        ...     def fingerprint(self, key, context): return key
        >>> registry = CacheRegistry(Prefix())
        >>> registry.begin("docs"); registry.begin("docs")
        >>> registry.creating("docs"), registry.creating("faq")
        (True, False)
        """
        self._inflight.setdefault(fp, [])

    def end(self, fp: Hashable) -> None:
        """The making of ``fp`` ended (made or failed): wake whoever waits for it.

        Each waiter is woken once; with nothing being made, it does nothing.

        >>> class Prefix:
        ...     def fingerprint(self, key, context): return key
        >>> registry = CacheRegistry(Prefix())
        >>> registry.begin("docs"); registry.when_made("docs", lambda: print("woken"))
        >>> registry.end("docs")                    # failed: waiters try for themselves
        woken
        >>> registry.end("docs"); registry.creating("docs")
        False
        """
        for w in self._inflight.pop(fp, ()):
            if callable(w):
                w()
                continue
            f = w.task
            if f is not None:
                f.sched.resume(f)

    def when_made(self, fp: Hashable, callback: Callable[[], None]) -> None:
        """Call ``callback`` once the making of ``fp`` (in progress) ends.

        Raises ``KeyError`` if ``fp`` is not being made.

        >>> class Prefix:
        ...     def fingerprint(self, key, context): return key
        >>> registry = CacheRegistry(Prefix())
        >>> registry.begin("docs"); registry.when_made("docs", lambda: print("made"))
        >>> _ = registry.store("docs", "warm prefix")
        made
        >>> registry.when_made("faq", print)        # nothing being made
        Traceback (most recent call last):
        KeyError: 'faq'
        """
        self._inflight[fp].append(callback)  # type: ignore[arg-type]

    def store(self, key: Hashable, value: Any, context: Optional[Mapping[str, Any]] = None,
              ) -> CacheEntry:
        """Keep ``value`` as the entry for ``key`` (replacing any), and end its making.

        >>> class Prefix:
        ...     def fingerprint(self, key, context): return key
        ...     def ready(self, entry): return True
        ...     def invalidate(self, entry): print("dropped", entry.value)
        >>> registry = CacheRegistry(Prefix())
        >>> registry.store("docs", "v1").value
        'v1'
        >>> registry.store("docs", "v2").value     # replaces v1: the provider drops it
        dropped v1
        'v2'
        """
        fp = self.fingerprint(key, context)
        now = self._now()
        old = self._entries.get(fp)
        entry = CacheEntry(key, fp, value, now, now + self.ttl_ms if self.ttl_ms else None)
        self._entries[fp] = entry
        self.creations += 1
        self.end(fp)
        if old is not None:
            self.provider.invalidate(old)  # (last: if it raises, the new entry stands)
        return entry

    def invalidate(self, key: Hashable, context: Optional[Mapping[str, Any]] = None) -> None:
        """Drop the entry for ``key`` (the provider is told).

        >>> class Prefix:
        ...     def fingerprint(self, key, context): return key
        ...     def ready(self, entry): return True
        ...     def invalidate(self, entry): print("dropped", entry.value)
        >>> registry = CacheRegistry(Prefix())
        >>> _ = registry.store("docs", "warm prefix")
        >>> registry.invalidate("docs")
        dropped warm prefix
        >>> registry.invalidate("docs")            # nothing cached: nothing to do
        >>> print(registry.peek("docs"))
        None
        """
        fp = self.fingerprint(key, context)
        entry = self._entries.get(fp)
        if entry is not None:
            self._drop(fp, entry)

    def _drop(self, fp: Hashable, entry: CacheEntry) -> None:
        del self._entries[fp]
        self.provider.invalidate(entry)

    def __len__(self) -> int:
        return len(self._entries)
