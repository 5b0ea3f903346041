"""Group concurrent commands into shared transactions.

One save per command tops out near 300–400 saves/s on PostgreSQL here; the store's ``save(*aggregates)`` is
one atomic write whatever the count. So commands queue up, a worker thread takes everything queued (up to
``max_batch``), runs each command's decision against aggregates loaded once per batch, and saves them all in
one transaction. A refused command is rolled back inside the batch and changes nothing; if another process
wrote one of the aggregates first (optimistic conflict), the whole batch is re-run on freshly loaded state, so
nobody's accepted command is lost, nobody's is applied twice, and a hot aggregate still saves in batches.

Aggregates come from the store's cache without a read per command. Another process's write makes the cache
stale; a stale aggregate can cause two things, both handled here: a save that conflicts (evict, reload, re-run)
and a refusal decided on old state (a refusal is re-checked after reading the events stored since the cached
version, at most once per aggregate per batch).

An event must fit the log: a command whose new events would encode to more than ``max_event_bytes`` (the
relay sends each event as one Kafka message, 1 MiB by default) is refused with ``EventTooLarge`` (413) like
any refusal, and nothing is written; stored, such an event would stop the relay for every event after it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from application.envelope import TRACE_KEY
from domain.errors import ConcurrentModification, DomainError, NotFound


class EventTooLarge(DomainError):
    code = "event_too_large"
    http_status = 413


log = logging.getLogger(__name__)
T = TypeVar("T")


class UnitOfWork:
    """What a command sees: aggregates by id (shared within a batch) and new aggregates to add.

    No copies are made: a verb method checks its rule before it triggers, so a refused command has changed
    nothing. Should a command fail after changing an aggregate, ``rollback`` rebuilds that aggregate from the
    store at the version the batch started from and re-applies the events of the batch's earlier commands.
    """

    def __init__(
        self,
        store: Application[UUID],
        cache: dict[UUID, Aggregate],
        not_found: Callable[[UUID], Exception],
        fresh: set[UUID] | None = None,
    ) -> None:
        self._store = store
        self._cache = cache
        self._not_found = not_found
        self._fresh = fresh if fresh is not None else set()  # brought up to date with the store in this batch
        self._before: dict[UUID, tuple[int, int]] = {}  # id -> (version, pending count) at first touch
        self._new: set[UUID] = set()
        self.touched: set[UUID] = set()

    def get(self, aggregate_id: UUID) -> Any:
        self.touched.add(aggregate_id)
        agg = self._cache.get(aggregate_id)
        if agg is None:
            try:
                agg = self._store.repository.get(aggregate_id)
            except AggregateNotFoundError:
                raise self._not_found(aggregate_id) from None
            self._cache[aggregate_id] = agg
        if aggregate_id not in self._before and aggregate_id not in self._new:
            self._before[aggregate_id] = (agg.version, len(agg.pending_events))
        return agg

    def find(self, aggregate_id: UUID) -> Any | None:
        """The aggregate, or None when it does not exist (yet)."""
        if aggregate_id not in self._cache:
            try:
                self._cache[aggregate_id] = self._store.repository.get(aggregate_id)
            except AggregateNotFoundError:
                return None
        return self.get(aggregate_id)

    def current(self, aggregate_id: UUID) -> Any:
        """The aggregate as stored now, for a decision that reads an aggregate another process writes and does
        not write it itself (a write would conflict and re-run on fresh state; a read alone would not): the
        cached copy is brought up to date with the events stored since (one indexed read, once per batch)."""
        agg = self.get(aggregate_id)
        if aggregate_id in self._fresh or aggregate_id in self._new or agg.pending_events:
            return agg  # already read in this batch, or changed in it (its save checks the version)
        for event in self._store.events.get(aggregate_id, gt=agg.version):
            agg = event.mutate(agg)  # type: ignore[attr-defined]
        self._cache[aggregate_id] = agg
        self._before[aggregate_id] = (agg.version, 0)
        self._fresh.add(aggregate_id)
        return agg

    def add(self, aggregate: Aggregate) -> None:
        self._cache[aggregate.id] = aggregate
        self._new.add(aggregate.id)

    def new_events(self) -> list[Any]:
        """The events this unit of work's command triggered (not yet saved)."""
        out: list[Any] = []
        for aggregate_id in self._new:
            agg = self._cache.get(aggregate_id)
            if agg is not None:
                out.extend(agg.pending_events)
        for aggregate_id, (_, pending) in self._before.items():
            agg = self._cache.get(aggregate_id)
            if agg is not None:
                out.extend(agg.pending_events[pending:])
        return out

    def rollback(self) -> None:
        for aggregate_id in self._new:
            self._cache.pop(aggregate_id, None)
        for aggregate_id, (version, pending) in self._before.items():
            agg = self._cache.get(aggregate_id)
            if agg is None or agg.version == version:
                continue  # untouched by the failed command
            kept = list(agg.pending_events[:pending])
            self._evict(aggregate_id)
            base = version - pending
            rebuilt: Any = self._store.repository.get(aggregate_id, version=base) if base > 0 else None
            for event in kept:
                rebuilt = event.mutate(rebuilt)
            rebuilt.pending_events.extend(kept)
            self._cache[aggregate_id] = rebuilt

    def _evict(self, aggregate_id: UUID) -> None:
        cache = self._store.repository.cache
        if cache is not None:  # the store's cache hands out its own objects: drop the changed one
            try:
                cache.get(aggregate_id, evict=True)
            except KeyError:
                pass


Decide = Callable[[UnitOfWork], T]


class CommandTrace(Protocol):
    """Traces through the writer (``infra.tracing.BatchTracing``): the caller's context is taken at ``submit``
    (the writer thread does not share it), each decision runs in a span of its own whose traceparent is kept in
    the command's new events (so the relay and the projections continue the trace), and the append is a span."""

    def capture(self) -> str | None: ...

    def command(self, parent: str | None) -> AbstractContextManager[str | None]: ...

    def appended(self, parent: str | None, started_ns: int, events: int) -> None: ...


class _EncodedOnce:
    """The store's mapper, handing ``save`` the stored form ``_fits_the_log`` already computed for an event, so an
    event is encoded once, not twice, on the write path (a third of the writer thread's time per gift send)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.memo: dict[int, tuple[Any, Any]] = {}  # id(event) → (event, stored event); the writer's batch only

    def encode(self, event: Any) -> Any:
        stored = self._inner.to_stored_event(event)
        self.memo[id(event)] = (event, stored)
        return stored

    def to_stored_event(self, event: Any) -> Any:
        hit = self.memo.pop(id(event), None)
        if hit is not None and hit[0] is event:  # the same object (an id is only unique while it lives)
            return hit[1]
        return self._inner.to_stored_event(event)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@dataclass
class _Item(Generic[T]):
    decide: Decide[T]
    future: asyncio.Future[T]
    not_found: Callable[[UUID], Exception]
    outcome: tuple[bool, Any] = field(default=(False, None))
    trace: str | None = None  # the caller's traceparent (tracing on)
    command_trace: str | None = None  # the decision's span, parent of the append's


def _stamp(uow: UnitOfWork, parent: str | None) -> None:
    """Keep ``parent`` in the command's new events (the eventsourcing mapper stores an event's ``__dict__``)."""
    if parent:
        for event in uow.new_events():
            object.__setattr__(event, TRACE_KEY, parent)


def _wrong_kind(exc: Exception, uow: UnitOfWork, it: _Item[Any]) -> Exception | None:
    """An id that names an aggregate of another kind (a stream's id sent as a sale's) surfaces as the command
    calling a verb that aggregate does not have, before it changed anything: for the client that id is not
    found (the hostile suite found every service answering 500 here; issue 19)."""
    obj = getattr(exc, "obj", None) if isinstance(exc, AttributeError) else None
    if isinstance(obj, Aggregate) and obj.id in uow.touched:
        log.warning("command on %s, an aggregate of another kind (%s): not found", obj.id, type(obj).__name__)
        return it.not_found(obj.id)
    return None


def _default_not_found(aggregate_id: UUID) -> Exception:
    return NotFound(f"{aggregate_id} not found", id=str(aggregate_id))


class BatchWriter:
    def __init__(
        self,
        store: Application[UUID],
        *,
        max_batch: int = 200,
        window_ms: float = 2.0,
        conflict_retries: int = 5,
        max_event_bytes: int = 900_000,
        on_batch: Callable[[int, float, int], None] | None = None,
        trace: CommandTrace | None = None,
    ) -> None:
        self._store = store
        self._trace = trace
        events = getattr(store, "events", None)
        if events is not None and not isinstance(events.mapper, _EncodedOnce):
            events.mapper = _EncodedOnce(events.mapper)
        self._mapper: _EncodedOnce | None = events.mapper if events is not None else None
        self._on_batch = on_batch  # (commands, seconds, events appended) of each batch: the metrics' hook
        self._max_event_bytes = max_event_bytes
        self._max_batch = max_batch
        self._window = window_ms / 1000.0
        self._retries = conflict_retries
        self._queue: asyncio.Queue[_Item[Any]] = asyncio.Queue()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="batch-writer")
        self._task: asyncio.Task[None] | None = None
        self.batches = 0
        self.commands = 0
        self._window_stats: list[tuple[int, float]] = []
        self._last_report = time.monotonic()
        self._next_report = self._last_report + 10.0

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="batch-writer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        self._executor.shutdown(wait=True)

    async def submit(self, decide: Decide[T], *, not_found: Callable[[UUID], Exception] = _default_not_found) -> T:
        """Run ``decide`` inside a batch; returns its value once the batch is committed, or raises its error."""
        if self._task is None:
            await self.start()
        fut: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        item = _Item(decide, fut, not_found)
        if self._trace is not None:
            item.trace = self._trace.capture()
        await self._queue.put(item)
        return await fut

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            items = [await self._queue.get()]
            deadline = loop.time() + self._window
            while len(items) < self._max_batch:
                try:
                    items.append(self._queue.get_nowait())
                    continue
                except asyncio.QueueEmpty:
                    pass
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    items.append(await asyncio.wait_for(self._queue.get(), remaining))
                except TimeoutError:
                    break
            t0 = time.perf_counter()
            appended = 0
            try:
                appended = await loop.run_in_executor(self._executor, self._run_batch, items)
            except Exception as exc:  # the save itself failed (database down): fail every command
                log.exception("batch failed")
                for it in items:
                    it.outcome = (False, exc)
            for it in items:
                if it.future.done():
                    continue
                ok, value = it.outcome
                if ok:
                    it.future.set_result(value)
                else:
                    it.future.set_exception(value)
            self.batches += 1
            self.commands += len(items)
            self._report(len(items), time.perf_counter() - t0)
            if self._on_batch is not None:
                self._on_batch(len(items), time.perf_counter() - t0, appended)

    def _report(self, size: int, seconds: float) -> None:
        """Every 10 s: commands, batches, mean batch size and time, so operators see the write path."""
        self._window_stats.append((size, seconds))
        now = time.monotonic()
        if now < self._next_report:
            return
        n = sum(s for s, _ in self._window_stats)
        b = len(self._window_stats)
        busy = sum(t for _, t in self._window_stats)
        log.info(
            "writer: %d commands in %d batches (mean %.1f per batch, %.1f ms per batch, %.0f%% busy)",
            n,
            b,
            n / b,
            1000 * busy / b,
            100 * busy / (now - self._last_report),
        )
        self._window_stats.clear()
        self._last_report = now
        self._next_report = now + 10.0

    # ---- runs in the writer thread -----------------------------------------------------------------
    def _run_batch(self, items: list[_Item[Any]]) -> int:
        """The number of events appended."""
        fresh: set[UUID] = set()  # aggregates loaded from the store (not the cache) in this batch
        for attempt in range(self._retries):
            cache: dict[UUID, Aggregate] = {}
            for it in items:
                self._decide(it, cache, fresh)
            changed = [a for a in cache.values() if a.pending_events]
            if not changed:
                self._forget_encoded()
                return 0
            events = sum(len(a.pending_events) for a in changed)
            started = time.time_ns()
            try:
                self._store.save(*changed)
                if self._trace is not None:
                    for it in items:
                        if it.outcome[0]:
                            self._trace.appended(it.command_trace, started, events)
                self._forget_encoded()
                return events
            except IntegrityError:
                # Another process saved one of these aggregates first: reload them and run the whole batch
                # again, so a hot aggregate served by several processes still saves in batches.
                log.info("batch of %d conflicted (attempt %d); re-running it on fresh state", len(items), attempt + 1)
                self._evict(cache)
                fresh.clear()
                self._forget_encoded()
            except BaseException:
                self._evict(cache)  # the cached objects hold unsaved changes: forget them
                self._forget_encoded()
                raise
        for it in items:
            if it.outcome[0]:
                it.outcome = (False, ConcurrentModification("the aggregate kept changing; try again"))
        return 0

    def _decide(self, it: _Item[Any], cache: dict[UUID, Aggregate], fresh: set[UUID]) -> None:
        if it.future.cancelled():
            it.outcome = (False, asyncio.CancelledError())
            return
        uow = UnitOfWork(self._store, cache, it.not_found, fresh)
        try:
            with self._span(it) as parent:
                it.outcome = (True, it.decide(uow))
                _stamp(uow, parent)
            self._fits_the_log(uow)
            return
        except Exception as exc:
            uow.rollback()
            if (wrong := _wrong_kind(exc, uow, it)) is not None:
                it.outcome = (False, wrong)
                return
            it.outcome = (False, exc)
            stale = {a for a in uow.touched - fresh if not (a in cache and cache[a].pending_events)}
            if not isinstance(exc, DomainError) or isinstance(exc, EventTooLarge) or not stale:
                return
        # Refused on cached state that nobody in this batch changed: bring those aggregates up to date with
        # the events other processes stored since (usually none: one indexed read), then decide once more.
        for a in stale:
            agg = cache.get(a)
            if agg is None:
                continue
            for event in self._store.events.get(a, gt=agg.version):
                agg = event.mutate(agg)  # type: ignore[attr-defined]
            cache[a] = agg
        fresh.update(stale)
        retry = UnitOfWork(self._store, cache, it.not_found, fresh)
        try:
            with self._span(it) as parent:
                it.outcome = (True, it.decide(retry))
                _stamp(retry, parent)
            self._fits_the_log(retry)
        except Exception as again:
            retry.rollback()
            it.outcome = (False, _wrong_kind(again, retry, it) or again)

    def _span(self, it: _Item[Any]) -> AbstractContextManager[str | None]:
        if self._trace is None or it.trace is None:
            return nullcontext(None)
        return _Traced(self._trace, it)

    def _fits_the_log(self, uow: UnitOfWork) -> None:
        """Refuse the command (the caller rolls it back) if one of its events is too large for the log. The
        size is the stored event's encoded state, the same bytes the relay turns into the Kafka message."""
        for event in uow.new_events():
            stored = (
                self._mapper.encode(event) if self._mapper is not None else self._store.mapper.to_stored_event(event)
            )
            size = len(stored.state)
            if size > self._max_event_bytes:
                raise EventTooLarge(
                    f"the change would be recorded as {size} bytes; at most {self._max_event_bytes} fit",
                    bytes=size,
                    limit=self._max_event_bytes,
                    event=type(event).__qualname__,
                )

    def _forget_encoded(self) -> None:
        """Drop what ``_fits_the_log`` encoded for commands refused or re-run (saved ones were taken by save)."""
        if self._mapper is not None:
            self._mapper.memo.clear()

    def _evict(self, ids: Any) -> None:
        cache = self._store.repository.cache
        if cache is None:
            return
        for aggregate_id in list(ids):
            try:
                cache.get(aggregate_id, evict=True)
            except KeyError:
                pass


class _Traced:
    """The decision's span; its traceparent is remembered on the item as the append's parent."""

    def __init__(self, trace: CommandTrace, it: _Item[Any]) -> None:
        self._cm = trace.command(it.trace)
        self._it = it

    def __enter__(self) -> str | None:
        parent = self._cm.__enter__()
        self._it.command_trace = parent
        return parent

    def __exit__(self, *exc: Any) -> Any:
        return self._cm.__exit__(*exc)
