"""Prometheus metrics of every process, declared once here (``prometheus-client``).

Where each one is measured:

- API (``GET /metrics`` on its HTTP port): requests and their latency by route (a Sanic middleware), the
  command path's batches and the events they append (``application.batch_writer`` reports through a hook),
  Socket.IO connections per show, fan-out windows written and dropped, payment callbacks by provider and
  outcome, flash-sale and stream stock as the room sees it; and, asked of the store and of Kafka at scrape time
  (``infra.log_health``, cached 1 s), the relay's lag, every consumer group's lag and the open dead letters.
- Other processes (``livecommerce relay``, ``project``, ``process``, ``notify``, ``ingest``): their own port,
  ``metrics_port`` + an offset per kind (``PORT_OFFSETS``), when ``metrics_port`` is set (off by default on a
  laptop, where many stacks share the machine; docker-compose and deploy/k8s set it). The relay: events
  published, its position and the store's head; projections: messages applied per read model, their apply
  time and lag, ingest bitrate/fps per show (from the media plane's quality samples), payment outcomes from the
  log; process managers: due work done.
- Several API workers (``http_workers`` > 1): multiprocess mode, one directory shared by the workers
  (``PROMETHEUS_MULTIPROC_DIR``, set before the workers start) and ``MultiProcessCollector`` at scrape time.

Label values are bounded: routes are Sanic's route patterns (``/streams/<stream_id:uuid>``), never raw paths;
per-show series are removed when a show's last viewer leaves or its stock is closed.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections import OrderedDict
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    start_http_server,
)
from prometheus_client import REGISTRY as DEFAULT_REGISTRY

log = logging.getLogger(__name__)

PORT_OFFSETS = {"relay": 1, "project": 2, "process": 3, "notify": 4, "ingest": 5}
CONTENT_TYPE = CONTENT_TYPE_LATEST
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SIZE_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000)

# --- API ---------------------------------------------------------------------------------------------------
HTTP_REQUESTS = Counter(
    "livecommerce_http_requests_total",
    "HTTP requests answered, by route, method and status",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "livecommerce_http_request_seconds",
    "Time to answer an HTTP request, by route and method",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
)
COMMAND_BATCH_SIZE = Histogram(
    "livecommerce_command_batch_size", "Commands per store transaction (batch writer)", buckets=SIZE_BUCKETS
)
COMMAND_BATCH_SECONDS = Histogram(
    "livecommerce_command_batch_seconds", "Time of one batch: decide and save", buckets=LATENCY_BUCKETS
)
STORE_APPENDS = Counter("livecommerce_store_appended_events_total", "Events appended to the event store")
SOCKETIO_CONNECTIONS = Gauge(
    "livecommerce_socketio_connections", "Socket.IO connections open", ["kind"], multiprocess_mode="livesum"
)
SHOW_VIEWERS = Gauge(
    "livecommerce_show_sockets",
    "Sockets joined to a show's room in this process",
    ["stream_id"],
    multiprocess_mode="livesum",
)
FANOUT_WINDOW = Histogram(
    "livecommerce_fanout_window_viewers", "Viewers written per fan-out window", buckets=SIZE_BUCKETS + (10000, 50000)
)
FANOUT_FRAMES = Counter("livecommerce_fanout_frames_total", "Socket.IO frames delivered to viewers")
FANOUT_DROPPED = Counter(
    "livecommerce_fanout_dropped_frames_total", "Frames dropped for a slow viewer (that viewer's window only)"
)
PAYMENT_CALLBACKS = Counter(
    "livecommerce_payment_callbacks_total", "Provider callbacks, by provider and outcome", ["provider", "outcome"]
)
ROOM_STOCK = Gauge(
    "livecommerce_stock_available",
    "Units available as the room last saw them",
    ["kind", "id"],
    multiprocess_mode="mostrecent",
)

# --- read from the store and Kafka at scrape time (API) ----------------------------------------------------
STORE_HEAD = Gauge("livecommerce_store_position", "The store's newest notification id", multiprocess_mode="mostrecent")
RELAY_LAG = Gauge(
    "livecommerce_relay_lag_events",
    "Events in the store not yet published by the relay",
    multiprocess_mode="mostrecent",
)
LOG_STUCK = Gauge(
    "livecommerce_log_stuck",
    "1 when events wait and the relay has not moved for too long",
    multiprocess_mode="mostrecent",
)
CONSUMER_LAG = Gauge(
    "livecommerce_consumer_lag_messages",
    "Messages not yet committed by a consumer group",
    ["consumer"],
    multiprocess_mode="mostrecent",
)
DEAD_LETTERS_OPEN = Gauge(
    "livecommerce_dead_letters_open",
    "Dead letters not yet replayed, by consumer",
    ["consumer"],
    multiprocess_mode="mostrecent",
)

# --- relay -------------------------------------------------------------------------------------------------
RELAY_PUBLISHED = Counter("livecommerce_relay_published_events_total", "Events the relay published to Kafka")
RELAY_POSITION = Gauge("livecommerce_relay_position", "The relay's position in the store's notification log")
RELAY_BATCH_SECONDS = Histogram(
    "livecommerce_relay_batch_seconds", "Time to publish one batch and save the position", buckets=LATENCY_BUCKETS
)

# --- projections -------------------------------------------------------------------------------------------
PROJECTION_APPLIED = Counter("livecommerce_projection_messages_total", "Messages applied, by read model", ["model"])
PROJECTION_APPLY_SECONDS = Histogram(
    "livecommerce_projection_apply_seconds", "Time to apply one batch", ["model"], buckets=LATENCY_BUCKETS
)
PROJECTION_LAG_SECONDS = Gauge(
    "livecommerce_projection_lag_seconds",
    "From the producer's send to applied, oldest message of the last batch",
    ["model"],
)
DEAD_LETTERS = Counter("livecommerce_dead_letters_total", "Messages set aside by a consumer", ["consumer"])
INGEST_BITRATE = Gauge(
    "livecommerce_ingest_bitrate_kbps", "Video bitrate of a show's ladder (all renditions)", ["stream_id"]
)
INGEST_FPS = Gauge("livecommerce_ingest_fps", "Frames per second of a show's top rendition", ["stream_id"])
# The ingest door's own: media workers (one per live show) it runs; the autoscaler of deploy/k8s reads it.
INGEST_WORKERS = Gauge("livecommerce_ingest_workers", "Media workers (live shows) running under this ingest door")
# The notify process's: each delivery's outcome by channel (infra/notification_delivery.py).
NOTIFICATION_DELIVERIES = Counter(
    "livecommerce_notification_deliveries_total",
    "Notification deliveries by channel and outcome (accepted, failed, held)",
    ["channel", "outcome"],
)
PAYMENTS = Counter(
    "livecommerce_payments_total", "Payments finished, by provider and outcome (from the log)", ["provider", "outcome"]
)

# --- process managers --------------------------------------------------------------------------------------
DUE_WORK_DONE = Counter("livecommerce_due_work_total", "Due work acted on, by kind", ["kind"])


def exposition() -> bytes:
    """The text format of this process's metrics (all API workers' in multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(DEFAULT_REGISTRY)


def prepare_multiprocess() -> None:
    """Before API workers start: a directory they share (``PROMETHEUS_MULTIPROC_DIR``) unless one is set."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="livecommerce-metrics-")


def serve(metrics_port: int, kind: str) -> int | None:
    """Expose this process's metrics on ``metrics_port + PORT_OFFSETS[kind]``; None when off or taken."""
    if metrics_port <= 0:
        return None
    port = metrics_port + PORT_OFFSETS[kind]
    try:
        start_http_server(port, addr="0.0.0.0")
    except OSError as exc:  # another process has it: metrics are not worth stopping the work for
        log.warning("metrics: port %d unavailable (%s); %s runs without /metrics", port, exc, kind)
        return None
    log.info("metrics of %s on :%d/metrics", kind, port)
    print(f"metrics on port {port}", flush=True)
    return port


def observe_batch(size: int, seconds: float, events: int) -> None:
    """``application.batch_writer``'s hook: one committed batch."""
    COMMAND_BATCH_SIZE.observe(size)
    COMMAND_BATCH_SECONDS.observe(seconds)
    if events:
        STORE_APPENDS.inc(events)


def observe_log_health(report: dict[str, Any]) -> None:
    """Gauges from ``LogHealth.report()``."""
    relay = report.get("relay") or {}
    if isinstance(relay.get("lag"), int):
        RELAY_LAG.set(relay["lag"])
        STORE_HEAD.set(relay.get("store_position") or 0)
    LOG_STUCK.set(1 if report.get("stuck") else 0)
    for name, part in (report.get("consumers") or {}).items():
        if isinstance(part, dict) and isinstance(part.get("lag"), int):
            CONSUMER_LAG.labels(name).set(part["lag"])
    letters = report.get("dead_letters") or {}
    for name, count in (letters.get("by_consumer") or {}).items():
        DEAD_LETTERS_OPEN.labels(name).set(count)


class LogObserver:
    """Figures a projections process reads off the messages it applies anyway: payments by provider and outcome
    (the provider is on ``Payment.Initiated``; remembered for the most recent 100,000 payments) and each show's
    ingest bitrate and fps (``media.quality_sample``)."""

    def __init__(self) -> None:
        self._methods: OrderedDict[str, str] = OrderedDict()

    def observe(self, envelopes: list[Any]) -> None:
        for e in envelopes:
            t = e.type
            if t == "Payment.Initiated":
                self._methods[str(e.aggregate_id)] = str(e.payload.get("method") or "unknown")
                if len(self._methods) > 100_000:
                    self._methods.popitem(last=False)
            elif t in ("Payment.Completed", "Payment.Failed"):
                provider = self._methods.get(str(e.aggregate_id), "unknown")
                PAYMENTS.labels(provider, "completed" if t == "Payment.Completed" else "failed").inc()
            elif t == "media.quality_sample" and e.stream_id:
                renditions = (e.payload or {}).get("renditions") or {}
                kbps = sum(float(r.get("video_kbps") or 0) for r in renditions.values() if isinstance(r, dict))
                top = max(
                    (r for r in renditions.values() if isinstance(r, dict)),
                    key=lambda r: (r.get("width") or 0) * (r.get("height") or 0),
                    default={},
                )
                INGEST_BITRATE.labels(e.stream_id).set(kbps)
                if isinstance(top.get("fps"), int | float):
                    INGEST_FPS.labels(e.stream_id).set(top["fps"])
            elif t in ("media.ingest_stopped", "media.ingest_failed") and e.stream_id:
                for g in (INGEST_BITRATE, INGEST_FPS):
                    try:
                        g.remove(e.stream_id)
                    except KeyError:
                        pass
