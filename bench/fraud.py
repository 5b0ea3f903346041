"""Fraud detection (issue 17 part 1): precision and recall of the detector on a generated labelled month
(``bench/fraud_data.py``: honest buyers with their untidy habits, planted fraud patterns), the scored model beside
the rules-only baseline in the same run, and the false positives on honest accounts.

Both run the real detector (``projections.fraud_signals_pg.FraudSignals``) on the dev stack's PostgreSQL, fed the
generated store events in log order as the relay delivers them; only the assessor differs (``assess`` vs
``rules_fire``). Cases are recorded instead of written to a store. ``--fit`` fits the weights on the training
seed (not the measured one) and prints them for ``application/fraud_model.py``.

    python -m bench.fraud [--seed 11] [--buyers 400] [--scale 6] [--fit [--train-buyers 1200]]
"""

from __future__ import annotations

import argparse
import asyncio
import time
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


async def run(db: PgDatabase, h: History, assessor: Any) -> tuple[list[Suspicion], list[tuple[str, str, dict]], float]:
    cases: list[Suspicion] = []
    seen: list[tuple[str, str, dict[str, float]]] = []

    async def decide(s: Suspicion) -> None:
        cases.append(s)

    signals = FraudSignals(db, decide, assessor=assessor, observe=lambda k, s, f: seen.append((k, s, dict(f))))
    await signals.reset(forget_decisions=True)
    t = time.perf_counter()
    for i in range(0, len(h.envelopes), 200):
        await signals.apply(h.envelopes[i : i + 200])
    return cases, seen, time.perf_counter() - t


PATTERNS = (
    "purchase_velocity",
    "shared_phone_ring",
    "shared_address_farm",
    "cod_refusal_history",
    "flash_sale_hoarding",
    "shill_bidding",
    "card_testing",
    "refund_abuse",
)
# A case's pattern, for precision: the pattern its strongest reason stands for.
REASON_PATTERN = {
    "purchase_velocity_buyer": "purchase_velocity",
    "failed_payments": "purchase_velocity",
    "purchase_velocity_phone": "shared_phone_ring",
    "phone_ships_to_many_addresses": "shared_phone_ring",
    "accounts_share_phone": "shared_phone_ring",
    "purchase_velocity_address": "shared_address_farm",
    "accounts_share_address": "shared_address_farm",
    "cod_refusal_history": "cod_refusal_history",
    "cash_on_delivery": "cod_refusal_history",
    "flash_sale_hoarding": "flash_sale_hoarding",
    "device_ships_to_many_addresses": "flash_sale_hoarding",
    "accounts_share_device": "flash_sale_hoarding",
    "purchase_velocity_device": "flash_sale_hoarding",
    "refund_abuse": "refund_abuse",
    "bidder_history": "shill_bidding",
}


def pattern_of(s: Suspicion) -> str:
    first = s.reasons[0] if s.reasons else ""
    if first.startswith("shill_bidding"):
        return "shill_bidding"
    if first.startswith("card_testing"):
        return "card_testing"
    return REASON_PATTERN.get(first, "other")


def table(h: History, cases: list[Suspicion]) -> dict[str, Any]:
    """Per planted pattern: planted subjects, caught (recall), false cases whose strongest reason is the
    pattern's (precision); overall; honest accounts (and honest households' accounts) with a case."""
    flagged = {(c.kind, c.subject_id): c for c in cases}
    rows: dict[str, tuple[int, int, int]] = {}
    for p in PATTERNS:
        planted = {k for k, v in h.patterns.items() if v == p}
        tp = len(planted & set(flagged))
        fp = sum(1 for k, c in flagged.items() if k not in h.fraud and pattern_of(c) == p)
        rows[p] = (len(planted), tp, fp)
    fp_all = sum(1 for k in flagged if k not in h.fraud)
    rows["all"] = (len(h.fraud), len(set(flagged) & h.fraud), fp_all)
    accounts = {c.buyer_id for c in cases if c.buyer_id} | {c.subject_id for c in cases if c.kind == "buyer"}
    return {
        "rows": rows,
        "honest_flagged": len(accounts & h.honest_accounts),
        "households_flagged": len(accounts & h.households),
    }


def show(name: str, t: dict[str, Any], h: History, seconds: float) -> None:
    events = len(h.envelopes)
    print(f"\n{name}  ({events} events in {seconds:.1f} s, {events / seconds:,.0f} events/s)")
    print(
        f"  | {'pattern':<20} | {'planted':>7} | {'caught':>6} | {'false cases':>11} | {'precision':>9} |"
        f" {'recall':>6} |"
    )
    print(f"  |{'-' * 22}|{'-' * 9}|{'-' * 8}|{'-' * 13}|{'-' * 11}|{'-' * 8}|")
    for p, (planted, tp, fp) in t["rows"].items():
        prec = f"{tp / (tp + fp):.3f}" if tp + fp else "-"
        rec = f"{tp / planted:.3f}" if planted else "-"
        print(f"  | {p:<20} | {planted:>7} | {tp:>6} | {fp:>11} | {prec:>9} | {rec:>6} |")
    honest, homes = len(h.honest_accounts), len(h.households)
    print(
        f"  honest accounts with a case: {t['honest_flagged']} of {honest}"
        f" ({100 * t['honest_flagged'] / honest:.2f} %); of them in households: {t['households_flagged']} of"
        f" {homes} household accounts"
    )


async def main(args: argparse.Namespace) -> None:
    settings = fresh_settings()
    try:
        apply_migrations(settings.read_url)
        db = PgDatabase(settings.read_url, max_size=2)
        await db.open()
        try:
            if args.fit:
                train = generate(
                    TRAIN_SEED, buyers=args.train_buyers, scale=args.scale * args.train_buyers // args.buyers
                )
                _, seen, _ = await run(db, train, assess)
                for kind in FEATURES:
                    rows = [(f, int((k, s) in train.fraud)) for k, s, f in seen if k == kind]
                    if rows:
                        w = fit(kind, [r for r, _ in rows], [y for _, y in rows])
                        print(f'    "{kind}": {w},')
            h = generate(args.seed, buyers=args.buyers, scale=args.scale)
            print(
                f"seed {args.seed}: {len(h.envelopes)} events, {len(h.honest_accounts)} honest accounts "
                f"({len(h.households)} of them in households), {len(h.fraud_accounts)} fraudulent, "
                f"{len(h.fraud)} planted fraud subjects"
            )
            for name, assessor in (
                ("scored model (application.fraud_model.assess)", assess),
                ("rules-only baseline (application.fraud_model.rules_fire)", rules),
            ):
                cases, _seen, seconds = await run(db, h, assessor)
                show(name, table(h, cases), h, seconds)
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
    ap.add_argument("--train-buyers", type=int, default=1200)  # the training month (seed 7): more honest variety
    asyncio.run(main(ap.parse_args()))
