"""HostFollow: one viewer following one host.

A pair is its own aggregate (id derived from host and follower), not a list inside the host's profile: a
celebrity's profile would otherwise carry every follower on each load, and two people following at once would
contend for one version. Uniqueness comes from the derived id. Following and unfollowing are idempotent:
asking for the state the pair is already in records nothing.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.host_errors import CannotFollowSelf

_NS = uuid.UUID("9d3f4c2b-1a0e-4b7d-8c6f-3e2d1c0b9a87")


def follow_id(host_id: str, follower_id: str) -> UUID:
    return uuid.uuid5(_NS, f"{host_id}:{follower_id}")


class HostFollow(Aggregate):
    """States: following ⇄ not following."""

    class Event(Aggregate.Event):
        pass

    class Followed(Event, Aggregate.Created):
        host_id: str  # the host profile's id
        host_user_id: str  # the host's user id, as streams carry it in ``host_id``
        follower_id: str

    def __init__(self, host_id: str, host_user_id: str, follower_id: str) -> None:
        self.host_id = host_id
        self.host_user_id = host_user_id
        self.follower_id = follower_id
        self.following = True

    @classmethod
    def start(cls, *, now: datetime, host_id: str, host_user_id: str, follower_id: str) -> HostFollow:
        if follower_id == host_user_id:
            raise CannotFollowSelf("hosts do not follow themselves")
        return cls._create(
            cls.Followed,
            id=follow_id(host_id, follower_id),
            timestamp=now,
            host_id=host_id,
            host_user_id=host_user_id,
            follower_id=follower_id,
        )

    class Refollowed(Event):
        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, HostFollow)
            aggregate.following = True

    def follow(self, *, now: datetime) -> bool:
        """True if this changed anything."""
        if self.following:
            return False
        self.trigger_event(self.Refollowed, timestamp=now)
        return True

    class Unfollowed(Event):
        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, HostFollow)
            aggregate.following = False

    def unfollow(self, *, now: datetime) -> bool:
        if not self.following:
            return False
        self.trigger_event(self.Unfollowed, timestamp=now)
        return True
