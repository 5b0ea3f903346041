"""LiveStream: a vendor's live show, from scheduling to its end.

Verb methods check a rule, then trigger a past-tense event; state changes only in the event's ``apply``, so
replaying the events is a fold. Time (``now``) and ids come in from the application: no clock, no random here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import (
    InvalidProductTerms,
    ProductAlreadyInStream,
    ProductNotInStream,
    StreamClosed,
    StreamNotCancellable,
    StreamNotLive,
    StreamNotStartable,
    TooManyProducts,
)

STREAM_TYPES = ("product_demo", "flash_sale", "auction", "tutorial", "q_and_a", "behind_scenes")
LANGUAGES = ("en", "bn", "mixed")
MAX_PRODUCTS = 100


@dataclass(frozen=True)
class StreamProduct:
    """A product shown in a stream, on the stream's own terms."""

    product_id: str
    special_price: Decimal | None = None
    limited_quantity: int | None = None
    discount_percentage: Decimal | None = None
    display_order: int = 0
    presentation_notes: str | None = None

    def check(self) -> None:
        if self.special_price is not None and self.special_price < 0:
            raise InvalidProductTerms("special_price must not be negative", product_id=self.product_id)
        if self.limited_quantity is not None and self.limited_quantity < 1:
            raise InvalidProductTerms("limited_quantity must be at least 1", product_id=self.product_id)
        if self.discount_percentage is not None and not (0 <= self.discount_percentage <= 100):
            raise InvalidProductTerms("discount_percentage must be within 0..100", product_id=self.product_id)

    def as_dict(self) -> dict[str, Any]:
        return {
            "product_id": self.product_id,
            "special_price": self.special_price,
            "limited_quantity": self.limited_quantity,
            "discount_percentage": self.discount_percentage,
            "display_order": self.display_order,
            "presentation_notes": self.presentation_notes,
        }


class LiveStream(Aggregate):
    """States: scheduled → live → ended; scheduled → cancelled."""

    class Event(Aggregate.Event):
        pass

    class Scheduled(Event, Aggregate.Created):
        vendor_id: str
        host_id: str | None
        stream_key: str
        title: str
        title_bn: str | None
        description: str | None
        description_bn: str | None
        stream_type: str
        category: str | None
        scheduled_start_time: datetime | None
        is_public: bool
        language: str
        max_viewers: int
        is_recorded: bool
        tags: list[str]
        thumbnail_url: str | None
        cover_image_url: str | None
        stream_settings: dict[str, Any]
        products: list[dict[str, Any]]

    def __init__(
        self,
        vendor_id: str,
        host_id: str | None,
        stream_key: str,
        title: str,
        title_bn: str | None,
        description: str | None,
        description_bn: str | None,
        stream_type: str,
        category: str | None,
        scheduled_start_time: datetime | None,
        is_public: bool,
        language: str,
        max_viewers: int,
        is_recorded: bool,
        tags: list[str],
        thumbnail_url: str | None,
        cover_image_url: str | None,
        stream_settings: dict[str, Any],
        products: list[dict[str, Any]],
    ) -> None:
        self.vendor_id = vendor_id
        self.host_id = host_id
        self.stream_key = stream_key
        self.title = title
        self.title_bn = title_bn
        self.description = description
        self.description_bn = description_bn
        self.stream_type = stream_type
        self.category = category
        self.scheduled_start_time = scheduled_start_time
        self.is_public = is_public
        self.language = language
        self.max_viewers = max_viewers
        self.is_recorded = is_recorded
        self.tags = list(tags)
        self.thumbnail_url = thumbnail_url
        self.cover_image_url = cover_image_url
        self.stream_settings = dict(stream_settings)
        self.products: dict[str, dict[str, Any]] = {p["product_id"]: dict(p) for p in products}
        self.status = "scheduled"
        self.featured_product_id: str | None = None
        self.started_at: datetime | None = None
        self.ended_at: datetime | None = None
        self.rtmp_url: str | None = None
        self.stream_url: str | None = None
        self.chat_room_id: str | None = None
        self.summary: str | None = None
        self.video_interrupted = False  # the host's video stopped arriving while the show is live
        self.is_featured = False  # an admin put the show among the featured ones (GET /streams)

    # ---- creation ------------------------------------------------------------------------------------
    @classmethod
    def schedule(
        cls,
        *,
        id: UUID,  # noqa: A002 - the library's name for the aggregate id
        now: datetime,
        vendor_id: str,
        stream_key: str,
        title: str,
        stream_type: str,
        host_id: str | None = None,
        title_bn: str | None = None,
        description: str | None = None,
        description_bn: str | None = None,
        category: str | None = None,
        scheduled_start_time: datetime | None = None,
        is_public: bool = True,
        language: str = "bn",
        max_viewers: int = 1000,
        is_recorded: bool = True,
        tags: list[str] | None = None,
        thumbnail_url: str | None = None,
        cover_image_url: str | None = None,
        stream_settings: dict[str, Any] | None = None,
        products: list[StreamProduct] | None = None,
    ) -> LiveStream:
        products = products or []
        if len(products) > MAX_PRODUCTS:
            raise TooManyProducts(f"a stream holds at most {MAX_PRODUCTS} products", limit=MAX_PRODUCTS)
        seen: set[str] = set()
        for p in products:
            p.check()
            if p.product_id in seen:
                raise ProductAlreadyInStream("product listed twice", product_id=p.product_id)
            seen.add(p.product_id)
        return cls._create(
            cls.Scheduled,
            id=id,
            timestamp=now,
            vendor_id=vendor_id,
            host_id=host_id,
            stream_key=stream_key,
            title=title,
            title_bn=title_bn,
            description=description,
            description_bn=description_bn,
            stream_type=stream_type,
            category=category,
            scheduled_start_time=scheduled_start_time,
            is_public=is_public,
            language=language,
            max_viewers=max_viewers,
            is_recorded=is_recorded,
            tags=list(tags or []),
            thumbnail_url=thumbnail_url,
            cover_image_url=cover_image_url,
            stream_settings=dict(stream_settings or {}),
            products=[{**p.as_dict(), "display_order": p.display_order or i} for i, p in enumerate(products)],
        )

    # ---- lifecycle -----------------------------------------------------------------------------------
    class Started(Event):
        rtmp_url: str
        stream_url: str
        chat_room_id: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, LiveStream)
            aggregate.status = "live"
            aggregate.started_at = self.timestamp
            aggregate.rtmp_url = self.rtmp_url
            aggregate.stream_url = self.stream_url
            aggregate.chat_room_id = self.chat_room_id

    def start(self, *, now: datetime, rtmp_url: str, stream_url: str, chat_room_id: str) -> None:
        if self.status != "scheduled":
            raise StreamNotStartable(f"a {self.status} stream cannot be started", status=self.status)
        self.trigger_event(
            self.Started, timestamp=now, rtmp_url=rtmp_url, stream_url=stream_url, chat_room_id=chat_room_id
        )

    class Ended(Event):
        summary: str | None
        auto_generate_highlights: bool
        duration_seconds: int

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, LiveStream)
            aggregate.status = "ended"
            aggregate.ended_at = self.timestamp
            aggregate.summary = self.summary

    def end(self, *, now: datetime, summary: str | None = None, auto_generate_highlights: bool = False) -> None:
        if self.status != "live":
            raise StreamNotLive(f"a {self.status} stream cannot be ended", status=self.status)
        assert self.started_at is not None
        duration = max(0, int((now - self.started_at).total_seconds()))
        self.trigger_event(
            self.Ended,
            timestamp=now,
            summary=summary,
            auto_generate_highlights=auto_generate_highlights,
            duration_seconds=duration,
        )

    class VideoInterrupted(Event):
        reason: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, LiveStream)
            aggregate.video_interrupted = True

    def video_interrupted_by(self, *, now: datetime, reason: str) -> bool:
        """The media plane lost the host's video. Idempotent; only a live show can be interrupted."""
        if self.status != "live" or self.video_interrupted:
            return False
        self.trigger_event(self.VideoInterrupted, timestamp=now, reason=reason)
        return True

    class VideoResumed(Event):
        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, LiveStream)
            aggregate.video_interrupted = False

    def video_resumed(self, *, now: datetime) -> bool:
        if self.status != "live" or not self.video_interrupted:
            return False
        self.trigger_event(self.VideoResumed, timestamp=now)
        return True

    class Cancelled(Event):
        reason: str | None

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, LiveStream)
            aggregate.status = "cancelled"

    def cancel(self, *, now: datetime, reason: str | None = None) -> None:
        if self.status != "scheduled":
            raise StreamNotCancellable(f"a {self.status} stream cannot be cancelled", status=self.status)
        self.trigger_event(self.Cancelled, timestamp=now, reason=reason)

    # ---- products ------------------------------------------------------------------------------------
    class ProductAdded(Event):
        product: dict[str, Any]

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, LiveStream)
            aggregate.products[self.product["product_id"]] = dict(self.product)

    def add_product(self, *, now: datetime, product: StreamProduct) -> None:
        if self.status in ("ended", "cancelled"):
            raise StreamClosed(f"products cannot be added to a {self.status} stream", status=self.status)
        if product.product_id in self.products:
            raise ProductAlreadyInStream("product is already in this stream", product_id=product.product_id)
        if len(self.products) >= MAX_PRODUCTS:
            raise TooManyProducts(f"a stream holds at most {MAX_PRODUCTS} products", limit=MAX_PRODUCTS)
        product.check()
        data = product.as_dict()
        if not data["display_order"]:
            data["display_order"] = len(self.products)
        self.trigger_event(self.ProductAdded, timestamp=now, product=data)

    class ProductFeatured(Event):
        product_id: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, LiveStream)
            aggregate.featured_product_id = self.product_id

    def feature_product(self, *, now: datetime, product_id: str) -> None:
        if self.status != "live":
            raise StreamNotLive("products can be featured only while the stream is live", status=self.status)
        if product_id not in self.products:
            raise ProductNotInStream("product is not in this stream", product_id=product_id)
        self.trigger_event(self.ProductFeatured, timestamp=now, product_id=product_id)

    # ---- featured among the shows (an admin's choice) -------------------------------------------------
    class Featured(Event):
        by: str | None  # the admin who featured it

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, LiveStream)
            aggregate.is_featured = True

    def feature(self, *, now: datetime, by: str | None = None) -> bool:
        """Put the show among the featured ones. A show that is over cannot be; featuring a featured show
        records nothing (False)."""
        if self.status in ("ended", "cancelled"):
            raise StreamClosed(f"a {self.status} stream cannot be featured", status=self.status)
        if self.is_featured:
            return False
        self.trigger_event(self.Featured, timestamp=now, by=by)
        return True

    class Unfeatured(Event):
        by: str | None

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, LiveStream)
            aggregate.is_featured = False

    def unfeature(self, *, now: datetime, by: str | None = None) -> bool:
        """Take the show off the featured ones, whatever its status; records nothing if it was not featured."""
        if not self.is_featured:
            return False
        self.trigger_event(self.Unfeatured, timestamp=now, by=by)
        return True
