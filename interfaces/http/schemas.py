"""Request bodies and query strings of the public API (spec §4.1), validated with pydantic at the edge."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

StreamType = Literal["product_demo", "flash_sale", "auction", "tutorial", "q_and_a", "behind_scenes"]
Language = Literal["en", "bn", "mixed"]
StreamStatus = Literal["scheduled", "live", "ended", "cancelled", "processing"]


def _cents(value: Decimal) -> Decimal:
    """BDT amounts carry exactly two decimals, whether the client sent 95000, 95000.0 or "95000.00"."""
    return value.quantize(Decimal("0.01"))


Money = Annotated[Decimal, Field(ge=0, max_digits=10, decimal_places=2), AfterValidator(_cents)]
Url = Annotated[str, Field(max_length=500)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class StreamProductIn(Body):
    product_id: UUID
    special_price: Money | None = None
    limited_quantity: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    discount_percentage: Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2),
                                   AfterValidator(_cents)] | None = None
    display_order: Annotated[int, Field(ge=0, le=10_000)] = 0
    presentation_notes: Annotated[str, Field(max_length=2_000)] | None = None


class CreateStreamBody(Body):
    title: Annotated[str, Field(min_length=1, max_length=255)]
    title_bn: Annotated[str, Field(max_length=255)] | None = None
    description: Annotated[str, Field(max_length=10_000)] | None = None
    description_bn: Annotated[str, Field(max_length=10_000)] | None = None
    stream_type: StreamType
    category: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    scheduled_start_time: AwareDatetime | None = None
    products: Annotated[list[StreamProductIn], Field(max_length=100)] = []
    is_public: bool = True
    language: Language = "bn"
    # Extensions beyond the spec's example body (all optional):
    vendor_id: UUID | None = None
    host_id: UUID | None = None
    max_viewers: Annotated[int, Field(ge=1, le=1_000_000)] = 1000
    is_recorded: bool = True
    tags: Annotated[list[Annotated[str, Field(min_length=1, max_length=50)]], Field(max_length=20)] = []
    thumbnail_url: Url | None = None
    cover_image_url: Url | None = None
    stream_settings: dict[str, Any] = {}


class EndStreamBody(Body):
    summary: Annotated[str, Field(max_length=5_000)] | None = None
    auto_generate_highlights: bool = False


class CancelStreamBody(Body):
    reason: Annotated[str, Field(max_length=1_000)] | None = None


class FeatureProductBody(Body):
    """``POST /streams/:id/feature``: ``{product_id}`` features a product in the live show (its staff); no body
    (or ``{}``) features the show itself among all shows (admins; ADR 0015)."""

    product_id: UUID | None = None


class ListStreamsQuery(Body):
    status: StreamStatus | None = None
    category: Annotated[str, Field(max_length=100)] | None = None
    page: Annotated[int, Field(ge=1, le=10_000)] = 1
    limit: Annotated[int, Field(ge=1, le=100)] = 20


class StreamQuery(Body):
    min_version: Annotated[int, Field(ge=0)] | None = None

