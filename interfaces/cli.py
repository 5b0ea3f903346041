"""The ``livecommerce`` command: every process of the service and the dev stack, one subcommand each."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from dataclasses import replace
from functools import partial

from infra.settings import LOG_FORMAT, Settings
from interfaces import catalog_cli, host_cli


def _run_until_signal(main: Callable[[asyncio.Event], Awaitable[object]]) -> int:
    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await main(stop)

    asyncio.run(runner())
    return 0


def cmd_dev(args: argparse.Namespace, settings: Settings) -> int:
    from infra import devstack

    if args.action == "up":
        devstack.up(settings)
    elif args.action == "down":
        devstack.down(settings)
    else:
        devstack.status(settings)
    return 0


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    """The release's one migrate step: the event store's tables, then every read-model migration not yet
    applied, under an advisory lock, each recorded with its file's checksum (a file changed after it ran stops
    it). ``--check`` changes nothing: exit 1 when something is pending or changed (what ``verify`` processes
    would refuse)."""
    from application.event_store import LiveCommerceStore
    from infra.postgres import MigrationError, apply_migrations, ensure_event_store, migration_state

    urls = [settings.postgres_url] + ([settings.read_url] if settings.read_url != settings.postgres_url else [])
    if args.check:
        bad = False
        for url in urls:
            pending, changed = migration_state(url)
            bad = bad or bool(pending or changed)
            print(f"pending: {', '.join(pending) or 'nothing'}; changed after applied: {', '.join(changed) or 'none'}")
        return 1 if bad else 0
    try:
        ensure_event_store(settings.postgres_url, lambda: LiveCommerceStore(settings.eventsourcing_env()))
        applied = [name for url in urls for name in apply_migrations(url)]
    except MigrationError as exc:
        print(f"migrate: {exc}", file=sys.stderr)
        return 2
    print("applied: " + (", ".join(applied) if applied else "nothing (up to date)"))
    return 0


def cmd_api(args: argparse.Namespace, settings: Settings) -> int:
    from infra.tokens import InsecureSettings, check_token_settings
    from interfaces.http.app import serve

    if args.port:
        settings = settings.model_copy(update={"http_port": args.port})
    try:
        check_token_settings(settings)
    except InsecureSettings as exc:
        print(f"livecommerce api: refusing to start: {exc}", file=sys.stderr, flush=True)
        return 2
    serve(settings)
    return 0


def cmd_dead_letters(args: argparse.Namespace, settings: Settings) -> int:
    import json

    from infra.dead_letter_replay import list_letters, replay

    if args.action == "list":
        letters = asyncio.run(list_letters(settings, args.consumer, include_done=args.all))
        if args.json:
            print(json.dumps([d.summary() for d in letters], ensure_ascii=False, indent=1))
            return 0
        for d in letters:
            print(
                f"#{d.id:<5} {d.consumer:<28} {d.status:<8} {d.reason:<11} {d.event_type or '-'}"
                f" {d.aggregate_id or d.message_id} v{d.aggregate_version} @{d.position}: {d.error[:160]}"
            )
        print(f"{len(letters)} dead letter(s){'' if args.all else ' open'}")
        return 0
    result = asyncio.run(replay(settings, args.consumer, args.id or ()))
    for name, n in result.replayed.items():
        print(f"{name}: {n} replayed")
    for name, why in result.skipped.items():
        print(f"{name}: skipped ({why})")
    for letter_id, error in sorted(result.failed.items()):
        print(f"#{letter_id} still fails: {error[:300]}")
    print(f"replayed {sum(result.replayed.values())}; still failing {len(result.failed)}")
    return 1 if result.failed else 0


def cmd_relay(args: argparse.Namespace, settings: Settings) -> int:
    from infra import metrics, tracing
    from infra.relay import Relay

    metrics.serve(settings.metrics_port, "relay")
    tracing.setup(settings, "relay")

    def published(count: int, micros: int) -> None:
        metrics.RELAY_PUBLISHED.inc(count)
        metrics.RELAY_BATCH_SECONDS.observe(micros / 1e6)
        metrics.RELAY_POSITION.set(relay.position)

    relay = Relay(settings, on_batch=published)
    return _run_until_signal(relay.run)


def cmd_project(args: argparse.Namespace, settings: Settings) -> int:
    from infra.projection_runner import run_projections
    from projections.registry import PROJECTIONS

    if args.rebuild:
        from infra.rebuild import rebuild

        n = asyncio.run(rebuild(settings, args.rebuild, progress=not args.no_progress))
        print(f"rebuilt {args.rebuild} from {n} events")
        return 0
    names = args.only or list(PROJECTIONS)
    from infra import metrics, tracing

    metrics.serve(settings.metrics_port, "project")
    tracing.setup(settings, "project")
    return _run_until_signal(lambda stop: run_projections(settings, names, stop))


def cmd_media(args: argparse.Namespace, settings: Settings) -> int:
    from media.ingest import RtmpListen
    from media.ingest_door import PORT_LINE
    from media.ingest_relay import RelayListen
    from media.kafka_sink import KafkaEventSink
    from media.options import MediaOptions
    from media.show_log import read_show_log
    from media.stream_keys_pg import PgStreamKeys
    from media.worker import run_media_worker

    options = MediaOptions(part_seconds=settings.media_part_seconds or None)
    if args.from_ingest:  # started by `livecommerce ingest`: its token on stdin, our private port on stdout
        source: object = RelayListen(token=sys.stdin.readline().strip())
        options = replace(options, publish_timeout_s=30.0)
    elif args.rtmp:
        source = RtmpListen.from_url(settings.rtmp_base_url, bind_host=args.bind)
    else:
        source = args.source

    async def main(stop: asyncio.Event) -> None:
        async with KafkaEventSink(settings) as sink:
            result = await run_media_worker(
                settings,
                args.stream,
                source,
                sink,
                keys=PgStreamKeys(settings),
                pace=args.pace,
                stop=stop,
                options=options,
                forward_to=args.forward or (),
                highlights={"auto": "auto", "yes": True, "no": False}[args.highlights],
                log_events=lambda: read_show_log(settings, args.stream),
                listening=lambda port: print(f"{PORT_LINE}{port}", flush=True),
            )
        print(
            f"media worker finished: {result.reason}; {len(result.highlights)} highlight clips;"
            f" output in {result.out_dir}",
            flush=True,
        )

    return _run_until_signal(main)


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from infra import metrics, tracing
    from media.ingest import RtmpListen
    from media.ingest_door import IngestDoor
    from media.kafka_sink import KafkaEventSink
    from media.stream_keys_pg import PgStreamKeys

    metrics.serve(settings.metrics_port, "ingest")
    tracing.setup(settings, "ingest")

    async def main(stop: asyncio.Event) -> None:
        async with KafkaEventSink(settings) as sink:
            # The stream-key look-ups are bounded in number here (lookup_concurrency); their connection pool
            # belongs to PgStreamKeys (media/stream_keys_pg.py).
            door = IngestDoor(
                listen=RtmpListen.from_url(settings.rtmp_base_url, bind_host=args.bind),
                keys=PgStreamKeys(settings),
                sink=sink,
                publish_timeout_s=settings.ingest_publish_timeout_s,
                read_timeout_s=settings.ingest_read_timeout_s,
                handshake_timeout_s=settings.ingest_handshake_timeout_s,
                max_connections=settings.ingest_max_connections,
                max_per_ip=settings.ingest_max_per_ip,
                max_chunk_streams=settings.ingest_max_chunk_streams,
                max_buffered=settings.ingest_max_buffered_bytes,
                lookup_concurrency=settings.ingest_lookup_concurrency,
            )
            metrics.INGEST_WORKERS.set_function(lambda: len(door.workers))  # deploy/k8s autoscales on it
            await door.serve(stop)

    return _run_until_signal(main)


def cmd_process(args: argparse.Namespace, settings: Settings) -> int:
    from infra import metrics, tracing
    from infra.process_managers import run_process_managers

    metrics.serve(settings.metrics_port, "process")
    tracing.setup(settings, "process")
    return _run_until_signal(lambda stop: run_process_managers(settings, stop))


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from infra.supervisor import supervise

    return supervise(args.only, {"payment_sandbox_port": settings.payment_sandbox_port})


def _missing_extra(extra: str, exc: ImportError, args: argparse.Namespace, settings: Settings) -> int:
    print(f"livecommerce {extra} needs {exc.name}: pip install 'livecommerce[{extra}]'", file=sys.stderr)
    return 2


def cmd_catalogue(args: argparse.Namespace, settings: Settings) -> int:
    from application.event_catalogue import render
    from interfaces.log_events import LOG_EVENTS

    text = render(LOG_EVENTS)
    if args.write:
        from pathlib import Path

        Path(args.write).write_text(text, encoding="utf-8")
    else:
        print(text)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="livecommerce", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    dev = sub.add_parser("dev", help="dev stack: PostgreSQL, Redis, Kafka (Tansu), MongoDB (SecantusDB)")
    dev.add_argument("action", choices=["up", "down", "status"])
    dev.set_defaults(func=cmd_dev)
    mig = sub.add_parser("migrate", help="create the event store and apply read-model migrations (checksums verified)")
    mig.add_argument("--check", action="store_true", help="change nothing; exit 1 if a migration is pending or changed")
    mig.set_defaults(func=cmd_migrate)
    api = sub.add_parser("api", help="HTTP API (Sanic)")
    api.add_argument("--port", type=int, default=0)
    api.set_defaults(func=cmd_api)
    sub.add_parser("relay", help="event store → Kafka relay").set_defaults(func=cmd_relay)
    proj = sub.add_parser("project", help="projection workers (Kafka → read models)")
    proj.add_argument("--only", action="append", help="run only this read model (repeatable)")
    proj.add_argument("--rebuild", metavar="NAME", help="rebuild one read model from the start of the log")
    proj.add_argument("--no-progress", action="store_true")
    proj.set_defaults(func=cmd_project)
    sub.add_parser("process", help="process managers: hold expiry, payment reconciliation").set_defaults(
        func=cmd_process
    )
    media = sub.add_parser("media", help="media worker for one show: ingest → HLS ladder, recording, events")
    media.add_argument("--stream", required=True, help="the stream id")
    src = media.add_mutually_exclusive_group(required=True)
    src.add_argument("--source", help="a file or URL (pre-recorded show, tests)")
    src.add_argument(
        "--rtmp",
        action="store_true",
        help="listen for the host's RTMP publish on rtmp_base_url (this show alone on that port)",
    )
    src.add_argument(
        "--from-ingest",
        action="store_true",
        help="take the show's publishes from `livecommerce ingest` (it starts such workers itself)",
    )
    media.add_argument("--bind", default=None, help="address to listen on for RTMP (default: from the URL)")
    media.add_argument("--pace", action="store_true", help="play a file out at real time, as live")
    media.add_argument(
        "--forward",
        action="append",
        metavar="[NAME=]RTMP_URL",
        help="also broadcast to this RTMP destination (e.g. facebook=rtmps://…); repeatable",
    )
    media.add_argument(
        "--highlights",
        choices=["auto", "yes", "no"],
        default="auto",
        help="cut highlight clips after the show (auto: when its end asked for them)",
    )
    media.set_defaults(func=cmd_media)
    ingest = sub.add_parser(
        "ingest",
        help="RTMP front door: one URL for every show; routes each publish by its"
        " stream key to the show's media worker (started on demand)",
    )
    ingest.add_argument("--bind", default=None, help="address to listen on (default: from rtmp_base_url)")
    ingest.set_defaults(func=cmd_ingest)
    from infra.audit import add_audit_arguments, run_audit

    replay_help = "history → Parquet/CSV, or a read model into a separate store"
    try:  # pyarrow comes with the `replay` extra (pip install 'livecommerce[replay]'), not with the service
        from infra.replay_cli import add_replay_arguments, run_replay
    except ImportError as exc:  # any arguments: the command only says which extra to install
        rp = sub.add_parser("replay", help=replay_help, prefix_chars="\0")
        rp.add_argument("args", nargs="*")
        rp.set_defaults(func=partial(_missing_extra, "replay", exc))
    else:
        rp = sub.add_parser("replay", help=replay_help)
        add_replay_arguments(rp)
        rp.set_defaults(func=run_replay)
    au = sub.add_parser("audit", help="rebuild a flash sale, order or show from the event store and check it")
    add_audit_arguments(au)
    au.set_defaults(func=run_audit)
    cat = sub.add_parser("catalogue", help="print (or --write) the event catalogue, docs/events.md")
    cat.add_argument("--write", metavar="FILE")
    cat.set_defaults(func=cmd_catalogue)
    tok = sub.add_parser("token", help="print a signed bearer token for a user and roles (dev, tests)")
    host_cli.add_token_arguments(tok)
    tok.set_defaults(func=host_cli.cmd_token)
    notify = sub.add_parser("notify", help="notifications: reminders, stream starting, flash-sale alerts")
    host_cli.add_notify_arguments(notify)
    notify.set_defaults(func=host_cli.cmd_notify)
    catalog = sub.add_parser("catalog", help="import the vendors and products catalogue (CSV, JSON)")
    catalog_cli.add_arguments(catalog)
    catalog.set_defaults(func=catalog_cli.cmd_catalog)
    dl = sub.add_parser("dead-letters", help="messages consumers set aside: list them, replay them after a fix")
    dl.add_argument("action", choices=["list", "replay"])
    dl.add_argument("--consumer", help="e.g. projection.hosts, relay, process.media (default: all)")
    dl.add_argument("--id", type=int, action="append", help="only this dead letter (repeatable; replay)")
    dl.add_argument("--all", action="store_true", help="list replayed ones too")
    dl.add_argument("--json", action="store_true", help="list as JSON")
    dl.set_defaults(func=cmd_dead_letters)
    run = sub.add_parser(
        "run",
        help="api, relay, projections, process managers, notifications, RTMP ingest"
        " (+ payment sandbox), supervised; Ctrl-C stops all",
    )
    run.add_argument(
        "--only",
        action="append",
        choices=["api", "relay", "projections", "process", "notify", "ingest", "payments-sandbox"],
    )
    run.set_defaults(func=cmd_run)
    return p


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    args = build_parser().parse_args(argv)
    return int(args.func(args, Settings()) or 0)


if __name__ == "__main__":
    sys.exit(main())
