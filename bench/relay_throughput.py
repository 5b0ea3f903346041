"""Relay throughput, event store → Kafka, beside the raw aiokafka producer rate in the same run.

Writes N LiveStream events into a fresh store, then (1) the raw producer sends N pre-encoded envelopes of the
same size to a scratch topic, (2) the relay publishes the N stored events from position 0.
Target: relay ≥ 10,000 events/s.

    python -m bench.relay_throughput [--events 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from datetime import UTC, datetime

from application.event_store import LiveCommerceStore
from bench._env import drop, fresh_settings
from domain.live_stream import LiveStream, StreamProduct
from infra import kafka
from infra.relay import Relay
from infra.settings import Settings

T0 = datetime(2026, 3, 17, 19, 0, tzinfo=UTC)


def fill_store(settings: Settings, events: int) -> None:
    store = LiveCommerceStore(settings.eventsourcing_env())
    per, done = 10, 0
    while done < events:
        batch = []
        for _ in range(100):
            s = LiveStream.schedule(
                id=uuid.uuid4(),
                now=T0,
                vendor_id=str(uuid.uuid4()),
                stream_key=uuid.uuid4().hex,
                title="ঈদ স্পেশাল শাড়ি লাইভ",
                stream_type="flash_sale",
                products=[StreamProduct(str(uuid.uuid4()))],
            )
            s.start(now=T0, rtmp_url="rtmp://x/live", stream_url="https://x/y.m3u8", chat_room_id="c")
            for j in range(per - 2):
                s.add_product(now=T0, product=StreamProduct(str(uuid.UUID(int=j + 1)), None, 5))
            batch.append(s)
        store.save(*batch)
        done += per * len(batch)
    store.close()


async def raw_producer(settings: Settings, events: int, size: int) -> float:
    topic = settings.topic("rawbench")
    await kafka.ensure_topics(settings, ("rawbench",))
    p = kafka.producer(settings)
    await p.start()
    payload = b"x" * size
    t0 = time.perf_counter()
    futs = []
    for i in range(events):
        futs.append(await p.send(topic, payload, key=str(i % 5000).encode()))
        if len(futs) >= 2000:
            await asyncio.gather(*futs)
            futs.clear()
    await asyncio.gather(*futs)
    elapsed = time.perf_counter() - t0
    await p.stop()
    return events / elapsed


async def relay_rate(settings: Settings, events: int) -> float:
    stop = asyncio.Event()
    relay = Relay(settings)
    task = asyncio.create_task(relay.run(stop))
    while relay.published == 0:
        await asyncio.sleep(0.001)
    t0 = time.perf_counter()
    first = relay.published
    while relay.published < events:
        await asyncio.sleep(0.005)
        if task.done():
            task.result()
    elapsed = time.perf_counter() - t0
    stop.set()
    await task
    return (relay.published - first) / elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=100_000)
    args = ap.parse_args()
    settings = fresh_settings(relay_batch_size=5_000)
    try:
        t0 = time.perf_counter()
        fill_store(settings, args.events)
        print(f"stored {args.events} events in {time.perf_counter() - t0:.1f}s")
        size = 420  # a typical envelope here is 350-650 bytes
        raw = asyncio.run(raw_producer(settings, args.events, size))
        relay = asyncio.run(relay_rate(settings, args.events))
        print(f"baseline raw aiokafka producer ({size} B messages): {raw:,.0f} msg/s")
        print(
            f"relay store → Kafka: {relay:,.0f} events/s  ({relay / raw:.2f}× the raw producer; "
            f"target ≥ 10,000 events/s: {'MET' if relay >= 10_000 else 'NOT MET'})"
        )
    finally:
        drop(settings)


if __name__ == "__main__":
    main()
