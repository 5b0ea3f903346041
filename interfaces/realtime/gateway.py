"""The ``/live-stream`` namespace: connect (JWT or anonymous), dispatch, join/leave, presence.

Every client event goes through ``trigger_event``: unknown event → ``error``; payload validated by its
pydantic schema → ``error`` with field details; a handler bug → ``internal_error``. In every case only the
sender hears about it, nothing is broadcast, and the connection stays up. Handlers return the ack body
(``{"ok": ...}``) for clients that ask for acknowledgements. Chat, reactions and purchases live in
``interfaces.realtime.actions``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import socketio
from pydantic import ValidationError

from application import interactions as it
from application.moderation import STAFF_ROLES
from infra.settings import Settings
from infra.tokens import Identity, InvalidToken, TokenVerifier
from interfaces.realtime import actions, poll_push, quiz_actions
from interfaces.realtime.context import Conn, Joined, Refused, Services, utc_now
from interfaces.realtime.limits import RealtimeLimits
from interfaces.realtime.messages import error_body
from interfaces.realtime.room_ticker import chat_batch_room_of, chat_room_of, room_of
from interfaces.realtime.schemas import SCHEMAS, JoinStream, LeaveStream, Payload, field_errors
from interfaces.realtime.staff import staff_room_of

log = logging.getLogger(__name__)
MAX_STREAMS_PER_SOCKET = 5
CLOSED = ("ended", "cancelled")


Handler = Callable[[str, Conn, Any], Awaitable[dict[str, Any]]]


class LiveStreamNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    def __init__(self, settings: Settings) -> None:
        super().__init__(settings.realtime_namespace)
        self.settings = settings
        self.verifier = TokenVerifier(settings)
        self.conns: dict[str, Conn] = {}
        self.svc: Services | None = None
        self.limits = RealtimeLimits(settings)
        self.handlers: dict[str, Handler] = {
            "join_stream": self.join,
            "leave_stream": self.leave,
            "send_message": lambda sid, c, p: actions.send_message(self._svc, sid, c, p),
            "react": lambda sid, c, p: actions.react(self._svc, sid, c, p),
            "purchase_intent": lambda sid, c, p: actions.purchase_intent(self._svc, sid, c, p),
            "moderate": lambda sid, c, p: actions.moderate(self._svc, sid, c, p),
            "poll_vote": lambda sid, c, p: poll_push.poll_vote(self._svc, sid, c, p),
            "quiz_answer": lambda sid, c, p: quiz_actions.answer(self._svc, sid, c, p),
        }

    @property
    def _svc(self) -> Services:
        if self.svc is None:
            raise RuntimeError("realtime gateway used before the server started")
        return self.svc

    # --- connection ---------------------------------------------------------------------------------------
    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        if token:
            if not isinstance(token, str):
                raise socketio.exceptions.ConnectionRefusedError("invalid_token", error_body("invalid_token"))
            try:
                identity = self.verifier.verify(token)
            except InvalidToken as exc:
                log.info("refused a socket: %s", exc)
                raise socketio.exceptions.ConnectionRefusedError("invalid_token", error_body("invalid_token")) from None
        else:
            identity = Identity.anonymous_viewer(sid)
        request = environ.get("sanic.request")
        ip = (request.remote_addr or request.ip) if request is not None else ""
        self.conns[sid] = Conn(identity, ip=ip or "unknown")

    async def on_disconnect(self, sid: str, *reason: Any) -> None:
        conn = self.conns.pop(sid, None)
        if conn is not None and self.svc is not None:
            for stream_id in list(conn.streams):
                self._left(sid, conn, stream_id)

    async def trigger_event(self, event: str, *args: Any) -> Any:
        if event in ("connect", "disconnect"):
            return await super().trigger_event(event, *args)
        sid = args[0]
        data = args[1] if len(args) > 1 else None
        conn = self.conns.get(sid)
        if conn is None:
            return None
        handler = self.handlers.get(event)
        try:
            if handler is None:
                raise Refused("unknown_event")
            if not isinstance(data, dict):
                raise Refused("invalid_payload", expected="an object")
            try:
                payload = SCHEMAS[event].model_validate(
                    data, context={"chat_max_length": self.settings.chat_max_length}
                )
            except ValidationError as exc:
                fields = field_errors(exc)
                code = (
                    "message_too_long" if any(f["type"] == "message_too_long" for f in fields) else "validation_failed"
                )
                raise Refused(code, fields=fields) from None
            if (wait := await self.limits.retry_after(event, sid, conn, payload)) is not None:
                raise Refused("rate_limited", retry_after=wait)
            return await handler(sid, conn, payload)
        except Refused as r:
            return await self.refuse(sid, event, r)
        except Exception:
            log.exception("realtime handler %s failed", event)
            return await self.refuse(sid, event, Refused("internal_error"))

    async def refuse(self, sid: str, event: str, r: Refused) -> dict[str, Any]:
        body = error_body(r.code, event, **r.details)
        await self.emit("error", body, to=sid, ignore_queue=True)
        return {"ok": False, "error": body}

    # --- join / leave -------------------------------------------------------------------------------------
    async def join(self, sid: str, conn: Conn, p: Payload) -> dict[str, Any]:
        assert isinstance(p, JoinStream)
        svc = self._svc
        s = p.stream_id
        status: str | None = None
        if s not in conn.streams:
            if len(conn.streams) >= MAX_STREAMS_PER_SOCKET:
                raise Refused("too_many_streams", limit=MAX_STREAMS_PER_SOCKET)
            status = await self._admission(s)
            if status is None:
                raise Refused("stream_not_found", stream_id=s)
            if status in CLOSED:
                raise Refused("stream_closed", status=status)
            moderator = await self._moderates(conn, s)
            if self.conns.get(sid) is not conn:  # the socket closed while we looked things up
                return {"ok": False}
        if s not in conn.streams:  # (checked again: another join_stream of this socket may have won)
            await svc.sio.enter_room(sid, room_of(s), namespace=self.namespace)
            chat = chat_batch_room_of(s) if p.chat_batch else chat_room_of(s)
            await svc.sio.enter_room(sid, chat, namespace=self.namespace)
            if moderator:  # the host's and moderators' own events (interfaces.realtime.staff)
                await svc.sio.enter_room(sid, staff_room_of(s), namespace=self.namespace)
            info = p.viewer_info
            conn.streams[s] = Joined(time.monotonic(), info.device_type, info.location, moderator)
            svc.ticker.joined(s)
            self._announce(sid, conn, s)
        screen = await svc.state.first_screen(s)
        if status is not None:  # what admitted this viewer, when the status key had not caught up with it
            screen["status"] = status
        screen["viewer_count"] = await svc.ticker.total(s)
        if svc.polls is not None:
            screen["polls"] = await svc.polls.open_polls(s)
        if s in svc.pusher.featured:
            screen["featured_product"] = svc.pusher.featured[s]
        screen["recommended_products"] = (
            []
            if svc.recommended is None
            else await svc.recommended(s, None if conn.identity.anonymous else conn.identity.user_id)
        )
        screen["you"] = {
            "user_id": conn.identity.user_id,
            "anonymous": conn.identity.anonymous,
            "moderator": conn.streams[s].moderator,
        }
        missed: list[tuple[str, dict[str, Any]]] = []
        if p.last_position is not None:
            complete, missed = svc.pusher.missed(s, p.last_position)
            screen["resync"] = not complete
        await self.emit("stream_state", screen, to=sid, ignore_queue=True)
        for event, payload in missed:
            await self.emit(event, payload, to=sid, ignore_queue=True)
        return {"ok": True, "stream_id": s, "viewer_count": screen["viewer_count"]}

    async def _admission(self, stream_id: str) -> str | None:
        """The show's status, to admit a viewer (None: no such show).

        A show only moves forward (scheduled → live → ended or cancelled), and ``STREAM_STATUS`` (a projection)
        never runs ahead of the event store, so "live" or a closed status there is taken as it is; "live" of a
        show that ended a moment ago is corrected from the pushed ``LiveStream.Ended``. A missing key or
        "scheduled" may be behind a show created or started a moment ago (on a freshly started stack the first
        writes take seconds to be projected): then the event store decides."""
        svc = self._svc
        status = (await svc.state.status(stream_id)).get("status")
        if status in (None, "scheduled"):
            status = await svc.store_status(stream_id)
        elif status == "live" and stream_id in svc.pusher.closed_streams:
            status = "ended"
        return status

    async def _moderates(self, conn: Conn, stream_id: str) -> bool:
        """May this user moderate this show's chat (for the chat privileges and the first screen)?"""
        roles = conn.identity.roles
        if not roles & (STAFF_ROLES | {"admin"}):
            return False
        try:
            await actions.may_moderate(self._svc, conn, stream_id, "delete")
        except Refused:
            return False
        return True

    async def leave(self, sid: str, conn: Conn, p: Payload) -> dict[str, Any]:
        assert isinstance(p, LeaveStream)
        if p.stream_id not in conn.streams:
            raise Refused("not_in_stream")
        for room in (
            room_of(p.stream_id),
            chat_room_of(p.stream_id),
            chat_batch_room_of(p.stream_id),
            staff_room_of(p.stream_id),
        ):
            await self._svc.sio.leave_room(sid, room, namespace=self.namespace)
        self._left(sid, conn, p.stream_id)
        return {"ok": True, "stream_id": p.stream_id}

    def _announce(self, sid: str, conn: Conn, stream_id: str) -> None:
        """``presence.joined``; once the broker has it, the viewer is on this process's presence record."""
        svc = self._svc
        ident, joined = conn.identity, conn.streams[stream_id]
        svc.publisher.publish(
            it.PRESENCE_JOINED,
            stream_id,
            {
                "viewer_id": ident.user_id,
                "user_id": None if ident.anonymous else ident.user_id,
                "connection_id": sid,
                "device_type": joined.device_type,
                "location": joined.location,
            },
            utc_now(),
            on_delivered=svc.presence.joined(
                stream_id,
                sid,
                {
                    "viewer_id": ident.user_id,
                    "location": joined.location,
                    "joined_at": round(time.time() - (time.monotonic() - joined.at), 3),
                },
            ),
        )

    def reannounce(self) -> int:
        """A reaper took this process for dead (it was frozen, not killed) and sent its viewers'
        ``presence.left``: they are still here, so they join again."""
        n = 0
        for sid, conn in list(self.conns.items()):
            for stream_id in list(conn.streams):
                self._announce(sid, conn, stream_id)
                n += 1
        self._svc.ticker.recount()
        return n

    def _left(self, sid: str, conn: Conn, stream_id: str) -> None:
        joined = conn.streams.pop(stream_id)
        svc = self._svc
        svc.ticker.left(stream_id)
        svc.publisher.publish(
            it.PRESENCE_LEFT,
            stream_id,
            {
                "viewer_id": conn.identity.user_id,
                "connection_id": sid,
                "watch_seconds": round(time.monotonic() - joined.at, 1),
                "location": joined.location,
            },
            utc_now(),
            on_delivered=svc.presence.left(stream_id, sid),
        )
