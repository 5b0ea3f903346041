"""What a joined viewer can do: chat, react, signal a purchase intent; what a moderator can do on top.

Order inside each handler: may this socket do it (joined, signed in, show open) → moderation → fan-out to the
room → the fact to Kafka. Refusals raise ``Refused`` before anything leaves the process.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from application import interactions as it
from application.moderation import STAFF_ROLES, moderation_refusal
from interfaces.realtime.context import Conn, Refused, Services, utc_now
from interfaces.realtime.room_ticker import chat_room_of, room_of
from interfaces.realtime.schemas import Moderate, PurchaseIntent, React, SendMessage


def _writer(svc: Services, conn: Conn, stream_id: str) -> None:
    if stream_id not in conn.streams:
        raise Refused("not_in_stream")
    if not conn.identity.can_write:
        raise Refused("auth_required")
    if stream_id in svc.pusher.closed_streams:
        raise Refused("stream_closed")


def _refuse_verdict(code: str | None, retry_after: float | None) -> Refused:
    return Refused(code or "message_blocked", **({"retry_after": retry_after} if retry_after else {}))


async def send_message(svc: Services, sid: str, conn: Conn, p: SendMessage) -> dict[str, Any]:
    _writer(svc, conn, p.stream_id)
    ident = conn.identity
    staff = conn.streams[p.stream_id].moderator  # read now: the socket may close during the await below
    rules = await svc.state.rules(p.stream_id, ident.user_id)
    verdict = svc.moderator.check_message(
        stream_id=p.stream_id, user_id=ident.user_id, text=p.message, now=time.time(), is_moderator=staff, rules=rules
    )
    if not verdict.allowed:
        raise _refuse_verdict(verdict.code, verdict.retry_after)
    now = utc_now()
    msg = {
        "id": str(uuid.uuid4()),
        "stream_id": p.stream_id,
        "user_id": ident.user_id,
        "username": ident.name or f"user-{ident.user_id[:6]}",
        "message": verdict.text,
        "message_type": p.message_type,
        "language": verdict.language,
        "timestamp": now.isoformat(),
        "is_highlighted": False,
        "from_moderator": staff,
    }
    ns = svc.settings.realtime_namespace
    # To the one-by-one viewers; the fan-out also queues it for this show's ``chat_batch`` viewers.
    await svc.sio.emit("new_message", msg, room=chat_room_of(p.stream_id), namespace=ns)
    # The sender's ack waits for the broker: an acknowledged message is in the log, whatever crashes next
    # (the room has it at once; a gateway killed before the broker's answer sends no ack, and the client resends).
    recorded: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
    svc.publisher.publish(
        it.CHAT_SENT, p.stream_id, msg, now, on_delivered=lambda ok: recorded.done() or recorded.set_result(ok)
    )
    if not await recorded:
        raise Refused("not_recorded")
    return {"ok": True, "id": msg["id"], "language": verdict.language}


async def react(svc: Services, sid: str, conn: Conn, p: React) -> dict[str, Any]:
    _writer(svc, conn, p.stream_id)
    ident = conn.identity
    rules = await svc.state.rules(p.stream_id, ident.user_id)
    verdict = svc.moderator.check_reaction(stream_id=p.stream_id, user_id=ident.user_id, now=time.time(), rules=rules)
    if not verdict.allowed:
        raise _refuse_verdict(verdict.code, verdict.retry_after)
    svc.ticker.reacted(p.stream_id, p.reaction_type)  # shown as a coalesced reaction_burst
    svc.publisher.publish(
        it.REACTION_ADDED, p.stream_id, {"user_id": ident.user_id, "reaction_type": p.reaction_type}, utc_now()
    )
    return {"ok": True}


async def purchase_intent(svc: Services, sid: str, conn: Conn, p: PurchaseIntent) -> dict[str, Any]:
    """A signal for the host's dashboard and the hot-products list; buying itself is the cart's command."""
    _writer(svc, conn, p.stream_id)
    e = svc.publisher.publish(
        it.PURCHASE_INTENT,
        p.stream_id,
        {"user_id": conn.identity.user_id, "product_id": p.product_id, "quantity": p.quantity},
        utc_now(),
    )
    return {"ok": True, "id": e.id}


async def may_moderate(svc: Services, conn: Conn, stream_id: str, action: str) -> None:
    """Raise ``Refused`` unless this user may take ``action`` in this show. Checked on every action against the
    event store (not at join), so an assignment or a revocation counts from the next action on."""
    ident = conn.identity
    if ident.anonymous:
        raise Refused("forbidden")
    staff = None
    if "admin" not in ident.roles and ident.roles & STAFF_ROLES:
        staff = await svc.staff(stream_id)
    refusal = moderation_refusal(
        user_id=ident.user_id, roles=ident.roles, vendor_id=ident.vendor_id, action=action, staff=staff
    )
    if refusal is not None:
        code, details = refusal
        raise Refused(code, action=action, **details)


async def moderate(svc: Services, sid: str, conn: Conn, p: Moderate) -> dict[str, Any]:
    if p.stream_id not in conn.streams:
        raise Refused("not_in_stream")
    await may_moderate(svc, conn, p.stream_id, p.action)
    s, mod = p.stream_id, conn.identity.user_id
    ns = svc.settings.realtime_namespace
    notice: dict[str, Any] = {"stream_id": s, "action": p.action, "moderator_id": mod}
    now = utc_now()
    if p.action in ("mute", "unmute"):
        assert p.user_id is not None
        until = await svc.state.mute(s, p.user_id, p.duration_s) if p.action == "mute" else None
        if until is None:
            await svc.state.unmute(s, p.user_id)
        notice.update(user_id=p.user_id, until=until)
        svc.publisher.publish(it.USER_MUTED, s, {"user_id": p.user_id, "until": until, "moderator_id": mod}, now)
    elif p.action in ("ban", "unban"):
        assert p.user_id is not None
        await svc.state.ban(s, p.user_id, p.action == "ban")
        notice.update(user_id=p.user_id)
        svc.publisher.publish(
            it.USER_BANNED, s, {"user_id": p.user_id, "banned": p.action == "ban", "moderator_id": mod}, now
        )
    elif p.action == "slow_mode":
        await svc.state.slow_mode(s, p.seconds)
        notice.update(seconds=p.seconds)
        svc.publisher.publish(it.SLOW_MODE_SET, s, {"seconds": p.seconds, "moderator_id": mod}, now)
    elif p.action == "delete":
        notice.update(message_id=p.message_id)
        svc.publisher.publish(it.CHAT_DELETED, s, {"message_id": p.message_id, "moderator_id": mod}, now)
        await svc.sio.emit(
            "message_deleted", {"stream_id": s, "message_id": p.message_id}, room=room_of(s), namespace=ns
        )
    else:  # pin / unpin
        msg = None
        if p.action == "pin":
            assert p.message_id is not None
            msg = await svc.state.find_message(s, p.message_id)
            if msg is None:
                raise Refused("message_not_found", message_id=p.message_id)
        notice.update(message_id=p.message_id)
        svc.publisher.publish(it.CHAT_PINNED, s, {"message_id": p.message_id, "message": msg, "moderator_id": mod}, now)
        await svc.sio.emit("message_pinned", {"stream_id": s, "message": msg}, room=room_of(s), namespace=ns)
    # Everyone's client learns the rule (to grey out the box in slow mode, to hide a muted user's typing).
    await svc.sio.emit("moderation", notice, room=room_of(s), namespace=ns)
    return {"ok": True, **notice}
