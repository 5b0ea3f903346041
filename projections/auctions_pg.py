"""PostgreSQL ``auctions``: status, visible price and leader, end time, winner (from Auction events)."""

from __future__ import annotations

from application.envelope import Envelope
from projections.ports import SqlTx
from projections.routed_table import RoutedTable
from projections.timeutil import naive_utc


async def _apply(tx: SqlTx, e: Envelope) -> None:
    d, at, v, aid = e.payload, naive_utc(e.occurred_at), e.aggregate_version, e.aggregate_id
    if e.type == "Auction.Created":
        await tx.execute(
            "INSERT INTO auctions (id, stream_id, product_id, status, mode, starting_price, starts_at, ends_at,"
            " updated_at, aggregate_version) VALUES (%s, %s, %s, 'open', %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (id) DO NOTHING",
            (
                aid,
                d.get("stream_id"),
                d["product_id"],
                d["mode"],
                d["starting_price"],
                naive_utc(d["starts_at"]),
                naive_utc(d["ends_at"]),
                at,
                v,
            ),
        )
        return
    sets, params = "", {}
    match e.type:
        case "Auction.BidPlaced":  # every accepted bid counts, also one that leaves the standing as it was
            sets = "bid_count = bid_count + 1"
        case "Auction.StandingChanged":
            sets, params = "current_price = %(p)s, leader_id = %(l)s", {"p": d["price"], "l": d["leader_id"]}
        case "Auction.Extended":
            sets, params = "ends_at = %(e)s", {"e": naive_utc(d["ends_at"])}
        case "Auction.Closed" | "Auction.OfferedToNext":
            status = "awarded" if d.get("winner_id") else "unsold"
            sets, params = (
                (
                    "status = %(s)s, winner_id = %(w)s, winning_price = %(wp)s, pay_by = %(pb)s,"
                    " outcome = COALESCE(%(o)s, outcome)"
                ),
                {
                    "s": status,
                    "w": d.get("winner_id"),
                    "wp": d.get("winning_price"),
                    "pb": naive_utc(d.get("pay_by")),
                    "o": d.get("outcome"),
                },
            )
        case "Auction.WinnerPaid":
            sets, params = "status = 'sold', order_id = %(o)s", {"o": d["order_id"]}
        case "Auction.Unsold":
            sets, params = "status = 'unsold', outcome = %(o)s", {"o": d.get("reason")}
    await tx.execute(
        "UPDATE auctions SET aggregate_version = %(v)s, updated_at = %(at)s"
        + (", " + sets if sets else "")
        + " WHERE id = %(id)s AND aggregate_version < %(v)s",
        {"v": v, "at": at, "id": aid, **params},
    )


class AuctionsTable(RoutedTable):
    name = "auctions"
    routes = {"Auction.": _apply}
    truncate = ("auctions",)
