"""Commerce errors: one class per broken rule of flash sales, carts, orders, payments, auctions, group buys.

They extend ``domain.errors.DomainError`` so the one HTTP error mapper turns each into ``http_status`` and
``code`` (409 rule conflict, 422 invalid value, 404 not found). Codes are part of the API: never rename one.

The two value checks every commerce aggregate shares (money in BDT, whole quantities) and the id type live
here too, because their only job is to raise the right error the same way everywhere.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

from domain.errors import DomainError, NotFound

PAISA = Decimal("0.01")
Id = str | UUID  # aggregate and entity ids: UUIDs, or their text, as the caller has them
MAX_AMOUNT = Decimal("99999999.99")  # DECIMAL(10,2) in the spec's tables


class InvalidCommerceValue(DomainError):
    """Base for bad input: the request can never succeed as sent."""

    code = "invalid_commerce_value"
    http_status = 422


# ---- invalid values (422) ----------------------------------------------------------------------------
class IdempotencyKeyReused(InvalidCommerceValue):
    """The key of an earlier request came back with a different request."""

    code = "idempotency_key_reused"


class InvalidAmount(InvalidCommerceValue):
    code = "invalid_amount"


class InvalidQuantity(InvalidCommerceValue):
    code = "invalid_quantity"


class InvalidFlashSaleTerms(InvalidCommerceValue):
    code = "invalid_flash_sale_terms"


class InvalidDiscountCode(InvalidCommerceValue):
    code = "invalid_discount_code"


class InvalidPaymentMethod(InvalidCommerceValue):
    code = "invalid_payment_method"


class CodPhoneRequired(InvalidCommerceValue):
    code = "cod_phone_required"


class InvalidShippingAddress(InvalidCommerceValue):
    code = "invalid_shipping_address"


class EmiTermNotAllowed(InvalidCommerceValue):
    code = "emi_term_not_allowed"


class PaymentAmountMismatch(InvalidCommerceValue):
    code = "payment_amount_mismatch"


class UnknownCallbackStatus(InvalidCommerceValue):
    code = "unknown_callback_status"


class InvalidAuctionTerms(InvalidCommerceValue):
    code = "invalid_auction_terms"


class InvalidGroupBuyTerms(InvalidCommerceValue):
    code = "invalid_group_buy_terms"


# ---- not found (404) ---------------------------------------------------------------------------------
class ReservationNotFound(NotFound):
    code = "reservation_not_found"


class ItemNotInCart(NotFound):
    code = "item_not_in_cart"


class HoldNotFound(NotFound):
    code = "hold_not_found"


# ---- rule conflicts (409, the DomainError default) ---------------------------------------------------
class FlashSaleNotStartable(DomainError):
    code = "flash_sale_not_startable"


class FlashSaleNotActive(DomainError):
    code = "flash_sale_not_active"


class FlashSaleClosed(DomainError):
    code = "flash_sale_closed"


class FlashSaleSoldOut(DomainError):
    code = "flash_sale_sold_out"


class InsufficientStock(DomainError):
    code = "insufficient_stock"


class PurchaseLimitExceeded(DomainError):
    code = "purchase_limit_exceeded"


class DuplicateReservation(DomainError):
    code = "duplicate_reservation"


class ReservationExpired(DomainError):
    code = "reservation_expired"


class ReservationNotHeld(DomainError):
    code = "reservation_not_held"


class WaitlistNotOpen(DomainError):
    code = "waitlist_not_open"


class AlreadyOnWaitlist(DomainError):
    code = "already_on_waitlist"


class CartNotOpen(DomainError):
    code = "cart_not_open"


class CartEmpty(DomainError):
    code = "cart_empty"


class DiscountCodeExpired(DomainError):
    code = "discount_code_expired"


class DiscountMinimumNotMet(DomainError):
    code = "discount_minimum_not_met"


class DiscountUsageExceeded(DomainError):
    code = "discount_usage_exceeded"


class CodOrderCapReached(DomainError):
    code = "cod_order_cap_reached"


class EmiBelowMinimum(DomainError):
    code = "emi_below_minimum"


class InvalidOrderTransition(DomainError):
    code = "invalid_order_transition"


class RefundExceedsPayment(DomainError):
    code = "refund_exceeds_payment"


class PaymentNotPending(DomainError):
    code = "payment_not_pending"


class InvalidPaymentTransition(DomainError):
    code = "invalid_payment_transition"


class PaymentMethodMismatch(DomainError):
    """A provider's answer for this payment came through another payment method's callback."""

    code = "payment_method_mismatch"


class PaymentReferenceMismatch(DomainError):
    """The provider's transaction names another payment (or none) as its merchant reference."""

    code = "payment_reference_mismatch"


class BidTooLow(DomainError):
    code = "bid_too_low"


class AuctionNotOpen(DomainError):
    code = "auction_not_open"


class AuctionClosed(DomainError):
    code = "auction_closed"


class BidderUnderReview(DomainError):
    """A fraud case (shill bidding) is open on this bidder in this auction: no more bids until an admin decides."""

    code = "bidder_under_review"


class BidderBlocked(DomainError):
    """An admin confirmed shill bidding by this bidder in this auction."""

    code = "bidder_blocked"


class AuctionStillRunning(DomainError):
    code = "auction_still_running"


class ReservePriceNotMet(DomainError):
    code = "reserve_price_not_met"


class NoAuctionWinner(DomainError):
    code = "no_auction_winner"


class WinnerStillHasTime(DomainError):
    code = "winner_still_has_time"


class GroupBuyClosed(DomainError):
    code = "group_buy_closed"


class GroupBuyFull(DomainError):
    code = "group_buy_full"


class GroupBuyStillOpen(DomainError):
    code = "group_buy_still_open"


class GroupBuyNotUnlocked(DomainError):
    code = "group_buy_not_unlocked"


class AlreadyInGroupBuy(DomainError):
    code = "already_in_group_buy"


# ---- shared value checks -----------------------------------------------------------------------------
def require_money(value: Any, field: str, *, positive: bool = False) -> Decimal:
    """A BDT amount: a Decimal (or int) with at most 2 places, never negative; returned with exactly 2 places.

    Floats are refused rather than rounded: 0.1 + 0.2 is not a price anyone agreed to.
    """
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise InvalidAmount(f"{field} must be a Decimal amount in BDT", field=field)
    amount = Decimal(value)
    if not amount.is_finite() or amount < 0 or (positive and amount == 0):
        raise InvalidAmount(f"{field} must be {'positive' if positive else 'zero or more'}", field=field)
    if amount > MAX_AMOUNT:
        raise InvalidAmount(f"{field} must not exceed {MAX_AMOUNT}", field=field)
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2 and amount != amount.quantize(PAISA):
        raise InvalidAmount(f"{field} has more than 2 decimal places", field=field)
    return amount.quantize(PAISA)


def require_quantity(value: Any, field: str = "quantity") -> int:
    """A whole number of units, at least one."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidQuantity(f"{field} must be a whole number of at least 1", field=field)
    return value
