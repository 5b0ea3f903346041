"""Auction: a live auction during a stream, with proxy bidding, a reserve, and a winner who must pay in time.

Viewers bid from phones on flaky networks, so each bid is a *maximum* (proxy bidding): the visible price
rises only as far as needed to keep the leader ahead — second-highest maximum plus one increment, capped at
the leader's maximum — and nobody has to sit refreshing. Anti-sniping (a late bid extends the end) or sudden
death (no extension) is fixed at creation so the rules cannot change mid-show. After closing, at most one
bidder is the winner at any time; if they do not pay by the deadline the lot is offered to the next bidder.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.commerce_errors import (
    AuctionClosed,
    AuctionNotOpen,
    AuctionStillRunning,
    BidderBlocked,
    BidderUnderReview,
    BidTooLow,
    Id,
    InvalidAuctionTerms,
    NoAuctionWinner,
    ReservePriceNotMet,
    WinnerStillHasTime,
    require_money,
    require_quantity,
)
from domain.show_scoped import ShowScoped

MODES = ("anti_sniping", "sudden_death")


def increment_at(increments: list[list[Decimal]], price: Decimal) -> Decimal:
    """The step above ``price``: the tier with the highest from_price not above it."""
    step = increments[0][1]
    for from_price, increment in increments:
        if from_price <= price:
            step = increment
    return step


class Auction(ShowScoped):
    """States: open → awarded → sold; open → unsold; awarded → (winner defaults) awarded to next / unsold."""

    class Event(ShowScoped.Event):
        pass

    class Created(Event, Aggregate.Created):
        product_id: Id
        stream_id: Id | None
        starting_price: Decimal
        increments: list[list[Decimal]]  # [[from_price, increment], ...], ascending
        reserve_price: Decimal | None
        starts_at: datetime
        ends_at: datetime
        mode: str
        extension_seconds: int
        pay_within_seconds: int

    def __init__(
        self,
        product_id: Id,
        stream_id: Id | None,
        starting_price: Decimal,
        increments: list[list[Decimal]],
        reserve_price: Decimal | None,
        starts_at: datetime,
        ends_at: datetime,
        mode: str,
        extension_seconds: int,
        pay_within_seconds: int,
    ) -> None:
        self.product_id = product_id
        self.stream_id = stream_id
        self.starting_price = starting_price
        self.increments = [list(tier) for tier in increments]
        self.reserve_price = reserve_price
        self.starts_at = starts_at
        self.ends_at = ends_at
        self.mode = mode
        self.extension_seconds = extension_seconds
        self.pay_within_seconds = pay_within_seconds
        self.status = "open"
        self.maxima: dict[Id, dict[str, Any]] = {}  # bidder -> {max, seq}; seq breaks ties: earlier wins
        self.held_bidders: dict[str, dict[str, str]] = {}  # bidder -> {case_id, status}: fraud review (issue 17)
        self.bid_ids: set[Id] = set()
        self.bid_count = 0
        self.leader_id: Id | None = None
        self.current_price: Decimal | None = None
        self.outcome: str | None = None
        self.winner_id: Id | None = None
        self.winning_price: Decimal | None = None
        self.pay_by: datetime | None = None
        self.order_id: Id | None = None
        self.defaulted: list[Id] = []

    @classmethod
    def create(
        cls,
        *,
        id: UUID,  # noqa: A002 - the library's name for the aggregate id
        now: datetime,
        product_id: Id,
        starting_price: Decimal,
        increments: list[tuple[Decimal, Decimal]],
        starts_at: datetime,
        ends_at: datetime,
        stream_id: Id | None = None,
        reserve_price: Decimal | None = None,
        mode: str = "anti_sniping",
        extension_seconds: int = 30,
        pay_within_seconds: int = 3600,
    ) -> Auction:
        start = require_money(starting_price, "starting_price", positive=True)
        tiers = [[require_money(f, "from_price"), require_money(i, "increment", positive=True)] for f, i in increments]
        if not tiers or tiers[0][0] > start or any(a[0] >= b[0] for a, b in zip(tiers, tiers[1:], strict=False)):
            raise InvalidAuctionTerms("increments must ascend by from_price, the first at or below the start")
        reserve = None if reserve_price is None else require_money(reserve_price, "reserve_price")
        if reserve is not None and reserve < start:
            raise InvalidAuctionTerms("reserve_price must not be below starting_price")
        if mode not in MODES:
            raise InvalidAuctionTerms(f"mode must be one of {MODES}", mode=mode)
        require_quantity(extension_seconds, "extension_seconds")
        require_quantity(pay_within_seconds, "pay_within_seconds")
        if ends_at <= starts_at or ends_at <= now:
            raise InvalidAuctionTerms("ends_at must be after starts_at and in the future")
        return cls._create(
            cls.Created,
            id=id,
            timestamp=now,
            product_id=product_id,
            stream_id=stream_id,
            starting_price=start,
            increments=tiers,
            reserve_price=reserve,
            starts_at=starts_at,
            ends_at=ends_at,
            mode=mode,
            extension_seconds=extension_seconds,
            pay_within_seconds=pay_within_seconds,
        )

    # ---- price ---------------------------------------------------------------------------------------
    def standing(self, excluding: list[Id] | None = None) -> tuple[Id | None, Decimal | None]:
        """Leader and visible price from the bidders' maxima (a pure function, so replay is exact)."""
        ranked = sorted(
            ((m["max"], -m["seq"], bidder) for bidder, m in self.maxima.items() if bidder not in (excluding or [])),
            reverse=True,
        )
        if not ranked:
            return None, None
        top_max, _, leader = ranked[0]
        price = self.starting_price
        if len(ranked) > 1:
            second = ranked[1][0]
            price = max(price, min(top_max, second + increment_at(self.increments, second)))
        if self.reserve_price is not None and top_max >= self.reserve_price:
            price = max(price, self.reserve_price)  # a met reserve shows at once: the lot will sell
        return leader, price

    def minimum_bid(self, bidder_id: Id) -> Decimal:
        if bidder_id in self.maxima and bidder_id == self.leader_id:
            own: Decimal = self.maxima[bidder_id]["max"]
            return own + Decimal("0.01")  # the leader may only raise their maximum
        if self.current_price is None:
            return self.starting_price
        return self.current_price + increment_at(self.increments, self.current_price)

    # ---- bidding -------------------------------------------------------------------------------------
    class BidPlaced(Event):
        bid_id: Id
        bidder_id: Id
        max_amount: Decimal

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Auction)
            aggregate.bid_count += 1
            aggregate.bid_ids.add(self.bid_id)
            aggregate.maxima[self.bidder_id] = {"max": self.max_amount, "seq": aggregate.bid_count}
            aggregate.leader_id, aggregate.current_price = aggregate.standing()

    class StandingChanged(Event):
        leader_id: Id
        price: Decimal
        bid_count: int

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Auction)
            aggregate.leader_id, aggregate.current_price = self.leader_id, self.price

    class Extended(Event):
        ends_at: datetime

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Auction)
            aggregate.ends_at = self.ends_at

    # ---- fraud review (shill bidding, issue 17) -------------------------------------------------------
    class BidderHeld(Event):
        bidder_id: str
        case_id: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Auction)
            aggregate.held_bidders[self.bidder_id] = {"case_id": self.case_id, "status": "open"}

    class BidderReviewDecided(Event):
        bidder_id: str
        case_id: str
        decision: str  # clear | confirm

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Auction)
            if self.decision == "clear":
                aggregate.held_bidders.pop(self.bidder_id, None)
            else:
                aggregate.held_bidders[self.bidder_id] = {"case_id": self.case_id, "status": "confirmed"}

    def hold_bidder(self, *, bidder_id: str, case_id: str, now: datetime) -> bool:
        """The detector suspects this bidder of shill bidding here: their next bids wait for the review."""
        if bidder_id in self.held_bidders:
            return False
        self.trigger_event(self.BidderHeld, timestamp=now, bidder_id=bidder_id, case_id=case_id)
        return True

    def bidder_review_decided(self, *, bidder_id: str, case_id: str, decision: str, now: datetime) -> bool:
        held = self.held_bidders.get(bidder_id)
        if held is None or held["case_id"] != case_id or held["status"] != "open":
            return False
        self.trigger_event(
            self.BidderReviewDecided, timestamp=now, bidder_id=bidder_id, case_id=case_id, decision=decision
        )
        return True

    def place_bid(self, *, bid_id: Id, bidder_id: Id, max_amount: Decimal, now: datetime) -> None:
        """Bid up to ``max_amount``. A redelivered bid (same id) is a no-op."""
        if bid_id in self.bid_ids:
            return
        held = self.held_bidders.get(str(bidder_id))
        if held is not None:
            if held["status"] == "open":
                raise BidderUnderReview("your bids here are held for a fraud review", case_id=held["case_id"])
            raise BidderBlocked("fraud was confirmed on your bids here", case_id=held["case_id"])
        if now < self.starts_at:
            raise AuctionNotOpen("bidding has not started", starts_at=self.starts_at.isoformat())
        if self.status != "open" or now >= self.ends_at:
            raise AuctionClosed("bidding is over", status=self.status)
        amount = require_money(max_amount, "max_amount", positive=True)
        minimum = self.minimum_bid(bidder_id)
        if amount < minimum:
            raise BidTooLow(f"the lowest acceptable bid is {minimum}", minimum=str(minimum))
        before = (self.leader_id, self.current_price)
        self.trigger_event(self.BidPlaced, timestamp=now, bid_id=bid_id, bidder_id=bidder_id, max_amount=amount)
        if self.mode == "anti_sniping" and self.ends_at - now <= timedelta(seconds=self.extension_seconds):
            ends_at = self.ends_at + timedelta(seconds=self.extension_seconds)
            self.trigger_event(self.Extended, timestamp=now, ends_at=ends_at)
        if (self.leader_id, self.current_price) != before:
            # The visible outcome as a fact: read models and viewers see the price without the bidders' maxima.
            self.trigger_event(
                self.StandingChanged,
                timestamp=now,
                leader_id=self.leader_id,
                price=self.current_price,
                bid_count=self.bid_count,
            )

    # ---- closing and paying --------------------------------------------------------------------------
    class Closed(Event):
        outcome: str  # awarded | no_bids | reserve_not_met
        winner_id: Id | None
        winning_price: Decimal | None
        pay_by: datetime | None

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Auction)
            aggregate.outcome = self.outcome
            aggregate.status = "awarded" if self.winner_id is not None else "unsold"
            aggregate._award(self.winner_id, self.winning_price, self.pay_by)

    def _award(self, winner_id: Id | None, price: Decimal | None, pay_by: datetime | None) -> None:
        self.winner_id, self.winning_price, self.pay_by = winner_id, price, pay_by

    def close(self, *, now: datetime, show_ended: bool = False) -> None:
        """At ``ends_at``, or earlier when the show it belongs to has ended: the leader wins at the visible
        price (if the reserve is met) and has ``pay_within_seconds`` from now to pay."""
        if self.status != "open":
            raise AuctionClosed("the auction is already closed", status=self.status)
        if now < self.ends_at and not show_ended:
            raise AuctionStillRunning("bidding is still open", ends_at=self.ends_at.isoformat())
        leader, price = self.standing()
        if leader is None:
            outcome = "no_bids"
        elif self.reserve_price is not None and self.maxima[leader]["max"] < self.reserve_price:
            outcome, leader, price = "reserve_not_met", None, None
        else:
            outcome = "awarded"
        pay_by = now + timedelta(seconds=self.pay_within_seconds) if leader is not None else None
        self.trigger_event(
            self.Closed, timestamp=now, outcome=outcome, winner_id=leader, winning_price=price, pay_by=pay_by
        )

    class WinnerPaid(Event):
        order_id: Id

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Auction)
            aggregate.status = "sold"
            aggregate.order_id = self.order_id

    def mark_winner_paid(self, *, order_id: Id, now: datetime) -> None:
        """The winner paid. Accepted until ``offer_to_next`` moves the lot on, even a little late."""
        if self.status == "sold" and self.order_id == order_id:
            return
        if self.status != "awarded":
            if self.outcome == "reserve_not_met":
                raise ReservePriceNotMet("no bid reached the reserve price")
            raise NoAuctionWinner(f"a {self.status} auction has no winner to pay", status=self.status)
        self.trigger_event(self.WinnerPaid, timestamp=now, order_id=order_id)

    class WinnerDefaulted(Event):
        bidder_id: Id

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Auction)
            aggregate.defaulted.append(self.bidder_id)
            aggregate._award(None, None, None)

    class OfferedToNext(Event):
        winner_id: Id
        winning_price: Decimal
        pay_by: datetime

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Auction)
            aggregate._award(self.winner_id, self.winning_price, self.pay_by)

    class Unsold(Event):
        reason: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Auction)
            aggregate.status = "unsold"

    def offer_to_next(self, *, now: datetime) -> None:
        """The winner missed the deadline: the next bidder wins at the price the others would have set."""
        if self.status != "awarded":
            raise NoAuctionWinner(f"a {self.status} auction has no unpaid winner", status=self.status)
        assert self.winner_id is not None and self.pay_by is not None
        if now <= self.pay_by:
            raise WinnerStillHasTime("the winner can still pay", pay_by=self.pay_by.isoformat())
        self.trigger_event(self.WinnerDefaulted, timestamp=now, bidder_id=self.winner_id)
        leader, price = self.standing(excluding=self.defaulted)
        if leader is None or price is None:
            self.trigger_event(self.Unsold, timestamp=now, reason="no_other_bidder")
        elif self.reserve_price is not None and self.maxima[leader]["max"] < self.reserve_price:
            self.trigger_event(self.Unsold, timestamp=now, reason="reserve_not_met")
        else:
            pay_by = now + timedelta(seconds=self.pay_within_seconds)
            self.trigger_event(self.OfferedToNext, timestamp=now, winner_id=leader, winning_price=price, pay_by=pay_by)
