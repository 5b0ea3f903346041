"""Issue 14's figures in one run: (a) a live poll with N connected Socket.IO viewers voting within a window
(``bench.poll_votes``: every vote counted exactly once, ``poll_results_update`` delivery p99), then (b) gift
sends per second on the batched command path beside the single-save baseline of the same store
(``bench.gifts``: zero negative balances, every wallet = coins − spent). The machine's load average is printed
beside each figure: the 2 cores are shared.

    python -m bench.gamification [--viewers 5000] [--procs 4] [--window 8] [--fps 10] [--sends 10000]
                                 [--skip-poll] [--skip-gifts]
"""

from __future__ import annotations

import argparse
import os

from bench import gifts, poll_votes


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} on {os.cpu_count()} cores"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--viewers", type=int, default=5000)
    ap.add_argument("--procs", type=int, default=4)
    ap.add_argument("--window", type=float, default=8.0)
    ap.add_argument("--fps", type=float, default=10.0)
    ap.add_argument("--sends", type=int, default=10_000)
    ap.add_argument("--skip-poll", action="store_true")
    ap.add_argument("--skip-gifts", action="store_true")
    a = ap.parse_args()
    if not a.skip_poll:
        print(f"[poll] before: {load()}", flush=True)
        r = poll_votes.run(a.viewers, a.procs, a.window, a.fps)
        poll_votes.report(r)
        p99 = poll_votes.pct(r["delivery_ms"], 99)
        print(
            f"[poll] after: {load()}; target: every vote once -> {r['exactly_once']}, "
            f"delivery p99 <= 250 ms -> {p99:.0f} ms ({'met' if p99 <= 250 else 'NOT met'}) at fanout_max_fps "
            f"{a.fps:g}",
            flush=True,
        )
    if not a.skip_gifts:
        print(f"[gifts] before: {load()}", flush=True)
        rates = gifts.measure(sends=a.sends)
        base, batched = rates["single save (baseline)"], rates["batched (as shipped)"]
        print(
            f"[gifts] after: {load()}; batched {batched:.0f} sends/s vs single save {base:.0f} sends/s "
            f"({batched / base:.1f}x); target >= 2,000 sends/s -> {'met' if batched >= 2000 else 'NOT met'}; "
            "negative balances: 0 (checked)",
            flush=True,
        )


if __name__ == "__main__":
    main()
