"""Every event about a show names the show: ``stream_id`` on each event of an aggregate that belongs to one.

Payments, orders, carts, flash sales, auctions, group buys and a show's moderators each belong to one show
(``self.stream_id``, set when the aggregate is created). Their events carry it, so the log's envelope names the
show for every one of them (``application.event_envelopes.stream_id_of``) and ``livecommerce replay --stream ID``
holds the whole show, not only the events that happened to mention it.

Backward compatible: ``stream_id`` is a keyword-only field, filled in by ``trigger_event`` from the aggregate, so
no verb method changes; events stored before it existed load unchanged (the library rebuilds events without
calling ``__init__``) and answer ``stream_id`` with None; aggregates created by such events get it from their
creation event where it had one, else None.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate


class ShowScoped(Aggregate):
    """Base of the aggregates that belong to a show; their ``Event`` base is ``ShowScoped.Event``."""

    base_only = True  # never created itself (the event catalogue leaves it out)

    class Event(Aggregate.Event):
        stream_id: str | UUID | None = field(kw_only=True)  # text when stored; a subclass may say UUID

        def __getattr__(self, name: str) -> Any:
            if name == "stream_id":  # stored before events named their show
                return None
            raise AttributeError(name)

    def trigger_event(self, event_class: Any, **kwargs: Any) -> None:
        if "stream_id" in getattr(event_class, "__dataclass_fields__", {}):
            sid = getattr(self, "stream_id", None)
            kwargs.setdefault("stream_id", None if sid is None else str(sid))
        super().trigger_event(event_class, **kwargs)
