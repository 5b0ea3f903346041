"""docs/events.md is generated from the event classes: a change to an event without the catalogue fails here."""

from __future__ import annotations

from pathlib import Path

from application.event_catalogue import aggregates, events_of, render
from interfaces.log_events import LOG_EVENTS

DOC = Path(__file__).resolve().parents[2] / "docs" / "events.md"


def test_catalogue_is_up_to_date() -> None:
    assert DOC.read_text(encoding="utf-8") == render(LOG_EVENTS), (
        "event classes changed: run `livecommerce catalogue --write docs/events.md` and commit it"
    )


def test_every_aggregate_and_event_is_listed() -> None:
    text = DOC.read_text(encoding="utf-8")
    names = [f"`{a.__name__}.{e.__name__}`" for a in aggregates() for e in events_of(a)]
    assert len(names) > 40
    for name in names:
        assert name in text
    assert "`LiveStream.Started`" in text and "`FlashSale.StockReserved`" in text
