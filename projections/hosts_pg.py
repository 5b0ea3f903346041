"""PostgreSQL ``live_commerce_hosts`` (spec §2.1) with its followers, and Redis ``HOST_STATUS:{host_id}``.

Sources: HostProfile events (the profile row), HostFollow events (one follower row per pair) and the
LiveStream events of streams that have a host (``live_commerce_host_streams``, this model's own copy, so
HOST_STATUS is computed inside one transaction). Every row carries its aggregate's version as the guard, so a
redelivered event changes nothing. After a batch commits, HOST_STATUS of each touched host is rewritten from
the committed rows, guarded by the newest log position that changed the host (kept in the same transaction):
monotonic per host, and the same however the log is cut into batches, so a rebuild comes out identical.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from application.envelope import Envelope
from domain.host_profile import host_profile_id
from projections.ports import GuardedRedis, SqlDatabase, SqlTx
from projections.timeutil import iso_utc, naive_utc


def host_status_key(host_id: str) -> str:
    return f"HOST_STATUS:{host_id}"


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


async def _bump(
    tx: SqlTx, table: str, e: Envelope, sets: str, params: dict[str, Any] | None = None, key: str = "id"
) -> bool:
    p = {"id": e.aggregate_id, "v": e.aggregate_version, "at": naive_utc(e.occurred_at), **(params or {})}
    sql = (
        f"UPDATE {table} SET aggregate_version = %(v)s"
        + (", " + sets if sets else "")  # noqa: S608
        + f" WHERE {key} = %(id)s AND aggregate_version < %(v)s"
    )
    return await tx.execute(sql, p) == 1


STATUS_EVENTS = ("HostProfile.AvailabilityChanged", "HostProfile.Suspended", "HostProfile.Reinstated")
APPLICATION_FIELDS = ("host_name", "bio", "bio_bn", "profile_image_url", "experience_level")


async def on_profile(tx: SqlTx, e: Envelope) -> str | None:
    """Returns the host's user id when HOST_STATUS may have changed."""
    d = e.payload
    at = naive_utc(e.occurred_at)
    if e.type == "HostProfile.ApplicationSubmitted":
        n = await tx.execute(
            "INSERT INTO live_commerce_hosts (id, user_id, vendor_id, host_name, bio, bio_bn,"
            " profile_image_url, specializations, languages, experience_level, commission_rate,"
            " portfolio_links, sample_videos,"
            " performance_metrics, created_at, updated_at, aggregate_version) VALUES (%(id)s, %(user_id)s,"
            " %(vendor_id)s, %(host_name)s, %(bio)s, %(bio_bn)s, %(profile_image_url)s, %(spec)s, %(langs)s,"
            " %(experience_level)s, %(rate)s, %(links)s, %(videos)s, '{}'::jsonb, %(at)s, %(at)s, %(v)s)"
            " ON CONFLICT (id) DO NOTHING",
            {
                **{k: d.get(k) for k in (*APPLICATION_FIELDS, "user_id", "vendor_id")},
                "id": e.aggregate_id,
                "spec": _json(d.get("specializations") or []),
                "langs": _json(d.get("languages") or []),
                "rate": d.get("commission_rate"),
                "links": _json(d.get("portfolio_links") or []),
                "videos": _json(d.get("sample_videos") or []),
                "at": at,
                "v": e.aggregate_version,
            },
        )
        return str(d["user_id"]) if n == 1 else None
    sets, params = _profile_change(e)
    if sets is None:
        sets, params = "", {}
    rows = await tx.fetch(
        "UPDATE live_commerce_hosts SET aggregate_version = %(v)s, updated_at = %(at)s"
        + (", " + sets if sets else "")
        + " WHERE id = %(id)s AND aggregate_version < %(v)s RETURNING user_id",
        {"id": e.aggregate_id, "v": e.aggregate_version, "at": at, **params},
    )
    if rows and e.type in STATUS_EVENTS:
        return str(rows[0]["user_id"])
    return None


def _profile_change(e: Envelope) -> tuple[str | None, dict[str, Any]]:
    d = e.payload
    match e.type.split(".", 1)[1]:
        case "ApplicationResubmitted":
            return (
                "host_name = %(host_name)s, bio = %(bio)s, bio_bn = %(bio_bn)s,"
                " profile_image_url = %(profile_image_url)s, experience_level = %(experience_level)s,"
                " vendor_id = %(vendor_id)s, specializations = %(spec)s, languages = %(langs)s,"
                " portfolio_links = %(links)s, sample_videos = %(videos)s,"
                " verification_status = 'pending', rejection_reason = NULL",
                {
                    **{k: d.get(k) for k in (*APPLICATION_FIELDS, "vendor_id")},
                    "spec": _json(d.get("specializations") or []),
                    "langs": _json(d.get("languages") or []),
                    "links": _json(d.get("portfolio_links") or []),
                    "videos": _json(d.get("sample_videos") or []),
                },
            )
        case "Verified":
            return "verification_status = 'verified', verified_at = %(at)s", {}
        case "Rejected":
            return ("verification_status = 'rejected', rejection_reason = %(reason)s", {"reason": d.get("reason")})
        case "Suspended":
            return "is_active = false, suspension_reason = %(reason)s", {"reason": d.get("reason")}
        case "Reinstated":
            return "is_active = true, suspension_reason = NULL", {}
        case "AvailabilityChanged":
            return (
                "availability_status = %(status)s, next_available = %(next)s, weekly_schedule = %(week)s",
                {
                    "status": d["status"],
                    "next": naive_utc(d.get("next_available")),
                    "week": _json(d.get("weekly_schedule") or {}),
                },
            )
        case "CommissionRateChanged":
            return "commission_rate = %(rate)s", {"rate": d["rate"]}
        case "Reviewed":
            return (
                "rating_sum = rating_sum + %(r)s, rating_count = rating_count + 1,"
                " rating = round((rating_sum + %(r)s)::numeric / (rating_count + 1), 2)",
                {"r": int(d["rating"])},
            )
    return None, {}


async def on_follow(tx: SqlTx, e: Envelope) -> None:
    d = e.payload
    at = naive_utc(e.occurred_at)
    if e.type == "HostFollow.Followed":
        await tx.execute(
            "INSERT INTO live_commerce_host_followers (id, host_id, host_user_id, follower_id, following,"
            " followed_at, updated_at, aggregate_version) VALUES (%s, %s, %s, %s, true, %s, %s, %s)"
            " ON CONFLICT (id) DO NOTHING",
            (e.aggregate_id, d["host_id"], d["host_user_id"], d["follower_id"], at, at, e.aggregate_version),
        )
    else:
        following = e.type == "HostFollow.Refollowed"
        sets = "following = %(f)s, updated_at = %(at)s" + (", followed_at = %(at)s" if following else "")
        await _bump(tx, "live_commerce_host_followers", e, sets, {"f": following})


async def on_stream(tx: SqlTx, e: Envelope) -> str | None:
    """A hosted stream's lifecycle; returns the host's user id when it changed."""
    at = naive_utc(e.occurred_at)
    if e.type == "LiveStream.Scheduled":
        host = e.payload.get("host_id")
        if not host:
            return None
        n = await tx.execute(
            "INSERT INTO live_commerce_host_streams (stream_id, host_user_id, status, scheduled_start_time,"
            " aggregate_version) VALUES (%s, %s, 'scheduled', %s, %s) ON CONFLICT (stream_id) DO NOTHING",
            (e.aggregate_id, host, naive_utc(e.payload.get("scheduled_start_time")), e.aggregate_version),
        )
        return str(host) if n == 1 else None
    sets = {
        "LiveStream.Started": "status = 'live', started_at = %(at)s",
        "LiveStream.Ended": "status = 'ended', ended_at = %(at)s",
        "LiveStream.Cancelled": "status = 'cancelled', ended_at = %(at)s",
    }.get(e.type, "")
    rows = await tx.fetch(
        "UPDATE live_commerce_host_streams SET aggregate_version = %(v)s"
        + (", " + sets if sets else "")
        + " WHERE stream_id = %(id)s AND aggregate_version < %(v)s RETURNING host_user_id",
        {"id": e.aggregate_id, "v": e.aggregate_version, "at": at},
    )
    return str(rows[0]["host_user_id"]) if rows and sets else None


class HostsProjection:
    name = "hosts"
    topics = ("domain",)

    def __init__(self, db: SqlDatabase, redis: GuardedRedis) -> None:
        self._db = db
        self._redis = redis

    async def apply(self, envelopes: Sequence[Envelope]) -> int:
        applied = 0
        touched: dict[str, int] = {}
        async with self._db.transaction() as tx:
            for e in envelopes:
                kind = e.type.split(".", 1)[0]
                host: str | None = None
                if kind == "HostProfile":
                    host = await on_profile(tx, e)
                elif kind == "HostFollow":
                    await on_follow(tx, e)
                elif kind == "LiveStream":
                    host = await on_stream(tx, e)
                else:
                    continue
                applied += 1
                if host is not None:
                    touched[host] = max(touched.get(host, 0), e.position or e.aggregate_version or 0)
            for host, position in sorted(touched.items()):
                await tx.execute(
                    "INSERT INTO live_commerce_host_status_seq (host_user_id, seq) VALUES (%s, %s)"
                    " ON CONFLICT (host_user_id) DO UPDATE SET"
                    " seq = GREATEST(live_commerce_host_status_seq.seq, EXCLUDED.seq)",
                    (host, position),
                )
        if touched:
            await self._publish(sorted(touched))
        return applied

    async def _publish(self, hosts: list[str]) -> None:
        async with self._db.transaction() as tx:
            rows = await tx.fetch(
                "SELECT q.host_user_id::text AS user_id, q.seq, h.availability_status, h.next_available,"
                " h.is_active,"
                " (SELECT s.stream_id::text FROM live_commerce_host_streams s"
                "   WHERE s.host_user_id = q.host_user_id AND s.status = 'live'"
                "   ORDER BY s.started_at DESC LIMIT 1) AS current_stream,"
                " (SELECT min(s.scheduled_start_time) FROM live_commerce_host_streams s"
                "   WHERE s.host_user_id = q.host_user_id AND s.status = 'scheduled') AS next_scheduled"
                " FROM live_commerce_host_status_seq q"
                " LEFT JOIN live_commerce_hosts h ON h.user_id = q.host_user_id"
                " WHERE q.host_user_id = ANY(%s::uuid[])",
                (hosts,),
            )
        for r in rows:
            hid = str(host_profile_id(r["user_id"]))
            availability = r["availability_status"] or "offline"
            status = availability if r["is_active"] is not False else "offline"
            if r["current_stream"]:
                status = "live"
            key = host_status_key(hid)
            ops: list[list[Any]] = [
                ["DEL", key],
                [
                    "HSET",
                    key,
                    "status",
                    status,
                    "availability",
                    availability,
                    "user_id",
                    r["user_id"],
                    "current_stream",
                    r["current_stream"] or "",
                    "next_scheduled",
                    iso_utc(r["next_scheduled"]) or "",
                    "next_available",
                    iso_utc(r["next_available"]) or "",
                ],
            ]
            await self._redis.apply_if_newer(f"PROJ:host_status:{hid}", int(r["seq"]), ops)

    async def reset(self) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "TRUNCATE live_commerce_hosts, live_commerce_host_followers,"
                " live_commerce_host_streams, live_commerce_host_status_seq"
            )
        await self._redis.delete_matching(["HOST_STATUS:*", "PROJ:host_status:*"])
