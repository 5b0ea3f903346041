"""Virtual gifts: the admin-managed catalogue, and a viewer sending gifts to a live show's host.

A send is decided in one unit of work from the write side only: the show (live? whose?) and the catalogue's
price are read from the store, and the sender's ``CoinWallet`` spends the coins or refuses (``409
insufficient_coins``). The host's share (``gift_host_share_percent`` of the coins' taka value) is recorded on the
same ``CoinWallet.GiftSent`` event, which is what credits the host: the dashboard's earnings and the leaderboards
are projections of it (ADR 0022). Sends go through the batching writer, so many senders share one transaction
and one sender's racing sends are decided one after another on the same wallet: the balance never goes below
zero. A send is exactly-once by the sender's Idempotency-Key (``send_id``), so a retry never spends twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from application.batch_writer import BatchWriter, UnitOfWork
from application.coins import wallet_id_for
from domain.coin_wallet import CoinWallet, InsufficientCoins
from domain.errors import StreamNotFound, StreamNotLive
from domain.gift_catalogue import CATALOGUE_ID, GiftCatalogue, GiftNotFound
from domain.live_stream import LiveStream

_NS = uuid.UUID("5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9")


def send_id_for(wallet_id: UUID, idempotency_key: str) -> str:
    return str(uuid.uuid5(_NS, f"gift:{wallet_id}:{idempotency_key}"))


@dataclass(frozen=True)
class SendGift:
    stream_id: UUID
    sender_id: str
    sender_name: str
    gift_id: str
    quantity: int
    message: str | None
    idempotency_key: str


@dataclass(frozen=True)
class GiftSendView:
    send_id: str
    stream_id: str
    gift_id: str
    quantity: int
    coins: int
    balance: int
    version: int  # the wallet's: GET /wallet?min_version= waits for it


def _missing_stream(stream_id: UUID) -> Exception:
    return StreamNotFound("stream not found", stream_id=str(stream_id))


class GiftService:
    def __init__(
        self, writer: BatchWriter, *, clock: Callable[[], datetime], coin_price: Decimal, host_share_percent: Decimal
    ) -> None:
        self._writer = writer
        self._clock = clock
        self._coin_price = coin_price
        self._share = host_share_percent

    # ---- the catalogue (admins) ----------------------------------------------------------------------
    async def list_gift(self, gift: dict[str, Any]) -> int:
        """Add or change a gift; → the catalogue's version (GET /gifts?min_version= waits for it)."""
        now = self._clock()

        def decide(uow: UnitOfWork) -> int:
            catalogue: GiftCatalogue | None = uow.find(CATALOGUE_ID)
            if catalogue is None:
                catalogue = GiftCatalogue.start(now=now)
                uow.add(catalogue)
            catalogue.list_gift(now=now, **gift)
            return int(catalogue.version)

        return await self._writer.submit(decide)

    async def retire_gift(self, gift_id: str) -> int:
        now = self._clock()

        def decide(uow: UnitOfWork) -> int:
            catalogue: GiftCatalogue | None = uow.find(CATALOGUE_ID)
            if catalogue is None:
                raise GiftNotFound("no such gift in the catalogue", gift_id=gift_id)
            catalogue.retire(gift_id=gift_id, now=now)
            return int(catalogue.version)

        return await self._writer.submit(decide)

    # ---- sending -------------------------------------------------------------------------------------
    async def send(self, cmd: SendGift) -> GiftSendView:
        return await self._writer.submit(self.decision(cmd), not_found=_missing_stream)

    def decision(self, cmd: SendGift) -> Callable[[UnitOfWork], GiftSendView]:
        """The send as a decision over a unit of work (the benchmark runs the same one without batching)."""
        now = self._clock()
        wallet_id = wallet_id_for(cmd.sender_id)
        send_id = send_id_for(wallet_id, cmd.idempotency_key)
        stream_key = str(cmd.stream_id)

        def decide(uow: UnitOfWork) -> GiftSendView:
            wallet: CoinWallet | None = uow.find(wallet_id)
            before = (
                None
                if wallet is None
                else wallet.sent(send_id, stream_id=stream_key, gift_id=cmd.gift_id, quantity=cmd.quantity)
            )
            if wallet is not None and before is not None:  # a retry: the first answer, nothing spent again
                return _sent_view(send_id, before)
            stream: LiveStream = uow.current(cmd.stream_id)  # ended by another process?
            if not isinstance(stream, LiveStream):
                raise _missing_stream(cmd.stream_id)
            if stream.status != "live":
                raise StreamNotLive("gifts are sent while the show is live", status=stream.status)
            catalogue: GiftCatalogue | None = uow.find(CATALOGUE_ID)
            if catalogue is None:
                raise GiftNotFound("no such gift in the catalogue", gift_id=cmd.gift_id)
            gift = uow.current(CATALOGUE_ID).gift(cmd.gift_id)  # changed by an admin on another process?
            if wallet is None:  # never topped up: nothing to spend
                raise InsufficientCoins(
                    "not enough coins for this gift", needed=gift["coins"] * cmd.quantity, balance=0
                )
            if wallet.review is not None:  # held by a fraud case: as stored now (an admin may have cleared it)
                wallet = uow.current(wallet_id)
            sent = wallet.send_gift(
                send_id=send_id,
                stream_id=stream_key,
                gift_id=cmd.gift_id,
                quantity=cmd.quantity,
                unit_coins=gift["coins"],
                host_id=str(stream.host_id or stream.vendor_id),
                host_share_percent=self._share,
                coin_price=self._coin_price,
                message=cmd.message,
                from_name=cmd.sender_name,
                now=now,
            )
            return _sent_view(send_id, sent)

        return decide


def _sent_view(send_id: str, sent: dict[str, Any]) -> GiftSendView:
    return GiftSendView(
        send_id, sent["stream_id"], sent["gift_id"], sent["quantity"], sent["coins"], sent["balance"], sent["version"]
    )
