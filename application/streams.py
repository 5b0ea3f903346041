"""Stream management use cases: schedule, start, end, cancel, add and feature products.

Commands come in as plain arguments (the HTTP edge validates them with pydantic first). Each answers with the
stream id and the aggregate's new version, so a client can wait for the read model to reach its own write.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from application.batch_writer import BatchWriter, UnitOfWork
from domain.errors import StreamNotFound
from domain.live_stream import LiveStream, StreamProduct


@dataclass(frozen=True)
class ProductTerms:
    product_id: str
    special_price: Decimal | None = None
    limited_quantity: int | None = None
    discount_percentage: Decimal | None = None
    display_order: int = 0
    presentation_notes: str | None = None


@dataclass(frozen=True)
class ScheduleStream:
    vendor_id: str
    title: str
    stream_type: str
    host_id: str | None = None
    title_bn: str | None = None
    description: str | None = None
    description_bn: str | None = None
    category: str | None = None
    scheduled_start_time: datetime | None = None
    is_public: bool = True
    language: str = "bn"
    max_viewers: int = 1000
    is_recorded: bool = True
    tags: list[str] = field(default_factory=list)
    thumbnail_url: str | None = None
    cover_image_url: str | None = None
    stream_settings: dict[str, Any] = field(default_factory=dict)
    products: list[ProductTerms] = field(default_factory=list)


@dataclass(frozen=True)
class CommandResult:
    id: UUID
    version: int


@dataclass(frozen=True)
class StartedStream:
    id: UUID
    version: int
    stream_key: str
    rtmp_url: str
    stream_url: str
    chat_room_id: str


@dataclass(frozen=True)
class StreamUrls:
    """Where hosts push video and viewers play it; from settings."""

    rtmp_base_url: str
    playback_base_url: str

    def playback(self, stream_id: UUID) -> str:
        return f"{self.playback_base_url.rstrip('/')}/{stream_id}/master.m3u8"


def _not_found(stream_id: UUID) -> Exception:
    return StreamNotFound("stream not found", stream_id=str(stream_id))


def _product(p: ProductTerms) -> StreamProduct:
    return StreamProduct(p.product_id, p.special_price, p.limited_quantity, p.discount_percentage,
                         p.display_order, p.presentation_notes)


class StreamService:
    def __init__(self, writer: BatchWriter, *, clock: Callable[[], datetime], new_id: Callable[[], UUID],
                 new_token: Callable[[], str], urls: StreamUrls) -> None:
        self._writer = writer
        self._clock = clock
        self._new_id = new_id
        self._new_token = new_token
        self._urls = urls

    async def schedule(self, cmd: ScheduleStream) -> CommandResult:
        stream_id = self._new_id()
        stream_key = f"live_{self._new_token()}"
        now = self._clock()

        def decide(uow: UnitOfWork) -> CommandResult:
            stream = LiveStream.schedule(
                id=stream_id, now=now, vendor_id=cmd.vendor_id, host_id=cmd.host_id, stream_key=stream_key,
                title=cmd.title, title_bn=cmd.title_bn, description=cmd.description,
                description_bn=cmd.description_bn, stream_type=cmd.stream_type, category=cmd.category,
                scheduled_start_time=cmd.scheduled_start_time, is_public=cmd.is_public, language=cmd.language,
                max_viewers=cmd.max_viewers, is_recorded=cmd.is_recorded, tags=cmd.tags,
                thumbnail_url=cmd.thumbnail_url, cover_image_url=cmd.cover_image_url,
                stream_settings=cmd.stream_settings, products=[_product(p) for p in cmd.products],
            )
            uow.add(stream)
            return CommandResult(stream.id, stream.version)

        return await self._writer.submit(decide, not_found=_not_found)

    async def start(self, stream_id: UUID) -> StartedStream:
        now = self._clock()
        chat_room_id = f"chat_{self._new_id()}"

        def decide(uow: UnitOfWork) -> StartedStream:
            stream: LiveStream = uow.get(stream_id)
            stream.start(now=now, rtmp_url=self._urls.rtmp_base_url, stream_url=self._urls.playback(stream_id),
                         chat_room_id=chat_room_id)
            return StartedStream(stream.id, stream.version, stream.stream_key, stream.rtmp_url or "",
                                 stream.stream_url or "", stream.chat_room_id or "")

        return await self._writer.submit(decide, not_found=_not_found)

    async def end(self, stream_id: UUID, *, summary: str | None = None,
                  auto_generate_highlights: bool = False) -> CommandResult:
        now = self._clock()

        def decide(uow: UnitOfWork) -> CommandResult:
            stream: LiveStream = uow.get(stream_id)
            stream.end(now=now, summary=summary, auto_generate_highlights=auto_generate_highlights)
            return CommandResult(stream.id, stream.version)

        return await self._writer.submit(decide, not_found=_not_found)

    async def cancel(self, stream_id: UUID, *, reason: str | None = None) -> CommandResult:
        now = self._clock()

        def decide(uow: UnitOfWork) -> CommandResult:
            stream: LiveStream = uow.get(stream_id)
            stream.cancel(now=now, reason=reason)
            return CommandResult(stream.id, stream.version)

        return await self._writer.submit(decide, not_found=_not_found)

    async def add_product(self, stream_id: UUID, product: ProductTerms) -> CommandResult:
        now = self._clock()

        def decide(uow: UnitOfWork) -> CommandResult:
            stream: LiveStream = uow.get(stream_id)
            stream.add_product(now=now, product=_product(product))
            return CommandResult(stream.id, stream.version)

        return await self._writer.submit(decide, not_found=_not_found)

    async def feature_product(self, stream_id: UUID, product_id: str) -> CommandResult:
        now = self._clock()

        def decide(uow: UnitOfWork) -> CommandResult:
            stream: LiveStream = uow.get(stream_id)
            stream.feature_product(now=now, product_id=product_id)
            return CommandResult(stream.id, stream.version)

        return await self._writer.submit(decide, not_found=_not_found)
