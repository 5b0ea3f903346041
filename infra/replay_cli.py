"""``livecommerce replay``: its arguments and what it runs (``infra.replay``)."""

from __future__ import annotations

import argparse
import asyncio
from datetime import datetime
from pathlib import Path

from infra.replay import replay, replay_into
from infra.settings import Settings


def add_replay_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, help="output folder (part files + _checkpoint.json)")
    parser.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    parser.add_argument("--since", type=datetime.fromisoformat, help="ISO time (UTC if no offset), inclusive")
    parser.add_argument("--until", type=datetime.fromisoformat, help="ISO time, exclusive")
    parser.add_argument("--stream", dest="stream_id", help="only events about this show")
    parser.add_argument("--type", dest="types", action="append", help="only this event type (repeatable)")
    parser.add_argument("--kafka", action="store_true", help="also the interactions and media topics")
    parser.add_argument("--resume", action="store_true", help="continue an earlier replay into --out")
    parser.add_argument("--max-events", type=int, help="stop after this many store events")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--into", metavar="PROJECTION", help="build this read model in a separate store")
    parser.add_argument("--target-read-url", help="--into: PostgreSQL URL of the analyst's database")
    parser.add_argument("--target-redis-url", help="--into: Redis URL (stream_status)")
    parser.add_argument("--target-mongo-db", help="--into: MongoDB database (stream_realtime)")


def run_replay(args: argparse.Namespace, settings: Settings) -> int:
    if args.into:
        given = {
            "read_postgres_url": args.target_read_url,
            "redis_url": args.target_redis_url,
            "mongo_db": args.target_mongo_db,
        }
        update = {k: v for k, v in given.items() if v}
        n = asyncio.run(
            replay_into(settings, settings.model_copy(update=update), args.into, progress=not args.no_progress)
        )
        print(f"replayed {n} events into {args.into}")
        return 0
    if args.out is None:
        print("replay: --out DIR (or --into PROJECTION) is required")
        return 2
    report = asyncio.run(
        replay(
            settings,
            out=args.out,
            fmt=args.format,
            since=args.since,
            until=args.until,
            stream_id=args.stream_id,
            types=args.types,
            resume=args.resume,
            progress=not args.no_progress,
            topics=("interactions", "media") if args.kafka else (),
            max_events=args.max_events,
        )
    )
    print(
        f"replayed {report.events} events ({report.scanned} read) in {report.seconds:.1f} s: "
        f"{report.events_per_s:,.0f} events/s; up to position {report.last_position}; "
        f"new parts: {', '.join(report.parts) or 'none'}"
    )
    return 0
