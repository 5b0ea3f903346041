"""Gift sends/s on the command path (GiftService → BatchWriter → the PostgreSQL event store), beside the
single-save baseline of the same store in the same run (``max_batch=1``: one transaction per send).

W viewers (each topped up with C coins) send gifts to one live show from many concurrent tasks, every send with
its own Idempotency-Key, more sends than the coins allow, so many are refused ``insufficient_coins``. After each
run every wallet is loaded from the store: none may be negative, and each must equal coins − 10 × accepted sends
of that viewer (nothing spent twice, nothing lost).

The machine is shared: sends per CPU-second of this process (all its threads) is printed beside the wall-clock
rate, since a busy machine starves the writer thread.

    python -m bench.gifts [--viewers 400] [--sends 10000] [--coins 200] [--concurrency 2000]

Why an earlier run showed 84 sends/s against 7: the machine's load average was 51-67, so the writer thread
ran a small share of the time; the bench kept only 400 sends in flight, about two batches, so the writer
waited for the event loop to refill its queue after each batch; and each event was encoded twice (the size
check, then the save: now once, see ``application.batch_writer._EncodedOnce``). Concurrency above the batch
size is what an API under load sees (many clients); the figure is wall clock, printed with the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

from application.batch_writer import BatchWriter, UnitOfWork
from application.coins import wallet_id_for
from application.event_store import LiveCommerceStore
from application.gifts import GiftService, SendGift
from application.streams import ScheduleStream, StreamService, StreamUrls
from bench._env import drop, fresh_settings
from domain.coin_wallet import CoinWallet, InsufficientCoins
from infra.postgres import ensure_event_store


def now() -> datetime:
    return datetime.now(UTC)


async def setup(store: LiveCommerceStore, viewers: list[str], coins: int) -> uuid.UUID:
    writer = BatchWriter(store, max_batch=500)
    streams = StreamService(
        writer,
        clock=now,
        new_id=uuid.uuid4,
        new_token=lambda: secrets.token_urlsafe(12),
        urls=StreamUrls("rtmp://127.0.0.1/live", "http://127.0.0.1/hls"),
    )
    sid = (
        await streams.schedule(ScheduleStream(vendor_id=str(uuid.uuid4()), title="gifts", stream_type="product_demo"))
    ).id
    await streams.start(sid)
    gifts = GiftService(writer, clock=now, coin_price=Decimal("1.00"), host_share_percent=Decimal("70"))
    await gifts.list_gift({"gift_id": "rose", "name": "Rose", "name_bn": "গোলাপ", "coins": 10, "animation_key": "rose"})

    def credit(user: str) -> object:
        def decide(uow: UnitOfWork) -> None:
            w = CoinWallet.open(id=wallet_id_for(user), now=now(), user_id=user)
            uow.add(w)
            w.request_top_up(top_up_id="seed", coins=coins, amount=Decimal(coins), payment_method="bkash", now=now())
            w.settle_top_up(
                top_up_id="seed",
                method="bkash",
                provider_payment_id=None,
                status="completed",
                amount=Decimal(coins),
                reference="seed",
                reason=None,
                now=now(),
            )

        return decide

    await asyncio.gather(*(writer.submit(credit(u)) for u in viewers))  # type: ignore[arg-type]
    await writer.stop()
    return sid


async def run(
    store: LiveCommerceStore,
    label: str,
    sid: uuid.UUID,
    viewers: list[str],
    sends: int,
    concurrency: int,
    max_batch: int,
) -> tuple[Counter[str], float]:
    writer = BatchWriter(store, max_batch=max_batch)
    gifts = GiftService(writer, clock=now, coin_price=Decimal("1.00"), host_share_percent=Decimal("70"))
    outcome: Counter[str] = Counter()
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        user = viewers[i % len(viewers)]
        async with sem:
            try:
                await gifts.send(SendGift(sid, user, "fan", "rose", 1, None, f"{label}-{i}"))
                outcome[user] += 1
                outcome["accepted"] += 1
            except InsufficientCoins:
                outcome["refused"] += 1

    t0, cpu0 = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one(i) for i in range(sends)))
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    await writer.stop()
    print(
        f"{label:>24}: {sends / wall:7.0f} gift sends/s ({sends} in {wall:.2f} s; accepted "
        f"{outcome['accepted']}, refused insufficient_coins {outcome['refused']}); "
        f"{sends / cpu:.0f} sends per CPU-second of this process (load-independent)"
    )
    return outcome, sends / wall


def check(store: LiveCommerceStore, viewers: list[str], coins: int, spent: Counter[str]) -> None:
    negative = 0
    for user in viewers:
        w: CoinWallet = store.repository.get(wallet_id_for(user))
        negative += w.balance < 0
        assert w.balance == coins - 10 * spent[user], (user, w.balance, spent[user])
    print(f"{'wallets checked':>24}: {len(viewers)}, negative balances: {negative}")
    assert negative == 0


def measure(
    viewers: int = 400, sends: int = 10_000, coins: int = 200, concurrency: int = 2000, baseline_sends: int = 600
) -> dict[str, float]:
    """→ sends/s of the single-save baseline and of the batched path, each after its wallets were checked."""
    settings = fresh_settings()
    rates: dict[str, float] = {}
    try:
        ensure_event_store(settings.postgres_url, lambda: LiveCommerceStore(settings.eventsourcing_env()))
        store = LiveCommerceStore(settings.eventsourcing_env(create_tables=False))
        for label, n, batch in (
            ("single save (baseline)", baseline_sends, 1),
            ("batched (as shipped)", sends, settings.command_batch_max),
        ):
            users = [str(uuid.uuid4()) for _ in range(viewers)]
            sid = asyncio.run(setup(store, users, coins))
            spent, rates[label] = asyncio.run(run(store, label, sid, users, n, concurrency, batch))
            check(store, users, coins, spent)
        store.close()
    finally:
        drop(settings)
    return rates


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--viewers", type=int, default=400)
    ap.add_argument("--sends", type=int, default=10_000)
    ap.add_argument("--coins", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=2000)
    ap.add_argument("--baseline-sends", type=int, default=600)
    a = ap.parse_args()
    measure(a.viewers, a.sends, a.coins, a.concurrency, a.baseline_sends)


if __name__ == "__main__":
    main()
