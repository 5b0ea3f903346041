"""Fixtures for replay and audit: PostgreSQL-only databases (these tests touch no Redis), a saved history.

Why not ``environments.new()``: each of those takes one of the few Redis databases the session shares, and
nothing here uses Redis. The databases made here are dropped when the module ends.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest

from infra.settings import Settings
from tests.analytics.histories import SaleHistory, flash_sale_history
from tests.conftest import Environments

MakeDb = Callable[[], Settings]


@pytest.fixture(scope="module")
def new_db(environments: Environments) -> Iterator[MakeDb]:
    made: list[str] = []

    def make() -> Settings:
        tag = uuid.uuid4().hex[:10]
        db = f"lc_analytics_{tag}"
        with psycopg.connect(environments.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{db}"')
        made.append(db)
        base = environments.stack.postgres_url.rsplit("/", 1)[0]
        return environments.stack.model_copy(
            update={
                "postgres_url": f"{base}/{db}",
                "read_postgres_url": None,
                "mongo_db": db,
                "topic_prefix": f"a{tag}",
            }
        )

    yield make
    with psycopg.connect(environments.admin_url, autocommit=True) as conn:
        for db in made:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


@pytest.fixture(scope="module")
def history(new_db: MakeDb) -> tuple[Settings, SaleHistory]:
    settings = new_db()
    return settings, flash_sale_history(settings)
