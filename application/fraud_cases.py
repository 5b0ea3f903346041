"""Fraud cases (issue 17 part 1): the detector opens them, admins decide them, fulfilment asks them.

``suspect`` is the detector's command (``projections.fraud_signals_pg``): the case id comes from the subject, so
asking again (a redelivered event, a rebuild by replay) finds the case and writes nothing. ``decide`` is the
admin's: clear (the order ships) or confirm (it never ships). ``shipping_hold`` is what the fulfilment write
path calls with its unit of work: it loads the order's case from the event store, never from a read model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from application.access import Actor, get_optional, refuse
from application.batch_writer import BatchWriter, UnitOfWork
from domain.auction import Auction
from domain.coin_wallet import CoinWallet
from domain.fraud_case import FraudCase, FraudCaseNotFound, case_id_for


@dataclass(frozen=True)
class Suspicion:
    """What the detector decided about one subject (a case is opened from it)."""

    kind: str
    subject_id: str
    score: float
    reasons: tuple[str, ...]
    order_id: str | None = None
    buyer_id: str | None = None
    features: dict[str, Any] = field(default_factory=dict)

    @property
    def case_id(self) -> UUID:
        return case_id_for(self.kind, self.subject_id)


@dataclass(frozen=True)
class CaseView:
    case_id: UUID
    status: str
    decision: str | None
    version: int
    changed: bool


class FraudScreening(Protocol):
    """Has the fraud detector read this order yet (waiting a bounded while for it)? The detector records each
    aggregate's version in the same transaction as the case it opens, so once it has read the order, the case
    (if any) is in the event store for ``shipping_hold``: shipping never outruns the detector's lag."""

    async def screened(self, order_id: UUID) -> bool: ...


def shipping_hold(uow: UnitOfWork, order_id: UUID) -> None:
    """Refuse shipping an order whose fraud case is open or confirmed (``FraudReviewPending`` /
    ``FraudConfirmed``); an order without a case, or with a cleared one, ships. The case is read as stored now:
    the detector opens it from another process."""
    case_id = case_id_for("order", str(order_id))
    if uow.find(case_id) is None:
        return
    case: FraudCase = uow.current(case_id)  # the admin may have decided it in another process
    case.check_shipping()


def refund_hold(uow: UnitOfWork, buyer_id: str, actor: Actor | None) -> None:
    """Refuse a seller's refund to a buyer under a refund-abuse case (``RefundUnderReview``) while it is open or
    confirmed; admins (who decide the case) and the system's own refunds (an expired hold) are not held. The case
    is read as stored now, like ``shipping_hold``."""
    if actor is None or actor.is_admin:
        return
    case_id = case_id_for("buyer", str(buyer_id))
    if uow.find(case_id) is None:
        return
    case: FraudCase = uow.current(case_id)
    case.check_refund()


class FraudCaseService:
    def __init__(self, writer: BatchWriter, *, clock: Callable[[], datetime]) -> None:
        self._writer = writer
        self._clock = clock

    async def suspect(self, s: Suspicion) -> CaseView:
        """Open the case unless it exists (then it is answered as it is)."""
        now = self._clock()

        def decide(uow: UnitOfWork) -> CaseView:
            known: FraudCase | None = get_optional(uow, s.case_id)
            if known is not None:
                return CaseView(known.id, known.status, known.decision, known.version, False)
            case = FraudCase.suspect(
                now=now,
                kind=s.kind,
                subject_id=s.subject_id,
                score=s.score,
                reasons=list(s.reasons),
                order_id=s.order_id,
                buyer_id=s.buyer_id,
                features=s.features,
            )
            uow.add(case)
            _hold_subject(uow, case, now)
            return CaseView(case.id, case.status, None, case.version, True)

        return await self._writer.submit(decide)

    async def decide(self, case_id: UUID, *, decision: str, note: str | None, actor: Actor) -> CaseView:
        if not actor.is_admin:
            raise refuse("fraud.decide", "only an admin decides a fraud case")
        now = self._clock()

        def decide(uow: UnitOfWork) -> CaseView:
            case: FraudCase = uow.get(case_id)
            changed = case.decide(decision=decision, admin_id=actor.user_id, now=now, note=note)
            _decide_subject(uow, case, now)
            return CaseView(case.id, case.status, case.decision, case.version, changed)

        return await self._writer.submit(decide, not_found=_missing)


def _wallet_of(uow: UnitOfWork, case: FraudCase) -> CoinWallet | None:
    if case.subject.get("kind") != "wallet":
        return None
    try:
        wallet_id = UUID(str(case.subject.get("id")))
    except ValueError:
        return None
    if get_optional(uow, wallet_id) is None:
        return None
    wallet = uow.current(wallet_id)  # as stored now: the detector and the API both write it, from two processes
    return wallet if isinstance(wallet, CoinWallet) else None


def _auction_of(uow: UnitOfWork, case: FraudCase) -> tuple[Auction, str] | None:
    """A bidder's subject is ``{auction_id}:{bidder_id}``."""
    if case.subject.get("kind") != "bidder":
        return None
    auction_id, _, bidder = str(case.subject.get("id")).partition(":")
    try:
        aid = UUID(auction_id)
    except ValueError:
        return None
    if not bidder or get_optional(uow, aid) is None:
        return None
    auction = uow.current(aid)  # as stored now: bids arrive from the API while the detector writes
    return (auction, bidder) if isinstance(auction, Auction) else None


def _hold_subject(uow: UnitOfWork, case: FraudCase, now: datetime) -> None:
    """A case holds its subject in the same save, until an admin decides: a coin wallet (card testing) buys and
    gives nothing; a bidder (shill bidding) bids no more in that auction. An order's case is asked by the
    shipping command instead (``shipping_hold``)."""
    wallet = _wallet_of(uow, case)
    if wallet is not None:
        wallet.hold_for_review(case_id=str(case.id), now=now)
    found = _auction_of(uow, case)
    if found is not None:
        found[0].hold_bidder(bidder_id=found[1], case_id=str(case.id), now=now)


def _decide_subject(uow: UnitOfWork, case: FraudCase, now: datetime) -> None:
    if case.decision is None:
        return
    wallet = _wallet_of(uow, case)
    if wallet is not None:
        wallet.review_decided(case_id=str(case.id), decision=case.decision, now=now)
    found = _auction_of(uow, case)
    if found is not None:
        found[0].bidder_review_decided(bidder_id=found[1], case_id=str(case.id), decision=case.decision, now=now)


def _missing(case_id: UUID) -> Exception:
    return FraudCaseNotFound("no such fraud case", case_id=str(case_id))
