"""Replaying the process managers' dead letters: the same handlers ``livecommerce process`` / ``notify`` run."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack

from application.envelope import Envelope
from infra.settings import Settings

Apply = Callable[[Sequence[Envelope]], Awaitable[int]]


async def process_applier(settings: Settings, consumer: str, stack: AsyncExitStack) -> Apply | None:
    if consumer == "process.media":
        from application.media_policy import MediaPolicy
        from infra.bootstrap import Container, utc_now
        from infra.process_managers import media_policy_apply

        container = Container(settings)
        await container.open()
        stack.push_async_callback(container.close)
        assert container.writer is not None and container.streams is not None
        return media_policy_apply(
            MediaPolicy(container.writer, container.streams, clock=utc_now, silence_s=settings.media_silence_s)
        )
    if consumer == "process.loyalty":
        from infra.bootstrap import Container
        from infra.loyalty_consumer import loyalty_apply

        container = Container(settings)
        await container.open()
        stack.push_async_callback(container.close)
        assert container.loyalty is not None
        return loyalty_apply(container.loyalty)
    if consumer == "process.notifications":
        from datetime import UTC, datetime
        from pathlib import Path

        from infra.notifications import FileNotifier, NotificationProcess
        from infra.postgres import PgDatabase

        db = PgDatabase(settings.read_url, max_size=2)
        await db.open()
        stack.push_async_callback(db.close)
        # Planning writes jobs only; the running notifier sends them when due.
        process = NotificationProcess(
            db, FileNotifier(Path(settings.state_dir) / "notifications.jsonl"), clock=lambda: datetime.now(UTC)
        )

        async def plan(envelopes: Sequence[Envelope]) -> int:
            await process.handle(list(envelopes))
            return len(envelopes)

        return plan
    return None
