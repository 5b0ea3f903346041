"""Fraud detection (issue 17 part 1): precision and recall of the detector on a generated labelled month
(``bench/fraud_data.py``: honest buyers with their untidy habits, planted fraud patterns), the scored model beside
the rules-only baseline in the same run, and the false positives on honest accounts.

Both run the real detector (``projections.fraud_signals_pg.FraudSignals``) on the dev stack's PostgreSQL, fed the
generated store events in log order as the relay delivers them; only the assessor differs (``assess`` vs
``rules_fire``). Cases are recorded instead of written to a store. ``--fit`` fits the weights on the training
seed (not the measured one) and prints them for ``application/fraud_model.py``.

    python -m bench.fraud [--seed 11] [--buyers 400] [--scale 6] [--fit]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from application.fraud_cases import Suspicion
from application.fraud_model import FEATURES, Assessment, assess, fit, rules_fire
from bench._env import drop, fresh_settings
from bench.fraud_data import History, generate
from infra.postgres import PgDatabase, apply_migrations
from projections.fraud_signals_pg import FraudSignals

TRAIN_SEED = 7


def rules(kind: str, features: Mapping[str, float]) -> Assessment:
    fired = rules_fire(kind, features)
    return Assessment(kind, 1.0 if fired else 0.0, fired, bool(fired))


async def run(db: PgDatabase, h: History, assessor: Any) -> tuple[list[Suspicion], list[tuple[str, str, dict]],
                                                                   float]:
    cases: list[Suspicion] = []
    seen: list[tuple[str, str, dict[str, float]]] = []

    async def decide(s: Suspicion) -> None:
        cases.append(s)

    signals = FraudSignals(db, decide, assessor=assessor, observe=lambda k, s, f: seen.append((k, s, dict(f))))
    await signals.reset()
    t = time.perf_counter()
    for i in range(0, len(h.envelopes), 200):
        await signals.apply(h.envelopes[i:i + 200])
    return cases, seen, time.perf_counter() - t


def table(h: History, cases: list[Suspicion], seen: list[tuple[str, str, dict]]) -> dict[str, Any]:
    scored: dict[str, set[str]] = defaultdict(set)
    for kind, subject, _ in seen:
        scored[kind].add(subject)
    out: dict[str, Any] = {}
    for kind in FEATURES:
        pred = {c.subject_id for c in cases if c.kind == kind}
        truth = {s for k, s in h.fraud if k == kind}
        tp = len(pred & truth)
        out[kind] = (len(scored[kind]), len(truth), tp, len(pred - truth), len(truth - pred))
    flagged = {c.buyer_id for c in cases if c.buyer_id} | {c.subject_id for c in cases if c.kind == "buyer"}
    out["honest_flagged"] = len(flagged & h.honest_accounts)
    return out


def show(name: str, t: dict[str, Any], honest: int, seconds: float, events: int) -> None:
    total_tp = sum(t[k][2] for k in FEATURES)
    total_fp = sum(t[k][3] for k in FEATURES)
    total_fn = sum(t[k][4] for k in FEATURES)
    print(f"\n{name}  ({events} events in {seconds:.1f} s, {events / seconds:,.0f} events/s)")
    print(f"  {'subject':<8} {'scored':>7} {'fraud':>6} {'TP':>5} {'FP':>5} {'FN':>5} {'precision':>10} {'recall':>7}")
    for k in FEATURES:
        n, truth, tp, fp, fn = t[k]
        p = tp / (tp + fp) if tp + fp else float("nan")
        r = tp / truth if truth else float("nan")
        print(f"  {k:<8} {n:>7} {truth:>6} {tp:>5} {fp:>5} {fn:>5} {p:>10.3f} {r:>7.3f}")
    p = total_tp / (total_tp + total_fp) if total_tp + total_fp else float("nan")
    r = total_tp / (total_tp + total_fn) if total_tp + total_fn else float("nan")
    print(f"  {'all':<8} {'':>7} {total_tp + total_fn:>6} {total_tp:>5} {total_fp:>5} {total_fn:>5} {p:>10.3f} "
          f"{r:>7.3f}")
    print(f"  honest accounts flagged: {t['honest_flagged']} of {honest} ({100 * t['honest_flagged'] / honest:.2f} %)")


async def main(args: argparse.Namespace) -> None:
    settings = fresh_settings()
    try:
        apply_migrations(settings.read_url)
        db = PgDatabase(settings.read_url, max_size=2)
        await db.open()
        try:
            if args.fit:
                train = generate(TRAIN_SEED, buyers=args.buyers, scale=args.scale)
                _, seen, _ = await run(db, train, assess)
                for kind in FEATURES:
                    rows = [(f, int((k, s) in train.fraud)) for k, s, f in seen if k == kind]
                    if rows:
                        w = fit(kind, [r for r, _ in rows], [y for _, y in rows])
                        print(f'    "{kind}": {w},')
            h = generate(args.seed, buyers=args.buyers, scale=args.scale)
            print(f"seed {args.seed}: {len(h.envelopes)} events, {len(h.honest_accounts)} honest accounts, "
                  f"{len(h.fraud_accounts)} fraudulent, {len(h.fraud)} planted fraud subjects")
            for name, assessor in (("scored model (application.fraud_model.assess)", assess),
                                   ("rules-only baseline (application.fraud_model.rules_fire)", rules)):
                cases, seen, seconds = await run(db, h, assessor)
                show(name, table(h, cases, seen), len(h.honest_accounts), seconds, len(h.envelopes))
        finally:
            await db.close()
    finally:
        drop(settings)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--buyers", type=int, default=400)
    ap.add_argument("--scale", type=int, default=6)
    ap.add_argument("--fit", action="store_true")
    asyncio.run(main(ap.parse_args()))
