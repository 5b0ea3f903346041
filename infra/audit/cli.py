"""``livecommerce audit flash-sale|order|stream ID``: the auditor's entry point (text, JSON, PNG).

Exit codes are for scripts and CI jobs that audit on a schedule: 0 the books balance and the history is whole,
1 tampering or a broken invariant was found, 2 the subject does not exist.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import datetime
from pathlib import Path

from infra.settings import Settings


def add_audit_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", choices=["flash-sale", "order", "stream"], help="what to audit")
    parser.add_argument("id", help="the flash sale's, order's or show's id")
    parser.add_argument(
        "--at",
        type=datetime.fromisoformat,
        metavar="TIME",
        help="the state at this past moment (ISO 8601; UTC if no offset)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--out", type=Path, metavar="DIR", help="also write .txt, .json and .png files here")
    parser.add_argument("--png", type=Path, metavar="FILE", help="write the stock chart here")
    parser.add_argument("--rows", type=int, default=40, help="rows per table in the text (default 40)")
    parser.add_argument(
        "--no-record", action="store_true", help="read only: do not record the hash chain in audit_hashes"
    )


def run_audit(args: argparse.Namespace, settings: Settings) -> int:
    # Imported here: building the ``livecommerce`` parser must not load the domain, psycopg and matplotlib.
    from infra.audit.render import to_json, to_png, to_text
    from infra.audit.service import AuditSubjectNotFound, audit

    try:
        report = asyncio.run(audit(settings, args.kind, args.id, at=args.at, record_hashes=not args.no_record))
    except AuditSubjectNotFound as e:
        print(f"audit: {e}")
        return 2
    text, data = to_text(report, rows=args.rows), to_json(report)
    print(data if args.json else text, end="" if not args.json else "\n")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        stem = args.out / f"audit-{args.kind}-{report.subject_id}"
        stem.with_suffix(".txt").write_text(text, encoding="utf-8")
        stem.with_suffix(".json").write_text(data, encoding="utf-8")
        chart = to_png(report, stem.with_suffix(".png"))
        print(f"wrote {stem}.txt, .json{', .png' if chart else ''}")
    if args.png:
        to_png(report, args.png)
    return 0 if report.ok else 1
