"""FraudCase: a suspicion the fraud detector raised about an order, a payment, a wallet or a bidder, and the
admin's decision about it (issue 17 part 1).

The detector (``projections.fraud_signals_pg``) scores the log and, above its threshold, opens a case:
``FraudSuspected {subject, score, reasons}``. An open case about an order holds it: its parcel is not shipped
(``application.fulfilment`` loads the case from the store on the write path); a cash-on-delivery order so needs
the admin's confirmation first, an order paid by bKash/Nagad is still paid but waits. The admin clears the case
(shipping is released) or confirms the fraud (shipping stays refused): ``Decided``, so auditors read in the log
why an order was held and who let it go.

The case id is derived from the subject (``case_id_for``): the detector asking again, after a redelivery or a
rebuild by replay, finds the case it opened and changes nothing.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import DomainError, NotFound

SUBJECT_KINDS = ("order", "payment", "wallet", "bidder", "buyer")
DECISIONS = ("clear", "confirm")
_NS = uuid.UUID("5d1f0c3e-7a2b-4e9c-8f61-0a9b8c7d6e5f")


def case_id_for(kind: str, subject_id: str) -> UUID:
    """One case per subject: ``order``/``payment`` by their id, ``wallet`` by wallet, ``bidder`` by
    ``auction:bidder``, ``buyer`` (refund abuse) by buyer."""
    return uuid.uuid5(_NS, f"{kind}:{subject_id}")


class FraudCaseNotFound(NotFound):
    code = "fraud_case_not_found"


class FraudCaseAlreadyDecided(DomainError):
    code = "fraud_case_already_decided"


class InvalidFraudDecision(DomainError):
    code = "invalid_fraud_decision"
    http_status = 422


class FraudReviewPending(DomainError):
    """The order is held for fraud review: it ships once an admin clears the case."""

    code = "fraud_review_pending"


class FraudScreeningPending(DomainError):
    """The fraud detector has not read this order yet: it may not ship before it has (retry in a moment)."""

    code = "fraud_screening_pending"


class RefundUnderReview(DomainError):
    """The buyer's refunds are held for a fraud review (refund abuse): a seller's refund waits for an admin."""

    code = "refund_under_review"


class FraudConfirmed(DomainError):
    """An admin confirmed fraud on this order: it is never shipped."""

    code = "fraud_confirmed"


class FraudCase(Aggregate):
    """States: ``open`` → ``cleared`` | ``confirmed``."""

    class FraudSuspected(Aggregate.Created):
        subject: dict[str, Any]  # {kind, id}
        score: float
        reasons: list[str]
        order_id: str | None
        buyer_id: str | None
        features: dict[str, Any]

    def __init__(
        self,
        subject: dict[str, Any],
        score: float,
        reasons: list[str],
        order_id: str | None,
        buyer_id: str | None,
        features: dict[str, Any],
    ) -> None:
        self.subject = dict(subject)
        self.score = score
        self.reasons = list(reasons)
        self.order_id = order_id
        self.buyer_id = buyer_id
        self.features = dict(features)
        self.status = "open"
        self.decision: str | None = None
        self.decided_by: str | None = None
        self.note: str | None = None
        self.decided_at: datetime | None = None

    @classmethod
    def suspect(
        cls,
        *,
        now: datetime,
        kind: str,
        subject_id: str,
        score: float,
        reasons: list[str],
        order_id: str | None = None,
        buyer_id: str | None = None,
        features: dict[str, Any] | None = None,
    ) -> FraudCase:
        if kind not in SUBJECT_KINDS:
            raise InvalidFraudDecision(f"subject kind must be one of {SUBJECT_KINDS}", kind=kind)
        if not reasons:
            raise InvalidFraudDecision("a suspicion names at least one reason")
        return cls._create(
            cls.FraudSuspected,
            id=case_id_for(kind, subject_id),
            timestamp=now,
            subject={"kind": kind, "id": subject_id},
            score=round(float(score), 4),
            reasons=list(reasons),
            order_id=order_id,
            buyer_id=buyer_id,
            features=dict(features or {}),
        )

    @property
    def holds_shipping(self) -> bool:
        return self.status != "cleared"

    class Decided(Aggregate.Event):
        decision: str  # clear | confirm
        admin_id: str
        note: str | None

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, FraudCase)
            aggregate.decision = self.decision
            aggregate.status = "cleared" if self.decision == "clear" else "confirmed"
            aggregate.decided_by = self.admin_id
            aggregate.note = self.note
            aggregate.decided_at = self.timestamp

    def decide(self, *, decision: str, admin_id: str, now: datetime, note: str | None = None) -> bool:
        """The admin's decision; the same one again changes nothing (→ False), the other one is refused."""
        if decision not in DECISIONS:
            raise InvalidFraudDecision(f"decision must be one of {DECISIONS}", decision=decision)
        if self.decision is not None:
            if self.decision != decision:
                raise FraudCaseAlreadyDecided(f"the case was already {self.status}", status=self.status)
            return False
        self.trigger_event(self.Decided, timestamp=now, decision=decision, admin_id=admin_id, note=note)
        return True

    def check_refund(self) -> None:
        """A seller may not refund a buyer whose refund-abuse case is open or confirmed; an admin decides."""
        if self.status != "cleared":
            raise RefundUnderReview(
                "this buyer's refunds are held for a fraud review", case_id=str(self.id), status=self.status
            )

    def check_shipping(self) -> None:
        if self.status == "open":
            raise FraudReviewPending("this order is held for fraud review", case_id=str(self.id), reasons=self.reasons)
        if self.status == "confirmed":
            raise FraudConfirmed("fraud was confirmed on this order", case_id=str(self.id))
