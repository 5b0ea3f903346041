"""Chat sentiment on the real-time stream document (spec §2.2 ``chat_sentiment``), against the real MongoDB server."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pymongo import AsyncMongoClient

from application.interactions import CHAT_SENT, InteractionIds, interaction
from infra.settings import Settings
from projections.stream_engagement_mongo import COLLECTION, StreamEngagementMongo


async def test_shares_follow_the_messages_in_both_scripts_and_redelivery_changes_nothing(settings: Settings) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongo_url)
    docs = client[settings.mongo_db][COLLECTION]
    sid = str(uuid.uuid4())
    await docs.insert_one({"stream_id": sid, "current_metrics": {"messages": 0}})  # the owner's document
    proj = StreamEngagementMongo(docs)
    ids = InteractionIds("sentiment-test")
    now = datetime.now(UTC)
    texts = [
        "darun product, khub bhalo",
        "অসাধারণ! খুব ভালো লাগলো",
        "When will the iPhone be available?",
        "faltu jinis, taka noshto",
    ]
    batch = [interaction(ids, CHAT_SENT, sid, {"id": str(i), "message": t}, now) for i, t in enumerate(texts)]
    await proj.apply(batch)
    await proj.apply(batch)  # redelivered
    doc = await docs.find_one({"stream_id": sid})
    await client.close()
    assert doc is not None
    assert doc["current_metrics"]["messages"] == 4
    assert doc["chat_sentiment"] == {"positive": 0.5, "neutral": 0.25, "negative": 0.25}
