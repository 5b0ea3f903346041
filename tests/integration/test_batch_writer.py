"""The batching command path against real PostgreSQL: shared transactions, refusals, cross-process conflicts."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from application.batch_writer import BatchWriter, UnitOfWork
from application.event_store import LiveCommerceStore
from application.streams import ProductTerms, ScheduleStream, StreamService, StreamUrls
from domain.errors import ProductAlreadyInStream, StreamNotFound, StreamNotStartable
from domain.live_stream import LiveStream, StreamProduct
from infra.settings import Settings


@pytest.fixture(scope="module")
def store(settings: Settings) -> Iterator[LiveCommerceStore]:
    s = LiveCommerceStore(settings.eventsourcing_env())
    yield s
    s.close()


def from_events(store: LiveCommerceStore, aggregate_id: uuid.UUID) -> LiveStream:
    """The aggregate folded from its stored events, bypassing every cache: the truth."""
    agg = None
    for event in store.events.get(aggregate_id):
        agg = event.mutate(agg)
    assert isinstance(agg, LiveStream)
    return agg


def service(writer: BatchWriter) -> StreamService:
    return StreamService(
        writer,
        clock=lambda: datetime.now(UTC),
        new_id=uuid.uuid4,
        new_token=lambda: uuid.uuid4().hex,
        urls=StreamUrls("rtmp://h/live", "http://h/hls"),
    )


def schedule_cmd(i: int = 0) -> ScheduleStream:
    return ScheduleStream(
        vendor_id=str(uuid.uuid4()),
        title=f"show {i}",
        stream_type="product_demo",
        products=[ProductTerms(str(uuid.UUID(int=1)))],
    )


async def test_concurrent_commands_share_transactions_and_all_land(store: LiveCommerceStore) -> None:
    writer = BatchWriter(store, max_batch=100, window_ms=5)
    svc = service(writer)
    results = await asyncio.gather(*(svc.schedule(schedule_cmd(i)) for i in range(300)))
    assert writer.batches < 300 / 5, "commands should have been batched"
    assert len({r.id for r in results}) == 300
    for r in results[:20]:
        assert from_events(store, r.id).version == 1
    await writer.stop()


async def test_a_refused_command_in_a_batch_changes_nothing_and_others_land(store: LiveCommerceStore) -> None:
    writer = BatchWriter(store, max_batch=100, window_ms=20)
    svc = service(writer)
    sid = (await svc.schedule(schedule_cmd())).id
    outcomes = await asyncio.gather(
        svc.start(sid),
        svc.start(sid),  # same batch, second start must be refused
        svc.add_product(sid, ProductTerms(str(uuid.UUID(int=2)))),
        svc.add_product(sid, ProductTerms(str(uuid.UUID(int=2)))),  # duplicate: refused
        svc.start(uuid.uuid4()),  # unknown: 404 error
        return_exceptions=True,
    )
    kinds = [type(o).__name__ for o in outcomes]
    assert kinds == ["StartedStream", "StreamNotStartable", "CommandResult", "ProductAlreadyInStream", "StreamNotFound"]
    assert isinstance(outcomes[1], StreamNotStartable) and isinstance(outcomes[3], ProductAlreadyInStream)
    assert isinstance(outcomes[4], StreamNotFound)
    stream = from_events(store, sid)
    assert stream.version == 3 and stream.status == "live" and len(stream.products) == 2
    await writer.stop()


async def test_two_writers_on_one_aggregate_lose_and_duplicate_nothing(
    settings: Settings, store: LiveCommerceStore
) -> None:
    """Two API processes (two stores, two writers) add products to one stream at the same time."""
    other = LiveCommerceStore(settings.eventsourcing_env())
    w1, w2 = BatchWriter(store, window_ms=1), BatchWriter(other, window_ms=1)
    s1, s2 = service(w1), service(w2)
    sid = (await s1.schedule(ScheduleStream(vendor_id="v", title="t", stream_type="auction"))).id
    products = [str(uuid.uuid4()) for _ in range(120)]
    results = await asyncio.gather(
        *((s1 if i % 2 else s2).add_product(sid, ProductTerms(p)) for i, p in enumerate(products)),
        return_exceptions=True,
    )
    failures = [r for r in results if isinstance(r, Exception)]
    accepted = [r for r in results if not isinstance(r, Exception)]
    accepted_ids = {p for p, r in zip(products, results, strict=True) if not isinstance(r, Exception)}
    stream = from_events(store, sid)
    # Every accepted command is in the store exactly once; every refused one is absent.
    assert set(stream.products) == accepted_ids and len(accepted) >= 100
    assert stream.version == 1 + len(accepted)
    assert all(type(f).__name__ in ("TooManyProducts", "ConcurrentModification") for f in failures)
    assert {r.version for r in accepted} == set(range(2, 2 + len(accepted)))
    await w1.stop()
    await w2.stop()
    other.close()


async def test_decide_sees_changes_of_earlier_commands_in_the_same_batch(store: LiveCommerceStore) -> None:
    writer = BatchWriter(store, window_ms=20)
    svc = service(writer)
    sid = (await svc.schedule(schedule_cmd())).id

    def version_of(uow: UnitOfWork) -> int:
        return uow.get(sid).version  # type: ignore[no-any-return]

    a, v = await asyncio.gather(svc.start(sid), writer.submit(version_of))
    assert a.version == 2 and v == 2
    await writer.stop()


async def test_a_stale_cache_never_refuses_wrongly_nor_overwrites(settings: Settings, store: LiveCommerceStore) -> None:
    """Process A caches a scheduled stream; process B starts it; A must see it live, not refuse."""
    other = LiveCommerceStore(settings.eventsourcing_env())
    wa, wb = BatchWriter(store, window_ms=1), BatchWriter(other, window_ms=1)
    a, b = service(wa), service(wb)
    product = str(uuid.UUID(int=1))
    sid = (await a.schedule(schedule_cmd())).id
    await a.add_product(sid, ProductTerms(str(uuid.uuid4())))  # A's cache now holds version 2
    await b.start(sid)  # B writes version 3 behind A's back
    featured = await a.feature_product(sid, product)  # A's cached copy says "scheduled": must re-check
    assert featured.version == 4
    added = await a.add_product(sid, ProductTerms(str(uuid.uuid4())))  # stays consistent afterwards
    assert added.version == 5
    fresh = from_events(other, sid)
    assert fresh.status == "live" and fresh.featured_product_id == product and fresh.version == 5
    await wa.stop()
    await wb.stop()
    other.close()


async def test_a_command_that_fails_after_changing_an_aggregate_leaves_no_trace(store: LiveCommerceStore) -> None:
    """Verbs check before they trigger, but a multi-step decision can fail half-way: the batch must undo it."""
    writer = BatchWriter(store, window_ms=30)
    svc = service(writer)
    sid = (await svc.schedule(schedule_cmd())).id
    new_product = str(uuid.uuid4())

    def half_done(uow: UnitOfWork) -> None:
        s: LiveStream = uow.get(sid)
        s.add_product(now=datetime.now(UTC), product=StreamProduct(str(uuid.uuid4())))
        raise RuntimeError("failed after the first step")

    outcomes = await asyncio.gather(
        svc.add_product(sid, ProductTerms(new_product)),  # earlier in the batch: must survive
        writer.submit(half_done),
        svc.start(sid),  # later in the batch: sees the state without the failed step
        return_exceptions=True,
    )
    assert type(outcomes[1]).__name__ == "RuntimeError"
    assert outcomes[0].version == 2 and outcomes[2].version == 3  # type: ignore[union-attr]
    truth = from_events(store, sid)
    assert truth.version == 3 and set(truth.products) == {str(uuid.UUID(int=1)), new_product}
    await writer.stop()
