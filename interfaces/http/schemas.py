"""Request bodies and query strings of the public API (spec §4.1), validated with pydantic at the edge.

Every model derives from ``Body``, which applies the storable-input rule (``application.input_rules``, ADR
0018) to the whole raw document before any field is looked at: no NUL, control character or lone surrogate
anywhere (keys included), no NaN/Infinity or integers beyond 64 bits, bounded depth, sizes and lengths. On
top, a text field is one line unless it is declared ``Text`` (descriptions, bios, notes: newline and tab
allowed), and a free-form object is a ``FreeForm`` (small: depth, keys and encoded size bounded). A refusal
is a 422 ``validation_failed`` naming the field.
"""

from __future__ import annotations

import functools
import typing
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from application.input_rules import JsonBounds, Problem, encoded_size, json_problem, printable, text_problem

StreamType = Literal["product_demo", "flash_sale", "auction", "tutorial", "q_and_a", "behind_scenes"]
Language = Literal["en", "bn", "mixed"]
StreamStatus = Literal["scheduled", "live", "ended", "cancelled", "processing"]


def _cents(value: Decimal) -> Decimal:
    """BDT amounts carry exactly two decimals, whether the client sent 95000, 95000.0 or "95000.00"."""
    return value.quantize(Decimal("0.01"))


Money = Annotated[Decimal, Field(ge=0, max_digits=10, decimal_places=2), AfterValidator(_cents)]
Url = Annotated[str, Field(max_length=500)]

# Bounds of a whole request document (the largest legitimate one is a catalogue of 1,000 products) and of
# one free-form object (shipping_address, stream_settings, a callback's parameters).
BODY_BOUNDS = JsonBounds(depth=10, items=1_000, nodes=50_000, string=20_000, key=100)
FREE_FORM_BOUNDS = JsonBounds(depth=4, items=50, nodes=500, string=2_000, key=64)
FREE_FORM_MAX_BYTES = 16_384


class _Multiline:
    """Marker: this text field may hold several lines (newline, carriage return and tab allowed)."""

    def __repr__(self) -> str:
        return "multiline"


MULTILINE = _Multiline()


def refusal(p: Problem) -> PydanticCustomError:
    where = f" at {printable(p.path)}" if p.path else ""
    return PydanticCustomError(p.code, "{what}{where}", {"what": p.message, "where": where, "path": printable(p.path)})


def storable(bounds: JsonBounds) -> typing.Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if (p := json_problem(value, bounds)) is not None:
            raise refusal(p)
        return value

    return check


def _small(value: dict[str, Any]) -> dict[str, Any]:
    storable(FREE_FORM_BOUNDS)(value)
    if (size := encoded_size(value)) > FREE_FORM_MAX_BYTES:
        raise PydanticCustomError(
            "too_large", "{size} bytes encoded; at most {limit}", {"size": size, "limit": FREE_FORM_MAX_BYTES}
        )
    return value


Text = Annotated[str, MULTILINE]  # e.g. Annotated[Text, Field(max_length=5_000)]
FreeForm = Annotated[dict[str, Any], AfterValidator(_small)]
_FREE_FORM: TypeAdapter[dict[str, Any]] = TypeAdapter(FreeForm)


def callback_params(params: dict[str, Any]) -> dict[str, Any]:
    """A payment provider's callback (query, form or JSON) under the same rule as a client's body: it is
    parsed before the provider is asked, and its values may reach events. Raises ``ValidationError``."""
    return _FREE_FORM.validate_python(params)


@functools.cache
def _multiline(model: type[BaseModel], name: str) -> bool:
    field = model.model_fields.get(name)
    if field is None:
        return False
    todo = [field.annotation, *field.metadata]
    while todo:
        t = todo.pop()
        if t is MULTILINE:
            return True
        todo.extend(getattr(t, "__metadata__", ()))
        todo.extend(typing.get_args(t))
    return False


def _one_line(value: Any) -> None:
    items = value if isinstance(value, list | tuple) else (value,)
    for item in items:
        if isinstance(item, str) and (p := text_problem(item, multiline=False)) is not None:
            raise refusal(p)


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _storable_document(cls, data: Any) -> Any:
        return storable(BODY_BOUNDS)(data)

    @field_validator("*", mode="after")
    @classmethod
    def _single_line_text(cls, value: Any, info: ValidationInfo) -> Any:
        if info.field_name is not None and not _multiline(cls, info.field_name):
            _one_line(value)
        return value


class StreamProductIn(Body):
    product_id: UUID
    special_price: Money | None = None
    limited_quantity: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    discount_percentage: (
        Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2), AfterValidator(_cents)] | None
    ) = None
    display_order: Annotated[int, Field(ge=0, le=10_000)] = 0
    presentation_notes: Annotated[Text, Field(max_length=2_000)] | None = None


class CreateStreamBody(Body):
    title: Annotated[str, Field(min_length=1, max_length=255)]
    title_bn: Annotated[str, Field(max_length=255)] | None = None
    description: Annotated[Text, Field(max_length=10_000)] | None = None
    description_bn: Annotated[Text, Field(max_length=10_000)] | None = None
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
    stream_settings: FreeForm = {}


class EndStreamBody(Body):
    summary: Annotated[Text, Field(max_length=5_000)] | None = None
    auto_generate_highlights: bool = False


class CancelStreamBody(Body):
    reason: Annotated[Text, Field(max_length=1_000)] | None = None


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
    min_version: Annotated[int, Field(ge=0, le=2**31)] | None = None
