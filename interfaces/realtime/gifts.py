"""``CoinWallet.GiftSent`` from the log → the show's room: ``gift_received`` (issue 14 part 3).

The event carries everything viewers see (the sender's display name as it was when sent), so nothing is loaded.
"""

from __future__ import annotations

from typing import Any

from application.envelope import Envelope


def gift_received(e: Envelope) -> tuple[str, str, dict[str, Any]] | None:
    """(show id, room event, payload) for a gift sent to a show, else None."""
    if e.type != "CoinWallet.GiftSent" or not e.stream_id:
        return None
    d = e.payload
    return (
        e.stream_id,
        "gift_received",
        {
            "from": d["from_name"],
            "gift_id": d["gift_id"],
            "quantity": d["quantity"],
            "message": d.get("message"),
            "coins": d["coins"],
            "send_id": d["send_id"],
        },
    )
