"""One hot stream product over HTTP: /checkout/instant attempts/s and p50/p99 while its stock lasts and after.

N buyers (each signed in, each once) check out one unit of a stream product with ``limited_quantity`` Q, cash on
delivery (no payment provider in the loop: the order, the payment, the buyer's ledger and the stock are written
by the checkout itself). The API runs twice on fresh environments in the same run: batched (as shipped) and the
baseline with one save per command (``command_batch_max=1``). Exactly Q checkouts must be accepted.

    python -m bench.stream_stock [--buyers 2000] [--units 200] [--concurrency 100]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

import httpx

from bench._env import drop, fresh_settings, pct
from bench._http import Pool
from tests.support import Proc, auth, free_port, token, wait_until

P = "/api/v1/live-commerce"
PRODUCT = "5e2d1c0b-9a8f-4e7d-8c6b-5a4f3e2d1c0b"


def setup_show(port: int, units: int, admin: dict[str, str]) -> str:
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30, headers=admin) as http:
        sid = http.post(
            f"{P}/streams",
            json={
                "title": "hot",
                "stream_type": "product_demo",
                "products": [{"product_id": PRODUCT, "special_price": 1000, "limited_quantity": units}],
            },
        ).json()["id"]
        started = http.post(f"{P}/streams/{sid}/start")
        assert started.status_code == 200, started.text
        return str(sid)


async def attack(port: int, sid: str, tokens: list[str], concurrency: int) -> dict[str, list[float]]:
    pool = Pool("127.0.0.1", port, concurrency)
    out: dict[str, list[float]] = {"accepted": [], "refused": [], "other": []}
    sem = asyncio.Semaphore(concurrency)
    body = {
        "stream_id": sid,
        "cart_items": [{"product_id": PRODUCT, "quantity": 1}],
        "payment_method": "cod",
        "phone": "01712345678",
        "shipping_address": {"city": "Dhaka"},
    }

    async def one(i: int) -> None:
        async with sem:
            t0 = time.perf_counter()
            status, _ = await pool.request(
                "POST",
                f"{P}/checkout/instant",
                body,
                {"Idempotency-Key": f"b{i}", "Authorization": f"Bearer {tokens[i]}"},
            )
            ms = (time.perf_counter() - t0) * 1000
            out["accepted" if status == 201 else "refused" if status == 409 else "other"].append(ms)

    t0 = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(len(tokens))))
    out["wall"] = [time.perf_counter() - t0]
    return out


def run_once(label: str, buyers: int, units: int, concurrency: int, **overrides: object) -> None:
    settings = fresh_settings(http_port=free_port(), **overrides)
    logs = Path(".livecommerce/bench-logs")
    logs.mkdir(parents=True, exist_ok=True)
    api = Proc(settings, "api", log_dir=logs, name=f"api-stock-{label.split()[0]}")
    try:
        wait_until(lambda: _up(settings.http_port), timeout=60, what="API")
        sid = setup_show(settings.http_port, units, auth(settings))
        tokens = [token(settings, "viewer") for _ in range(buyers)]
        r = asyncio.run(attack(settings.http_port, sid, tokens, concurrency))
        wall, acc, ref = r["wall"][0], r["accepted"], r["refused"]
        assert len(acc) == units, f"{len(acc)} accepted for {units} units"
        print(
            f"{label:>22}: {buyers / wall:6.0f} checkouts/s | accepted {len(acc)} p50 {pct(acc, 50):.1f} "
            f"p99 {pct(acc, 99):.1f} ms | refused {len(ref)} p50 {pct(ref, 50):.1f} p99 {pct(ref, 99):.1f} ms"
            f" | other {len(r['other'])}"
        )
    finally:
        api.stop()
        drop(settings)


def _up(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health").status_code in (200, 503)
    except httpx.HTTPError:
        return False


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--buyers", type=int, default=2_000)
    ap.add_argument("--units", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=100)
    a = ap.parse_args()
    print(f"{a.buyers} buyers, {a.units} units of one stream product; {a.concurrency} requests in flight")
    run_once("batched (as shipped)", a.buyers, a.units, a.concurrency)
    run_once("one save per command", a.buyers, a.units, a.concurrency, command_batch_max=1)


if __name__ == "__main__":
    main()
