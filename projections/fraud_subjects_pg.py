"""The fraud detector's auction (shill bidding) and coin wallet (card testing) subjects: the part of
``projections.fraud_signals_pg`` that reads bids and top-ups, in the same transaction and read model."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from application.fraud_cases import Suspicion
from application.fraud_model import Assessment
from projections.ports import SqlTx

HOUR = timedelta(hours=1)
Score = Callable[[str, str, dict[str, float]], Assessment]


async def one(tx: SqlTx, sql: str, params: Sequence[Any]) -> float:
    rows = await tx.fetch(sql, params)
    value = next(iter(rows[0].values())) if rows else 0
    return float(value or 0)


# ---- auctions (shill bidding) ------------------------------------------------------------------------
async def auction(tx: SqlTx, t: str, aid: str, d: Mapping[str, Any], at: datetime, score: Score) -> list[Suspicion]:
    if t == "Auction.Created":
        await tx.execute(
            "INSERT INTO fraud_auctions (auction_id, stream_id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            (aid, d.get("stream_id")),
        )
    elif t in ("Auction.Closed", "Auction.OfferedToNext"):
        await tx.execute("UPDATE fraud_auctions SET winner_id = %s WHERE auction_id = %s", (d.get("winner_id"), aid))
    elif t == "Auction.WinnerPaid":
        await tx.execute("UPDATE fraud_auctions SET paid = true WHERE auction_id = %s", (aid,))
    elif t == "Auction.BidPlaced":
        return await _bid(tx, aid, d, at, score)
    return []


async def _bid(tx: SqlTx, aid: str, d: Mapping[str, Any], at: datetime, score: Score) -> list[Suspicion]:
    bidder = str(d["bidder_id"])
    rows = await tx.fetch(
        "SELECT s.vendor_id, s.host_id FROM fraud_auctions a JOIN fraud_sellers s"
        " ON s.stream_id = a.stream_id WHERE a.auction_id = %s",
        (aid,),
    )
    vendor, host = (rows[0]["vendor_id"], rows[0]["host_id"]) if rows else (None, None)
    await tx.execute(
        "INSERT INTO fraud_bids VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
        (str(d["bid_id"]), aid, bidder, vendor, at),
    )
    if vendor is None or bidder in (vendor, host):
        return []
    f: dict[str, float] = {}
    counts = await tx.fetch(
        "SELECT count(*) AS bids, count(*) FILTER (WHERE seller_id = %s) AS on_seller,"
        " count(DISTINCT auction_id) FILTER (WHERE seller_id = %s) AS auctions,"
        " count(*) FILTER (WHERE auction_id = %s) AS here FROM fraud_bids WHERE bidder_id = %s",
        (vendor, vendor, aid, bidder),
    )
    c = counts[0]
    f["seller_share"] = float(c["on_seller"]) / float(c["bids"]) if c["bids"] else 0.0
    f["seller_auctions"], f["bids_in_auction"] = float(c["auctions"]), float(c["here"])
    f["tied_to_seller"] = await one(
        tx,
        "SELECT count(*) FROM fraud_orders b JOIN fraud_orders s ON (b.phone = s.phone"
        " OR b.address_key = s.address_key OR b.device_id = s.device_id)"
        " WHERE b.buyer_id = %s AND s.buyer_id IN (%s, %s) LIMIT 1",
        (bidder, vendor, host or vendor),
    )
    f["tied_to_seller"] = min(f["tied_to_seller"], 1.0)
    f["wins_paid"] = await one(tx, "SELECT count(*) FROM fraud_auctions WHERE winner_id = %s AND paid", (bidder,))
    a = score("bidder", f"{aid}:{bidder}", f)
    if not a.suspected:
        return []
    return [Suspicion("bidder", f"{aid}:{bidder}", a.score, a.reasons, buyer_id=bidder, features=f)]


# ---- coin wallets (card testing) ---------------------------------------------------------------------
async def wallet(
    tx: SqlTx, t: str, wid: str, d: Mapping[str, Any], at: datetime, version: int, score: Score
) -> list[Suspicion]:
    if t == "CoinWallet.TopUpRequested":
        await tx.execute(
            "INSERT INTO fraud_top_ups (top_up_id, wallet_id, amount, requested_at)"
            " VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (str(d["top_up_id"]), wid, d.get("amount") or 0, at),
        )
        return []
    if t == "CoinWallet.TopUpFailed":
        await tx.execute("UPDATE fraud_top_ups SET failed_at = %s WHERE top_up_id = %s", (at, str(d["top_up_id"])))
    elif t == "CoinWallet.GiftSent":
        await tx.execute(
            "INSERT INTO fraud_gifts VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (f"{wid}:{version}", wid, int(d.get("coins") or 0), at),
        )
    else:
        return []
    rows = await tx.fetch(
        "SELECT count(*) FILTER (WHERE failed_at IS NOT NULL) AS failed, count(*) AS top_ups,"
        " count(*) FILTER (WHERE amount <= 50) AS small, count(DISTINCT amount) AS amounts"
        " FROM fraud_top_ups WHERE wallet_id = %s AND requested_at > %s",
        (wid, at - HOUR),
    )
    r = rows[0]
    f = {
        "failed_topups_1h": float(r["failed"]),
        "topups_1h": float(r["top_ups"]),
        "small_topups_1h": float(r["small"]),
        "distinct_amounts_1h": float(r["amounts"]),
        # a card tester's top-ups mostly fail; an honest viewer's fail now and then (and are tried again)
        "failed_share_1h": float(r["failed"]) / float(r["top_ups"]) if r["top_ups"] else 0.0,
    }
    f["gifts_after_fail"] = (
        await one(tx, "SELECT count(*) FROM fraud_gifts WHERE wallet_id = %s AND sent_at > %s", (wid, at - HOUR))
        if f["failed_topups_1h"]
        else 0.0
    )
    a = score("wallet", wid, f)
    if not a.suspected:
        return []
    return [Suspicion("wallet", wid, a.score, a.reasons, features=f)]
