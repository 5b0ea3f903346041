"""Domain errors: one base class, one subclass per broken rule, each with a stable code.

The HTTP edge maps ``code`` to a status and to messages in English and Bangla; the domain only names the rule.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "domain_error"
    http_status = 409

    def __init__(self, message: str = "", **details: Any) -> None:
        super().__init__(message or self.code)
        self.message = message or self.code
        self.details = details


class NotFound(DomainError):
    code = "not_found"
    http_status = 404


class StreamNotFound(NotFound):
    code = "stream_not_found"


class StreamNotStartable(DomainError):
    code = "stream_not_startable"


class StreamNotLive(DomainError):
    code = "stream_not_live"


class StreamNotCancellable(DomainError):
    code = "stream_not_cancellable"


class StreamClosed(DomainError):
    code = "stream_closed"


class ProductAlreadyInStream(DomainError):
    code = "product_already_in_stream"


class ProductNotInStream(DomainError):
    code = "product_not_in_stream"


class ProductOfAnotherVendor(DomainError):
    """A stream lists only products of its own vendor."""

    code = "product_of_another_vendor"


class ProductNotInCatalogue(DomainError):
    code = "product_not_in_catalogue"
    http_status = 422


class TooManyProducts(DomainError):
    code = "too_many_products"


class InvalidProductTerms(DomainError):
    code = "invalid_product_terms"
    http_status = 422


class ConcurrentModification(DomainError):
    """Another writer changed the aggregate first and retries did not resolve it."""

    code = "concurrent_modification"


class NotAuthenticated(DomainError):
    """No bearer token, or one that is malformed, badly signed or expired."""

    code = "sign_in_required"
    http_status = 401


class NotPermitted(DomainError):
    """The caller's role, or their relation to the stream, sale or profile, does not allow this."""

    code = "not_permitted"
    http_status = 403


class InvalidCredentials(NotAuthenticated):
    code = "invalid_token"
