"""The watch page's first load (issue 15): bytes of HTML + JS + CSS as sent (compressed), before any video, and
the time until it is usable, in real Chromium on DevTools' "Fast 3G" profile (CDP network emulation: 562.5 ms
round trip, 1.44 Mbit/s down), cache off (a first visit). Same run, for comparison: the same page unthrottled,
a repeat visit on Fast 3G (cache on: the vendored files come from the cache, the app's own are revalidated),
and the bytes uncompressed.

"Usable" is the page's own mark ``lc-interactive``: the show, its featured product and flash sales shown, and
the buttons for buying, chat, reactions and following bound (a tap before the socket or the checkout module is in
waits for it); ``lc-complete`` follows once the socket, checkout, auctions, group buys, polls, quizzes and gifts
are attached. The video starts after that, when hls.js and the playlist arrive.

    python -m bench.web_first_load [--runs 3]

Starts the API, relay and projections on the dev stack's servers (fresh database), seeds a live show with
products and a flash sale, measures, stops.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from bench._env import drop, fresh_settings
from infra.settings import Settings
from tests.support import Proc, free_port, token
from tests.web.browser import FAST_3G, MOBILE, Browser
from tests.web.seed import flash_sale, seed_show

MEASURE = """
const nav = performance.getEntriesByType('navigation')[0];
const res = performance.getEntriesByType('resource');
const page = res.filter((r) => /\\.(m?js|css)(\\?|$)/.test(r.name) && !r.name.includes('/hls/'));
const mark = performance.getEntriesByName('lc-interactive')[0];
return {
  html: nav.transferSize, html_raw: nav.decodedBodySize,
  assets: page.reduce((n, r) => n + r.transferSize, 0), assets_raw: page.reduce((n, r) => n + r.decodedBodySize, 0),
  files: page.length, hls: page.some((r) => r.name.includes('hls.light')),
  fonts: res.filter((r) => r.name.endsWith('.woff2')).reduce((n, r) => n + r.transferSize, 0),
  interactive_ms: mark ? mark.startTime : null, dom_content_loaded_ms: nav.domContentLoadedEventEnd,
  complete_ms: (performance.getEntriesByName('lc-complete')[0] || {}).startTime ?? null,
  waterfall: [nav, ...res].filter((r) => !mark || r.startTime <= mark.startTime).map((r) => [
    r.name.replace(location.origin, ''), Math.round(r.startTime), Math.round(r.responseEnd), r.transferSize]),
};
"""


def visit(b: Browser, url: str) -> dict[str, float]:
    b.driver.get(url)
    b.wait(lambda: b.js("document.body.dataset.ready") == "true", "the page to be usable", 60)
    # Everything of the first load, hls.js included, before the video's own requests count.
    b.wait(
        lambda: b.js("performance.getEntriesByType('resource').some((r) => r.name.includes('hls.light'))"),
        "hls.js to load",
        60,
    )
    return b.js(MEASURE)  # type: ignore[no-any-return]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--url", help="a running server's watch page (e.g. the dev stack's); else one is started")
    args = ap.parse_args()
    if args.url:
        measure(args.url, token(Settings(), "viewer"), args.runs)
        return
    port = free_port()
    env = fresh_settings(http_port=port, playback_base_url=f"http://127.0.0.1:{port}/hls", allow_dev_jwt_secret=True)
    logs = Path(tempfile.mkdtemp(prefix="web-bench-"))
    procs = [Proc(env, name, log_dir=logs, name=f"bench-{name}") for name in ("relay", "project")]
    api = Proc(env, "api", log_dir=logs, name="bench-api")
    procs.append(api)
    try:
        api.wait_for_output("realtime pusher ready", timeout=120)
        procs[1].wait_for_output("projection live_streams pid", timeout=120)  # else the seed may go unseen
        base = f"http://127.0.0.1:{port}"

        def tok(role: str = "admin", user: str | None = None, vendor: str | None = None) -> str:
            return token(env, role, user, vendor)

        seeded = seed_show(base, tok)
        flash_sale(base, tok, seeded, quantity=50, seconds=3600)
        measure(f"{base}/watch/{seeded.stream_id}", tok("viewer"), args.runs)
    finally:
        for p in procs:
            p.stop()
        drop(env)


def measure(url: str, viewer_token: str, runs: int) -> None:
    b = Browser(*MOBILE)
    try:
        b.open(url, token=viewer_token, lang="bn")
        visit(b, url)  # warm the server (first requests compile templates, open pools)
        results: dict[str, list[dict[str, float]]] = {"unthrottled": [], "fast3g_first": [], "fast3g_repeat": []}
        for _ in range(runs):
            b.throttle(None)
            b.cdp("Network.clearBrowserCache")
            results["unthrottled"].append(visit(b, url))
            b.throttle(FAST_3G)
            results["fast3g_first"].append(visit(b, url))
            b.cdp("Network.setCacheDisabled", {"cacheDisabled": False})
            results["fast3g_repeat"].append(visit(b, url))
        first = results["fast3g_first"][0]
        print(f"requests before the page is usable (Fast 3G, first visit): {len(first['waterfall'])}")
        for name, start, end, size in first["waterfall"]:
            print(f"  {start:>5} → {end:>5} ms  {size / 1024:>6.1f} KB  {name[:90]}")
        print(
            f"watch page, first visit: HTML {first['html'] / 1024:.1f} KB + JS/CSS {first['assets'] / 1024:.1f} KB "
            f"in {first['files']} files = {(first['html'] + first['assets']) / 1024:.1f} KB compressed "
            f"(uncompressed {(first['html_raw'] + first['assets_raw']) / 1024:.1f} KB); hls.js included: "
            f"{first['hls']}; Bangla font {first['fonts'] / 1024:.1f} KB; budget 250 KB"
        )
        for name, rows in results.items():
            t = [r["interactive_ms"] for r in rows]
            done = [r["complete_ms"] or 0 for r in rows]
            kb = [(r["html"] + r["assets"]) / 1024 for r in rows]
            print(
                f"{name:>14}: interactive median {statistics.median(t):.0f} ms (runs: "
                f"{', '.join(f'{x:.0f}' for x in t)}), everything attached {statistics.median(done):.0f} ms, "
                f"transferred {statistics.median(kb):.1f} KB"
            )
    finally:
        b.quit()


if __name__ == "__main__":
    main()
