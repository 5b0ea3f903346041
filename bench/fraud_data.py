"""Labelled histories for the fraud detector (issue 17 part 1): a month of a marketplace's store events, honest
buyers, bidders and coin wallets with the untidy habits real ones have (households sharing an address or a
phone, a split cart, one parcel refused at the door, a return now and then, a failed payment retried, a
favourite seller's auctions), and planted fraud: purchase velocity (one account, many orders within the hour to
many addresses), fake cash-on-delivery rings on one phone (several accounts; half give no street), account farms
at one address, serial door refusers, flash-sale hoarding through linked accounts, shill bidders tied to the
seller, card testing on coin top-ups, refund abuse. ``patterns`` names each planted subject's pattern;
``households`` are the honest accounts that share their address with family. An honest buyer returns at most
two orders in the month (four of five returned is the refund abuser's habit, not an honest one's).

Events are the store's own types and payload fields (``docs/events.md``; the coin wallet's by the contract of
issue 14), in time order with per-aggregate versions, so they go through ``FraudSignals.apply`` as the relay
would deliver them. ``fraud`` is the set of planted subjects ``(kind, subject_id)`` as the detector names them.
Deterministic for a seed.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from application.envelope import Envelope

T0 = datetime(2026, 11, 1, tzinfo=UTC)
MONTH = timedelta(days=30)
Online = ("bkash", "nagad", "card")


@dataclass
class History:
    envelopes: list[Envelope]
    fraud: set[tuple[str, str]]
    honest_accounts: set[str]
    fraud_accounts: set[str]
    patterns: dict[tuple[str, str], str] = field(default_factory=dict)  # planted subject -> its pattern
    households: set[str] = field(default_factory=set)  # honest accounts sharing their address with family


@dataclass
class _Builder:
    rng: random.Random
    new_id: Callable[[], str]
    raw: list[tuple[datetime, int, str, str, str | None, dict[str, Any]]] = field(default_factory=list)
    fraud: set[tuple[str, str]] = field(default_factory=set)
    patterns: dict[tuple[str, str], str] = field(default_factory=dict)
    households: set[str] = field(default_factory=set)
    honest: set[str] = field(default_factory=set)
    bad: set[str] = field(default_factory=set)
    streams: list[tuple[str, str, str, datetime, str]] = field(default_factory=list)  # id, vendor, host, at, sale
    last_payment: str = ""

    def emit(
        self, type_: str, aggregate_id: str, at: datetime, payload: dict[str, Any], stream_id: str | None = None
    ) -> None:
        self.raw.append((at, len(self.raw), type_, aggregate_id, stream_id, payload))

    def phone(self) -> str:
        return f"01{self.rng.randint(3, 9)}{self.rng.randint(0, 99_999_999):08d}"

    def address(self) -> dict[str, str]:
        return {
            "line1": f"House {self.rng.randint(1, 400)}, Road {self.rng.randint(1, 60)}",
            "area": self.rng.choice(["Dhanmondi", "Mirpur", "Uttara", "Gulshan", "Banani", "Mohammadpur"]),
            "city": self.rng.choice(["Dhaka", "Chattogram", "Sylhet", "Khulna"]),
        }

    def seller(self, shows: int) -> tuple[str, str]:
        vendor, host = self.new_id(), self.new_id()
        self.honest.update((vendor, host))
        for _ in range(shows):
            sid, at = self.new_id(), T0 + timedelta(minutes=self.rng.randint(0, 29 * 24 * 60))
            self.emit("LiveStream.Scheduled", sid, at - timedelta(days=1), {"vendor_id": vendor, "host_id": host}, sid)
            self.streams.append((sid, vendor, host, at, self.new_id()))
        return vendor, host

    def stream(self) -> tuple[str, str, str, datetime, str]:
        return self.rng.choice(self.streams)

    def order(
        self,
        buyer: str,
        at: datetime,
        *,
        phone: str,
        address: dict[str, str],
        device: str,
        method: str | None = None,
        units: int = 1,
        flash_sale: str | None = None,
        stream_id: str | None = None,
        fraud: str | None = None,
        price: int | None = None,
    ) -> str:
        """``fraud``: the planted pattern this order belongs to (None: an honest order)."""
        oid, _pid = self.new_id(), self.new_id()
        method = method or self.rng.choices(("cod", "bkash", "nagad", "card"), (45, 30, 15, 10))[0]
        unit = price or self.rng.choice((350, 750, 1200, 2500, 4800, 9500))
        total = f"{unit * units}.00"
        sid = stream_id or self.stream()[0]
        self.emit(
            "Order.Placed",
            oid,
            at,
            {
                "buyer_id": buyer,
                "stream_id": sid,
                "cart_id": None,
                "lines": [
                    {
                        "product_id": self.new_id(),
                        "quantity": units,
                        "unit_price": f"{unit}.00",
                        "flash_sale_id": flash_sale,
                        "reservation_id": None,
                    }
                ],
                "subtotal": total,
                "discount": "0.00",
                "discount_code": None,
                "total": total,
                "payment_method": method,
                "shipping_address": address,
                "buyer_phone": phone,
                "emi": None,
                "device_id": device,
            },
            sid,
        )
        self.last_payment = self.new_id()
        self.emit(
            "Payment.Initiated",
            self.last_payment,
            at + timedelta(seconds=1),
            {"order_id": oid, "method": method, "amount": total, "currency": "BDT"},
            sid,
        )
        (self.bad if fraud else self.honest).add(buyer)
        if fraud:
            self.plant("order", oid, fraud)
        return oid

    def plant(self, kind: str, subject: str, pattern: str) -> None:
        self.fraud.add((kind, subject))
        self.patterns[(kind, subject)] = pattern

    def refused_at_door(self, oid: str, at: datetime) -> None:
        self.emit(
            "Order.FulfilmentUpdated",
            oid,
            at + timedelta(days=1),
            {"status": "shipped", "courier": "Pathao", "tracking_id": "T"},
        )
        self.emit("Order.Cancelled", oid, at + timedelta(days=2), {"reason": "refused at the door"})

    def refunded(self, oid: str, at: datetime, amount: str = "350.00") -> None:
        self.emit(
            "Order.ReturnRequested",
            oid,
            at + timedelta(days=3),
            {"return_id": self.new_id(), "items": [], "reason": "damaged", "amount": amount},
        )
        self.emit(
            "Order.Refunded",
            oid,
            at + timedelta(days=4),
            {"refund_id": self.new_id(), "amount": amount, "reason": "return accepted"},
        )

    def payment_failed(self, at: datetime) -> None:
        """The last order's payment failed (the buyer then places it again)."""
        self.emit("Payment.Failed", self.last_payment, at + timedelta(minutes=1), {"reason": "declined"})

    def envelopes(self) -> list[Envelope]:
        versions: dict[str, int] = {}
        out = []
        for at, _seq, type_, aid, sid, payload in sorted(self.raw, key=lambda r: (r[0], r[1])):
            versions[aid] = versions.get(aid, 0) + 1
            out.append(
                Envelope(
                    f"{aid}:{versions[aid]}", type_, 1, aid, versions[aid], sid, at, payload, position=len(out) + 1
                )
            )
        return out


def _when(rng: random.Random) -> datetime:
    return T0 + timedelta(minutes=rng.randint(0, 29 * 24 * 60))


def _honest_buyers(b: _Builder, n: int) -> list[tuple[str, str, dict[str, str], str]]:
    """Accounts (id, phone, address, device); about a fifth live in households of 2–3 sharing the address
    (a third of those also the phone, a tenth the device)."""
    rng, people = b.rng, []
    while len(people) < n:
        size = rng.choice((2, 2, 3)) if rng.random() < 0.2 else 1
        addr, phone, device = b.address(), b.phone(), b.new_id()
        shared_phone, shared_device = rng.random() < 0.33, rng.random() < 0.1
        for i in range(size):
            people.append(
                (
                    b.new_id(),
                    phone if (shared_phone or i == 0) else b.phone(),
                    addr,
                    device if (shared_device or i == 0) else b.new_id(),
                )
            )
            if size > 1:
                b.households.add(people[-1][0])
    return people[:n]


def _honest_orders(b: _Builder, people: list[tuple[str, str, dict[str, str], str]]) -> None:
    rng = b.rng
    for buyer, phone, home, device in people:
        heavy = rng.random() < 0.03
        # A fifth send some orders elsewhere (a parent's home, the office, a gift), sometimes the same day.
        elsewhere = b.address() if rng.random() < 0.2 else None
        n = rng.randint(10, 18) if heavy else rng.choice((1, 1, 2, 2, 3, 3, 4, 5, 6, 8))
        refunder, refuser = rng.random() < 0.2, rng.random() < 0.06
        returns = 0  # a return now and then: at most two in the month (more is what refund abuse looks like)
        at = _when(rng)
        for i in range(n):
            if i:
                split = rng.random() < (0.3 if heavy else 0.12)
                at = at + (timedelta(minutes=rng.randint(5, 50)) if split else timedelta(hours=rng.randint(6, 24 * 5)))
            if at > T0 + MONTH:
                break
            sid, _, _, _, sale = b.stream()
            addr = elsewhere if elsewhere is not None and rng.random() < 0.35 else home
            in_sale = rng.random() < 0.3
            method = rng.choices(("cod", "bkash", "nagad", "card"), (45, 30, 15, 10))[0]
            units = rng.choice((1, 1, 2)) if in_sale else rng.choice((1, 1, 1, 2, 3))
            if method in Online and rng.random() < 0.05:  # a failed payment, then the order again
                b.order(
                    buyer,
                    at - timedelta(minutes=5),
                    phone=phone,
                    address=addr,
                    device=device,
                    method=method,
                    units=units,
                    stream_id=sid,
                )
                b.payment_failed(at - timedelta(minutes=5))
            oid = b.order(
                buyer,
                at,
                phone=phone,
                address=addr,
                device=device,
                method=method,
                units=units,
                flash_sale=sale if in_sale else None,
                stream_id=sid,
            )
            if refuser and method == "cod" and i == 0:
                b.refused_at_door(oid, at)
            elif refunder and returns < 2 and rng.random() < 0.3:
                returns += 1
                b.refunded(oid, at)
    # Households buying in the same flash sale, a unit or two each.
    households: dict[str, list[tuple[str, str, dict[str, str], str]]] = {}
    for p in people:
        households.setdefault(p[2]["line1"] + p[2]["city"], []).append(p)
    for members in households.values():
        if len(members) > 1 and rng.random() < 0.3:
            sid, _, _, at, sale = b.stream()
            for k, (buyer, phone, addr, device) in enumerate(members):
                b.order(
                    buyer,
                    at + timedelta(minutes=3 * k),
                    phone=phone,
                    address=addr,
                    device=device,
                    units=rng.choice((1, 2)),
                    flash_sale=sale,
                    stream_id=sid,
                )


def _auctions(b: _Builder, sellers: list[tuple[str, str]], bidders: list[str], shills: dict[str, list[str]]) -> None:
    rng = b.rng
    favourite = {x: rng.randrange(len(sellers)) for x in bidders}
    for si, (vendor, _) in enumerate(sellers):
        shows = [s for s in b.streams if s[1] == vendor]
        for _ in range(rng.randint(4, 8)):
            sid, _, _, start, _ = rng.choice(shows)
            aid, at = b.new_id(), start
            b.emit("Auction.Created", aid, at, {"stream_id": sid, "product_id": b.new_id(), "mode": "english"}, sid)
            pool = [x for x in bidders if favourite[x] == si or rng.random() < 0.05]
            crowd = rng.sample(pool, min(len(pool), rng.randint(2, 6)))
            price, seq = 1000, []
            for x in crowd:
                seq += [x] * rng.randint(1, 3)
            for x in shills.get(vendor, []):
                if rng.random() < 0.8:
                    seq += [x] * rng.randint(2, 5)
                    b.plant("bidder", f"{aid}:{x}", "shill_bidding")
            rng.shuffle(seq)
            for x in seq:
                at += timedelta(seconds=rng.randint(5, 90))
                price += rng.choice((50, 100, 200))
                b.emit(
                    "Auction.BidPlaced",
                    aid,
                    at,
                    {"bid_id": b.new_id(), "bidder_id": x, "max_amount": f"{price}.00"},
                    sid,
                )
            honest = [x for x in seq if x not in shills.get(vendor, [])]
            if honest:
                winner = honest[-1]
                b.emit("Auction.Closed", aid, at + timedelta(minutes=5), {"outcome": "sold", "winner_id": winner}, sid)
                if rng.random() < 0.9:
                    b.emit("Auction.WinnerPaid", aid, at + timedelta(minutes=30), {"order_id": b.new_id()}, sid)


def _wallets(b: _Builder, owners: list[str], testers: int) -> None:
    """Honest viewers' wallets, then ``testers`` new accounts testing stolen cards."""
    rng = b.rng
    owners = [b.new_id() for _ in range(testers)] + owners
    for i, owner in enumerate(owners):
        wid, at = b.new_id(), _when(rng)
        tester = i < testers
        b.emit("CoinWallet.Opened", wid, at, {"user_id": owner})
        tries = rng.randint(6, 15) if tester else rng.randint(1, 5)
        for _ in range(tries):
            if tester:
                at += timedelta(minutes=rng.randint(1, 4))
            elif rng.random() < 0.3:  # another small pack in the same show, to keep gifting
                at += timedelta(minutes=rng.randint(5, 40))
            else:
                at += timedelta(hours=rng.randint(2, 24 * 6))
            tid = b.new_id()
            amount = rng.randint(10, 50) if tester else rng.choice((20, 50, 50, 100, 200, 500, 1000, 2000))
            b.emit(
                "CoinWallet.TopUpRequested",
                wid,
                at,
                {"top_up_id": tid, "coins": amount, "amount": f"{amount}.00", "payment_method": "card"},
            )
            failed = rng.random() < (0.8 if tester else 0.08)
            if failed:
                b.emit(
                    "CoinWallet.TopUpFailed", wid, at + timedelta(seconds=20), {"top_up_id": tid, "reason": "declined"}
                )
                if not tester:  # an honest viewer retries once, a little later
                    at += timedelta(minutes=rng.randint(2, 20))
                    tid2 = b.new_id()
                    b.emit(
                        "CoinWallet.TopUpRequested",
                        wid,
                        at,
                        {"top_up_id": tid2, "coins": amount, "amount": f"{amount}.00", "payment_method": "bkash"},
                    )
                    b.emit("CoinWallet.ToppedUp", wid, at + timedelta(seconds=20), {"top_up_id": tid2, "coins": amount})
            else:
                b.emit("CoinWallet.ToppedUp", wid, at + timedelta(seconds=20), {"top_up_id": tid, "coins": amount})
            if rng.random() < 0.5:
                sid, _, host, _, _ = b.stream()
                b.emit(
                    "CoinWallet.GiftSent",
                    wid,
                    at + timedelta(minutes=1),
                    {"stream_id": sid, "gift_id": "rose", "quantity": 1, "coins": 10, "host_id": host, "message": None},
                )
        if tester:
            b.plant("wallet", wid, "card_testing")
            b.bad.add(owner)


def _fraud(b: _Builder, sellers: list[tuple[str, str]], scale: int) -> dict[str, list[str]]:
    """Plants every pattern; returns the shill bidders per seller (vendor id)."""
    rng = b.rng
    for _ in range(scale):  # purchase velocity: one account, many orders within the hour, each to another place
        acct, device, at = b.new_id(), b.new_id(), _when(rng)
        for _ in range(rng.randint(5, 9)):
            at += timedelta(minutes=rng.randint(2, 9))
            b.order(
                acct,
                at,
                phone=b.phone(),
                address=b.address(),
                device=device,
                method=rng.choice(Online),
                fraud="purchase_velocity",
            )
    for k in range(scale):  # fake COD rings: one phone, several accounts, many orders in a day
        phone, at = b.phone(), _when(rng)
        accounts = [b.new_id() for _ in range(rng.randint(2, 6))]
        vague = k % 2 == 1  # half of them give no street at all (an area and a city): no address to count
        for i in range(rng.randint(6, 12)):
            at += timedelta(minutes=rng.randint(10, 120))
            addr = {"area": b.address()["area"], "city": "Dhaka"} if vague else b.address()
            b.order(
                accounts[i] if i < len(accounts) else rng.choice(accounts),
                at,
                phone=phone,
                address=addr,
                device=b.new_id(),
                method="cod",
                fraud="shared_phone_ring",
            )
    for _ in range(scale):  # account farms at one address
        addr, at = b.address(), _when(rng)
        for _ in range(rng.randint(4, 8)):
            acct = b.new_id()
            for _ in range(rng.randint(1, 2)):
                at += timedelta(hours=rng.randint(1, 30))
                b.order(
                    acct,
                    at,
                    phone=b.phone(),
                    address=addr,
                    device=b.new_id(),
                    method="cod",
                    fraud="shared_address_farm",
                )
    for _ in range(scale + 2):  # serial door refusers
        acct, phone, addr, device, at = b.new_id(), b.phone(), b.address(), b.new_id(), _when(rng)
        for _ in range(rng.randint(3, 5)):
            at += timedelta(days=rng.randint(1, 4))
            oid = b.order(acct, at, phone=phone, address=addr, device=device, method="cod", fraud="cod_refusal_history")
            b.refused_at_door(oid, at)
    for _ in range(scale):  # flash-sale hoarding through accounts on one device (or at one address)
        sid, _, _, at, sale = b.stream()
        device, addr = b.new_id(), b.address()
        one_device = rng.random() < 0.5
        for k in range(rng.randint(3, 6)):
            b.order(
                b.new_id(),
                at + timedelta(minutes=k),
                phone=b.phone(),
                address=addr if not one_device else b.address(),
                device=device if one_device else b.new_id(),
                units=rng.choice((2, 3)),
                flash_sale=sale,
                stream_id=sid,
                fraud="flash_sale_hoarding",
            )
    for _ in range(scale):  # refund abuse
        acct, phone, addr, device, at = b.new_id(), b.phone(), b.address(), b.new_id(), _when(rng)
        for _ in range(rng.randint(5, 8)):
            at += timedelta(days=rng.randint(1, 3))
            oid = b.order(acct, at, phone=phone, address=addr, device=device, method="bkash")
            if rng.random() < 0.8:
                b.refunded(oid, at)
        b.plant("buyer", acct, "refund_abuse")
        b.bad.add(acct)
        b.honest.discard(acct)
    shills: dict[str, list[str]] = {}
    for vendor, _host in rng.sample(sellers, min(len(sellers), scale)):  # shill bidders tied to the seller
        # The seller's own account bought once (its phone and address are known), and so did the shill's.
        v_phone, v_addr = b.phone(), b.address()
        b.order(vendor, T0, phone=v_phone, address=v_addr, device=b.new_id())
        for _ in range(rng.randint(1, 2)):
            x = b.new_id()
            b.order(
                x,
                T0 + timedelta(hours=1),
                phone=v_phone if rng.random() < 0.5 else b.phone(),
                address=v_addr,
                device=b.new_id(),
            )
            b.honest.discard(x)
            b.bad.add(x)
            shills.setdefault(vendor, []).append(x)
    return shills


def generate(
    seed: int,
    *,
    buyers: int = 400,
    sellers: int = 8,
    scale: int = 6,
    wallets: int = 150,
    new_id: Callable[[], str] | None = None,
) -> History:
    rng = random.Random(seed)
    b = _Builder(rng, new_id or (lambda: str(uuid.UUID(int=rng.getrandbits(128), version=4))))
    sellers_ = [b.seller(4) for _ in range(sellers)]
    people = _honest_buyers(b, buyers)
    _honest_orders(b, people)
    shills = _fraud(b, sellers_, scale) if scale else {}
    bidders = [p[0] for p in rng.sample(people, min(len(people), max(buyers // 5, 3)))]
    _auctions(b, sellers_, bidders, shills)
    _wallets(b, [p[0] for p in rng.sample(people, min(len(people), wallets))], testers=scale + 2 if scale else 0)
    honest = b.honest - b.bad
    return History(b.envelopes(), b.fraud, honest, b.bad, b.patterns, b.households & honest)


def honest_history(seed: int, buyers: int = 12) -> History:
    """Only honest buyers, bidders and wallets (the property test's histories)."""
    return generate(seed, buyers=buyers, sellers=3, scale=0, wallets=buyers // 2, new_id=lambda: str(uuid.uuid4()))
