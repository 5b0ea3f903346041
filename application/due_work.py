"""Work that time makes due, planned from the event store's own log (not from a read model).

The process managers of ``livecommerce process`` act when a moment passes: a flash sale's start and end, a
hold's deadline, an auction's end and its winner's deadline to pay, a group buy's deadline, a payment nobody
called back about, a refund nobody finished. Which aggregates have such a moment, and when, follows from
their events; ``plan`` turns one event into changes of that list (``Due``: add or move an entry, ``Done``:
remove one, ``ShowClosed``: a show ended, so its open deals are due now). ``infra.due_work`` applies them to
the ``due_work`` table in the same transaction that advances its position in the store's notification log,
so the list is exactly the log's, whatever state Kafka or the read models are in.

An entry only says "look at this aggregate at this time": the aggregate decides (an entry that is stale or
early does nothing), so a duplicate or late entry costs one load and never a wrong effect.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from application.envelope import Envelope

# Kinds of due work, and the aggregate each entry names.
SALE_START = "sale_start"  # flash sale: start at start_time
SALE_END = "sale_end"  # flash sale: end at end_time
HOLD = "hold"  # flash sale, item = reservation id: release at expires_at
AUCTION_CLOSE = "auction_close"  # auction: close at ends_at
AUCTION_PAYMENT = "auction_payment"  # auction: pass the lot on after pay_by
GROUP_BUY = "group_buy"  # group buy: settle at the deadline
CART = "cart"  # live cart: give its units back at its deadline (expires_at, moved by every add)
PAYMENT = "payment"  # payment: open since due_at (data: method, provider_txn_id)
REFUND = "refund"  # payment, item = refund id: requested at due_at, not yet confirmed nor refused
POLL_CLOSE = "poll_close"  # poll: close at closes_at (or with its show)
QUIZ_QUESTION = "quiz_question"  # quiz, item = question id: reveal its answer at closes_at
LOYALTY_LOT = "loyalty_lot"  # loyalty account, item = lot (source) id: what is left of it expires at expires_at
SHOW_CLOSED = "show_closed"  # stream: ended or cancelled at due_at (deals created after it close at once)

CLOSE_WITH_SHOW = (SALE_START, SALE_END, AUCTION_CLOSE, GROUP_BUY, POLL_CLOSE)  # what a show's end makes due
MANUAL_METHODS = ("cod",)  # paid in cash on delivery: no provider session to time out


@dataclass(frozen=True)
class Due:
    """Add the entry, or move it to ``due_at`` (data merged). ``stream_id`` set: it closes with its show."""

    kind: str
    aggregate_id: str
    due_at: datetime
    item: str = ""
    stream_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Done:
    """Remove the entry (every item of the kind when ``item`` is None)."""

    kind: str
    aggregate_id: str
    item: str | None = ""


@dataclass(frozen=True)
class ShowClosed:
    stream_id: str
    at: datetime


Change = Due | Done | ShowClosed


def _at(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _stream(d: dict[str, Any]) -> str | None:
    return str(d["stream_id"]) if d.get("stream_id") else None


def plan(e: Envelope) -> list[Change]:
    """The changes one store event makes to the due work (none for most events)."""
    agg, d, at = str(e.aggregate_id), e.payload, e.occurred_at
    match e.type:
        # ---- flash sales ---------------------------------------------------------------------------------
        case "FlashSale.Scheduled":
            sid = _stream(d)
            return [
                Due(SALE_START, agg, _at(d["start_time"]), stream_id=sid),
                Due(SALE_END, agg, _at(d["end_time"]), stream_id=sid),
            ]
        case "FlashSale.Started":
            return [Done(SALE_START, agg)]
        case "FlashSale.Ended":  # live holds keep their own deadline
            return [Done(SALE_START, agg), Done(SALE_END, agg)]
        case "FlashSale.Cancelled":  # every hold was released with it
            return [Done(SALE_START, agg), Done(SALE_END, agg), Done(HOLD, agg, None)]
        case "FlashSale.StockReserved" | "FlashSale.WaitlistOffered":
            return [Due(HOLD, agg, _at(d["expires_at"]), item=str(d["reservation_id"]))]
        case "FlashSale.ReservationConfirmed" | "FlashSale.ReservationReleased" | "FlashSale.HoldExpired":
            return [Done(HOLD, agg, str(d["reservation_id"]))]
        # ---- auctions ------------------------------------------------------------------------------------
        case "Auction.Created":
            return [Due(AUCTION_CLOSE, agg, _at(d["ends_at"]), stream_id=_stream(d))]
        case "Auction.Extended":
            return [Due(AUCTION_CLOSE, agg, _at(d["ends_at"]))]
        case "Auction.Closed":
            changes: list[Change] = [Done(AUCTION_CLOSE, agg)]
            if d.get("winner_id") is not None and d.get("pay_by"):
                changes.append(Due(AUCTION_PAYMENT, agg, _at(d["pay_by"])))
            return changes
        case "Auction.OfferedToNext":
            return [Due(AUCTION_PAYMENT, agg, _at(d["pay_by"]))]
        case "Auction.WinnerPaid" | "Auction.Unsold":
            return [Done(AUCTION_PAYMENT, agg)]
        # ---- group buys ----------------------------------------------------------------------------------
        case "GroupBuy.Launched":
            return [Due(GROUP_BUY, agg, _at(d["deadline"]), stream_id=_stream(d))]
        case "GroupBuy.Unlocked" | "GroupBuy.Failed":
            return [Done(GROUP_BUY, agg)]
        # ---- polls ---------------------------------------------------------------------------------------
        case "Poll.Opened":
            return [Due(POLL_CLOSE, agg, _at(d["closes_at"]), stream_id=_stream(d))]
        case "Poll.Closed":
            return [Done(POLL_CLOSE, agg)]
        # ---- live carts ---------------------------------------------------------------------------------
        case "Cart.ItemAdded":
            return [Due(CART, agg, _at(d["expires_at"]))] if d.get("expires_at") else []
        case "Cart.CheckedOut" | "Cart.Expired":
            return [Done(CART, agg)]
        # ---- payments and refunds ------------------------------------------------------------------------
        case "Payment.Initiated":
            if d.get("method") in MANUAL_METHODS:
                return []
            return [Due(PAYMENT, agg, at, data={"method": d.get("method"), "provider_txn_id": None})]
        case "Payment.ProcessingStarted":
            return [Due(PAYMENT, agg, at, data={"provider_txn_id": d.get("provider_txn_id")})]
        case "Payment.Completed" | "Payment.Failed":
            return [Done(PAYMENT, agg)]
        case "Payment.Refunded":
            return [Due(REFUND, agg, at, item=str(d["refund_id"]))]
        case "Payment.RefundCompleted" | "Payment.RefundFailed" | "Payment.RefundReviewRequired":  # review: a person
            return [Done(REFUND, agg, str(d["refund_id"]))]
        # ---- quizzes and loyalty points (issue 14) -------------------------------------------------------
        case t if t.startswith("Quiz.") or t.startswith("LoyaltyAccount."):
            return plan_game(e)
        # ---- shows ---------------------------------------------------------------------------------------
        case "LiveStream.Ended" | "LiveStream.Cancelled":
            return [ShowClosed(agg, at)]
    return []


def plan_game(e: Envelope) -> list[Change]:
    """Quizzes: a revealed question is due at ``closes_at`` (its result is revealed then). Loyalty points: each
    lot is due at its ``expires_at``, until it is used up (spent, taken back) or expired."""
    agg, d = str(e.aggregate_id), e.payload
    match e.type:
        case "Quiz.QuestionRevealed":
            return [Due(QUIZ_QUESTION, agg, _at(d["closes_at"]), item=str(d["question_id"]))]
        case "Quiz.QuestionClosed":
            return [Done(QUIZ_QUESTION, agg, str(d["question_id"]))]
        case "Quiz.Ended":
            return [Done(QUIZ_QUESTION, agg, None)]
        case "LoyaltyAccount.Earned":
            return [Due(LOYALTY_LOT, agg, _at(d["expires_at"]), item=str(d["source_id"]))]
        case "LoyaltyAccount.Redeemed" | "LoyaltyAccount.Reversed":
            return [Done(LOYALTY_LOT, agg, str(lot)) for lot in d.get("emptied") or ()]
        case "LoyaltyAccount.Expired":
            return [Done(LOYALTY_LOT, agg, str(lot)) for lot, _ in d["lots"]]
    return []
