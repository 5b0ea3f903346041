"""GroupBuy: join and leave with holds until the deadline, then every hold converts or is released."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from domain import commerce_errors as errors
from domain.errors import DomainError
from domain.group_buy import CONVERTED, HELD, RELEASED, GroupBuy
from tests.unit.aggregates import fold, new_events, refused, round_trip

T0 = datetime(2024, 3, 17, 21, 0, tzinfo=UTC)
DEADLINE = T0 + timedelta(minutes=15)
D = Decimal


def a_group_buy(collect: bool = True, **kw: Any) -> GroupBuy:
    terms: dict[str, Any] = {
        "id": UUID(int=1),
        "now": T0,
        "product_id": "jamdani-saree",
        "stream_id": UUID(int=7),
        "regular_price": D("8500.00"),
        "group_price": D("6999.00"),
        "min_buyers": 3,
        "max_buyers": 4,
        "deadline": DEADLINE,
    }
    group = GroupBuy.launch(**{**terms, **kw})
    if collect:
        group.collect_events()
    return group


def join_all(group: GroupBuy, *buyers: str) -> None:
    for buyer in buyers:
        group.join(hold_id=f"h-{buyer}", buyer_id=buyer, now=T0)


# ---- launching --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "change",
    [
        {"group_price": D("8500.00")},
        {"min_buyers": 1},
        {"max_buyers": 2},
        {"deadline": T0},
        {"regular_price": D("0")},
    ],
)
def test_bad_terms_are_refused(change: dict[str, Any]) -> None:
    with pytest.raises((errors.InvalidGroupBuyTerms, errors.InvalidAmount)):
        a_group_buy(**change)


# ---- joining and leaving ---------------------------------------------------------------------------------
def test_join_and_leave_with_holds() -> None:
    group = a_group_buy()
    group.join(hold_id="h1", buyer_id="rahim", quantity=2, now=T0)
    group.join(hold_id="h1", buyer_id="rahim", quantity=2, now=T0)  # redelivered
    group.join(hold_id="h2", buyer_id="karim", now=T0)
    group.leave(hold_id="h1", now=T0 + timedelta(minutes=1))
    group.leave(hold_id="h1", now=T0 + timedelta(minutes=1))  # redelivered
    assert new_events(group) == ["Joined", "Joined", "Left"]
    assert group.buyers == 1 and group.holds["h1"]["status"] == RELEASED


def test_join_refusals() -> None:
    group = a_group_buy()
    join_all(group, "a", "b", "c")
    refused(group, errors.AlreadyInGroupBuy, lambda: group.join(hold_id="h-x", buyer_id="a", now=T0))
    refused(group, errors.AlreadyInGroupBuy, lambda: group.join(hold_id="h-a", buyer_id="z", now=T0))
    refused(group, errors.InvalidQuantity, lambda: group.join(hold_id="h-d", buyer_id="d", quantity=0, now=T0))
    join_all(group, "d")
    refused(group, errors.GroupBuyFull, lambda: group.join(hold_id="h-e", buyer_id="e", now=T0))
    refused(group, errors.GroupBuyClosed, lambda: group.join(hold_id="h-e", buyer_id="e", now=DEADLINE))
    refused(group, errors.HoldNotFound, lambda: group.leave(hold_id="nope", now=T0))
    refused(group, errors.GroupBuyClosed, lambda: group.leave(hold_id="h-a", now=DEADLINE))


def test_a_buyer_who_left_may_join_again_with_a_new_hold() -> None:
    group = a_group_buy()
    group.join(hold_id="h1", buyer_id="a", now=T0)
    group.leave(hold_id="h1", now=T0)
    refused(group, errors.AlreadyInGroupBuy, lambda: group.join(hold_id="h1", buyer_id="a", now=T0))
    group.join(hold_id="h2", buyer_id="a", now=T0)
    assert group.buyers == 1


# ---- the deadline ----------------------------------------------------------------------------------------
def test_enough_buyers_at_the_deadline_unlock_the_group_price_for_every_hold() -> None:
    group = a_group_buy()
    join_all(group, "a", "b", "c", "d")
    group.leave(hold_id="h-d", now=T0)
    group.collect_events()
    refused(group, errors.GroupBuyStillOpen, lambda: group.settle(now=DEADLINE - timedelta(seconds=1)))
    group.settle(now=DEADLINE)
    (event,) = list[Any](group.collect_events())
    assert type(event).__name__ == "Unlocked" and event.converted == ["h-a", "h-b", "h-c"]
    assert event.price == D("6999.00") and group.status == "unlocked"
    assert group.holds["h-d"]["status"] == RELEASED
    refused(group, errors.GroupBuyClosed, lambda: group.settle(now=DEADLINE))
    refused(group, errors.GroupBuyClosed, lambda: group.leave(hold_id="h-a", now=DEADLINE))


def test_too_few_buyers_release_every_hold() -> None:
    group = a_group_buy()
    join_all(group, "a", "b")
    group.collect_events()
    group.settle(now=DEADLINE + timedelta(hours=1))
    assert new_events(group) == ["Failed"] and group.status == "failed"
    assert all(h["status"] == RELEASED for h in group.holds.values())


@pytest.mark.parametrize(("buyers", "outcome"), [(("a", "b", "c"), "Unlocked"), (("a",), "Failed")])
def test_the_end_of_its_show_settles_a_group_buy_before_its_deadline(buyers: tuple[str, ...], outcome: str) -> None:
    group = a_group_buy()
    join_all(group, *buyers)
    group.collect_events()
    early = DEADLINE - timedelta(minutes=10)
    refused(group, errors.GroupBuyStillOpen, lambda: group.settle(now=early))
    group.settle(now=early, show_ended=True)
    assert new_events(group) == [outcome]
    refused(group, errors.GroupBuyClosed, lambda: group.join(hold_id="h-z", buyer_id="z", now=early))


# ---- replay and serialisation ----------------------------------------------------------------------------
def test_replay_and_round_trip_rebuild_the_same_group_buy() -> None:
    group = a_group_buy(collect=False, max_buyers=None, regular_price=D("100.5"), group_price=D("99.99"))
    group.join(hold_id=UUID(int=11), buyer_id=UUID(int=21), quantity=3, now=T0 + timedelta(microseconds=9))
    join_all(group, "b", "c", "d")
    group.leave(hold_id="h-d", now=T0)
    group.settle(now=DEADLINE)
    events = group.collect_events()
    assert fold(events) == group
    assert fold(round_trip(events)) == group


# ---- any interleaving: no hold is left in between once settled --------------------------------------------
class GroupBuyMachine(RuleBasedStateMachine):
    holds = Bundle("holds")

    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.group = a_group_buy(collect=False, min_buyers=2, max_buyers=3)
        self.events = list(self.group.collect_events())
        self.ids = 0

    def attempt(self, command: Any) -> None:
        version = self.group.version
        try:
            command()
        except DomainError:
            assert self.group.version == version and not self.group.pending_events
        self.events += self.group.collect_events()

    @rule(minutes=st.sampled_from([0, 1, 5]))
    def time_passes(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)

    @rule(target=holds, buyer=st.sampled_from(["a", "b", "c", "d", "e"]), quantity=st.integers(0, 2))
    def join(self, buyer: str, quantity: int) -> str:
        self.ids += 1
        hold_id = f"h{self.ids}"
        self.attempt(lambda: self.group.join(hold_id=hold_id, buyer_id=buyer, quantity=quantity, now=self.now))
        return hold_id

    @rule(hold_id=holds)
    def leave(self, hold_id: str) -> None:
        self.attempt(lambda: self.group.leave(hold_id=hold_id, now=self.now))

    @rule()
    def settle(self) -> None:
        self.attempt(lambda: self.group.settle(now=self.now))

    @invariant()
    def one_live_hold_per_buyer_within_the_cap(self) -> None:
        live = [h["buyer_id"] for h in self.group.holds.values() if h["status"] == HELD]
        assert len(live) == len(set(live)) and len(live) <= 3

    @invariant()
    def the_outcome_matches_the_holds(self) -> None:
        statuses = [h["status"] for h in self.group.holds.values()]
        if self.group.status == "open":
            assert CONVERTED not in statuses
        else:
            assert HELD not in statuses
            converted = statuses.count(CONVERTED)
            assert converted >= 2 if self.group.status == "unlocked" else converted == 0

    def teardown(self) -> None:
        self.now = max(self.now, DEADLINE)
        if self.group.status == "open":
            self.group.settle(now=self.now)
            self.events += self.group.collect_events()
        assert all(h["status"] in (CONVERTED, RELEASED) for h in self.group.holds.values())
        assert fold(self.events) == self.group


GroupBuyMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
TestGroupBuyInvariants = GroupBuyMachine.TestCase
