"""What rate limits cost (ADR 0018): one signed-in write is checked against its IP's and its user's counters,
two windows each.

1. The limiter alone, against the dev stack's Redis, in the same run: the `limits` library's own sliding-window
   limiter (one Redis call per window and counter: four) beside ours (one script call for all four). Checks/s
   and this process's CPU per check, with ``--concurrency`` checks in flight as an API process has them.
2. One hot flash sale over HTTP (``bench.hot_sale``'s closed loop) with limits off and on, same run.

    python -m bench.rate_limits [--checks 20000] [--concurrency 200] [--buyers 4000] [--units 400]
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

from bench.hot_sale import run_once
from infra.rate_limits import Check, RateLimiter, parse
from infra.settings import Settings

IP, USER = parse("200/second;6000/minute"), parse("20/second;300/minute")


async def _limiter(limiter: RateLimiter, checks: int, concurrency: int) -> tuple[float, float, int]:
    """→ (checks/s, CPU µs per check in this process, refusals)."""
    refused = 0
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        nonlocal refused
        async with sem:  # a user per request (as many buyers), one address per 50 of them
            if (
                await limiter.refusal(
                    [
                        Check(IP, ("http", "write", "ip", f"10.0.{i // 50 % 250}.1")),
                        Check(USER, ("http", "write", "user", f"u{i}")),
                    ]
                )
                is not None
            ):
                refused += 1

    await one(-1)  # connect, load the script
    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one(i) for i in range(checks)))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    await limiter.close()
    return checks / wall, cpu / checks * 1e6, refused


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--checks", type=int, default=20_000)
    ap.add_argument("--concurrency", type=int, default=200)
    ap.add_argument("--buyers", type=int, default=4_000)
    ap.add_argument("--units", type=int, default=400)
    ap.add_argument("--skip-http", action="store_true")
    a = ap.parse_args()
    from infra import devstack

    devstack.up(Settings(), echo=lambda _l: None)
    redis_url = Settings().redis_url
    print(f"1. the limiter alone: {a.checks} signed-in writes (IP + user, two windows each), {a.concurrency} in flight")
    for label, make in (("library (4 calls)", RateLimiter.library_redis), ("one script call", RateLimiter.redis)):
        rate, cpu, refused = asyncio.run(
            _limiter(make(redis_url, f"LIMITS:bench:{uuid.uuid4().hex[:8]}"), a.checks, a.concurrency)
        )
        print(f"   {label:>18}: {rate:8.0f} checks/s, {cpu:6.1f} µs CPU per check, {refused} refused")
    if a.skip_http:
        return
    print(f"2. one hot flash sale over HTTP: {a.buyers} buyers, {a.units} units, 200 in flight")
    run_once("limits off", a.buyers, a.units, 200, rate_limits_enabled=False)
    run_once("limits on", a.buyers, a.units, 200)


if __name__ == "__main__":
    main()
