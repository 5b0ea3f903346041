"""The Sanic application factory. Resources open in before_server_start and close in after_server_stop."""

from __future__ import annotations

import gc
import json
import logging
from functools import partial

from sanic import Sanic

from infra import tracing
from infra.bootstrap import Container
from infra.collector import GcPauses
from infra.settings import Settings
from interfaces.http import (
    analytics,
    auctions,
    catalog,
    catalog_browse,
    checkout,
    coins,
    engagement,
    errors,
    flash_sales,
    fraud,
    fulfilment,
    group_buys,
    health,
    host_streams,
    leaderboards,
    limits,
    loyalty,
    media,
    metrics,
    openapi,
    polls,
    presenters,
    quizzes,
    recommendations,
    refunds,
    streams,
)
from interfaces.http import hosts as host_routes
from interfaces.http import replay as replay_routes
from interfaces.http import tracing as http_tracing
from interfaces.http.notification_prefs import bp as notification_prefs_bp
from interfaces.realtime import attach as attach_realtime
from interfaces.web import bp as web_pages
from interfaces.web.studio import bp as web_studio

log = logging.getLogger(__name__)


def create_app(settings: Settings, name: str = "livecommerce") -> Sanic:
    # Amounts left as Decimals come out as numbers of taka, like every shaped one (presenters, ADR 0015).
    app = Sanic(name, dumps=partial(json.dumps, ensure_ascii=False, default=presenters.json_default))
    app.config.FALLBACK_ERROR_FORMAT = "json"
    tracing.setup(settings, "api")  # log lines (text or JSON) and, when configured, traces: http_workers' too
    app.config.KEEP_ALIVE_TIMEOUT = 75
    # Engine.IO pings every viewer itself (ping_interval/ping_timeout) and drops the silent ones; Sanic's own
    # websocket keepalive on top was a task and a wait_for per viewer every 20 s (9% of the gateway's CPU at
    # 5,000 viewers in a py-spy profile), for nothing Engine.IO does not already do.
    app.config.WEBSOCKET_PING_INTERVAL = None
    app.config.WEBSOCKET_PING_TIMEOUT = None
    # Set on purpose (ADR 0018): Sanic's defaults take a 100 MB body and wait 60 s for it to arrive.
    app.config.REQUEST_MAX_SIZE = settings.http_max_body_bytes
    app.config.REQUEST_TIMEOUT = settings.http_request_timeout_s
    app.config.RESPONSE_TIMEOUT = settings.http_response_timeout_s
    if settings.http_proxies_count > 0:
        app.config.PROXIES_COUNT = settings.http_proxies_count
    app.ctx.container = Container(settings)
    errors.install(app)
    http_tracing.install(app)  # a span per request when tracing is on
    metrics.install(app)  # GET /metrics and every request timed by route
    limits.install(app, settings)  # query-string rule and rate limits, before every handler
    app.blueprint(streams.bp)
    app.blueprint(flash_sales.bp)
    app.blueprint(host_routes.bp)
    app.blueprint(host_streams.bp)  # one host's shows, newest first (issue 15, the studio's "my shows")
    app.blueprint(checkout.bp)
    app.blueprint(refunds.bp)
    app.blueprint(fulfilment.bp)
    app.blueprint(auctions.bp)
    app.blueprint(group_buys.bp)
    app.blueprint(polls.bp)
    app.blueprint(leaderboards.bp)
    app.blueprint(coins.bp)
    app.blueprint(quizzes.bp)
    app.blueprint(loyalty.bp)
    app.blueprint(analytics.bp)
    app.blueprint(engagement.bp)
    app.blueprint(catalog.bp)
    app.blueprint(recommendations.bp)
    app.blueprint(catalog_browse.bp)
    app.blueprint(media.bp)
    app.blueprint(replay_routes.bp)  # replays and highlights of ended shows (issue 15)
    app.blueprint(health.bp)
    app.blueprint(fraud.bp)
    app.blueprint(notification_prefs_bp)  # the signed-in person's notification channels (issue 20 part 7)
    app.blueprint(web_pages)  # the web app: pages, static files, dev sign-in (ADR 0026)
    app.blueprint(web_studio)  # the host studio and the admin console (ADR 0027)

    # HLS playlists and segments from the media root (a CDN origin in production).
    settings.media_root.mkdir(parents=True, exist_ok=True)
    app.static("/hls", str(settings.media_root), name="hls")

    @app.before_server_start
    async def open_resources(app: Sanic) -> None:
        await app.ctx.container.open()
        # Everything built so far lives as long as the process: keep it out of the collector's scans, and
        # collect the young generation less often, so a busy hot sale is not paused by full collections.
        gc.freeze()
        gc.set_threshold(settings.gc_young_threshold, 50, 100)
        app.ctx.gc_pauses = GcPauses().start()

    @app.after_server_stop
    async def close_resources(app: Sanic) -> None:
        await app.ctx.container.close()
        app.ctx.gc_pauses.stop()
        log.info("collector pauses: %s", app.ctx.gc_pauses.summary())

    attach_realtime(app, settings)
    # The OpenAPI document of every other route (sanic-ext, its OpenAPI extension only) and Swagger UI at /docs.
    openapi.install(app, exclude=[web_pages, web_studio])
    return app


def serve(settings: Settings) -> None:
    """One process, or ``http_workers`` processes sharing the port (each with its own batch writer; the
    store's optimistic concurrency keeps them correct when they touch the same aggregate)."""
    if settings.http_workers <= 1:
        app = create_app(settings)
        app.run(
            host=settings.http_host,
            port=settings.http_port,
            single_process=True,
            access_log=settings.access_log,
            motd=False,
        )
        return
    from sanic.worker.loader import AppLoader

    from infra.metrics import prepare_multiprocess

    prepare_multiprocess()  # the workers share one metrics directory (set before they start)

    loader = AppLoader(factory=partial(create_app, settings))
    app = loader.load()
    app.prepare(
        host=settings.http_host,
        port=settings.http_port,
        workers=settings.http_workers,
        access_log=settings.access_log,
        motd=False,
    )
    Sanic.serve(primary=app, app_loader=loader)
