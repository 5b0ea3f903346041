"""Replay: the store (and Kafka telemetry) into Parquet/CSV, same counts, resumable without duplicates; a read
model rebuilt into a separate database equals the live one."""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import psycopg
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from application.envelope import new_interaction
from infra import kafka
from infra.rebuild import rebuild
from infra.replay import replay, replay_into
from infra.replay_cli import add_replay_arguments, run_replay
from infra.settings import Settings
from infra.store_reader import open_reader, read_after
from tests.analytics.conftest import MakeDb
from tests.analytics.histories import SaleHistory, minutes, shows
from tests.support import pg_hash


def store_counts(settings: Settings) -> Counter[str]:
    with psycopg.connect(settings.postgres_url) as conn:
        rows = conn.execute("SELECT split_part(topic, ':', 2), count(*) FROM livecommerce_events GROUP BY 1")
        return Counter({t: int(n) for t, n in rows.fetchall()})


def read_parts(out: Path) -> pa.Table:
    parts = sorted(out.glob("*part-*.parquet")) or sorted(out.glob("*part-*.csv"))
    if parts[0].suffix == ".csv":
        return pa.concat_tables([pa_csv.read_csv(p) for p in parts])
    return pa.concat_tables([pq.read_table(p) for p in parts])


def save_more(settings: Settings, count: int) -> int:
    from application.event_store import LiveCommerceStore

    store = LiveCommerceStore(settings.eventsourcing_env())
    try:
        batch = shows(count)
        n = sum(len(s.pending_events) for s in batch)
        store.save(*batch)
        return n
    finally:
        store.close()


async def test_parquet_replay_has_the_store_counts_and_the_relay_envelopes(
    history: tuple[Settings, SaleHistory], tmp_path: Path
) -> None:
    settings, _ = history
    report = await replay(settings, out=tmp_path / "pq", progress=False, group=16)
    table = read_parts(tmp_path / "pq")
    assert Counter(table.column("type").to_pylist()) == store_counts(settings)
    assert report.events == table.num_rows == sum(store_counts(settings).values())
    assert pq.ParquetFile(next((tmp_path / "pq").glob("part-*.parquet"))).num_row_groups > 1
    positions = table.column("position").to_pylist()
    assert positions == sorted(positions) and len(set(table.column("id").to_pylist())) == table.num_rows
    # the fast decoder gives exactly the relay's envelopes (the reference decoder, via the store reader)
    async with open_reader(settings) as reader:
        reference = await read_after(reader, 0, 10_000)
    for row, e in zip(table.to_pylist(), reference, strict=True):
        assert (
            row["position"],
            row["id"],
            row["type"],
            row["schema_version"],
            row["aggregate_id"],
            row["aggregate_version"],
            row["stream_id"],
            row["occurred_at"],
        ) == (
            e.position,
            e.id,
            e.type,
            e.schema_version,
            e.aggregate_id,
            e.aggregate_version,
            e.stream_id,
            e.occurred_at,
        )
        assert json.loads(row["payload"]) == e.payload


async def test_csv_replay_and_filters(history: tuple[Settings, SaleHistory], tmp_path: Path) -> None:
    settings, h = history
    await replay(settings, out=tmp_path / "csv", fmt="csv", progress=False)
    table = read_parts(tmp_path / "csv")
    assert Counter(table.column("type").to_pylist()) == store_counts(settings)
    assert "লাইভ শো" in "".join(table.column("payload").to_pylist())  # UTF-8 text, not \u escapes
    await replay(
        settings,
        out=tmp_path / "window",
        progress=False,
        types=["FlashSale.StockReserved"],
        since=minutes(1.2),
        until=minutes(3),
    )
    assert read_parts(tmp_path / "window").num_rows == 3  # reserved at 1.2, 1.3 and 1.4 minutes
    await replay(
        settings,
        out=tmp_path / "show",
        progress=False,
        stream_id=str(h.stream_id),
        types=["Order.Placed"],
        until=minutes(3),
    )
    assert read_parts(tmp_path / "show").num_rows == 4  # the fifth order came at 6.5 minutes


async def test_resume_after_a_partial_run_writes_each_event_once(
    history: tuple[Settings, SaleHistory], tmp_path: Path
) -> None:
    settings, _ = history
    out = tmp_path / "resumed"
    first = await replay(settings, out=out, progress=False, max_events=25, group=10)
    assert first.events == 25 and first.last_position == 25
    (out / "part-00007.parquet").write_bytes(b"renamed, but the checkpoint never named it")  # crash leftovers
    (out / "part-00008.parquet.tmp").write_bytes(b"half written")
    with pytest.raises(ValueError, match="resume"):
        await replay(settings, out=out, progress=False)
    with pytest.raises(ValueError, match="not resumable"):
        await replay(settings, out=out, progress=False, resume=True, fmt="csv")
    second = await replay(settings, out=out, progress=False, resume=True, group=10, part_rows=30)
    added = save_more(settings, 2)
    third = await replay(settings, out=out, progress=False, resume=True)
    table = read_parts(out)
    assert third.events == added
    total = sum(store_counts(settings).values())
    assert first.events + second.events + third.events == table.num_rows == total
    assert len(set(table.column("position").to_pylist())) == table.num_rows
    assert Counter(table.column("type").to_pylist()) == store_counts(settings)
    assert not list(out.glob("*.tmp"))
    checkpoint = json.loads((out / "_checkpoint.json").read_text())
    assert checkpoint["parts"] == sorted(p.name for p in out.glob("part-*"))


async def test_kafka_telemetry_topics_are_replayed_once(new_db: MakeDb, tmp_path: Path) -> None:
    settings = new_db()
    save_more(settings, 1)
    await kafka.ensure_topics(settings, ("interactions", "media"))
    producer = kafka.producer(settings)
    await kafka.start_with_retry(producer)
    try:
        for i in range(6):
            e = new_interaction("ChatMessageSent", "s1", {"text": f"darun {i}"}, minutes(i), event_id=f"chat-{i}")
            await producer.send_and_wait(settings.topic("interactions"), e.to_json(), key=e.key)
    finally:
        await producer.stop()
    out = tmp_path / "k"
    first = await replay(settings, out=out, progress=False, topics=("interactions", "media"))
    again = await replay(settings, out=out, progress=False, resume=True, topics=("interactions", "media"))
    rows = read_parts(out).to_pylist()
    chats = [r for r in rows if r["type"] == "ChatMessageSent"]
    assert sorted(r["id"] for r in chats) == [f"chat-{i}" for i in range(6)]
    assert all(r["position"] is None and r["stream_id"] == "s1" for r in chats)
    assert first.events == len(rows) and again.events == 0


async def test_replay_into_a_separate_database_equals_the_live_read_model(
    history: tuple[Settings, SaleHistory], new_db: MakeDb
) -> None:
    settings, _ = history
    await rebuild(settings, "live_streams", progress=False)  # the live read model, beside the store
    analyst = new_db()
    target = settings.model_copy(update={"read_postgres_url": analyst.postgres_url})
    fed = await replay_into(settings, target, "live_streams")
    assert fed == sum(store_counts(settings).values())
    assert pg_hash(analyst.postgres_url) == pg_hash(settings.read_url)
    with pytest.raises(ValueError, match="live read model"):
        await replay_into(settings, settings, "live_streams")


def test_the_cli_entry_points(history: tuple[Settings, SaleHistory], tmp_path: Path) -> None:
    settings, _ = history
    parser = argparse.ArgumentParser()
    add_replay_arguments(parser)
    args = parser.parse_args(
        ["--out", str(tmp_path / "cli"), "--format", "csv", "--no-progress", "--type", "Payment.Refunded"]
    )
    assert run_replay(args, settings) == 0
    assert read_parts(tmp_path / "cli").num_rows == store_counts(settings)["Payment.Refunded"] == 2
    assert run_replay(parser.parse_args(["--no-progress"]), settings) == 2
