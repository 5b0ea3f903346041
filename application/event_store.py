"""The event store: the `eventsourcing` library's Application, persisted by settings (PostgreSQL in production).

Its table ``livecommerce_events`` and notification log are the source of truth for every business aggregate.
"""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, UUIDAsHex

EVENTS_TABLE = "livecommerce_events"


def register_transcodings(transcoder: JSONTranscoder) -> None:
    """The value types events may carry besides JSON: UUID, Decimal (money), datetime."""
    transcoder.register(UUIDAsHex())
    transcoder.register(DecimalAsStr())
    transcoder.register(DatetimeAsISO())


def new_transcoder() -> JSONTranscoder:
    """The store's transcoder, for readers of the notification log outside the Application (relay, replay)."""
    t = JSONTranscoder()
    register_transcodings(t)
    return t


class LiveCommerceStore(Application[UUID]):
    name = "LiveCommerce"  # → table livecommerce_events, NOTIFY channel livecommerce_events

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        super().__init__(env=dict(env) if env else None)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        register_transcodings(transcoder)
