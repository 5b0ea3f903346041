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


class Environments:
    """Creates isolated environments on the shared servers; drops them at the end of the session."""

    def __init__(self, stack: Settings, tmp: pytest.TempPathFactory) -> None:
        self.stack = stack
        self.tmp = tmp
        self.created: list[Settings] = []
        self.admin_url = stack.postgres_url.rsplit("/", 1)[0] + "/postgres"
        self.next_redis_db = 9

    def new(self) -> Settings:
        tag = uuid.uuid4().hex[:10]
        db = f"lc_test_{tag}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{db}"')
        if self.next_redis_db > 15:
            raise RuntimeError("out of Redis databases for isolated test environments")
        redis_url = self.stack.redis_url.rsplit("/", 1)[0] + f"/{self.next_redis_db}"
        self.next_redis_db += 1
        redis.Redis.from_url(redis_url).flushdb()
        s = self.stack.model_copy(update={
            "postgres_url": self.stack.postgres_url.rsplit("/", 1)[0] + f"/{db}",
            "redis_url": redis_url,
            "mongo_db": db,
            "topic_prefix": f"t{tag}",
            "media_root": self.tmp.mktemp("media"),
        })
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
def environments(stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Environments]:
    envs = Environments(stack, tmp_path_factory)
    yield envs
    envs.drop_all()


@pytest.fixture(scope="session")
def settings(environments: Environments) -> Settings:
    """The session's shared environment (tests that compare whole read models make their own)."""
    return environments.new()


@pytest.fixture(scope="session")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("proc-logs")
