"""The fraud detector (issue 17 part 1): a consumer of the log with its own read model (``fraud_*`` tables) that
scores orders, bidders, coin wallets and refunding buyers (``application.fraud_model``) and opens a FraudCase
through a command when the score passes the threshold, so the decision is an event in the store.

Store events only (checkout, payment, refund, return, auction, coin wallet); each aggregate's version is
remembered in ``fraud_seen`` in the same transaction as the rows, so a redelivered event changes nothing. The
command is sent inside that transaction: if the store refuses it, the batch rolls back and is delivered again.
Features look only at what came before in the log, so a rebuild by replay scores the same and asks for the same
cases, which exist already (their id comes from the subject): nothing new is written.

Gift and coin top-up events (``CoinWallet.*``) are read by type name and the fields of the contract
(``TopUpRequested {top_up_id, coins, amount, payment_method}``, ``TopUpFailed {top_up_id, reason}``,
``GiftSent {coins, ...}``); the wallet is the aggregate.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from application.envelope import Envelope
from application.fraud_cases import Suspicion
from application.fraud_model import Assessment, assess
from domain.fraud_case import case_id_for
from projections import fraud_log
from projections.fraud_log import ReadLog
from projections.ports import SqlDatabase, SqlTx
from projections.timeutil import naive_utc

Decide = Callable[[Suspicion], Awaitable[object]]
Assess = Callable[[str, Mapping[str, float]], Assessment]
Observe = Callable[[str, str, dict[str, float]], None]
HOUR, DAY, MONTH = timedelta(hours=1), timedelta(days=1), timedelta(days=30)
COARSE = {"city", "area", "district", "division", "country", "postal_code", "postcode", "zip", "thana"}
REFUSED = re.compile(r"refus|reject|not (?:at )?home|unreachable", re.I)


def address_key(address: Mapping[str, Any] | None) -> str | None:
    """The street-level part of an address, normalised: a city or an area alone names no household."""
    if not address:
        return None
    street = [str(v) for k, v in sorted(address.items()) if k.lower() not in COARSE and v]
    if not street:
        return None
    rest = [str(v) for k, v in sorted(address.items()) if k.lower() in COARSE and v]
    return re.sub(r"[^\w]+", " ", " ".join(street + rest).lower()).strip() or None


async def _one(tx: SqlTx, sql: str, params: Sequence[Any]) -> float:
    rows = await tx.fetch(sql, params)
    value = next(iter(rows[0].values())) if rows else 0
    return float(value or 0)


class FraudSignals:
    name = "fraud_signals"
    topics = ("domain",)
    PREFIXES = ("LiveStream.", "Order.", "Payment.", "Auction.", "CoinWallet.", "FraudCase.")

    def __init__(self, db: SqlDatabase, decide: Decide, *, assessor: Assess = assess,
                 observe: Observe | None = None, read_log: ReadLog | None = None) -> None:
        """``assessor``: the model (the bench swaps in the rules-only baseline); ``observe`` sees every scored
        subject's features (the bench's training rows); ``read_log`` reads the store's log after a position (the
        detector scores in the log's order, ``projections.fraud_log``; None: batches come in that order)."""
        self._db = db
        self._decide = decide
        self._assess = assessor
        self._observe = observe
        self._read_log = read_log

    def _score(self, kind: str, subject_id: str, f: dict[str, float]) -> Assessment:
        if self._observe is not None:
            self._observe(kind, subject_id, f)
        return self._assess(kind, f)

    async def apply(self, envelopes: Sequence[Envelope]) -> int:
        n = 0
        async with self._db.transaction() as tx:
            at = await fraud_log.cursor(tx)
            events = await fraud_log.in_log_order(envelopes, at, self._read_log)
            for e in events:
                if not e.type.startswith(self.PREFIXES) or e.aggregate_id is None:
                    continue
                if e.aggregate_version is not None and not await self._first_time(tx, e):
                    continue
                suspicions = await self._handle(tx, e)
                if at.decides(e):  # a replay of what was decided before asks for nothing
                    for s in suspicions:
                        await self._suspect(tx, s)
                n += 1
            await fraud_log.advance(tx, events, at)
        return n

    async def reset(self, *, forget_decisions: bool = False) -> None:
        """Empties the read model to replay the log from its start. ``forget_decisions``: the log itself is new
        (a bench's or a test's generated month), so everything in it is decided again."""
        async with self._db.transaction() as tx:
            await fraud_log.restart(tx, forget_decisions=forget_decisions)
            for t in ("fraud_seen", "fraud_sellers", "fraud_orders", "fraud_order_sales", "fraud_payments",
                      "fraud_returns", "fraud_auctions", "fraud_bids", "fraud_top_ups", "fraud_gifts",
                      "fraud_suspicions"):
                await tx.execute(f"TRUNCATE {t}")

    async def _first_time(self, tx: SqlTx, e: Envelope) -> bool:
        return bool(await tx.execute(
            "INSERT INTO fraud_seen (aggregate_id, version) VALUES (%s, %s) ON CONFLICT (aggregate_id) DO UPDATE"
            " SET version = EXCLUDED.version WHERE fraud_seen.version < EXCLUDED.version",
            (e.aggregate_id, e.aggregate_version)))

    async def _suspect(self, tx: SqlTx, s: Suspicion) -> None:
        """Each subject once: the detector remembers what it asked for (a wallet keeps failing: one case)."""
        fresh = await tx.execute(
            "INSERT INTO fraud_suspicions (case_id, kind, subject_id, score, reasons) VALUES (%s, %s, %s, %s, %s)"
            " ON CONFLICT (case_id) DO NOTHING",
            (str(case_id_for(s.kind, s.subject_id)), s.kind, s.subject_id, s.score, json.dumps(list(s.reasons))))
        if fresh:
            await self._decide(s)

    async def _handle(self, tx: SqlTx, e: Envelope) -> list[Suspicion]:
        d, at, aid = e.payload, naive_utc(e.occurred_at), str(e.aggregate_id)
        assert at is not None
        t = e.type
        if t == "FraudCase.FraudSuspected":  # a decision in the log (made live, or read back by a rebuild)
            subject = d.get("subject") or {}
            await tx.execute(
                "INSERT INTO fraud_suspicions (case_id, kind, subject_id, score, reasons) VALUES (%s, %s, %s, %s,"
                " %s) ON CONFLICT (case_id) DO NOTHING",
                (aid, subject.get("kind"), subject.get("id"), d.get("score"), json.dumps(d.get("reasons") or [])))
        elif t == "LiveStream.Scheduled":
            await tx.execute("INSERT INTO fraud_sellers (stream_id, vendor_id, host_id) VALUES (%s, %s, %s)"
                             " ON CONFLICT (stream_id) DO NOTHING", (aid, d.get("vendor_id"), d.get("host_id")))
        elif t == "Order.Placed":
            return await self._order_placed(tx, aid, d, at)
        elif t == "Order.FulfilmentUpdated" and d.get("status") == "shipped":
            await tx.execute("UPDATE fraud_orders SET shipped = true WHERE order_id = %s", (aid,))
        elif t == "Order.Cancelled":
            await tx.execute(
                "UPDATE fraud_orders SET cod_refused = true WHERE order_id = %s AND payment_method = 'cod'"
                " AND (shipped OR %s)", (aid, bool(REFUSED.search(str(d.get("reason") or "")))))
        elif t in ("Order.Refunded", "Order.ReturnRequested"):
            return await self._refund(tx, aid, d, at, t)
        elif t == "Payment.Initiated":
            await tx.execute("INSERT INTO fraud_payments (payment_id, order_id) VALUES (%s, %s)"
                             " ON CONFLICT (payment_id) DO NOTHING", (aid, str(d.get("order_id"))))
        elif t == "Payment.Failed":
            await tx.execute("UPDATE fraud_payments SET failed_at = %s WHERE payment_id = %s", (at, aid))
        elif t.startswith("Auction."):
            return await self._auction(tx, t, aid, d, at)
        elif t.startswith("CoinWallet."):
            return await self._wallet(tx, t, aid, d, at, e.aggregate_version or 0)
        return []

    # ---- orders ------------------------------------------------------------------------------------------
    async def _order_placed(self, tx: SqlTx, oid: str, d: Mapping[str, Any], at: datetime) -> list[Suspicion]:
        buyer, phone = str(d["buyer_id"]), d.get("buyer_phone")
        addr, device = address_key(d.get("shipping_address")), d.get("device_id")
        await tx.execute(
            "INSERT INTO fraud_orders (order_id, buyer_id, phone, address_key, device_id, payment_method, total,"
            " stream_id, placed_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (order_id) DO NOTHING",
            (oid, buyer, phone, addr, device, d["payment_method"], d["total"], d.get("stream_id"), at))
        sales: dict[str, int] = {}
        for line in d.get("lines") or []:
            if line.get("flash_sale_id"):
                sales[str(line["flash_sale_id"])] = sales.get(str(line["flash_sale_id"]), 0) + int(line["quantity"])
        for sale, units in sales.items():
            await tx.execute("INSERT INTO fraud_order_sales VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                             (oid, sale, units))
        f = await self._order_features(tx, oid, buyer, phone, addr, device, at, list(sales))
        f["is_cod"] = float(d["payment_method"] == "cod")
        a = self._score("order", oid, f)
        if not a.suspected:
            return []
        return [Suspicion("order", oid, a.score, a.reasons, order_id=oid, buyer_id=buyer, features=f)]

    async def _order_features(self, tx: SqlTx, oid: str, buyer: str, phone: str | None, addr: str | None,
                              device: str | None, at: datetime, sales: list[str]) -> dict[str, float]:
        """Counts over what came before this order in the log (the order itself included). A household shares
        one address (and often a phone or a device) among a few accounts: links are counted by how many
        different accounts, addresses and phones they join, so a family looks like one customer and a ring like
        many."""
        f: dict[str, float] = {}
        q = "SELECT count(*) FROM fraud_orders WHERE {col} = %s AND placed_at > %s AND placed_at <= %s"
        f["buyer_orders_1h"] = await _one(tx, q.format(col="buyer_id"), (buyer, at - HOUR, at))
        f["buyer_addresses_24h"] = await _one(
            tx, "SELECT count(DISTINCT address_key) FROM fraud_orders WHERE buyer_id = %s AND placed_at > %s"
                " AND placed_at <= %s", (buyer, at - DAY, at))
        for name, col, value in (("phone", "phone", phone), ("address", "address_key", addr),
                                 ("device", "device_id", device)):
            if value is None:
                continue
            rows = await tx.fetch(
                f"SELECT count(*) FILTER (WHERE placed_at > %s) AS day, count(DISTINCT buyer_id) AS accounts,"
                f" count(DISTINCT address_key) FILTER (WHERE placed_at > %s) AS addresses,"
                f" count(DISTINCT address_key) AS addresses_30d, count(DISTINCT phone) AS phones"
                f" FROM fraud_orders WHERE {col} = %s AND placed_at > %s AND placed_at <= %s",
                (at - DAY, at - DAY, value, at - MONTH, at))
            r = rows[0]
            f[f"{name}_orders_24h"], f[f"{name}_accounts"] = float(r["day"] or 0), float(r["accounts"] or 0)
            if name == "phone":
                f["phone_addresses_24h"] = float(r["addresses"] or 0)
            elif name == "address":
                f["address_phones"] = float(r["phones"] or 0)
            else:
                f["device_addresses"] = float(r["addresses_30d"] or 0)
        f["cod_refusals"] = await _one(
            tx, "SELECT count(*) FROM fraud_orders WHERE cod_refused AND buyer_id = %s", (buyer,))
        if sales:
            rows = await tx.fetch(
                "SELECT count(DISTINCT o.buyer_id) AS accounts, COALESCE(sum(s.units), 0) AS units"
                " FROM fraud_order_sales s JOIN fraud_orders o ON o.order_id = s.order_id"
                " WHERE s.flash_sale_id = ANY(%s) AND (o.buyer_id = %s OR o.phone = %s OR o.address_key = %s"
                " OR o.device_id = %s)", (sales, buyer, phone, addr, device))
            f["hoard_accounts"] = float(rows[0]["accounts"] or 0) if rows else 0.0
            f["hoard_units"] = float(rows[0]["units"] or 0) if rows else 0.0
            if f["hoard_accounts"] <= 1:  # one account buying its allowance is no hoarding
                f["hoard_accounts"], f["hoard_units"] = 0.0, 0.0
        f.update(await self._refund_history(tx, buyer, at, exclude=oid))
        f["failed_payments_1h"] = await _one(
            tx, "SELECT count(*) FROM fraud_payments p JOIN fraud_orders o ON o.order_id = p.order_id"
                " WHERE o.buyer_id = %s AND p.failed_at > %s", (buyer, at - HOUR))
        return f

    async def _refund_history(self, tx: SqlTx, buyer: str, at: datetime, exclude: str | None = None
                              ) -> dict[str, float]:
        rows = await tx.fetch(
            "SELECT count(*) AS orders, count(*) FILTER (WHERE refunds > 0) AS refunded,"
            " COALESCE(sum(refunds), 0) AS refunds FROM fraud_orders WHERE buyer_id = %s AND order_id <> %s",
            (buyer, exclude or ""))
        orders, refunded, refunds = (float(rows[0][k] or 0) for k in ("orders", "refunded", "refunds"))
        returns = await _one(tx, "SELECT count(*) FROM fraud_returns WHERE buyer_id = %s AND requested_at > %s",
                             (buyer, at - MONTH))
        return {"refunds": refunds, "refund_ratio": refunded / orders if orders else 0.0, "returns_30d": returns}

    async def _refund(self, tx: SqlTx, oid: str, d: Mapping[str, Any], at: datetime, t: str) -> list[Suspicion]:
        rows = await tx.fetch("SELECT buyer_id FROM fraud_orders WHERE order_id = %s", (oid,))
        if not rows:
            return []
        buyer = str(rows[0]["buyer_id"])
        if t == "Order.Refunded":
            await tx.execute("UPDATE fraud_orders SET refunds = refunds + 1 WHERE order_id = %s", (oid,))
        else:
            await tx.execute("INSERT INTO fraud_returns VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                             (str(d["return_id"]), oid, buyer, at))
        f = await self._refund_history(tx, buyer, at)
        a = self._score("buyer", buyer, f)
        if not a.suspected:
            return []
        return [Suspicion("buyer", buyer, a.score, a.reasons, order_id=oid, buyer_id=buyer, features=f)]

    # ---- auctions (shill bidding) ------------------------------------------------------------------------
    async def _auction(self, tx: SqlTx, t: str, aid: str, d: Mapping[str, Any], at: datetime) -> list[Suspicion]:
        if t == "Auction.Created":
            await tx.execute("INSERT INTO fraud_auctions (auction_id, stream_id) VALUES (%s, %s)"
                             " ON CONFLICT DO NOTHING", (aid, d.get("stream_id")))
        elif t in ("Auction.Closed", "Auction.OfferedToNext"):
            await tx.execute("UPDATE fraud_auctions SET winner_id = %s WHERE auction_id = %s",
                             (d.get("winner_id"), aid))
        elif t == "Auction.WinnerPaid":
            await tx.execute("UPDATE fraud_auctions SET paid = true WHERE auction_id = %s", (aid,))
        elif t == "Auction.BidPlaced":
            return await self._bid(tx, aid, d, at)
        return []

    async def _bid(self, tx: SqlTx, aid: str, d: Mapping[str, Any], at: datetime) -> list[Suspicion]:
        bidder = str(d["bidder_id"])
        rows = await tx.fetch("SELECT s.vendor_id, s.host_id FROM fraud_auctions a JOIN fraud_sellers s"
                              " ON s.stream_id = a.stream_id WHERE a.auction_id = %s", (aid,))
        vendor, host = (rows[0]["vendor_id"], rows[0]["host_id"]) if rows else (None, None)
        await tx.execute("INSERT INTO fraud_bids VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                         (str(d["bid_id"]), aid, bidder, vendor, at))
        if vendor is None or bidder in (vendor, host):
            return []
        f: dict[str, float] = {}
        counts = await tx.fetch(
            "SELECT count(*) AS bids, count(*) FILTER (WHERE seller_id = %s) AS on_seller,"
            " count(DISTINCT auction_id) FILTER (WHERE seller_id = %s) AS auctions,"
            " count(*) FILTER (WHERE auction_id = %s) AS here FROM fraud_bids WHERE bidder_id = %s",
            (vendor, vendor, aid, bidder))
        c = counts[0]
        f["seller_share"] = float(c["on_seller"]) / float(c["bids"]) if c["bids"] else 0.0
        f["seller_auctions"], f["bids_in_auction"] = float(c["auctions"]), float(c["here"])
        f["tied_to_seller"] = await _one(
            tx, "SELECT count(*) FROM fraud_orders b JOIN fraud_orders s ON (b.phone = s.phone"
                " OR b.address_key = s.address_key OR b.device_id = s.device_id)"
                " WHERE b.buyer_id = %s AND s.buyer_id IN (%s, %s) LIMIT 1", (bidder, vendor, host or vendor))
        f["tied_to_seller"] = min(f["tied_to_seller"], 1.0)
        f["wins_paid"] = await _one(tx, "SELECT count(*) FROM fraud_auctions WHERE winner_id = %s AND paid",
                                    (bidder,))
        a = self._score("bidder", f"{aid}:{bidder}", f)
        if not a.suspected:
            return []
        return [Suspicion("bidder", f"{aid}:{bidder}", a.score, a.reasons, buyer_id=bidder, features=f)]

    # ---- coin wallets (card testing) ---------------------------------------------------------------------
    async def _wallet(self, tx: SqlTx, t: str, wid: str, d: Mapping[str, Any], at: datetime, version: int
                      ) -> list[Suspicion]:
        if t == "CoinWallet.TopUpRequested":
            await tx.execute("INSERT INTO fraud_top_ups (top_up_id, wallet_id, amount, requested_at)"
                             " VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                             (str(d["top_up_id"]), wid, d.get("amount") or 0, at))
            return []
        if t == "CoinWallet.TopUpFailed":
            await tx.execute("UPDATE fraud_top_ups SET failed_at = %s WHERE top_up_id = %s",
                             (at, str(d["top_up_id"])))
        elif t == "CoinWallet.GiftSent":
            await tx.execute("INSERT INTO fraud_gifts VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                             (f"{wid}:{version}", wid, int(d.get("coins") or 0), at))
        else:
            return []
        rows = await tx.fetch(
            "SELECT count(*) FILTER (WHERE failed_at IS NOT NULL) AS failed, count(*) AS top_ups,"
            " count(*) FILTER (WHERE amount <= 50) AS small, count(DISTINCT amount) AS amounts"
            " FROM fraud_top_ups WHERE wallet_id = %s AND requested_at > %s", (wid, at - HOUR))
        r = rows[0]
        f = {"failed_topups_1h": float(r["failed"]), "topups_1h": float(r["top_ups"]),
             "small_topups_1h": float(r["small"]), "distinct_amounts_1h": float(r["amounts"])}
        f["gifts_after_fail"] = await _one(
            tx, "SELECT count(*) FROM fraud_gifts WHERE wallet_id = %s AND sent_at > %s", (wid, at - HOUR)
        ) if f["failed_topups_1h"] else 0.0
        a = self._score("wallet", wid, f)
        if not a.suspected:
            return []
        return [Suspicion("wallet", wid, a.score, a.reasons, features=f)]
