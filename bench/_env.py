"""Benchmarks run on the dev stack's real services, each in a fresh database / topic prefix / Mongo db."""

from __future__ import annotations

import statistics
import uuid

import psycopg
import redis

from infra import devstack
from infra.settings import Settings


def fresh_settings(**overrides: object) -> Settings:
    devstack.up(Settings(), echo=lambda _l: None)
    stack = Settings()
    tag = uuid.uuid4().hex[:8]
    db = f"lc_bench_{tag}"
    admin = stack.postgres_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db}"')
    redis_url = stack.redis_url.rsplit("/", 1)[0] + "/8"
    redis.Redis.from_url(redis_url).flushdb()
    return stack.model_copy(
        update={
            "postgres_url": stack.postgres_url.rsplit("/", 1)[0] + f"/{db}",
            "redis_url": redis_url,
            "mongo_db": db,
            "topic_prefix": f"b{tag}",
            # Every bench client is one address (127.0.0.1): per-IP limits raised, per-user limits as configured.
            "rate_limit_ip_writes": "1000000/minute",
            "rate_limit_ip_reads": "1000000/minute",
            **overrides,
        }
    )


def drop(settings: Settings) -> None:
    admin = settings.postgres_url.rsplit("/", 1)[0] + "/postgres"
    db = settings.postgres_url.rsplit("/", 1)[1]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    from pymongo import MongoClient

    c: MongoClient[object] = MongoClient(settings.mongo_url)
    c.drop_database(settings.mongo_db)
    c.close()


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q / 100 * (len(s) - 1))))]


def summary(values: list[float]) -> str:
    return (
        f"n={len(values)} p50={pct(values, 50):.1f} ms p90={pct(values, 90):.1f} ms "
        f"p99={pct(values, 99):.1f} ms max={max(values):.1f} ms mean={statistics.fmean(values):.1f} ms"
    )
