"""Buying coins: ``POST /wallet/top-ups`` → a provider session → coins credited once, when the provider confirms.

The top-up is exactly-once by the buyer's Idempotency-Key (its id is uuid5 of the wallet and the key), like a
checkout's order (ADR 0007). The provider session is opened after the request is saved, and recorded with its
payment URL, so a retry answers the same URL. A provider's callback is only a hint: it is confirmed with the
provider (``execute`` for a claimed success, ``query`` otherwise, the same adapters as orders use) and only that
answer reaches the wallet, which credits the coins once and ignores every repeat.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol
from uuid import UUID

from application.batch_writer import BatchWriter, UnitOfWork
from application.checkout import ProviderAnswer
from domain.coin_wallet import CENTS, CoinWallet, TopUpNotFound

_NS = uuid.UUID("c0a1b2c3-d4e5-4f60-8a7b-9c0d1e2f3a4b")
TOP_UP_METHODS = ("bkash", "nagad", "rocket", "card")


def wallet_id_for(user_id: str) -> UUID:
    return uuid.uuid5(_NS, f"coin-wallet:{user_id}")


def top_up_id_for(wallet_id: UUID, idempotency_key: str) -> UUID:
    return uuid.uuid5(_NS, f"top-up:{wallet_id}:{idempotency_key}")


class TopUpSessions(Protocol):
    """Provider sessions for top-ups (``infra.payments.sessions.GatewaySessions``, as for orders)."""

    async def open(
        self,
        method: str,
        payment_id: UUID,
        amount: Decimal,
        payer: str,
        emi_months: int | None = None,
        *,
        callback_url: str | None = None,
    ) -> tuple[str, str]: ...

    async def confirm(self, method: str, params: dict[str, Any]) -> ProviderAnswer: ...

    async def status(self, method: str, provider_payment_id: str) -> ProviderAnswer: ...


@dataclass(frozen=True)
class TopUpView:
    top_up_id: UUID
    wallet_id: UUID
    coins: int
    amount: Decimal
    payment_method: str
    status: str  # requested | processing | credited | failed
    payment_url: str | None
    balance: int
    version: int


def _view(w: CoinWallet, top_up_id: UUID) -> TopUpView:
    t = w.top_up(str(top_up_id))
    return TopUpView(
        top_up_id,
        w.id,
        t["coins"],
        t["amount"],
        t["payment_method"],
        t["status"],
        t["payment_url"],
        w.balance,
        w.version,
    )


def _missing_top_up(aggregate_id: UUID) -> Exception:
    return TopUpNotFound("top-up not found", wallet_id=str(aggregate_id))


class CoinService:
    def __init__(
        self,
        writer: BatchWriter,
        sessions: TopUpSessions,
        *,
        clock: Callable[[], datetime],
        coin_price: Decimal,
        callback_url: Callable[[UUID, UUID, str], str],
    ) -> None:
        self._writer = writer
        self._sessions = sessions
        self._clock = clock
        self.coin_price = coin_price
        self._callback_url = callback_url

    async def request_top_up(self, user_id: str, coins: int, method: str, idempotency_key: str) -> TopUpView:
        """Record the top-up (once per key), open the provider's session, answer with its payment URL."""
        now = self._clock()
        wallet_id = wallet_id_for(user_id)
        top_up_id = top_up_id_for(wallet_id, idempotency_key)
        amount = (Decimal(coins) * self.coin_price).quantize(CENTS)

        def decide(uow: UnitOfWork) -> TopUpView:
            wallet: CoinWallet | None = uow.find(wallet_id)
            if wallet is None:
                wallet = CoinWallet.open(id=wallet_id, now=now, user_id=user_id)
                uow.add(wallet)
            elif wallet.review is not None:  # held by a fraud case: as stored now (an admin may have cleared it)
                wallet = uow.current(wallet_id)
            wallet.request_top_up(top_up_id=str(top_up_id), coins=coins, amount=amount, payment_method=method, now=now)
            return _view(wallet, top_up_id)

        view = await self._writer.submit(decide)
        if view.status != "requested":
            return view  # a retry: the session is open (or settled) already
        provider_id, url = await self._sessions.open(
            method, top_up_id, amount, user_id, callback_url=self._callback_url(wallet_id, top_up_id, method)
        )

        def opened(uow: UnitOfWork) -> TopUpView:
            wallet: CoinWallet = uow.get(wallet_id)
            wallet.session_opened(top_up_id=str(top_up_id), provider_payment_id=provider_id, payment_url=url, now=now)
            return _view(wallet, top_up_id)

        return await self._writer.submit(opened)

    async def callback(self, wallet_id: UUID, top_up_id: UUID, method: str, params: dict[str, Any]) -> TopUpView:
        """A provider called back: confirm with the provider, then settle the top-up (idempotent)."""
        return await self._settle(wallet_id, top_up_id, method, await self._sessions.confirm(method, params))

    async def reconcile(self, wallet_id: UUID, top_up_id: UUID) -> TopUpView:
        """Nobody called back: ask the provider about the session and settle what it says."""

        def read(uow: UnitOfWork) -> tuple[TopUpView, str | None]:
            wallet: CoinWallet = uow.current(wallet_id)
            return _view(wallet, top_up_id), wallet.top_up(str(top_up_id))["provider_payment_id"]

        view, provider_id = await self._writer.submit(read, not_found=_missing_top_up)
        if view.status != "processing" or provider_id is None:
            return view
        answer = await self._sessions.status(view.payment_method, provider_id)
        return await self._settle(wallet_id, top_up_id, view.payment_method, answer)

    async def _settle(self, wallet_id: UUID, top_up_id: UUID, method: str, answer: ProviderAnswer) -> TopUpView:
        now = self._clock()

        def decide(uow: UnitOfWork) -> TopUpView:
            wallet: CoinWallet = uow.get(wallet_id)
            wallet.settle_top_up(
                top_up_id=str(top_up_id),
                method=method,
                provider_payment_id=answer.provider_id,
                status=answer.status,
                amount=answer.amount,
                reference=answer.reference,
                reason=answer.reason,
                now=now,
            )
            return _view(wallet, top_up_id)

        return await self._writer.submit(decide, not_found=_missing_top_up)
