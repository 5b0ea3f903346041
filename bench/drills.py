"""The drill suite (tests/drills) with full-length outages, and its table for docs/reliability.md.

    .venv/bin/python -m bench.drills --outage 30

CI runs the same drills with 4-second outages (``DRILL_OUTAGE_S``); this runs them as the issue asks (30 s of
Kafka, Redis and MongoDB each) and prints one row per drill: what the load got acknowledged, what the store
holds of it, what the clients met meanwhile, how long until the load went on and until the log was quiet, and
whether each read model equals its replay from the store.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def table(rows: list[dict[str, object]]) -> str:
    out = [
        "| drill | purchases acked / stored | lost | duplicated | streams acked (lost) | clients met"
        " | load went on after | log quiet after | read models = replay |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        s: dict[str, object] = r["store"]  # type: ignore[assignment]
        replay: dict[str, bool] = r["replay_equal"]  # type: ignore[assignment]
        notes: dict[str, object] = r["notes"]  # type: ignore[assignment]
        met = ", ".join(f"{k} ×{v}" for k, v in dict(s["met"]).items())  # type: ignore[call-overload]
        extra = ""
        if "chat_acked" in notes:
            extra = (
                f"; chat acked {notes['chat_acked']}, stored {notes['chat_stored']}, lost"
                f" {notes['chat_lost']}, duplicated {notes['chat_duplicated']}"
            )
        if "health_failing_seen" in notes:
            extra = f"; /health failing: {', '.join(notes['health_failing_seen'])}"  # type: ignore[arg-type]
        if "segments_after" in notes:
            extra = f"; HLS segments {notes['segments_before_kill']} before the kill, {notes['segments_after']} after"
        equal = "all 4" if all(replay.values()) else ", ".join(k for k, v in replay.items() if not v) + " DIFFER"
        out.append(
            f"| {r['drill']} | {s['purchases_acked']} / {s['reservations_stored']} | {len(s['lost'])}"  # type: ignore[arg-type]
            f" | {len(s['duplicated'])} | {s['streams_acked']} ({len(s['streams_lost'])})"  # type: ignore[arg-type]
            f" | {(met + extra).lstrip('; ') or '—'} | {r['recovered_s']} s | {r['converged_s']} s | {equal} |"
        )
    return "\n".join(out)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--outage", type=float, default=30.0, help="seconds each server is unreachable")
    p.add_argument("-k", default=None, help="only the drills matching this pytest expression")
    args = p.parse_args()
    report = Path(tempfile.mkdtemp()) / "drills.jsonl"
    env = {**os.environ, "DRILL_OUTAGE_S": str(args.outage), "DRILL_REPORT": str(report)}
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/drills"]
    if args.k:
        cmd += ["-k", args.k]
    code = subprocess.call(cmd, cwd=ROOT, env=env)
    if report.exists():
        rows = [json.loads(line) for line in report.read_text().splitlines() if line.strip()]
        print(f"\nDrills with {args.outage:.0f}-second outages (pytest exit {code}):\n")
        print(table(rows))
    return code


if __name__ == "__main__":
    sys.exit(main())
