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
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from application.envelope import Envelope
from application.fraud_cases import Suspicion
from application.fraud_model import Assessment, assess
from domain.fraud_case import case_id_for
from projections import fraud_log
from projections import fraud_subjects_pg as fraud_subjects
from projections.fraud_log import ReadLog
from projections.fraud_subjects_pg import one as _one
from projections.ports import SqlDatabase, SqlTx
from projections.timeutil import naive_utc

log = logging.getLogger(__name__)
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


class FraudSignals:
    name = "fraud_signals"
    topics = ("domain",)
    PREFIXES = ("LiveStream.", "Order.", "Payment.", "Auction.", "CoinWallet.", "FraudCase.")

    def __init__(
        self,
        db: SqlDatabase,
        decide: Decide,
        *,
        assessor: Assess = assess,
        observe: Observe | None = None,
        read_log: ReadLog | None = None,
    ) -> None:
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
                suspicions = await self._guarded(tx, e)
                if at.decides(e):  # a replay of what was decided before asks for nothing
                    for s in suspicions:
                        await self._suspect(tx, s)
                n += 1
            await fraud_log.advance(tx, events, at)
        return n

    async def _guarded(self, tx: SqlTx, e: Envelope) -> list[Suspicion]:
        """One event the detector cannot read (a malformed payload) is logged and passed over, not retried for
        ever: the detector reads the store itself, so a dead letter of its Kafka message would not skip it."""
        await tx.execute("SAVEPOINT fraud_event", ())
        try:
            found = await self._handle(tx, e)
        except (KeyError, TypeError, ValueError, ArithmeticError) as err:
            await tx.execute("ROLLBACK TO SAVEPOINT fraud_event", ())
            log.error(
                "fraud detector: passed over %s %s v%s at position %s: %r",
                e.type,
                e.aggregate_id,
                e.aggregate_version,
                e.position,
                err,
            )
            return []
        await tx.execute("RELEASE SAVEPOINT fraud_event", ())
        return found

    async def reset(self, *, forget_decisions: bool = False) -> None:
        """Empties the read model to replay the log from its start. ``forget_decisions``: the log itself is new
        (a bench's or a test's generated month), so everything in it is decided again."""
        async with self._db.transaction() as tx:
            await fraud_log.restart(tx, forget_decisions=forget_decisions)
            for t in (
                "fraud_seen",
                "fraud_sellers",
                "fraud_orders",
                "fraud_order_sales",
                "fraud_payments",
                "fraud_returns",
                "fraud_auctions",
                "fraud_bids",
                "fraud_top_ups",
                "fraud_gifts",
                "fraud_suspicions",
            ):
                await tx.execute(f"TRUNCATE {t}")

    async def _first_time(self, tx: SqlTx, e: Envelope) -> bool:
        return bool(
            await tx.execute(
                "INSERT INTO fraud_seen (aggregate_id, version) VALUES (%s, %s) ON CONFLICT (aggregate_id) DO UPDATE"
                " SET version = EXCLUDED.version WHERE fraud_seen.version < EXCLUDED.version",
                (e.aggregate_id, e.aggregate_version),
            )
        )

    async def _suspect(self, tx: SqlTx, s: Suspicion) -> None:
        """Each subject once: the detector remembers what it asked for (a wallet keeps failing: one case)."""
        fresh = await tx.execute(
            "INSERT INTO fraud_suspicions (case_id, kind, subject_id, score, reasons) VALUES (%s, %s, %s, %s, %s)"
            " ON CONFLICT (case_id) DO NOTHING",
            (str(case_id_for(s.kind, s.subject_id)), s.kind, s.subject_id, s.score, json.dumps(list(s.reasons))),
        )
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
                (aid, subject.get("kind"), subject.get("id"), d.get("score"), json.dumps(d.get("reasons") or [])),
            )
        elif t == "LiveStream.Scheduled":
            await tx.execute(
                "INSERT INTO fraud_sellers (stream_id, vendor_id, host_id) VALUES (%s, %s, %s)"
                " ON CONFLICT (stream_id) DO NOTHING",
                (aid, d.get("vendor_id"), d.get("host_id")),
            )
        elif t == "Order.Placed":
            return await self._order_placed(tx, aid, d, at)
        elif t == "Order.FulfilmentUpdated" and d.get("status") == "shipped":
            await tx.execute("UPDATE fraud_orders SET shipped = true WHERE order_id = %s", (aid,))
        elif t == "Order.Cancelled":
            await tx.execute(
                "UPDATE fraud_orders SET cod_refused = true WHERE order_id = %s AND payment_method = 'cod'"
                " AND (shipped OR %s)",
                (aid, bool(REFUSED.search(str(d.get("reason") or "")))),
            )
        elif t in ("Order.Refunded", "Order.ReturnRequested"):
            return await self._refund(tx, aid, d, at, t)
        elif t == "Payment.Initiated":
            await tx.execute(
                "INSERT INTO fraud_payments (payment_id, order_id) VALUES (%s, %s) ON CONFLICT (payment_id) DO NOTHING",
                (aid, str(d.get("order_id"))),
            )
        elif t == "Payment.Failed":
            await tx.execute("UPDATE fraud_payments SET failed_at = %s WHERE payment_id = %s", (at, aid))
        elif t.startswith("Auction."):
            return await fraud_subjects.auction(tx, t, aid, d, at, self._score)
        elif t.startswith("CoinWallet."):
            return await fraud_subjects.wallet(tx, t, aid, d, at, e.aggregate_version or 0, self._score)
        return []

    # ---- orders ------------------------------------------------------------------------------------------
    async def _order_placed(self, tx: SqlTx, oid: str, d: Mapping[str, Any], at: datetime) -> list[Suspicion]:
        buyer, phone = str(d["buyer_id"]), d.get("buyer_phone")
        addr, device = address_key(d.get("shipping_address")), d.get("device_id")
        await tx.execute(
            "INSERT INTO fraud_orders (order_id, buyer_id, phone, address_key, device_id, payment_method, total,"
            " stream_id, placed_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (order_id) DO NOTHING",
            (oid, buyer, phone, addr, device, d["payment_method"], d["total"], d.get("stream_id"), at),
        )
        sales: dict[str, int] = {}
        for line in d.get("lines") or []:
            if line.get("flash_sale_id"):
                sales[str(line["flash_sale_id"])] = sales.get(str(line["flash_sale_id"]), 0) + int(line["quantity"])
        for sale, units in sales.items():
            await tx.execute(
                "INSERT INTO fraud_order_sales VALUES (%s, %s, %s) ON CONFLICT DO NOTHING", (oid, sale, units)
            )
        f = await self._order_features(tx, oid, buyer, phone, addr, device, at, list(sales))
        f["is_cod"] = float(d["payment_method"] == "cod")
        a = self._score("order", oid, f)
        if not a.suspected:
            return []
        return [Suspicion("order", oid, a.score, a.reasons, order_id=oid, buyer_id=buyer, features=f)]

    async def _order_features(
        self,
        tx: SqlTx,
        oid: str,
        buyer: str,
        phone: str | None,
        addr: str | None,
        device: str | None,
        at: datetime,
        sales: list[str],
    ) -> dict[str, float]:
        """Counts over what came before this order in the log (the order itself included). A household shares
        one address (and often a phone or a device) among a few accounts: links are counted by how many
        different accounts, addresses and phones they join, so a family looks like one customer and a ring like
        many."""
        f: dict[str, float] = {}
        q = "SELECT count(*) FROM fraud_orders WHERE {col} = %s AND placed_at > %s AND placed_at <= %s"
        f["buyer_orders_1h"] = await _one(tx, q.format(col="buyer_id"), (buyer, at - HOUR, at))
        f["buyer_addresses_24h"] = await _one(
            tx,
            "SELECT count(DISTINCT address_key) FROM fraud_orders WHERE buyer_id = %s AND placed_at > %s"
            " AND placed_at <= %s",
            (buyer, at - DAY, at),
        )
        for name, col, value in (
            ("phone", "phone", phone),
            ("address", "address_key", addr),
            ("device", "device_id", device),
        ):
            if value is None:
                continue
            rows = await tx.fetch(
                f"SELECT count(*) FILTER (WHERE placed_at > %s) AS day, count(DISTINCT buyer_id) AS accounts,"
                f" count(DISTINCT address_key) FILTER (WHERE placed_at > %s) AS addresses,"
                f" count(DISTINCT address_key) AS addresses_30d, count(DISTINCT phone) AS phones"
                f" FROM fraud_orders WHERE {col} = %s AND placed_at > %s AND placed_at <= %s",
                (at - DAY, at - DAY, value, at - MONTH, at),
            )
            r = rows[0]
            f[f"{name}_orders_24h"], f[f"{name}_accounts"] = float(r["day"] or 0), float(r["accounts"] or 0)
            if name == "phone":
                f["phone_addresses_24h"] = float(r["addresses"] or 0)
            elif name == "address":
                f["address_phones"] = float(r["phones"] or 0)
            else:
                f["device_addresses"] = float(r["addresses_30d"] or 0)
        f["cod_refusals"] = await _one(
            tx, "SELECT count(*) FROM fraud_orders WHERE cod_refused AND buyer_id = %s", (buyer,)
        )
        if sales:
            rows = await tx.fetch(
                "SELECT count(DISTINCT o.buyer_id) AS accounts, COALESCE(sum(s.units), 0) AS units"
                " FROM fraud_order_sales s JOIN fraud_orders o ON o.order_id = s.order_id"
                " WHERE s.flash_sale_id = ANY(%s) AND (o.buyer_id = %s OR o.phone = %s OR o.address_key = %s"
                " OR o.device_id = %s)",
                (sales, buyer, phone, addr, device),
            )
            f["hoard_accounts"] = float(rows[0]["accounts"] or 0) if rows else 0.0
            f["hoard_units"] = float(rows[0]["units"] or 0) if rows else 0.0
            if f["hoard_accounts"] <= 1:  # one account buying its allowance is no hoarding
                f["hoard_accounts"], f["hoard_units"] = 0.0, 0.0
        f.update(await self._refund_history(tx, buyer, at, exclude=oid))
        f["failed_payments_1h"] = await _one(
            tx,
            "SELECT count(*) FROM fraud_payments p JOIN fraud_orders o ON o.order_id = p.order_id"
            " WHERE o.buyer_id = %s AND p.failed_at > %s",
            (buyer, at - HOUR),
        )
        return f

    async def _refund_history(
        self, tx: SqlTx, buyer: str, at: datetime, exclude: str | None = None
    ) -> dict[str, float]:
        rows = await tx.fetch(
            "SELECT count(*) AS orders, count(*) FILTER (WHERE refunds > 0) AS refunded,"
            " COALESCE(sum(refunds), 0) AS refunds FROM fraud_orders WHERE buyer_id = %s AND order_id <> %s",
            (buyer, exclude or ""),
        )
        orders, refunded, refunds = (float(rows[0][k] or 0) for k in ("orders", "refunded", "refunds"))
        returns = await _one(
            tx, "SELECT count(*) FROM fraud_returns WHERE buyer_id = %s AND requested_at > %s", (buyer, at - MONTH)
        )
        return {"refunds": refunds, "refund_ratio": refunded / orders if orders else 0.0, "returns_30d": returns}

    async def _refund(self, tx: SqlTx, oid: str, d: Mapping[str, Any], at: datetime, t: str) -> list[Suspicion]:
        rows = await tx.fetch("SELECT buyer_id FROM fraud_orders WHERE order_id = %s", (oid,))
        if not rows:
            return []
        buyer = str(rows[0]["buyer_id"])
        if t == "Order.Refunded":
            await tx.execute("UPDATE fraud_orders SET refunds = refunds + 1 WHERE order_id = %s", (oid,))
        else:
            await tx.execute(
                "INSERT INTO fraud_returns VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (str(d["return_id"]), oid, buyer, at),
            )
        f = await self._refund_history(tx, buyer, at)
        a = self._score("buyer", buyer, f)
        if not a.suspected:
            return []
        return [Suspicion("buyer", buyer, a.score, a.reasons, order_id=oid, buyer_id=buyer, features=f)]
