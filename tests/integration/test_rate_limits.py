"""The Redis rate limiter (one script call per request) against a real Redis: counts as the `limits` library's
own sliding-window limiter does, refuses without using up the other counters, and lets a window roll on."""

from __future__ import annotations

import asyncio
import uuid

from infra.rate_limits import Check, RateLimiter, parse
from infra.settings import Settings


async def _both(settings: Settings) -> tuple[RateLimiter, RateLimiter]:
    prefix = f"LIMITS:test:{uuid.uuid4().hex[:8]}"
    return RateLimiter.redis(settings.redis_url, prefix), RateLimiter.library_redis(settings.redis_url, prefix + "L")


async def test_the_script_admits_what_the_library_admits_and_refuses_the_rest(settings: Settings) -> None:
    ours, library = await _both(settings)
    try:
        ip, user = parse("10/second;20/minute"), parse("3/minute")
        for limiter in (ours, library):
            seen = []
            for _ in range(6):
                r = await limiter.refusal(
                    [Check(ip, ("http", "write", "ip", "1.2.3.4")), Check(user, ("http", "write", "user", "rahim"))]
                )
                seen.append(None if r is None else (r.check.key[2], r.retry_after >= 1))
            assert seen == [None, None, None, ("user", True), ("user", True), ("user", True)]
    finally:
        await ours.close()
        await library.close()


async def test_a_refused_request_uses_up_nothing_and_a_window_rolls_on(settings: Settings) -> None:
    ours, library = await _both(settings)
    await library.close()
    try:
        ip, user = parse("4/second"), parse("2/second")
        checks = [Check(ip, ("ip", "5.6.7.8")), Check(user, ("user", "karim"))]
        assert [await ours.refusal(checks) is None for _ in range(3)] == [True, True, False]
        # the IP's counter took two hits, not three: two more anonymous requests from it still pass
        assert [await ours.refusal(checks[:1]) is None for _ in range(3)] == [True, True, False]
        await asyncio.sleep(2.1)  # the previous second's weight has gone
        assert await ours.refusal(checks) is None
    finally:
        await ours.close()
