"""Stream management use cases: schedule, start, end, cancel, add and feature products, assign moderators,
feature a show among all shows (admins).

Commands come in as plain arguments (the HTTP edge validates them with pydantic first). Each answers with the
stream id and the aggregate's new version, so a client can wait for the read model to reach its own write.
Commands from a signed-in caller carry an ``Actor``; who owns the stream is checked in the same unit of work
(``application.access``), and starting a stream with a host asks the host's profile (verified, not suspended).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol
from uuid import UUID

from application.access import Actor, check_stream, get_optional, require_role
from application.batch_writer import BatchWriter, UnitOfWork
from domain.errors import ProductNotInCatalogue, ProductOfAnotherVendor, StreamNotFound
from domain.host_errors import HostNotVerified
from domain.host_profile import HostProfile, host_profile_id
from domain.live_stream import LiveStream, StreamProduct
from domain.stream_moderators import StreamModerators, moderators_id


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


def new_stream_key(stream_id: UUID, secret: str) -> str:
    """``live_{stream id, 32 hex}_{secret}``: the key names its show, so the RTMP door asks the event store
    whether it opens that show instead of searching a read model that may not have the show yet."""
    return f"live_{stream_id.hex}_{secret}"


def stream_id_in_key(key: str) -> UUID | None:
    """The show a key names, or None for a key of the older ``live_{secret}`` form (or no key of ours)."""
    if len(key) < 46 or not key.startswith("live_") or key[37] != "_":
        return None
    try:
        return UUID(hex=key[5:37])
    except ValueError:
        return None


def _not_found(stream_id: UUID) -> Exception:
    return StreamNotFound("stream not found", stream_id=str(stream_id))


def _guard(uow: UnitOfWork, actor: Actor | None, action: str, stream: LiveStream) -> None:
    """Ownership, checked on the stream as this unit of work sees it (moderators loaded only when needed)."""
    if actor is None or actor.is_admin:
        return
    needs_moderators = "moderator" in actor.roles and action in ("stream.end", "stream.feature")
    mods = get_optional(uow, moderators_id(stream.id)) if needs_moderators else None
    check_stream(actor, action, host_id=stream.host_id, vendor_id=stream.vendor_id, moderators=mods)


def check_host_may_start(uow: UnitOfWork, stream: LiveStream) -> None:
    """Only a verified, active host goes live; a stream without a host (a vendor's own) needs no profile."""
    if stream.host_id is None:
        return
    profile: HostProfile | None = get_optional(uow, host_profile_id(stream.host_id))
    if profile is None:
        raise HostNotVerified("the stream's host has no host profile", status="none")
    profile.check_can_host()


class ProductCatalogue(Protocol):
    """The products catalogue (its own store, written directly, not a read model: never behind)."""

    async def owners(self, product_ids: list[str]) -> dict[str, str]:
        """product id → vendor id, for the products the catalogue knows."""
        ...

    async def requires_catalogue(self, vendor_id: str) -> bool:
        """Whether this vendor's stream products must all be in the catalogue."""
        ...


async def check_catalogue(catalogue: ProductCatalogue | None, vendor_id: str, product_ids: list[str]) -> None:
    """A stream lists only its own vendor's products: another vendor's is refused (409); one the catalogue does
    not know is refused (422) when the vendor has a catalogue or the setting requires one (ADR 0017)."""
    if catalogue is None or not product_ids:
        return
    owners = await catalogue.owners(product_ids)
    foreign = sorted(p for p, v in owners.items() if v != vendor_id)
    if foreign:
        raise ProductOfAnotherVendor("these products belong to another vendor", product_ids=foreign)
    unknown = sorted(p for p in product_ids if p not in owners)
    if unknown and await catalogue.requires_catalogue(vendor_id):
        raise ProductNotInCatalogue("these products are not in your catalogue", product_ids=unknown)


def _product(p: ProductTerms) -> StreamProduct:
    return StreamProduct(
        p.product_id, p.special_price, p.limited_quantity, p.discount_percentage, p.display_order, p.presentation_notes
    )


class StreamService:
    def __init__(
        self,
        writer: BatchWriter,
        *,
        clock: Callable[[], datetime],
        new_id: Callable[[], UUID],
        new_token: Callable[[], str],
        urls: StreamUrls,
    ) -> None:
        self._writer = writer
        self._clock = clock
        self._new_id = new_id
        self._new_token = new_token
        self._urls = urls
        self.catalogue: ProductCatalogue | None = None  # set by the composition root once its pool is open

    async def schedule(self, cmd: ScheduleStream) -> CommandResult:
        stream_id = self._new_id()
        stream_key = new_stream_key(stream_id, self._new_token())
        now = self._clock()
        await check_catalogue(self.catalogue, cmd.vendor_id, [p.product_id for p in cmd.products])

        def decide(uow: UnitOfWork) -> CommandResult:
            stream = LiveStream.schedule(
                id=stream_id,
                now=now,
                vendor_id=cmd.vendor_id,
                host_id=cmd.host_id,
                stream_key=stream_key,
                title=cmd.title,
                title_bn=cmd.title_bn,
                description=cmd.description,
                description_bn=cmd.description_bn,
                stream_type=cmd.stream_type,
                category=cmd.category,
                scheduled_start_time=cmd.scheduled_start_time,
                is_public=cmd.is_public,
                language=cmd.language,
                max_viewers=cmd.max_viewers,
                is_recorded=cmd.is_recorded,
                tags=cmd.tags,
                thumbnail_url=cmd.thumbnail_url,
                cover_image_url=cmd.cover_image_url,
                stream_settings=cmd.stream_settings,
                products=[_product(p) for p in cmd.products],
            )
            uow.add(stream)
            return CommandResult(stream.id, stream.version)

        return await self._writer.submit(decide, not_found=_not_found)

    async def start(self, stream_id: UUID, *, actor: Actor | None = None) -> StartedStream:
        now = self._clock()
        chat_room_id = f"chat_{self._new_id()}"

        def decide(uow: UnitOfWork) -> StartedStream:
            stream: LiveStream = uow.get(stream_id)
            _guard(uow, actor, "stream.start", stream)
            check_host_may_start(uow, stream)
            stream.start(
                now=now,
                rtmp_url=self._urls.rtmp_base_url,
                stream_url=self._urls.playback(stream_id),
                chat_room_id=chat_room_id,
            )
            return StartedStream(
                stream.id,
                stream.version,
                stream.stream_key,
                stream.rtmp_url or "",
                stream.stream_url or "",
                stream.chat_room_id or "",
            )

        return await self._writer.submit(decide, not_found=_not_found)

    async def end(
        self,
        stream_id: UUID,
        *,
        summary: str | None = None,
        auto_generate_highlights: bool = False,
        actor: Actor | None = None,
    ) -> CommandResult:
        now = self._clock()

        def decide(uow: UnitOfWork) -> CommandResult:
            stream: LiveStream = uow.get(stream_id)
            _guard(uow, actor, "stream.end", stream)
            stream.end(now=now, summary=summary, auto_generate_highlights=auto_generate_highlights)
            return CommandResult(stream.id, stream.version)

        return await self._writer.submit(decide, not_found=_not_found)

    async def cancel(self, stream_id: UUID, *, reason: str | None = None, actor: Actor | None = None) -> CommandResult:
        now = self._clock()

        def decide(uow: UnitOfWork) -> CommandResult:
            stream: LiveStream = uow.get(stream_id)
            _guard(uow, actor, "stream.cancel", stream)
            stream.cancel(now=now, reason=reason)
            return CommandResult(stream.id, stream.version)

        return await self._writer.submit(decide, not_found=_not_found)

    async def add_product(self, stream_id: UUID, product: ProductTerms, *, actor: Actor | None = None) -> CommandResult:
        now = self._clock()
        if self.catalogue is not None:  # a stream's vendor never changes: asked once, before the command
            stream = await self.authorize(stream_id, actor, "stream.add_product")
            await check_catalogue(self.catalogue, str(stream.vendor_id), [product.product_id])

        def decide(uow: UnitOfWork) -> CommandResult:
            stream: LiveStream = uow.get(stream_id)
            _guard(uow, actor, "stream.add_product", stream)
            stream.add_product(now=now, product=_product(product))
            return CommandResult(stream.id, stream.version)

        return await self._writer.submit(decide, not_found=_not_found)

    async def feature_product(self, stream_id: UUID, product_id: str, *, actor: Actor | None = None) -> CommandResult:
        now = self._clock()

        def decide(uow: UnitOfWork) -> CommandResult:
            stream: LiveStream = uow.get(stream_id)
            _guard(uow, actor, "stream.feature", stream)
            stream.feature_product(now=now, product_id=product_id)
            return CommandResult(stream.id, stream.version)

        return await self._writer.submit(decide, not_found=_not_found)

    async def set_featured(self, stream_id: UUID, featured: bool, *, actor: Actor | None = None) -> CommandResult:
        """Feature the show among all shows (``GET /streams`` ``featured_streams``) or take it off: an
        admin's choice (``stream.feature_stream``). Asking for the state it is in records nothing."""
        now = self._clock()
        if actor is not None:
            require_role(actor, "stream.feature_stream")

        def decide(uow: UnitOfWork) -> CommandResult:
            stream: LiveStream = uow.get(stream_id)
            by = actor.user_id if actor else None
            if featured:
                stream.feature(now=now, by=by)
            else:
                stream.unfeature(now=now, by=by)
            return CommandResult(stream.id, stream.version)

        return await self._writer.submit(decide, not_found=_not_found)

    async def authorize(self, stream_id: UUID, actor: Actor | None, action: str) -> LiveStream:
        """Check ``actor`` may take ``action`` on the stream, writing nothing: for commands on aggregates that
        hang off a stream (a flash sale). A stream's host and vendor never change, so the answer holds."""

        def decide(uow: UnitOfWork) -> LiveStream:
            stream: LiveStream = uow.get(stream_id)
            _guard(uow, actor, action, stream)
            return stream

        return await self._writer.submit(decide, not_found=_not_found)

    async def assign_moderator(
        self, stream_id: UUID, moderator_id: str, permissions: list[str] | None, *, actor: Actor | None = None
    ) -> CommandResult:
        now = self._clock()

        def decide(uow: UnitOfWork) -> CommandResult:
            stream: LiveStream = uow.get(stream_id)
            _guard(uow, actor, "stream.moderators", stream)
            mods: StreamModerators | None = get_optional(uow, moderators_id(stream_id))
            if mods is None:
                mods = StreamModerators.open(now=now, stream_id=str(stream_id))
                mods.assign(
                    now=now, moderator_id=moderator_id, permissions=permissions, by=actor.user_id if actor else None
                )
                uow.add(mods)
            else:
                mods.assign(
                    now=now, moderator_id=moderator_id, permissions=permissions, by=actor.user_id if actor else None
                )
            return CommandResult(mods.id, mods.version)

        return await self._writer.submit(decide, not_found=_not_found)

    async def revoke_moderator(
        self, stream_id: UUID, moderator_id: str, *, actor: Actor | None = None
    ) -> CommandResult:
        now = self._clock()

        def decide(uow: UnitOfWork) -> CommandResult:
            stream: LiveStream = uow.get(stream_id)
            _guard(uow, actor, "stream.moderators", stream)
            mods: StreamModerators | None = get_optional(uow, moderators_id(stream_id))
            if mods is None:
                return CommandResult(moderators_id(stream_id), 0)
            mods.revoke(now=now, moderator_id=moderator_id, by=actor.user_id if actor else None)
            return CommandResult(mods.id, mods.version)

        return await self._writer.submit(decide, not_found=_not_found)
