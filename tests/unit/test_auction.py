"""Auction: proxy bidding, increments, reserve, anti-sniping or sudden death, paying or passing it on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from domain import commerce_errors as errors
from domain.auction import Auction, increment_at
from domain.errors import DomainError
from tests.unit.aggregates import fold, new_events, refused, round_trip

T0 = datetime(2024, 3, 17, 20, 0, tzinfo=UTC)
END = T0 + timedelta(minutes=5)
D = Decimal
TIERS = [(D("0"), D("100.00")), (D("5000.00"), D("250.00")), (D("20000.00"), D("500.00"))]


def an_auction(collect: bool = True, **kw: Any) -> Auction:
    terms: dict[str, Any] = {
        "id": UUID(int=1),
        "now": T0,
        "product_id": "nakshi-kantha-1",
        "stream_id": UUID(int=7),
        "starting_price": D("1000.00"),
        "increments": TIERS,
        "starts_at": T0,
        "ends_at": END,
        "extension_seconds": 30,
        "pay_within_seconds": 3600,
    }
    auction = Auction.create(**{**terms, **kw})
    if collect:
        auction.collect_events()
    return auction


def bid(auction: Auction, bidder: str, amount: str, at: datetime = T0, bid_id: str | None = None) -> None:
    auction.place_bid(bid_id=bid_id or f"{bidder}-{amount}", bidder_id=bidder, max_amount=D(amount), now=at)


# ---- terms ----------------------------------------------------------------------------------------------
def test_increment_table_picks_the_tier_below_the_price() -> None:
    tiers = [[D(a), D(b)] for a, b in TIERS]
    assert [increment_at(tiers, D(p)) for p in ("1000", "4999.99", "5000", "25000")] == [
        D("100.00"),
        D("100.00"),
        D("250.00"),
        D("500.00"),
    ]


@pytest.mark.parametrize(
    "change",
    [
        {"increments": []},
        {"increments": [(D("2000"), D("100"))]},
        {"increments": [(D("0"), D("100")), (D("0"), D("200"))]},
        {"increments": [(D("0"), D("0"))]},
        {"reserve_price": D("999.99")},
        {"mode": "dutch"},
        {"ends_at": T0},
        {"extension_seconds": 0},
    ],
)
def test_bad_terms_are_refused(change: dict[str, Any]) -> None:
    with pytest.raises((errors.InvalidAuctionTerms, errors.InvalidAmount, errors.InvalidQuantity)):
        an_auction(**change)


# ---- proxy bidding --------------------------------------------------------------------------------------
def test_first_bid_shows_the_starting_price_whatever_the_maximum() -> None:
    auction = an_auction()
    bid(auction, "rahim", "8000")
    events = auction.collect_events()
    assert [type(e).__name__ for e in events] == ["BidPlaced", "StandingChanged"]
    assert (events[-1].leader_id, events[-1].price) == ("rahim", D("1000.00"))  # type: ignore[attr-defined]
    assert (auction.leader_id, auction.current_price) == ("rahim", D("1000.00"))


def test_price_rises_only_to_second_maximum_plus_increment_capped_at_the_leaders_maximum() -> None:
    auction = an_auction()
    bid(auction, "rahim", "8000")
    bid(auction, "karim", "4000")
    assert (auction.leader_id, auction.current_price) == ("rahim", D("4100.00"))
    bid(auction, "karim", "7900")
    assert (auction.leader_id, auction.current_price) == ("rahim", D("8000.00"))  # capped at rahim's max
    bid(auction, "karim", "9000")
    assert (auction.leader_id, auction.current_price) == ("karim", D("8250.00"))  # 8000 + the 5000+ tier


def test_an_equal_maximum_loses_to_the_earlier_bid() -> None:
    auction = an_auction()
    bid(auction, "rahim", "3000")
    bid(auction, "karim", "3000")
    assert (auction.leader_id, auction.current_price) == ("rahim", D("3000.00"))


def test_bid_refusals() -> None:
    auction = an_auction()
    refused(auction, errors.BidTooLow, lambda: bid(auction, "rahim", "999.99"))
    refused(auction, errors.AuctionNotOpen, lambda: bid(auction, "rahim", "2000", at=T0 - timedelta(seconds=1)))
    refused(auction, errors.InvalidAmount, lambda: bid(auction, "rahim", "2000.001"))
    bid(auction, "rahim", "2000")
    bid(auction, "karim", "1500")  # price now 1600
    error = refused(auction, errors.BidTooLow, lambda: bid(auction, "salma", "1699.99"))
    assert error.details["minimum"] == "1700.00"
    refused(auction, errors.BidTooLow, lambda: bid(auction, "rahim", "2000", bid_id="again"))  # leader must raise
    refused(auction, errors.AuctionClosed, lambda: bid(auction, "salma", "9000", at=END))
    bid(auction, "rahim", "2000")  # the same bid id redelivered: no-op
    assert new_events(auction) == ["BidPlaced", "StandingChanged", "BidPlaced", "StandingChanged"]


def test_a_met_reserve_shows_at_once() -> None:
    auction = an_auction(reserve_price=D("5000.00"))
    bid(auction, "rahim", "4000")
    assert auction.current_price == D("1000.00")
    bid(auction, "rahim", "6000")
    assert auction.current_price == D("5000.00")


# ---- timing -------------------------------------------------------------------------------------------
def test_anti_sniping_extends_a_late_bid_by_n_seconds() -> None:
    auction = an_auction()
    bid(auction, "rahim", "2000", at=END - timedelta(seconds=31))
    bid(auction, "karim", "3000", at=END - timedelta(seconds=30))
    assert new_events(auction) == ["BidPlaced", "StandingChanged", "BidPlaced", "Extended", "StandingChanged"]
    assert auction.ends_at == END + timedelta(seconds=30)
    bid(auction, "rahim", "4000", at=END + timedelta(seconds=10))  # inside the extension: accepted, extends again
    assert auction.ends_at == END + timedelta(seconds=60)


def test_sudden_death_never_extends() -> None:
    auction = an_auction(mode="sudden_death")
    bid(auction, "rahim", "2000", at=END - timedelta(seconds=1))
    assert new_events(auction) == ["BidPlaced", "StandingChanged"] and auction.ends_at == END
    refused(auction, errors.AuctionClosed, lambda: bid(auction, "karim", "9000", at=END))


# ---- closing, paying, passing on ---------------------------------------------------------------------------
def test_close_awards_the_leader_at_the_visible_price_with_a_pay_by_deadline() -> None:
    auction = an_auction()
    refused(auction, errors.AuctionStillRunning, lambda: auction.close(now=END - timedelta(seconds=1)))
    bid(auction, "rahim", "8000")
    bid(auction, "karim", "4000")
    auction.close(now=END)
    assert new_events(auction)[-1] == "Closed"
    assert (auction.status, auction.winner_id, auction.winning_price) == ("awarded", "rahim", D("4100.00"))
    assert auction.pay_by == END + timedelta(hours=1)
    refused(auction, errors.AuctionClosed, lambda: auction.close(now=END))
    refused(auction, errors.WinnerStillHasTime, lambda: auction.offer_to_next(now=END + timedelta(hours=1)))
    auction.mark_winner_paid(order_id="o1", now=END + timedelta(minutes=5))
    auction.mark_winner_paid(order_id="o1", now=END + timedelta(minutes=6))
    assert new_events(auction) == ["WinnerPaid"] and auction.status == "sold"
    refused(auction, errors.NoAuctionWinner, lambda: auction.offer_to_next(now=END + timedelta(hours=2)))


def test_the_end_of_its_show_closes_an_auction_early_and_the_winner_has_their_full_time_to_pay() -> None:
    auction = an_auction()
    bid(auction, "rahim", "8000")
    bid(auction, "karim", "4000")
    auction.collect_events()
    at = END - timedelta(minutes=3)
    auction.close(now=at, show_ended=True)
    assert new_events(auction) == ["Closed"]
    assert (auction.status, auction.winner_id, auction.winning_price) == ("awarded", "rahim", D("4100.00"))
    assert auction.pay_by == at + timedelta(hours=1)
    refused(auction, errors.AuctionClosed, lambda: bid(auction, "karim", "9000", at=at))


@pytest.mark.parametrize(("reserve", "outcome"), [(None, "no_bids"), (D("9000.00"), "reserve_not_met")])
def test_close_without_a_sale(reserve: Decimal | None, outcome: str) -> None:
    auction = an_auction(reserve_price=reserve)
    if reserve:
        bid(auction, "rahim", "8999")
    auction.close(now=END)
    assert (auction.status, auction.outcome, auction.winner_id) == ("unsold", outcome, None)
    error = errors.ReservePriceNotMet if reserve else errors.NoAuctionWinner
    refused(auction, error, lambda: auction.mark_winner_paid(order_id="o", now=END))


def test_an_unpaid_winner_passes_the_lot_to_the_next_bidder_at_the_price_the_rest_set() -> None:
    auction = an_auction(reserve_price=D("2000.00"))
    bid(auction, "salma", "2500")
    bid(auction, "karim", "4000")
    bid(auction, "rahim", "8000")
    auction.close(now=END)
    auction.collect_events()
    late = END + timedelta(hours=1, seconds=1)
    auction.offer_to_next(now=late)
    assert new_events(auction) == ["WinnerDefaulted", "OfferedToNext"]
    assert (auction.winner_id, auction.winning_price, auction.pay_by) == (
        "karim",
        D("2600.00"),
        late + timedelta(hours=1),
    )
    auction.offer_to_next(now=late + timedelta(hours=2))
    assert auction.winner_id == "salma" and auction.winning_price == D("2000.00")  # alone: the reserve
    auction.offer_to_next(now=late + timedelta(hours=4))
    assert new_events(auction)[-1] == "Unsold" and auction.winner_id is None and auction.status == "unsold"
    assert auction.defaulted == ["rahim", "karim", "salma"]


def test_the_next_bidder_below_the_reserve_does_not_win() -> None:
    auction = an_auction(reserve_price=D("5000.00"))
    bid(auction, "karim", "4000")
    bid(auction, "rahim", "8000")
    auction.close(now=END)
    auction.collect_events()
    auction.offer_to_next(now=END + timedelta(hours=2))
    assert new_events(auction) == ["WinnerDefaulted", "Unsold"]


# ---- replay and serialisation ----------------------------------------------------------------------------
def test_replay_and_round_trip_rebuild_the_same_auction() -> None:
    auction = an_auction(collect=False, reserve_price=D("1500.50"))
    bid(auction, UUID(int=5), "1200.25", at=T0 + timedelta(microseconds=1))  # type: ignore[arg-type]
    bid(auction, "karim", "3000", at=END - timedelta(seconds=5))
    bid(auction, "salma", "2999.99", at=END)
    auction.close(now=END + timedelta(seconds=60))
    auction.offer_to_next(now=END + timedelta(hours=2))
    auction.mark_winner_paid(order_id=UUID(int=9), now=END + timedelta(hours=2, minutes=1))
    events = auction.collect_events()
    assert fold(events) == auction
    assert fold(round_trip(events)) == auction


# ---- any interleaving: at most one winner, the price never outruns the leader ------------------------------
class AuctionMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.auction = an_auction(
            collect=False, reserve_price=D("1500.00"), extension_seconds=20, ends_at=T0 + timedelta(minutes=2)
        )
        self.events = list(self.auction.collect_events())
        self.bids = 0
        self.last_price = D("0")
        self.last_end = self.auction.ends_at

    def attempt(self, command: Any) -> None:
        version = self.auction.version
        try:
            command()
        except DomainError:
            assert self.auction.version == version and not self.auction.pending_events
        self.events += self.auction.collect_events()

    # Preconditions steer each step to the phase where it means something; refusals are still tried.
    @rule(seconds=st.sampled_from([1, 5, 20, 60]))
    def time_passes(self, seconds: int) -> None:
        self.now += timedelta(seconds=seconds)

    @precondition(lambda self: self.auction.status == "awarded")
    @rule(late=st.booleans())
    def pay_by_comes(self, late: bool) -> None:
        assert self.auction.pay_by is not None
        self.now = max(self.now, self.auction.pay_by + timedelta(seconds=1 if late else 0))

    @precondition(lambda self: self.auction.status == "open")
    @rule(
        bidder=st.sampled_from(["a", "b", "c", "d"]),
        over=st.sampled_from(["-0.01", "0", "0", "100", "700", "3000"]),
    )
    def place_bid(self, bidder: str, over: str) -> None:
        # Aim at the edge of what is acceptable: just below (refused), at, and above the minimum.
        self.bids += 1
        amount = self.auction.minimum_bid(bidder) + D(over)
        self.attempt(
            lambda: self.auction.place_bid(bid_id=str(self.bids), bidder_id=bidder, max_amount=amount, now=self.now)
        )

    @precondition(
        lambda self: self.auction.status == "open" and self.now >= self.auction.ends_at - timedelta(seconds=5)
    )
    @rule()
    def close(self) -> None:
        self.attempt(lambda: self.auction.close(now=self.now))

    @precondition(lambda self: self.auction.status != "open")
    @rule(winner_pays=st.sampled_from([True, False, False]))
    def after_the_close(self, winner_pays: bool) -> None:
        if winner_pays:
            self.attempt(lambda: self.auction.mark_winner_paid(order_id="o", now=self.now))
        else:
            self.attempt(lambda: self.auction.offer_to_next(now=self.now))

    @invariant()
    def at_most_one_winner_and_only_one_who_bid_enough(self) -> None:
        a = self.auction
        assert (a.winner_id is not None) == (a.status in ("awarded", "sold"))
        if a.winner_id is not None:
            assert a.winner_id not in a.defaulted
            assert a.winning_price is not None and a.winning_price <= a.maxima[a.winner_id]["max"]
            assert a.reserve_price is None or a.winning_price >= a.reserve_price

    @invariant()
    def price_follows_the_proxy_rule(self) -> None:
        a = self.auction
        if a.current_price is None:
            return
        maxima = sorted((m["max"] for m in a.maxima.values()), reverse=True)
        assert a.leader_id is not None and a.maxima[a.leader_id]["max"] == maxima[0]
        assert a.starting_price <= a.current_price <= maxima[0]
        if len(maxima) > 1:
            assert a.current_price >= maxima[1]  # the leader pays at least what the runner-up offered
        assert a.current_price >= self.last_price
        self.last_price = a.current_price

    @invariant()
    def the_end_only_moves_later(self) -> None:
        assert self.auction.ends_at >= self.last_end
        self.last_end = self.auction.ends_at

    def teardown(self) -> None:
        assert fold(self.events) == self.auction


AuctionMachine.TestCase.settings = settings(max_examples=100, stateful_step_count=40, deadline=None)
TestAuctionInvariants = AuctionMachine.TestCase
