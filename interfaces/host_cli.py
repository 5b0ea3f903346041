"""Subcommands for sign-in and hosts: ``livecommerce token`` (a dev/test bearer token) and
``livecommerce notify`` (the notifications process manager). Heavy imports happen inside the commands."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

from infra.settings import Settings

ROLES = ("viewer", "host", "vendor", "moderator", "admin")


def _uuid(value: str) -> str:
    try:
        return str(UUID(value))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a UUID") from None


def add_token_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--role", action="append", choices=ROLES, required=True, help="repeatable")
    p.add_argument("--user", type=_uuid, required=True, help="the user id (UUID), the token's subject")
    p.add_argument("--vendor", type=_uuid, help="the vendor the host or vendor acts for (UUID)")
    p.add_argument("--name", help="display name")
    p.add_argument("--ttl", type=float, default=3600.0, help="seconds (default 3600)")


def cmd_token(args: argparse.Namespace, settings: Settings) -> int:
    """Print a signed token (HS256 with the shared secret; RS256 needs LIVECOMMERCE_JWT_PRIVATE_KEY_FILE)."""
    from infra.tokens import issue_token

    private_key = None
    if not settings.jwt_algorithm.startswith("HS"):
        import os

        path = os.environ.get("LIVECOMMERCE_JWT_PRIVATE_KEY_FILE")
        if not path:
            print(f"{settings.jwt_algorithm} tokens need LIVECOMMERCE_JWT_PRIVATE_KEY_FILE (PEM)", file=sys.stderr)
            return 2
        private_key = Path(path).read_text(encoding="utf-8")
    print(
        issue_token(
            settings,
            args.user,
            list(dict.fromkeys(args.role)),
            args.name,
            args.ttl,
            private_key=private_key,
            vendor_id=args.vendor,
        )
    )
    return 0


def add_notify_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--outbox", type=Path, help="the development notifier's file (default STATE_DIR/notifications.jsonl)"
    )
    p.add_argument("--poll", type=float, default=1.0, help="seconds between passes (default 1)")


def cmd_notify(args: argparse.Namespace, settings: Settings) -> int:
    from infra import metrics, tracing
    from infra.notifications import FileNotifier, run_notifications

    metrics.serve(settings.metrics_port, "notify")
    tracing.setup(settings, "notify")
    outbox = args.outbox or Path(settings.state_dir) / "notifications.jsonl"
    notifier = FileNotifier(outbox)

    async def main() -> None:
        import httpx

        from infra.notification_prefs_pg import PgPreferences
        from infra.notify_channels import build_channels
        from infra.postgres import PgDatabase

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        prefs_db = PgDatabase(settings.read_url, max_size=2)
        async with httpx.AsyncClient(timeout=15) as http:
            channels = build_channels(settings, http, PgPreferences(prefs_db), fallback=notifier)
            on = [c for c in ("fcm", "web_push", "sms", "email") if getattr(channels, c) is not None]
            print(f"notifications: channels {on or 'none'}; the rest to {outbox}", flush=True)
            await prefs_db.open()
            try:
                await run_notifications(
                    settings, stop, notifier=channels, clock=lambda: datetime.now(UTC), poll_s=args.poll
                )
            finally:
                await prefs_db.close()

    asyncio.run(main())
    return 0
