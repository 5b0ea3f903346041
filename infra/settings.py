"""One frozen Settings object for every process: URLs, ports and tuning knobs.

Read from the environment with the prefix ``LIVECOMMERCE_`` (e.g. ``LIVECOMMERCE_POSTGRES_URL``), and from
``.livecommerce/stack.env`` when the dev stack wrote one. The same names are used by docker-compose.yml, so the
production stack and the laptop stack differ only in values.
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, urlparse, urlsplit, urlunsplit

from pydantic import Field, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

STATE_DIR = Path(".livecommerce")


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"  # every process's log lines
DEV_JWT_SECRET = "dev-only-secret-change-me-in-production"  # refused unless allow_dev_jwt_secret (dev stack)


class SecretFiles(PydanticBaseSettingsSource):
    """``LIVECOMMERCE_<NAME>_FILE=/run/secrets/x``: the setting's value is that file's content (docker secrets,
    Kubernetes secret volumes), so secrets need not sit in the environment. A plain ``LIVECOMMERCE_<NAME>``
    still wins over the file."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        variable = f"LIVECOMMERCE_{field_name.upper()}_FILE"
        path = os.environ.get(variable)
        if not path:
            return None, field_name, False
        try:
            return Path(path).read_text(encoding="utf-8").strip(), field_name, False
        except OSError as exc:  # say which setting, not just which file
            raise ValueError(f"{variable}={path}: {exc.strerror or exc}") from exc

    def __call__(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, field in self.settings_cls.model_fields.items():
            value, key, _ = self.get_field_value(field, name)
            if value is not None:
                out[key] = value
        return out


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LIVECOMMERCE_",
        env_file=str(STATE_DIR / "stack.env"),
        env_file_encoding="utf-8",
        frozen=True,
        extra="ignore",
    )

    # --- services -------------------------------------------------------------------------------------
    postgres_url: str = "postgresql://postgres@127.0.0.1:5432/livecommerce"
    # Read models may live in another database; by default they share the event store's.
    read_postgres_url: str | None = None
    redis_url: str = "redis://127.0.0.1:6379/0"
    kafka_bootstrap: str = "127.0.0.1:9092"
    mongo_url: str = "mongodb://127.0.0.1:27017/?directConnection=true"
    mongo_db: str = "livecommerce"

    # --- event store ----------------------------------------------------------------------------------
    postgres_pool_size: int = 10
    postgres_schema: str = "public"
    aggregate_cache_size: int = 20_000

    # --- kafka ----------------------------------------------------------------------------------------
    topic_prefix: str = "livecommerce"
    topic_partitions: int = 4
    # Tansu (the dev broker) has no InitProducerId: idempotent producers are on only for Apache Kafka.
    kafka_idempotent_producer: bool = False
    kafka_linger_ms: int = 2
    kafka_fetch_max_wait_ms: int = 20

    # --- relay ----------------------------------------------------------------------------------------
    relay_batch_size: int = 2_000
    relay_name: str = "domain-relay"
    relay_idle_check_seconds: float = 1.0

    # --- command path ---------------------------------------------------------------------------------
    command_batch_max: int = 200
    command_batch_window_ms: float = 2.0
    command_workers: int = 1
    # True: read the store for newer events on every command (needed when several processes write the same
    # aggregates without routing); False: trust the warm cache and resolve the rare conflict by reloading.
    command_cache_fastforward: bool = False

    # --- projections ----------------------------------------------------------------------------------
    projection_batch_size: int = 500
    # Offsets are committed after the change is applied, at most this often (a crash redelivers at most this
    # much, which the version guards turn into no-ops); each commit is a broker round trip.
    projection_commit_interval_ms: int = 200
    trending_limit: int = 10
    featured_limit: int = 10
    # Analytics reads (GET /streams/:id/analytics, /hosts/:id/analytics) give up after this (503, ADR 0015).
    analytics_statement_timeout_ms: int = 5_000

    # --- http -----------------------------------------------------------------------------------------
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    http_workers: int = 1
    # Prometheus: the API serves GET /metrics on its own port; the other processes on metrics_port + an offset
    # (relay +1, project +2, process +3, notify +4, ingest +5: infra/metrics.py). 0 = off (a laptop's default).
    metrics_port: int = 0
    # OpenTelemetry traces (infra/tracing.py): an OTLP/HTTP endpoint such as http://collector:4318/v1/traces;
    # empty = off (a laptop's default). Spans are sent in batches every trace_export_delay_ms.
    trace_endpoint: str = ""
    trace_export_delay_ms: int = 1000
    # Log lines: "text" (a developer's terminal) or "json" (one object per line with the trace id, for a shipper).
    log_format: Literal["text", "json"] = "text"
    access_log: bool = True  # the API's access log (one line per request; in JSON with log_format=json)
    read_your_writes_timeout_s: float = 2.0
    # What a process does with the schema at start (infra/postgres.py prepare_schema): "apply" what is missing
    # (a laptop, tests) or "verify" (production: `livecommerce migrate` runs once per release as its own step;
    # processes refuse to start on a schema it has not made, waiting up to migrations_wait_s for it).
    migrations: Literal["apply", "verify"] = "apply"
    migrations_wait_s: float = 60.0

    # --- public URLs handed to hosts and viewers -------------------------------------------------------
    rtmp_base_url: str = "rtmp://127.0.0.1:1935/live"
    playback_base_url: str = "http://127.0.0.1:8000/hls"
    media_root: Path = Path(".livecommerce/media")
    media_part_seconds: float = 0.0  # LL-HLS: partial segments this long in live playlists (0: off; ~0.5-1)

    # --- identity -------------------------------------------------------------------------------------
    # Until sign-in lands (issue 3), a stream created without vendor_id belongs to this vendor.
    default_vendor_id: str = "00000000-0000-4000-8000-000000000001"
    # JWT bearer tokens: HS256 with a shared secret, or RS256 with the issuer's public key (PEM).
    jwt_algorithm: str = "HS256"
    jwt_secret: str = DEV_JWT_SECRET
    jwt_public_key: str | None = None
    jwt_issuer: str | None = None

    # --- realtime gateway (Socket.IO) -----------------------------------------------------------------
    realtime_namespace: str = "/live-stream"
    chat_history_size: int = 50
    chat_max_length: int = 500
    fanout_max_fps: float = 4.0
    client_queue_limit: int = 200
    gc_young_threshold: int = 20_000  # the API's collector: (this, 50, 100); CPython's default is (700, 10, 10)
    chat_batch_window_ms: int = 100  # chat_batch viewers get the show's chat as one frame per window (at least)
    # Room emits are written to each viewer once per window; the window grows with the show so that the API's
    # processes on one host (http_workers share it) make at most about this many socket writes a second per
    # show (interfaces/realtime/fanout.py).
    fanout_writes_per_s: int = 40_000
    fanout_max_window_ms: int = 250

    # --- payments (issue 4): provider base URLs; the dev stack points them at the local sandbox ------
    payment_sandbox_port: int = 8090
    bkash_base_url: str = "http://127.0.0.1:8090/bkash"
    bkash_app_key: str = "sandbox-app-key"
    bkash_app_secret: str = "sandbox-app-secret"
    bkash_username: str = "sandbox-user"
    bkash_password: str = "sandbox-pass"
    nagad_base_url: str = "http://127.0.0.1:8090/nagad"
    nagad_merchant_id: str = "sandbox-merchant"
    rocket_base_url: str = "http://127.0.0.1:8090/rocket"
    rocket_merchant_id: str = "sandbox-merchant"
    # Cards and EMI on cards through SSLCommerz (real sandbox: https://sandbox.sslcommerz.com).
    sslcommerz_base_url: str = "http://127.0.0.1:8090/sslcommerz"
    sslcommerz_store_id: str = "sandbox-store"
    sslcommerz_store_password: str = "sandbox-store-pass"
    # Refunds: tried at once by the API (refund_execute_inline); the refund manager of `livecommerce process`
    # retries those still requested after refund_retry_after_s, asking the provider first.
    refund_execute_inline: bool = True
    refund_retry_after_s: float = 30.0
    idempotency_ttl_hours: int = 48
    # Where providers call back; default http://{http_host}:{http_port}
    api_public_url: str | None = None
    payment_timeout_s: float = 30.0
    # Coins and gifts (issue 14 part 3, ADR 0022): the taka price of one coin when bought, and the share of a
    # gift's coins (as taka at that price) the show's host earns.
    coin_price_bdt: Decimal = Decimal("1.00")
    gift_host_share_percent: Decimal = Field(default=Decimal("70"), ge=0, le=100)
    # Returns: a buyer may ask within this long after delivery (7 days; the server's clock).
    return_window_s: float = 7 * 24 * 3600.0
    # Fraud screening before shipping (issue 17 part 1, ADR 0023): "shipped" waits up to this long for the fraud
    # detector (projection fraud_signals) to have read the order, then refuses with 409 fraud_screening_pending;
    # so an order is never shipped inside the detector's lag. Off only where no detector runs.
    fraud_screening: bool = True
    fraud_screening_wait_s: float = Field(default=10.0, ge=0, le=120)
    # Stream products must be in the catalogue and the stream's vendor's. A product of another vendor is always
    # refused; one not in the catalogue only when this is on, or when the vendor has a catalogue (ADR 0017).
    stream_products_require_catalogue: bool = False
    # Loyalty points (issue 14, ADR 0021): earned per block of presence in a show (capped per show), per chat
    # message (capped per show), per 100 BDT paid, for a quiz's top ranks; worth loyalty_point_value BDT off at
    # checkout; each lot expires loyalty_expiry_s after it was earned.
    loyalty_watch_block_s: float = 300.0
    loyalty_watch_points: int = 5
    loyalty_watch_cap_per_show: int = 60
    loyalty_chat_points: int = 1
    loyalty_chat_cap_per_show: int = 10
    loyalty_purchase_points_per_100: int = 1
    loyalty_quiz_rewards: str = "100,50,25"  # points by rank, comma-separated
    loyalty_point_value: Decimal = Decimal("0.50")
    loyalty_expiry_s: float = 365 * 86_400.0
    # Process managers (livecommerce process): hold expiry and payment reconciliation.
    sweep_interval_s: float = 2.0
    # The engagement advisor (ADR 0025): how often it looks, how long after a minute's end it decides on it,
    # and how often at most a show's chat mood is recorded and pushed to its host.
    engagement_tick_s: float = 1.0
    engagement_grace_s: float = 2.0
    engagement_sentiment_every_s: float = 3.0
    media_silence_s: float = 15.0  # a live show without media events this long: its video is interrupted
    payment_reconcile_after_s: float = 120.0
    payment_session_timeout_s: float = 900.0
    # The live cart: units in a cart are held; an abandoned cart gives them back this long after its last add.
    cart_hold_s: int = 900
    # Shoppable replays (ADR 0026): after a recorded show ends, its products stay on sale from the replay at the
    # catalogue's list price for this long (live-only prices and deals end with the show).
    replay_sales_days: float = 30.0
    # Tests only: a file holding a number of seconds every process adds to its clock (e2e tests move time
    # forward across processes: an auction's end, a payment deadline, a cart's expiry). Unset in production.
    test_clock_file: Path | None = None

    # --- edges: input limits and rate limits (issue 19, ADR 0018) -------------------------------------
    # Request bodies: the largest legitimate one is a catalogue upload of 1,000 products (~300 KB).
    http_max_body_bytes: int = 1_048_576
    http_request_timeout_s: float = 15.0  # the whole request must have arrived by then (slow-loris)
    http_response_timeout_s: float = 60.0  # a handler still running then is answered 503
    http_proxies_count: int = 0  # trusted reverse proxies in front: the client IP comes from X-Forwarded-For
    # An event must fit a Kafka message (message.max.bytes and max.request.size default to 1 MiB); this is the
    # stored event's encoded size, leaving room for the envelope's own fields.
    max_event_bytes: int = 900_000
    # Rate limits in the `limits` library's notation ("N/second;M/minute"), Redis-backed, so every API
    # process counts together. "Writes" are POST/PUT/PATCH/DELETE; "reads" are the expensive GETs
    # (interfaces/http/limits.py). Per user for signed-in callers (admins are not limited per user), per IP
    # for everyone: many Bangladeshi mobile users share one carrier IP, so the per-IP limits are high.
    rate_limits_enabled: bool = True
    rate_limit_user_writes: str = "20/second;300/minute"
    rate_limit_ip_writes: str = "200/second;6000/minute"
    rate_limit_user_reads: str = "10/second;200/minute"
    rate_limit_ip_reads: str = "200/second;6000/minute"
    # Socket.IO, per connection and per user (an anonymous viewer's "user" is their IP); admins and the
    # show's staff are not limited. Chat and reactions also keep the moderator's per-show buckets.
    realtime_join_per_connection: str = "5/second;60/minute"
    realtime_join_per_user: str = "10/second;200/minute"
    realtime_chat_per_connection: str = "20/second;120/minute"
    realtime_chat_per_user: str = "20/second;300/minute"
    realtime_react_per_connection: str = "20/second;600/minute"
    realtime_react_per_user: str = "30/second;1200/minute"
    realtime_purchase_intent_per_connection: str = "20/second;120/minute"
    realtime_purchase_intent_per_user: str = "30/second;300/minute"

    # --- issue 19 (ADR 0019): consumers survive any message; secrets; the RTMP door ----------------------
    # A message a consumer fails on this many times (not an outage) becomes a dead letter.
    dead_letter_attempts: int = 3
    # An outage (a store unreachable) is retried in place this long, then the worker restarts from its offsets.
    consumer_transient_retry_s: float = 120.0
    # The relay publishes a pointer instead of an event larger than this (Kafka's default limit is 1 MiB).
    kafka_max_message_bytes: int = 1_000_000
    # /health answers 503 when events wait and the relay has neither published nor been caught up this long.
    relay_stuck_after_s: float = 30.0
    # The API refuses to start with the development JWT secret (or a short one) unless this is set; the dev
    # stack writes it to .livecommerce/stack.env, docker-compose never sets it.
    allow_dev_jwt_secret: bool = False
    jwt_audience: str | None = None  # checked when set (``aud``)
    # RS256/ES256 keys of a real identity provider, fetched (and re-fetched for a new ``kid``, at most every
    # jwt_jwks_refresh_s) from its JWKS URL; needs jwt_issuer and jwt_audience.
    jwt_jwks_url: str | None = None
    jwt_jwks_refresh_s: float = 30.0
    # Merged into postgres_url / read_postgres_url when they carry none (LIVECOMMERCE_POSTGRES_PASSWORD_FILE).
    postgres_password: str | None = None
    # RTMP door (livecommerce ingest): connections at once, in all and per address; time to finish the
    # handshake and to reach ``publish``; a publisher silent this long is dropped; bytes held per connection
    # for partly received messages; stream-key look-ups in flight at once.
    ingest_max_connections: int = 200
    ingest_max_per_ip: int = 8
    ingest_handshake_timeout_s: float = 5.0
    ingest_publish_timeout_s: float = 10.0
    ingest_read_timeout_s: float = 10.0
    ingest_max_buffered_bytes: int = 32 * 1024 * 1024
    ingest_max_chunk_streams: int = 64
    ingest_lookup_concurrency: int = 8

    # --- notification channels (issue 20 part 7, infra/notify_channels): a channel without its settings is off
    # and its deliveries go to the file outbox. Credentials from the environment or LIVECOMMERCE_<NAME>_FILE.
    notify_channels: str = "push"  # channels for a person who set no preferences (comma-separated)
    notify_sandbox_http_port: int = 8091  # python -m infra.notify_sandbox (dev stack, tests)
    notify_sandbox_smtp_port: int = 8025
    fcm_project_id: str | None = None
    fcm_service_account_file: Path | None = None  # the service account's JSON key
    fcm_base_url: str = "https://fcm.googleapis.com"
    fcm_token_url: str | None = None  # default: the key's token_uri
    vapid_private_key: str | None = None  # PEM or base64url; the web app subscribes with its public key
    vapid_subject: str = "mailto:notifications@livecommerce.invalid"
    sms_base_url: str | None = None  # e.g. the gateway's https://host; we POST {base}/api/smsapi
    sms_api_key: str | None = None
    sms_sender_id: str = "8809617000000"
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_from: str = "Live Commerce <no-reply@livecommerce.invalid>"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, SecretFiles(settings_cls), dotenv_settings, file_secret_settings

    @model_validator(mode="before")
    @classmethod
    def _password_into_urls(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not data.get("postgres_password"):
            return data
        password = str(data["postgres_password"])
        for name in ("postgres_url", "read_postgres_url"):
            url = data.get(name) or (cls.model_fields[name].default if name == "postgres_url" else None)
            if url:
                data = {**data, name: with_password(str(url), password)}
        return data

    @property
    def public_url(self) -> str:
        return self.api_public_url or f"http://{self.http_host}:{self.http_port}"

    # --- dev stack ------------------------------------------------------------------------------------
    state_dir: Path = STATE_DIR
    # False: each checkout gets its own PostgreSQL database, MongoDB database, Kafka topic prefix and Redis
    # server, named after its folder (infra/devstack/checkout.py); True: every checkout shares the defaults.
    dev_shared_stack: bool = False
    dev_kafka_port: int = Field(default=0, description="0 picks a free port")
    dev_mongo_port: int = Field(default=0, description="0 picks a free port")

    @property
    def read_url(self) -> str:
        return self.read_postgres_url or self.postgres_url

    def topic(self, name: str) -> str:
        """Topic names: ``{prefix}.domain``, ``{prefix}.interactions``, ``{prefix}.media``."""
        return f"{self.topic_prefix}.{name}"

    @property
    def domain_topic(self) -> str:
        return self.topic("domain")

    def eventsourcing_env(self, create_tables: bool = True) -> dict[str, str]:
        """The `eventsourcing` library's own settings, derived from ours.

        Processes that start together (API workers) create the tables under the migrations lock
        (``infra.postgres.ensure_event_store``) and then pass ``create_tables=False``: the library's CREATE
        statements race with each other.
        """
        url = urlparse(self.postgres_url)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": (url.path or "/postgres").lstrip("/"),
            "POSTGRES_HOST": url.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(url.port or 5432),
            "POSTGRES_USER": url.username or "postgres",
            "POSTGRES_PASSWORD": url.password or "",
            # The library opens POOL_SIZE connections eagerly; one writer thread needs one or two.
            "POSTGRES_POOL_SIZE": "2",
            "POSTGRES_MAX_OVERFLOW": str(self.postgres_pool_size),
            "POSTGRES_SCHEMA": self.postgres_schema,
            "POSTGRES_LOCK_TIMEOUT": "5",
            "CREATE_TABLE": "y" if create_tables else "n",
            "AGGREGATE_CACHE_MAXSIZE": str(self.aggregate_cache_size),
            # The writer keeps its cache warm and learns of other writers through optimistic-concurrency
            # conflicts (then it evicts and reloads) instead of reading the store on every command.
            "AGGREGATE_CACHE_FASTFORWARD": "y" if self.command_cache_fastforward else "n",
            # The batch writer's one thread is the only user of the cache and backs up what it may roll back.
            "DEEPCOPY_FROM_AGGREGATE_CACHE": "n",
        }


def with_password(url: str, password: str) -> str:
    """``url`` with ``password`` when it carries none (a password already in the URL wins)."""
    parts = urlsplit(url)
    if parts.password is not None or parts.hostname is None:
        return url
    user = parts.username or "postgres"
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{parts.netloc.rsplit('@', 1)[-1]}"
    return urlunsplit(parts._replace(netloc=netloc))


def load_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
