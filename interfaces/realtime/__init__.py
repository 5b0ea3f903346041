"""The realtime gateway: Socket.IO (python-socketio on Sanic) for the viewers of live shows (spec §4.2).

``attach(app, settings)`` is called from ``create_app``; nothing connects until ``before_server_start``. Rooms
are shared across API processes through Redis pub/sub, interactions go to Kafka, domain events come back from
Kafka to the rooms. See docs/adr/0006-realtime-gateway.md for the choices.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

import socketio
from sanic import Sanic

from application.interactions import InteractionIds
from application.moderation import ChatModerator, ChatPolicy, ShowStaff
from infra import metrics
from infra.redis_store import redis_client
from infra.settings import Settings
from interfaces.realtime.context import Services
from interfaces.realtime.fanout import FanoutManager
from interfaces.realtime.gateway import LiveStreamNamespace
from interfaces.realtime.presence import PresenceLedger, PresenceReaper
from interfaces.realtime.publisher import InteractionPublisher
from interfaces.realtime.pusher import DomainPusher
from interfaces.realtime.recommended import RecommendedProducts
from interfaces.realtime.room_ticker import RoomTicker
from interfaces.realtime.stream_state import StreamState

log = logging.getLogger(__name__)
MAX_FRAME_BYTES = 256 * 1024  # a chat message is a few KB; a frame over this closes the socket (abuse)


def attach(app: Sanic, settings: Settings) -> socketio.AsyncServer:
    manager = FanoutManager(
        settings.redis_url,
        channel=f"{settings.topic_prefix}.socketio",
        queue_limit=settings.client_queue_limit,
        batch_window_s=settings.chat_batch_window_ms / 1000,
        # the budget is the host's: its http_workers processes share it
        writes_per_s=settings.fanout_writes_per_s / max(1, settings.http_workers),
        max_window_s=settings.fanout_max_window_ms / 1000,
    )
    manager.on_window = metrics.FANOUT_WINDOW.observe
    # Tokens travel in the handshake's auth payload, not in cookies, so any origin may connect.
    # async_handlers=False: one socket's events are handled one after another (other sockets are not held
    # up), so a viewer's messages reach the room in the order they were sent.
    sio = socketio.AsyncServer(
        async_mode="sanic",
        client_manager=manager,
        cors_allowed_origins="*",
        max_http_buffer_size=MAX_FRAME_BYTES,
        logger=False,
        engineio_logger=False,
        async_handlers=False,
    )
    sio.attach(app)
    app.config.WEBSOCKET_MAX_SIZE = MAX_FRAME_BYTES
    namespace = LiveStreamNamespace(settings)
    sio.register_namespace(namespace)
    app.ctx.realtime = namespace
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []

    @app.before_server_start
    async def open_realtime(app: Sanic) -> None:
        redis = redis_client(settings.redis_url)
        ids = InteractionIds(uuid.uuid4().hex)
        publisher = InteractionPublisher(settings, ids)
        await publisher.start()
        ticker = RoomTicker(redis, sio, settings.realtime_namespace, ids.origin, settings.fanout_max_fps)
        pusher = DomainPusher(
            settings,
            sio,
            settings.realtime_namespace,
            load_state=lambda agg, v: _load_state(app, agg, v),
            featured_product=lambda sid, pid: _featured_product(app, sid, pid),
            product_names=lambda ids: _product_names(app, ids),
        )
        moderator = ChatModerator(ChatPolicy(max_length=settings.chat_max_length))
        ledger = PresenceLedger(redis, ids.origin)
        reaper = PresenceReaper(redis, publisher, ids.origin, reannounce=namespace.reannounce)
        from infra.poll_tallies import RedisPollTallies
        from interfaces.realtime.poll_push import PollRoom

        polls = PollRoom(
            redis,
            sio,
            settings.realtime_namespace,
            RedisPollTallies(redis),
            rooms=lambda: list(ticker.local),
            service=lambda: app.ctx.container.polls,
            fps=settings.fanout_max_fps,
        )
        pusher.polls = polls.pushed
        from interfaces.realtime.leaderboard_push import LeaderboardRoom

        boards = LeaderboardRoom(
            redis, sio, settings.realtime_namespace, rooms=lambda: list(ticker.local), fps=settings.fanout_max_fps
        )
        namespace.svc = Services(
            settings,
            sio,
            StreamState(redis, settings.chat_history_size),
            publisher,
            ticker,
            pusher,
            moderator,
            staff=lambda sid: _show_staff(app, sid),
            presence=ledger,
            store_status=lambda sid: _store_status(app, sid),
            polls=polls,
            container=app.ctx.container,
            recommended=RecommendedProducts(lambda: app.ctx.container.read_db),
        )
        tasks.append(asyncio.create_task(ticker.run(stop), name="realtime-ticker"))
        tasks.append(asyncio.create_task(polls.run(stop), name="realtime-polls"))
        tasks.append(asyncio.create_task(boards.run(stop), name="realtime-leaderboards"))
        tasks.append(asyncio.create_task(pusher.run(stop), name="realtime-pusher"))
        tasks.append(asyncio.create_task(ledger.run(stop), name="realtime-presence"))
        tasks.append(asyncio.create_task(reaper.run(stop), name="realtime-reaper"))
        tasks.append(asyncio.create_task(_report_metrics(namespace, ticker, manager, stop), name="realtime-metrics"))
        await namespace.limits.open()
        app.ctx.realtime_redis = redis

    @app.before_server_stop
    async def close_sockets(app: Sanic) -> None:
        # Close viewers' sockets first (their presence.left still goes out below), then the adapter's tasks.
        for sid in list(namespace.conns):
            await sio.disconnect(sid, namespace=settings.realtime_namespace, ignore_queue=True)
        await sio.shutdown()

    @app.after_server_stop
    async def close_realtime(app: Sanic) -> None:
        stop.set()
        for t in tasks:
            try:
                await asyncio.wait_for(t, timeout=5)
            except (TimeoutError, asyncio.CancelledError):
                t.cancel()
            except Exception:
                log.exception("realtime task ended with an error")
        svc = namespace.svc
        if svc is not None:
            for sid in list(namespace.conns):  # presence.left for everyone still here
                await namespace.on_disconnect(sid)
            await svc.publisher.stop()  # waits for the broker's acks, which clear the presence records
            try:
                clean = await svc.presence.close()
            except Exception:
                log.exception("presence records not written at close")
                clean = False
            # Anyone still on record (a left the broker did not ack) is left to a surviving process's reaper.
            await svc.ticker.close(forget=clean)
            await namespace.limits.close()
            await app.ctx.realtime_redis.aclose()
        log.info(
            "fan-out: %d frames delivered in %d direct writes (%.2f s writing, longest window %.0f ms), "
            "%d dropped for slow clients",
            manager.delivered,
            manager.writes,
            manager.flush_s,
            manager.flush_max_s * 1000,
            manager.dropped,
        )

    return sio


async def _report_metrics(
    namespace: LiveStreamNamespace,
    ticker: RoomTicker,
    manager: FanoutManager,
    stop: asyncio.Event,
    every_s: float = 2.0,
) -> None:
    """Socket.IO connections, sockets per show and fan-out counts into ``infra.metrics`` every ``every_s``
    (read off the objects that keep them anyway, so the fan-out's hot path pays nothing)."""
    shown: set[str] = set()
    sent = {"delivered": 0, "dropped": 0}
    while not stop.is_set():
        signed_in = sum(1 for c in list(namespace.conns.values()) if not c.identity.anonymous)
        metrics.SOCKETIO_CONNECTIONS.labels("signed_in").set(signed_in)
        metrics.SOCKETIO_CONNECTIONS.labels("anonymous").set(len(namespace.conns) - signed_in)
        local = dict(ticker.local)
        for stream_id, n in local.items():
            metrics.SHOW_VIEWERS.labels(stream_id).set(n)
        for gone in shown - set(local):
            metrics.SHOW_VIEWERS.remove(gone)
        shown = set(local)
        for name, counter in (("delivered", metrics.FANOUT_FRAMES), ("dropped", metrics.FANOUT_DROPPED)):
            now = int(getattr(manager, name))
            if now > sent[name]:
                counter.inc(now - sent[name])
            sent[name] = now
        try:
            await asyncio.wait_for(stop.wait(), timeout=every_s)
        except TimeoutError:
            pass


async def _load_state(app: Sanic, aggregate_id: str, version: int) -> Any | None:
    """The aggregate as of ``version``, from the event store (the pusher's source for thin events)."""
    store = app.ctx.container.store
    if store is None:
        return None
    try:
        return await asyncio.to_thread(store.repository.get, uuid.UUID(aggregate_id), version=version or None)
    except Exception:  # unknown aggregate or a store hiccup: the push is skipped, the log keeps the fact
        log.warning("could not load %s v%s for a push", aggregate_id, version, exc_info=True)
        return None


async def _show_staff(app: Sanic, stream_id: str) -> ShowStaff | None:
    """The show's host, vendor and moderators from the event store: current, so a revoked moderator is refused
    from the next action on (the read model ``live_stream_moderators`` may lag by a moment)."""
    from eventsourcing.application import AggregateNotFoundError

    from domain.live_stream import LiveStream
    from domain.stream_moderators import moderators_id

    store = app.ctx.container.store
    if store is None:
        return None

    def load() -> ShowStaff | None:
        try:
            stream = store.repository.get(uuid.UUID(stream_id))
        except AggregateNotFoundError:
            return None
        if not isinstance(stream, LiveStream):
            return None
        try:
            mods = dict(store.repository.get(moderators_id(stream_id)).moderators)
        except AggregateNotFoundError:
            mods = {}
        return ShowStaff(stream.host_id, stream.vendor_id, mods)

    return await asyncio.to_thread(load)


async def _store_status(app: Sanic, stream_id: str) -> str | None:
    """A show's status read from the event store itself, past the writer's cache (another process may have
    started the show): for admitting a viewer when ``STREAM_STATUS`` has not caught up yet."""
    from eventsourcing.application import AggregateNotFoundError

    from domain.live_stream import LiveStream

    store = app.ctx.container.store
    if store is None:
        return None

    def load() -> str | None:
        try:  # a version bound reads the stored events instead of the writer's cached object
            stream = store.repository.get(uuid.UUID(stream_id), version=EVERY_VERSION)
        except AggregateNotFoundError:
            return None
        return stream.status if isinstance(stream, LiveStream) else None

    return await asyncio.to_thread(load)


EVERY_VERSION = 2**62


async def _featured_product(app: Sanic, stream_id: str, product_id: str) -> dict[str, Any]:
    from interfaces.http.presenters import product
    from projections.stream_queries import products_of

    db = app.ctx.container.read_db
    if db is not None:
        try:
            rows = (await products_of(db, [stream_id])).get(stream_id, [])
            for row in rows:
                if str(row["product_id"]) == product_id:
                    return {**product(row), "product_id": product_id}
        except Exception:
            log.warning("product details unavailable for a push", exc_info=True)
    return {"product_id": product_id}


async def _product_names(app: Sanic, product_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Catalogue names for the live payment confirmation in chat (pusher)."""
    from projections.stream_queries import product_names

    db = app.ctx.container.read_db
    return {} if db is None else await product_names(db, product_ids)
