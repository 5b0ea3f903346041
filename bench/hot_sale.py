"""One hot flash sale over HTTP: purchase attempts/s, p50/p99 of accepted and of refused attempts.

Runs the API twice on fresh environments in the same run: batched (the service as configured) and the
baseline with one save per command (``command_batch_max=1``). N buyers each try once for Q units.
Targets: ≥ 3,000 attempts/s; refusals after sell-out p99 ≤ 20 ms; accepted p99 ≤ 200 ms.

    python -m bench.hot_sale [--buyers 10000] [--units 1000] [--concurrency 200]
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
PRODUCT = "7d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


def setup_sale(port: int, units: int, admin: dict[str, str]) -> str:
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30, headers=admin) as http:
        sid = http.post(
            f"{P}/streams",
            json={
                "title": "hot",
                "stream_type": "flash_sale",
                "products": [{"product_id": PRODUCT, "special_price": 1000}],
            },
        ).json()["id"]
        http.post(f"{P}/streams/{sid}/start")
        return str(
            http.post(
                f"{P}/flash-sales",
                json={
                    "stream_id": sid,
                    "product_id": PRODUCT,
                    "flash_price": 499,
                    "available_quantity": units,
                    "duration_minutes": 30,
                    "max_per_buyer": 1,
                },
            ).json()["id"]
        )


async def attack(
    port: int, sale: str, buyers: int, concurrency: int, units: int, rate: float = 0.0, tokens: list[str] | None = None
) -> dict[str, list[float]]:
    """Closed loop (``rate`` 0: ``concurrency`` requests always in flight) or open loop at ``rate``/s."""
    pool = Pool("127.0.0.1", port, concurrency)
    out: dict[str, list[float]] = {"accepted": [], "refused": [], "other": [], "refused_after": []}
    sold_out_at = [float("inf")]
    accepted_count = [0]
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with sem:
            t0 = time.perf_counter()
            assert tokens is not None  # each buyer signed in: the buyer is the token's subject
            status, _ = await pool.request(
                "POST",
                f"{P}/flash-sales/{sale}/purchase",
                {"quantity": 1},
                {"Idempotency-Key": f"b{i}", "Authorization": f"Bearer {tokens[i]}"},
            )
            ms = (time.perf_counter() - t0) * 1000
            out["accepted" if status == 201 else "refused" if status == 409 else "other"].append(ms)
            if status == 201:
                accepted_count[0] += 1
                if accepted_count[0] == units:
                    sold_out_at[0] = time.perf_counter()
            elif status == 409 and t0 > sold_out_at[0]:
                out["refused_after"].append(ms)  # sent after the buyer side saw the last unit go

    t0 = time.perf_counter()
    if rate <= 0:
        await asyncio.gather(*(one(i) for i in range(buyers)))
    else:
        tasks = []
        for i in range(buyers):
            delay = t0 + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
    out["wall"] = [time.perf_counter() - t0]
    return out


def run_once(label: str, buyers: int, units: int, concurrency: int, rate: float = 0.0, **overrides: object) -> None:
    settings = fresh_settings(http_port=free_port(), **overrides)
    logs = Path(".livecommerce/bench-logs")
    logs.mkdir(parents=True, exist_ok=True)
    api = Proc(settings, "api", log_dir=logs, name=f"api-{label}")
    try:
        wait_until(lambda: _up(settings.http_port), timeout=60, what="API")
        sale = setup_sale(settings.http_port, units, auth(settings))
        tokens = [token(settings, "viewer") for _ in range(buyers)]
        r = asyncio.run(attack(settings.http_port, sale, buyers, concurrency, units, rate, tokens))
        wall = r["wall"][0]
        acc, ref = r["accepted"], r["refused"]
        print(
            f"{label:>22}: {buyers / wall:7.0f} attempts/s | accepted {len(acc)} p50 {pct(acc, 50):.1f} "
            f"p99 {pct(acc, 99):.1f} ms | refused {len(ref)} p50 {pct(ref, 50):.1f} p99 {pct(ref, 99):.1f} ms"
            f" | other {len(r['other'])}"
        )
        after = r["refused_after"]
        print(
            f"{'':>22}  refusals sent after sell-out: {len(after)} p50 {pct(after, 50):.1f} p99 {pct(after, 99):.1f} ms"
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
    ap.add_argument("--buyers", type=int, default=10_000)
    ap.add_argument("--units", type=int, default=1_000)
    ap.add_argument("--concurrency", type=int, default=200)
    ap.add_argument("--rate", type=float, default=3000.0, help="offered attempts/s for the open-loop runs")
    a = ap.parse_args()
    print(f"{a.buyers} buyers, {a.units} units; closed loop: {a.concurrency} requests always in flight")
    run_once("batched (as shipped)", a.buyers, a.units, a.concurrency)
    run_once("one save per command", a.buyers, a.units, a.concurrency, command_batch_max=1)
    print(f"open loop: {a.rate:.0f} attempts/s offered (latency at a rate the service is asked to carry)")
    run_once("batched (as shipped)", a.buyers, a.units, 1000, a.rate)
    run_once("one save per command", a.buyers, a.units, 1000, a.rate, command_batch_max=1)
    print("targets: ≥ 3,000 attempts/s; refused p99 ≤ 20 ms; accepted p99 ≤ 200 ms")


if __name__ == "__main__":
    main()
