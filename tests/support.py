"""Helpers shared by integration and e2e tests: per-session settings, subprocesses, content hashes."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import psycopg

from infra.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def settings_env(settings: Settings) -> dict[str, str]:
    """Environment variables that reproduce ``settings`` in a child process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVECOMMERCE_")}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        env[f"LIVECOMMERCE_{name.upper()}"] = str(value)
    env["PYTHONUNBUFFERED"] = "1"
    return env


class Proc:
    """A `livecommerce` subcommand running as a real child process, output captured to a file."""

    def __init__(self, settings: Settings, *args: str, log_dir: Path, name: str | None = None) -> None:
        self.name = name or "-".join(args)
        self.log_path = log_dir / f"{self.name}-{time.monotonic_ns()}.log"
        self._log = open(self.log_path, "wb")
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "interfaces.cli", *args],
            cwd=ROOT,
            env=settings_env(settings),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_output(self, text: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output():
                return
            if self.popen.poll() is not None:
                raise AssertionError(f"{self.name} exited ({self.popen.returncode}):\n{self.output()[-3000:]}")
            time.sleep(0.05)
        raise AssertionError(f"{self.name}: {text!r} not seen in {timeout}s:\n{self.output()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL: no cleanup, no goodbye; what a crash looks like."""
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(10)

    def stop(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()


def wait_until(predicate: Any, timeout: float = 30.0, interval: float = 0.05, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what} (last value: {last!r})")


def _digest(rows: Iterable[Any]) -> str:
    h = hashlib.sha256()
    for r in rows:
        h.update(json.dumps(r, sort_keys=True, default=str, ensure_ascii=False).encode())
    return h.hexdigest()


def pg_hash(url: str, tables: Iterable[str] = ("live_streams", "live_stream_products")) -> str:
    with psycopg.connect(url) as conn:
        out = []
        for t in tables:
            rows = conn.execute(f"SELECT to_jsonb(t) FROM {t} t ORDER BY id").fetchall()  # noqa: S608
            out.append([t, [r[0] for r in rows]])
    return _digest(out)


def pg_count(url: str, table: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608
        return int(row[0]) if row else 0


def redis_hash(url: str, patterns: Iterable[str] = ("STREAM_STATUS:*", "TRENDING_STREAMS", "PROJ:*")) -> str:
    import redis

    r = redis.Redis.from_url(url, decode_responses=True)
    out = []
    for pattern in patterns:
        for key in sorted(r.scan_iter(match=pattern, count=1000)):
            kind = r.type(key)
            if kind == "hash":
                out.append([key, sorted(r.hgetall(key).items())])
            elif kind == "zset":
                out.append([key, r.zrange(key, 0, -1, withscores=True)])
            else:
                out.append([key, r.get(key)])
    r.close()
    return _digest(out)


def mongo_hash(url: str, db: str, collection: str = "stream_realtime") -> str:
    from pymongo import MongoClient

    client: MongoClient[Any] = MongoClient(url, tz_aware=True)
    docs = list(client[db][collection].find({}, {"_id": 0}))
    client.close()
    docs.sort(key=lambda d: d["stream_id"])
    return _digest(docs)


def token(
    settings: Settings, role: str = "admin", user: str | None = None, vendor: str | None = None, ttl: float = 3600.0
) -> str:
    """A bearer token signed with the test settings (``role`` may list several, space-separated)."""
    import uuid

    from infra.tokens import issue_token

    return issue_token(settings, user or str(uuid.uuid4()), role.split(), ttl=ttl, vendor_id=vendor)


def auth(settings: Settings, role: str = "admin", user: str | None = None, vendor: str | None = None) -> dict[str, str]:
    """``Authorization`` header for a signed-in user; an admin by default (may do every write)."""
    return {"Authorization": f"Bearer {token(settings, role, user, vendor)}"}
