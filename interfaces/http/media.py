"""``GET /streams/:id/health``: the admin's view of a show's video: the latest quality sample and alerts; and what
a player hears for an HLS file that is not there (a show not on air yet)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from infra.bootstrap import Container
from interfaces.http.contract import api
from interfaces.http.errors import error_response
from interfaces.http.presenters import iso
from projections.stream_quality_mongo import COLLECTION

bp = Blueprint("media", url_prefix="/api/v1/live-commerce")
STALE_AFTER_S = 30


def alerts_for(sample: dict[str, Any] | None, status: str, now: datetime) -> list[dict[str, str]]:
    """Rules an operator acts on; each alert has a stable code."""
    if sample is None:
        return [{"code": "no_quality_samples", "level": "warning"}] if status == "live" else []
    out = []
    q = sample.get("quality_metrics") or {}
    ts = sample.get("timestamp")
    if status == "live" and isinstance(ts, datetime) and (now - ts).total_seconds() > STALE_AFTER_S:
        out.append({"code": "no_recent_samples", "level": "critical"})
    if (q.get("encode_speed") or 1.0) < 1.0:
        out.append({"code": "encoder_slower_than_real_time", "level": "critical"})
    if (q.get("latency") or 0) > 4:
        out.append({"code": "high_latency", "level": "warning"})
    if (q.get("dropped_frames") or 0) > 0:
        out.append({"code": "dropped_frames", "level": "warning"})
    if q.get("audio_level_dbfs") is not None and q["audio_level_dbfs"] < -60:
        out.append({"code": "silent_audio", "level": "warning"})
    return out


async def hls_missing(request: Request) -> HTTPResponse:
    """``/hls/:stream_id/…`` names no file: before the host's first publish there is no playlist at all, and a
    player is told the show is not on air yet (``404 stream_not_on_air``, with the show's status when known)."""
    parts = request.path.split("/")  # "", "hls", stream_id, file...
    sid = parts[2] if len(parts) > 3 else ""
    try:
        sid = str(UUID(sid))
    except ValueError:
        return error_response(400, "invalid_id", {"parameter": "stream_id", "value": sid[:64], "expected": "uuid"})
    c: Container = request.app.ctx.container
    if (Path(c.settings.media_root) / sid / "master.m3u8").exists():
        return error_response(404, "not_found", {"path": request.path[:200]})  # e.g. a segment already gone
    row = None
    if c.read_db is not None:
        row = await c.read_db.fetchone("SELECT status::text AS status FROM live_streams WHERE id = %s", (sid,))
    return error_response(404, "stream_not_on_air", {"stream_id": sid, "status": row["status"] if row else None})


@bp.get("/streams/<stream_id:uuid>/health")
@api(errors=(404,))
async def stream_health(request: Request, stream_id: UUID) -> HTTPResponse:
    c: Container = request.app.ctx.container
    assert c.read_db is not None
    row = await c.read_db.fetchone(
        "SELECT status::text AS status, recording_url FROM live_streams WHERE id = %s", (str(stream_id),)
    )
    if row is None:
        return error_response(404, "stream_not_found", {"stream_id": str(stream_id)})
    sample = await c.mongo[c.settings.mongo_db][COLLECTION].find_one(
        {"stream_id": str(stream_id)}, sort=[("timestamp", -1)], projection={"_id": 0}
    )
    now = datetime.now(UTC)
    return json(
        {
            "stream_id": str(stream_id),
            "status": row["status"],
            "recording_url": row["recording_url"],
            "latest_sample": None if sample is None else {**sample, "timestamp": iso(sample.get("timestamp"))},
            "alerts": alerts_for(sample, row["status"], now),
        }
    )
