"""The per-connection record and the services handlers share; kept apart so handlers and the namespace can
both import them without importing each other."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import socketio

from application.moderation import ChatModerator, ShowStaff
from infra.settings import Settings
from infra.tokens import Identity
from interfaces.realtime.presence import PresenceLedger
from interfaces.realtime.publisher import InteractionPublisher
from interfaces.realtime.pusher import DomainPusher
from interfaces.realtime.room_ticker import RoomTicker
from interfaces.realtime.stream_state import StreamState


@dataclass
class Joined:
    at: float  # monotonic, for watch time
    device_type: str
    location: str | None
    moderator: bool = False  # may moderate this show (decided at join): skips chat rate limits and link rule


@dataclass
class Conn:
    identity: Identity
    streams: dict[str, Joined] = field(default_factory=dict)
    ip: str = ""  # the client's address (an anonymous viewer's rate-limit key)


class Refused(Exception):
    """A handler's "no": becomes an ``error`` event to the sender and a ``{"ok": false}`` ack."""

    def __init__(self, code: str, **details: Any) -> None:
        super().__init__(code)
        self.code = code
        self.details = details


def utc_now() -> datetime:
    return datetime.now(UTC)


# A show's host, vendor and moderators, as the event store has them now (None: no such show in the store).
StaffLookup = Callable[[str], Awaitable[ShowStaff | None]]
# A show's status as the event store has it now (None: no such show in the store).
StatusLookup = Callable[[str], Awaitable[str | None]]


@dataclass
class Services:
    """Everything a handler needs; opened in ``before_server_start`` (see interfaces.realtime.attach)."""

    settings: Settings
    sio: socketio.AsyncServer
    state: StreamState
    publisher: InteractionPublisher
    ticker: RoomTicker
    pusher: DomainPusher
    moderator: ChatModerator
    staff: StaffLookup
    presence: PresenceLedger
    store_status: StatusLookup
    polls: Any = None  # interfaces.realtime.poll_push.PollRoom
