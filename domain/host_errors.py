"""Errors of hosts, their followers and stream moderators: one class per broken rule, each with a stable code.

Like ``domain.commerce_errors``: 422 for a value that can never be accepted, 409 for a rule the current state
breaks, 404 for an unknown profile. The HTTP edge maps codes to English and Bangla messages.
"""

from __future__ import annotations

from domain.errors import DomainError, NotFound


class InvalidHostValue(DomainError):
    """Base for bad input to a host command: the request can never succeed as sent."""

    code = "invalid_host_value"
    http_status = 422


class InvalidHostProfile(InvalidHostValue):
    code = "invalid_host_profile"


class InvalidAvailability(InvalidHostValue):
    code = "invalid_availability"


class InvalidCommissionRate(InvalidHostValue):
    code = "invalid_commission_rate"


class InvalidRating(InvalidHostValue):
    code = "invalid_rating"


class InvalidModeratorPermissions(InvalidHostValue):
    code = "invalid_moderator_permissions"


class HostNotFound(NotFound):
    code = "host_not_found"


class HostAlreadyApplied(DomainError):
    code = "host_already_applied"


class HostNotPending(DomainError):
    """Only a pending application can be verified or rejected."""

    code = "host_not_pending"


class HostNotRejected(DomainError):
    """Only a rejected application can be submitted again."""

    code = "host_not_rejected"


class HostNotVerified(DomainError):
    code = "host_not_verified"


class HostSuspended(DomainError):
    code = "host_suspended"


class HostNotSuspended(DomainError):
    code = "host_not_suspended"


class AlreadyReviewed(DomainError):
    """One review per viewer per stream."""

    code = "already_reviewed"


class ReviewNotAllowed(DomainError):
    """Hosts do not review themselves, and only a stream the host has gone live with can be reviewed."""

    code = "review_not_allowed"


class CannotFollowSelf(DomainError):
    code = "cannot_follow_self"


class StreamTimeInPast(InvalidHostValue):
    code = "stream_time_in_past"
