"""The replay of an ended show (issue 15): ``GET /streams/:id/replay`` (the recording's playlist and which
product was featured when, at what price) and ``GET /streams/:id/highlights`` (the clips the media plane cut,
each with its product, times, picture and playlist). Served from the read model (``projections.replay_queries``);
a private show answers only its invited, as ``GET /streams/:id`` does."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from interfaces.http.contract import api
from interfaces.http.errors import container as _c
from interfaces.http.presenters import iso, money
from interfaces.http.streams import visible_stream
from projections import replay_queries as rq
from projections import stream_queries as q

bp = Blueprint("replay", url_prefix="/api/v1/live-commerce")


def _product(products: dict[str, dict[str, Any]], pid: str | None) -> dict[str, Any] | None:
    if pid is None:
        return None
    p = products.get(pid)
    if p is None:
        return {"product_id": pid, "name": None, "name_bn": None, "price": None, "list_price": None, "image": None}
    images = p["images"] or []
    return {
        "product_id": pid,
        "name": p["name"],
        "name_bn": p["name_bn"],
        "price": money(p["special_price"]),
        "list_price": money(p["list_price"]),
        "discount_percentage": money(p["discount_percentage"]),
        "image": images[0] if images else None,
    }


async def _show(request: Request, stream_id: UUID) -> tuple[dict[str, Any] | None, HTTPResponse | None]:
    c = _c(request)
    assert c.read_db is not None
    sid = str(stream_id)
    row = await q.get_stream(c.read_db, sid)
    _, refused = await visible_stream(c, request, row, sid)
    return row, refused


@bp.get("/streams/<stream_id:uuid>/highlights")
@api()
async def highlights(request: Request, stream_id: UUID) -> HTTPResponse:
    """The show's highlight clips, in show order, each with the product on screen at its peak"""
    row, refused = await _show(request, stream_id)
    if refused is not None:
        return refused
    assert row is not None
    db = _c(request).read_db
    clips = await rq.highlights_of(db, str(stream_id))
    products = await rq.products_of(db, str(stream_id)) if clips else {}
    return json(
        {
            "stream_id": str(stream_id),
            "status": row["status"],
            "highlights": [
                {
                    "index": h["clip_index"],
                    "rank": h["clip_rank"],
                    "start_s": h["start_s"],
                    "end_s": h["end_s"],
                    "duration_s": round(h["end_s"] - h["start_s"], 3),
                    "peak_s": h["peak_s"],
                    "reasons": h["reasons"],
                    "product": _product(products, h["product_id"]),
                    "thumbnail_url": h["thumbnail_url"],
                    "playlist_url": h["playlist_url"],
                    "mp4_url": h["mp4_url"],
                    "program_date_time": iso(h["program_date_time"]),
                    "counts": h["counts"],
                }
                for h in clips
            ],
        }
    )


@bp.get("/streams/<stream_id:uuid>/replay")
@api()
async def replay(request: Request, stream_id: UUID) -> HTTPResponse:
    """The show's recording and its product timeline (which product was featured when, at what price)"""
    row, refused = await _show(request, stream_id)
    if refused is not None:
        return refused
    assert row is not None
    db = _c(request).read_db
    sid = str(stream_id)
    rec = await rq.recording_of(db, sid)
    products = await rq.products_of(db, sid)
    recording = None
    entries: list[dict[str, Any]] = []
    if rec is not None:
        duration = float(rec["duration_seconds"])
        recording = {
            "playlist_url": rec["recording_url"],
            "duration_s": duration,
            "thumbnail_url": rec["thumbnail_url"],
            "recorded_at": iso(rec["created_at"]),
        }
        for e in rq.timeline(await rq.featured_history(db, sid), rec["clock"] or [], duration):
            entries.append(
                {
                    **(_product(products, e["product_id"]) or {}),
                    "featured_at": iso(e["featured_at"]),
                    "start_s": e["start_s"],
                    "end_s": e["end_s"],
                }
            )
    return json(
        {
            "stream_id": sid,
            "status": row["status"],
            "recording": recording,
            "product_timeline": entries,
            "products": [_product(products, pid) for pid in products],
        }
    )
