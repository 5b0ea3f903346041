"""CoinWallet: top-ups credited once, gifts spent once per key, and the balance never below zero."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import hypothesis.strategies as st
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from domain.coin_wallet import CoinWallet, InsufficientCoins, InvalidCoinAmount, TopUpKeyReused, TopUpMismatch
from domain.gift_catalogue import GiftCatalogue, InvalidGift
from tests.unit.aggregates import MAPPER, fold, new_events, refused

NOW = datetime(2026, 12, 4, 19, 0, tzinfo=UTC)
HOST = str(uuid.uuid4())


def wallet(coins: int = 0) -> CoinWallet:
    w = CoinWallet.open(id=uuid.uuid4(), now=NOW, user_id=str(uuid.uuid4()))
    if coins:
        credit(w, "t0", coins)
    return w


def credit(w: CoinWallet, top_up_id: str, coins: int) -> None:
    w.request_top_up(
        top_up_id=top_up_id,
        coins=coins,
        amount=Decimal(coins).quantize(Decimal("0.01")),
        payment_method="bkash",
        now=NOW,
    )
    w.session_opened(top_up_id=top_up_id, provider_payment_id=f"p-{top_up_id}", payment_url="u", now=NOW)
    w.settle_top_up(
        top_up_id=top_up_id,
        method="bkash",
        provider_payment_id=f"p-{top_up_id}",
        status="completed",
        amount=Decimal(coins),
        reference=top_up_id,
        reason=None,
        now=NOW,
    )


def send(w: CoinWallet, send_id: str, quantity: int, unit: int = 10) -> dict[str, object]:
    return w.send_gift(
        send_id=send_id,
        stream_id="s",
        gift_id="rose",
        quantity=quantity,
        unit_coins=unit,
        host_id=HOST,
        host_share_percent=Decimal("70"),
        coin_price=Decimal("1.00"),
        message="hi",
        from_name="Nusrat",
        now=NOW,
    )


def test_a_top_up_credits_once_whatever_the_provider_repeats() -> None:
    w = wallet()
    credit(w, "t1", 500)
    assert w.balance == 500
    again = dict(
        top_up_id="t1",
        method="bkash",
        provider_payment_id="p-t1",
        amount=Decimal(500),
        reference="t1",
        reason=None,
        now=NOW,
    )
    w.settle_top_up(status="completed", **again)  # type: ignore[arg-type]
    w.settle_top_up(status="failed", **again)  # type: ignore[arg-type]
    assert w.balance == 500
    assert new_events(w) == ["Opened", "TopUpRequested", "TopUpSessionOpened", "ToppedUp"]
    refused(w, TopUpMismatch, lambda: w.settle_top_up(**{**again, "reference": "t2", "status": "completed"}))
    refused(
        w,
        TopUpKeyReused,
        lambda: w.request_top_up(top_up_id="t1", coins=5, amount=Decimal(5), payment_method="bkash", now=NOW),
    )


def test_a_late_success_after_a_failure_still_credits() -> None:
    w = wallet()
    w.request_top_up(top_up_id="t", coins=50, amount=Decimal("50.00"), payment_method="nagad", now=NOW)
    common = dict(top_up_id="t", method="nagad", provider_payment_id="p", reference="t", reason="timeout", now=NOW)
    w.settle_top_up(status="failed", amount=None, **common)  # type: ignore[arg-type]
    assert w.balance == 0 and w.top_up("t")["status"] == "failed"
    refused(w, TopUpMismatch, lambda: w.settle_top_up(status="completed", amount=Decimal(49), **common))
    w.settle_top_up(status="completed", amount=Decimal(50), **common)  # type: ignore[arg-type]
    assert w.balance == 50 and w.collect_events()[-1].after_failure is True  # type: ignore[attr-defined]


def test_gifts_spend_once_per_key_and_refuse_what_the_wallet_lacks() -> None:
    w = wallet(100)
    first = send(w, "k1", 3)
    assert (first["coins"], first["balance"], w.balance) == (30, 70, 70)
    assert send(w, "k1", 3) == first and w.balance == 70  # a retry
    refused(w, TopUpKeyReused, lambda: send(w, "k1", 4))
    err = refused(w, InsufficientCoins, lambda: send(w, "k2", 8))
    assert err.details == {"needed": 80, "balance": 70}
    for bad in (0, -1, 1000, 10**30):
        refused(w, InvalidCoinAmount, lambda q=bad: send(w, "k3", q))
    event = w.collect_events()[-1]
    assert event.host_amount == Decimal("21.00") and event.host_id == HOST  # type: ignore[attr-defined]


def test_replay_equals_the_live_wallet() -> None:
    w = wallet(100)
    send(w, "a", 2)
    send(w, "b", 5)
    events = [MAPPER.to_domain_event(MAPPER.to_stored_event(e)) for e in w.collect_events()]
    replayed = fold(events)
    assert w.balance == 30
    assert (replayed.balance, replayed.sends, replayed.top_ups) == (w.balance, w.sends, w.top_ups)


def test_the_catalogue_checks_its_gifts() -> None:
    c = GiftCatalogue.start(now=NOW)
    assert c.list_gift(gift_id="rose", name="Rose", name_bn="গোলাপ", coins=10, animation_key="rose", now=NOW)
    assert not c.list_gift(gift_id="rose", name="Rose", name_bn="গোলাপ", coins=10, animation_key="rose", now=NOW)
    for bad in ({"gift_id": "Bad Id"}, {"coins": 0}, {"name_bn": " "}):
        gift = {"gift_id": "x", "name": "X", "name_bn": "এক্স", "coins": 1, "animation_key": "x", **bad}
        refused(c, InvalidGift, lambda g=gift: c.list_gift(now=NOW, **g))  # type: ignore[arg-type]


class WalletMachine(RuleBasedStateMachine):
    """Top-ups, their repeats, gift sends and retries in any order: the wallet agrees with a plain model."""

    def __init__(self) -> None:
        super().__init__()
        self.w = wallet()
        self.model = 0
        self.credited: set[str] = set()
        self.requested: dict[str, int] = {}
        self.sent: dict[str, int] = {}

    @rule(n=st.integers(0, 5), coins=st.integers(1, 300))
    def request(self, n: int, coins: int) -> None:
        tid = f"t{n}"
        if tid in self.requested:
            return
        self.w.request_top_up(top_up_id=tid, coins=coins, amount=Decimal(coins), payment_method="bkash", now=NOW)
        self.requested[tid] = coins

    @precondition(lambda self: self.requested)
    @rule(data=st.data(), status=st.sampled_from(["completed", "failed", "processing"]))
    def provider_answers(self, data: st.DataObject, status: str) -> None:
        tid = data.draw(st.sampled_from(sorted(self.requested)))
        self.w.settle_top_up(
            top_up_id=tid,
            method="bkash",
            provider_payment_id=None,
            status=status,
            amount=Decimal(self.requested[tid]),
            reference=tid,
            reason=None,
            now=NOW,
        )
        if status == "completed" and tid not in self.credited:
            self.credited.add(tid)
            self.model += self.requested[tid]

    @rule(key=st.integers(0, 8), quantity=st.integers(-3, 1200), unit=st.sampled_from([1, 10, 99]))
    def send_gift(self, key: int, quantity: int, unit: int) -> None:
        sid = f"g{key}"
        try:
            sent = send(self.w, sid, quantity, unit)
        except (InsufficientCoins, InvalidCoinAmount, TopUpKeyReused):
            assert sid in self.sent or quantity < 1 or quantity > 999 or quantity * unit > self.model
            return
        if sid not in self.sent:
            assert 1 <= quantity <= 999 and quantity * unit <= self.model
            self.sent[sid] = int(sent["coins"])  # type: ignore[call-overload]
            self.model -= self.sent[sid]

    @invariant()
    def agrees(self) -> None:
        assert self.w.balance == self.model >= 0


TestWalletMachine = WalletMachine.TestCase
TestWalletMachine.settings = settings(max_examples=25, stateful_step_count=30, deadline=None)
