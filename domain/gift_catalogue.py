"""GiftCatalogue: the virtual gifts viewers can send, with their coin prices (admin-managed; issue 14 part 3).

One catalogue for the whole service (a few dozen gifts), so a gift send reads its price from the write side in
one aggregate, never from a read model. A gift's price changes only for sends decided after the change.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from eventsourcing.domain import Aggregate

from domain.errors import DomainError, NotFound

CATALOGUE_ID = uuid.UUID("3f1d2c4b-8e7a-4b6c-9d5e-0a1b2c3d4e5f")
GIFT_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
MAX_GIFT_COINS = 1_000_000


class GiftNotFound(NotFound):
    code = "gift_not_found"


class InvalidGift(DomainError):
    code = "invalid_gift"
    http_status = 422


class GiftCatalogue(Aggregate):
    class Started(Aggregate.Created):
        pass

    class GiftListed(Aggregate.Event):
        """A gift added, or its names, price or animation changed (the whole gift as it is now)."""

        gift_id: str
        name: str
        name_bn: str
        coins: int
        animation_key: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, GiftCatalogue)
            aggregate.gifts[self.gift_id] = {
                "gift_id": self.gift_id,
                "name": self.name,
                "name_bn": self.name_bn,
                "coins": self.coins,
                "animation_key": self.animation_key,
            }

    class GiftRetired(Aggregate.Event):
        gift_id: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, GiftCatalogue)
            aggregate.gifts.pop(self.gift_id, None)

    def __init__(self) -> None:
        self.gifts: dict[str, dict[str, Any]] = {}

    @classmethod
    def start(cls, *, now: datetime) -> GiftCatalogue:
        return cls._create(cls.Started, id=CATALOGUE_ID, timestamp=now)

    def list_gift(
        self, *, gift_id: str, name: str, name_bn: str, coins: int, animation_key: str, now: datetime
    ) -> bool:
        """Add or change a gift; → False when it is already exactly so (a repeat changes nothing)."""
        if not GIFT_ID.match(gift_id):
            raise InvalidGift("a gift id is 1-40 of a-z, 0-9, _ and -, starting with a letter or digit")
        if isinstance(coins, bool) or not isinstance(coins, int) or not 1 <= coins <= MAX_GIFT_COINS:
            raise InvalidGift(f"a gift costs 1 to {MAX_GIFT_COINS} coins", coins=coins)
        if not name.strip() or not name_bn.strip() or not animation_key.strip():
            raise InvalidGift("a gift needs an English and a Bangla name and an animation key")
        gift = {"gift_id": gift_id, "name": name, "name_bn": name_bn, "coins": coins, "animation_key": animation_key}
        if self.gifts.get(gift_id) == gift:
            return False
        self.trigger_event(self.GiftListed, timestamp=now, **gift)
        return True

    def retire(self, *, gift_id: str, now: datetime) -> None:
        if gift_id not in self.gifts:
            raise GiftNotFound("no such gift in the catalogue", gift_id=gift_id)
        self.trigger_event(self.GiftRetired, timestamp=now, gift_id=gift_id)

    def gift(self, gift_id: str) -> dict[str, Any]:
        found = self.gifts.get(gift_id)
        if found is None:
            raise GiftNotFound("no such gift in the catalogue", gift_id=gift_id)
        return found
