"""The stream follows its video: media events on Kafka move the LiveStream aggregate (livecommerce process)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path

from aiokafka import AIOKafkaProducer

from application.envelope import new_interaction
from application.event_store import LiveCommerceStore
from domain.live_stream import LiveStream
from infra.settings import Settings
from tests.conftest import Environments
from tests.support import Proc, wait_until


def test_first_segment_starts_the_show_and_interruptions_are_recorded_once(
    environments: Environments, log_dir: Path
) -> None:
    env: Settings = environments.new().model_copy(update={"media_silence_s": 3.0})
    store = LiveCommerceStore(env.eventsourcing_env())
    sid = uuid.uuid4()
    show = LiveStream.schedule(
        id=sid,
        now=datetime.now(UTC),
        vendor_id=str(uuid.uuid4()),
        stream_key=uuid.uuid4().hex,
        title="ভিডিও থেকে লাইভ",
        stream_type="tutorial",
    )
    store.save(show)

    def state() -> LiveStream:
        agg = None
        for ev in store.events.get(sid):
            agg = ev.mutate(agg)
        assert isinstance(agg, LiveStream)
        return agg

    async def publish(*events: tuple[str, dict[str, object]]) -> None:
        p = AIOKafkaProducer(bootstrap_servers=env.kafka_bootstrap)
        await p.start()
        for type_, payload in events:
            e = new_interaction(type_, str(sid), payload, datetime.now(UTC))
            await p.send_and_wait(env.topic("media"), e.to_json(), key=e.key)
        await p.stop()

    proc = Proc(env, "process", log_dir=log_dir)
    try:
        proc.wait_for_output("media policy ready", timeout=60)
        seg = ("media.segment_published", {"rendition": "360p", "sequence": 0})
        asyncio.run(publish(("media.ingest_started", {"resumed": False}), seg, seg))
        wait_until(lambda: state().status == "live", timeout=30, what="the first segment to start the show")
        cut = ("media.ingest_interrupted", {"reason": "publisher_lost"})
        asyncio.run(publish(cut, cut))  # a duplicate changes nothing
        wait_until(lambda: state().video_interrupted, timeout=30, what="the interruption")
        asyncio.run(publish(("media.ingest_started", {"resumed": True})))
        wait_until(lambda: not state().video_interrupted, timeout=30, what="the resumption")
        # The media process dies without a word: after media_silence_s the video is interrupted, once;
        # its next segment (a restarted worker) clears it.
        wait_until(lambda: state().video_interrupted, timeout=30, what="silence to interrupt the video")
        asyncio.run(publish(seg))
        wait_until(lambda: not state().video_interrupted, timeout=30, what="the next segment to resume it")
        names = [type(e).__name__ for e in store.events.get(sid)]
        assert names == ["Scheduled", "Started", "VideoInterrupted", "VideoResumed", "VideoInterrupted", "VideoResumed"]
    finally:
        proc.stop()
        store.close()
