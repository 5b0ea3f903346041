"""CoinWallet: a viewer's coins, bought through a payment provider and spent on virtual gifts (issue 14 part 3).

The balance changes only when an event is applied, and every fold checks it is never below zero, so no command
(however it races with others) can leave a wallet negative: a spend that would is refused before it triggers.

A top-up is requested, its provider session opened, and then settled once by the provider's own answer (never a
callback's claim): ``ToppedUp`` credits the coins exactly once; a repeated or late answer changes nothing, a
failure is recorded once, and money the provider confirms after we gave up still credits (it was captured).

A gift send is exactly-once by its ``send_id`` (derived by the application from the sender's Idempotency-Key):
the wallet remembers what each send was, so a retry changes nothing and answers the same.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import DomainError, NotFound

MAX_TOP_UP_COINS = 100_000
MAX_GIFT_QUANTITY = 999
CENTS = Decimal("0.01")


class InsufficientCoins(DomainError):
    code = "insufficient_coins"


class InvalidCoinAmount(DomainError):
    code = "invalid_coin_amount"
    http_status = 422


class TopUpNotFound(NotFound):
    code = "top_up_not_found"


class TopUpKeyReused(DomainError):
    """The same Idempotency-Key sent again with another top-up or gift."""

    code = "idempotency_key_reused"
    http_status = 422


class TopUpMismatch(DomainError):
    """A provider answer that came through another method's door, names another top-up or another amount."""

    code = "top_up_mismatch"


class CannotGiftSelf(DomainError):
    code = "cannot_gift_self"


class WalletUnderReview(DomainError):
    """A fraud case is open on this wallet (card testing on top-ups): no top-up or gift until an admin decides."""

    code = "wallet_under_review"


class WalletBlocked(DomainError):
    """An admin confirmed fraud on this wallet: it buys and sends nothing any more."""

    code = "wallet_blocked"


def _check(wallet: CoinWallet, recorded: int) -> None:
    """Every fold checks the invariant: unreachable through the verbs, so a break is a corrupt history."""
    if wallet.balance < 0 or wallet.balance != recorded:
        raise AssertionError(f"coin wallet {wallet.id}: balance {wallet.balance}, event says {recorded}")


def _plain(reference: str) -> str:
    return reference.replace("-", "").lower()


class CoinWallet(Aggregate):
    class Opened(Aggregate.Created):
        user_id: str

    class TopUpRequested(Aggregate.Event):
        top_up_id: str
        coins: int
        amount: Decimal
        payment_method: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, CoinWallet)
            aggregate.top_ups[self.top_up_id] = {
                "coins": self.coins,
                "amount": self.amount,
                "payment_method": self.payment_method,
                "status": "requested",
                "provider_payment_id": None,
                "payment_url": None,
            }

    class TopUpSessionOpened(Aggregate.Event):
        top_up_id: str
        provider_payment_id: str
        payment_url: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, CoinWallet)
            t = aggregate.top_ups[self.top_up_id]
            t.update(status="processing", provider_payment_id=self.provider_payment_id, payment_url=self.payment_url)

    class ToppedUp(Aggregate.Event):
        top_up_id: str
        coins: int
        balance: int
        after_failure: bool

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, CoinWallet)
            aggregate.top_ups[self.top_up_id]["status"] = "credited"
            aggregate.balance += self.coins
            _check(aggregate, self.balance)

    class TopUpFailed(Aggregate.Event):
        top_up_id: str
        reason: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, CoinWallet)
            aggregate.top_ups[self.top_up_id]["status"] = "failed"

    class GiftSent(Aggregate.Event):
        send_id: str
        sender_id: str  # the wallet's user (leaderboards: top gifters, a host's top fans)
        stream_id: str
        gift_id: str
        quantity: int
        unit_coins: int
        coins: int
        host_id: str
        host_share_percent: Decimal
        host_amount: Decimal  # taka the host earns: coins × coin price × share
        message: str | None
        from_name: str
        balance: int

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, CoinWallet)
            aggregate.balance -= self.coins
            aggregate.sends[self.send_id] = {
                "stream_id": self.stream_id,
                "gift_id": self.gift_id,
                "quantity": self.quantity,
                "coins": self.coins,
                "balance": self.balance,
                "version": self.originator_version,
            }
            _check(aggregate, self.balance)

    class HeldForReview(Aggregate.Event):
        """The fraud detector opened a case on this wallet (issue 17): top-ups and gifts wait for the review."""

        case_id: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, CoinWallet)
            aggregate.review = {"case_id": self.case_id, "status": "open"}

    class ReviewDecided(Aggregate.Event):
        """An admin decided the wallet's case: ``clear`` releases it, ``confirm`` blocks it for good."""

        case_id: str
        decision: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, CoinWallet)
            aggregate.review = None if self.decision == "clear" else {"case_id": self.case_id, "status": "confirmed"}

    def __init__(self, user_id: str) -> None:
        self.user_id = user_id
        self.balance = 0
        self.review: dict[str, str] | None = None  # a fraud case holding the wallet (open or confirmed)
        self.top_ups: dict[str, dict[str, Any]] = {}
        self.sends: dict[str, dict[str, Any]] = {}  # send_id -> what it was, for retries

    @classmethod
    def open(cls, *, id: UUID, now: datetime, user_id: str) -> CoinWallet:  # noqa: A002
        return cls._create(cls.Opened, id=id, timestamp=now, user_id=user_id)

    # ---- fraud review --------------------------------------------------------------------------------
    def hold_for_review(self, *, case_id: str, now: datetime) -> bool:
        """→ False when this case holds the wallet already (asked again)."""
        if self.review is not None and self.review["case_id"] == case_id:
            return False
        self.trigger_event(self.HeldForReview, timestamp=now, case_id=case_id)
        return True

    def review_decided(self, *, case_id: str, decision: str, now: datetime) -> bool:
        if self.review is None or self.review["case_id"] != case_id or self.review["status"] != "open":
            return False
        self.trigger_event(self.ReviewDecided, timestamp=now, case_id=case_id, decision=decision)
        return True

    def check_not_held(self) -> None:
        if self.review is None:
            return
        if self.review["status"] == "open":
            raise WalletUnderReview("this wallet is held for a fraud review", case_id=self.review["case_id"])
        raise WalletBlocked("fraud was confirmed on this wallet", case_id=self.review["case_id"])

    # ---- top-ups -------------------------------------------------------------------------------------
    def request_top_up(
        self, *, top_up_id: str, coins: int, amount: Decimal, payment_method: str, now: datetime
    ) -> bool:
        """→ False when this top-up was already requested (a retry), True when recorded now."""
        existing = self.top_ups.get(top_up_id)
        if existing is not None:
            if existing["coins"] != coins or existing["payment_method"] != payment_method:
                raise TopUpKeyReused("this Idempotency-Key was used for another top-up", top_up_id=top_up_id)
            return False
        self.check_not_held()
        if isinstance(coins, bool) or not isinstance(coins, int) or not 1 <= coins <= MAX_TOP_UP_COINS:
            raise InvalidCoinAmount(f"a top-up buys 1 to {MAX_TOP_UP_COINS} coins", coins=coins)
        if amount <= 0 or amount != amount.quantize(CENTS):
            raise InvalidCoinAmount("the amount must be positive taka with at most 2 decimals")
        self.trigger_event(
            self.TopUpRequested,
            timestamp=now,
            top_up_id=top_up_id,
            coins=coins,
            amount=amount,
            payment_method=payment_method,
        )
        return True

    def top_up(self, top_up_id: str) -> dict[str, Any]:
        found = self.top_ups.get(top_up_id)
        if found is None:
            raise TopUpNotFound("top-up not found", top_up_id=top_up_id)
        return found

    def session_opened(self, *, top_up_id: str, provider_payment_id: str, payment_url: str, now: datetime) -> None:
        t = self.top_up(top_up_id)
        if t["provider_payment_id"] is None and t["status"] == "requested":
            self.trigger_event(
                self.TopUpSessionOpened,
                timestamp=now,
                top_up_id=top_up_id,
                provider_payment_id=provider_payment_id,
                payment_url=payment_url,
            )

    def settle_top_up(
        self,
        *,
        top_up_id: str,
        method: str,
        provider_payment_id: str | None,
        status: str,
        amount: Decimal | None,
        reference: str | None,
        reason: str | None,
        now: datetime,
    ) -> None:
        """Apply the provider's own answer about a top-up; safe to call again with any answer, in any order."""
        t = self.top_up(top_up_id)
        if method != t["payment_method"]:
            raise TopUpMismatch(f"this top-up is paid by {t['payment_method']}, not {method}")
        if reference is None or _plain(reference) != _plain(top_up_id):
            raise TopUpMismatch("the provider's transaction belongs to another payment", reference=reference)
        if t["provider_payment_id"] is not None and provider_payment_id != t["provider_payment_id"]:
            raise TopUpMismatch("the provider's transaction is not this top-up's session")
        if t["status"] == "credited" or status == "processing":
            return  # credited once and for all; or nothing known yet
        if status == "completed":
            if amount is not None and amount != t["amount"]:
                raise TopUpMismatch("the provider captured another amount", amount=str(amount))
            self.trigger_event(
                self.ToppedUp,
                timestamp=now,
                top_up_id=top_up_id,
                coins=t["coins"],
                balance=self.balance + t["coins"],
                after_failure=t["status"] == "failed",
            )
        elif t["status"] != "failed":
            self.trigger_event(self.TopUpFailed, timestamp=now, top_up_id=top_up_id, reason=reason or status)

    # ---- gifts ---------------------------------------------------------------------------------------
    def sent(self, send_id: str, *, stream_id: str, gift_id: str, quantity: int) -> dict[str, Any] | None:
        """What the send ``send_id`` was, if it happened (a retry), checked against this request."""
        before = self.sends.get(send_id)
        if before is not None and (before["stream_id"], before["gift_id"], before["quantity"]) != (
            stream_id,
            gift_id,
            quantity,
        ):
            raise TopUpKeyReused("this Idempotency-Key was used for another gift", send_id=send_id)
        return before

    def send_gift(
        self,
        *,
        send_id: str,
        stream_id: str,
        gift_id: str,
        quantity: int,
        unit_coins: int,
        host_id: str,
        host_share_percent: Decimal,
        coin_price: Decimal,
        message: str | None,
        from_name: str,
        now: datetime,
    ) -> dict[str, Any]:
        """Spend ``quantity × unit_coins``; → the send as recorded (the first one's, for a retry)."""
        before = self.sent(send_id, stream_id=stream_id, gift_id=gift_id, quantity=quantity)
        if before is not None:
            return before
        self.check_not_held()
        if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_GIFT_QUANTITY:
            raise InvalidCoinAmount(f"a gift's quantity is 1 to {MAX_GIFT_QUANTITY}", quantity=quantity)
        if unit_coins < 1:
            raise InvalidCoinAmount("a gift costs at least one coin")
        if host_id == self.user_id:
            raise CannotGiftSelf("a host cannot send gifts to their own show")
        coins = quantity * unit_coins
        if coins > self.balance:
            raise InsufficientCoins("not enough coins for this gift", needed=coins, balance=self.balance)
        host_amount = (Decimal(coins) * coin_price * host_share_percent / 100).quantize(CENTS)
        self.trigger_event(
            self.GiftSent,
            timestamp=now,
            send_id=send_id,
            sender_id=self.user_id,
            stream_id=stream_id,
            gift_id=gift_id,
            quantity=quantity,
            unit_coins=unit_coins,
            coins=coins,
            host_id=host_id,
            host_share_percent=host_share_percent,
            host_amount=host_amount,
            message=message,
            from_name=from_name,
            balance=self.balance - coins,
        )
        return self.sends[send_id]
