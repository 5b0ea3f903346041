"""StreamModerators: who moderates a show, and what each of them may do there.

Kept beside the stream rather than inside it: assignments change while the show runs, and moderation checks
should not contend with the stream's own commands. The id is derived from the stream's, so a command on a
stream loads its moderators without a lookup.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.host_errors import InvalidModeratorPermissions
from domain.show_scoped import ShowScoped

PERMISSIONS = ("moderate_chat", "feature_products", "end_stream")
DEFAULT_PERMISSIONS = ("moderate_chat", "feature_products")
MAX_MODERATORS = 50
_NS = uuid.UUID("4e8a2d1c-6b3f-4f90-a7e5-1c2d3b4a5f60")


def moderators_id(stream_id: str | UUID) -> UUID:
    return uuid.uuid5(_NS, f"moderators:{stream_id}")


def check_permissions(permissions: list[str] | None) -> list[str]:
    chosen = list(DEFAULT_PERMISSIONS) if permissions is None else list(dict.fromkeys(permissions))
    unknown = [p for p in chosen if p not in PERMISSIONS]
    if unknown or not chosen:
        raise InvalidModeratorPermissions(f"permissions are some of {', '.join(PERMISSIONS)}", unknown=unknown)
    return chosen


class StreamModerators(ShowScoped):
    """The moderators of one stream: assigned with permissions, revoked."""

    class Event(ShowScoped.Event):
        pass

    class Opened(Event, Aggregate.Created):
        stream_id: str

    def __init__(self, stream_id: str) -> None:
        self.stream_id = stream_id
        self.moderators: dict[str, list[str]] = {}

    @classmethod
    def open(cls, *, now: datetime, stream_id: str) -> StreamModerators:
        return cls._create(cls.Opened, id=moderators_id(stream_id), timestamp=now, stream_id=stream_id)

    def may(self, user_id: str, permission: str) -> bool:
        return permission in self.moderators.get(user_id, ())

    class ModeratorAssigned(Event):
        moderator_id: str
        permissions: list[str]
        by: str | None

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, StreamModerators)
            aggregate.moderators[self.moderator_id] = list(self.permissions)

    def assign(
        self, *, now: datetime, moderator_id: str, permissions: list[str] | None = None, by: str | None = None
    ) -> bool:
        """True if this changed anything (the same assignment twice records nothing)."""
        chosen = check_permissions(permissions)
        if self.moderators.get(moderator_id) == chosen:
            return False
        if moderator_id not in self.moderators and len(self.moderators) >= MAX_MODERATORS:
            raise InvalidModeratorPermissions(f"a stream has at most {MAX_MODERATORS} moderators")
        self.trigger_event(self.ModeratorAssigned, timestamp=now, moderator_id=moderator_id, permissions=chosen, by=by)
        return True

    class ModeratorRevoked(Event):
        moderator_id: str
        by: str | None

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, StreamModerators)
            aggregate.moderators.pop(self.moderator_id, None)

    def revoke(self, *, now: datetime, moderator_id: str, by: str | None = None) -> bool:
        if moderator_id not in self.moderators:
            return False
        self.trigger_event(self.ModeratorRevoked, timestamp=now, moderator_id=moderator_id, by=by)
        return True
