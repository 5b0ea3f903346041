"""The release's migrate step, run as an operator runs it (`livecommerce migrate` as a child process), and
processes in production mode (`migrations=verify`) that refuse a schema it has not made (issue 20 part 6)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import psycopg
import pytest

from infra.postgres import migration_files
from infra.settings import Settings
from tests.conftest import Environments
from tests.support import ROOT, Proc, free_port, settings_env, wait_until

pytestmark = pytest.mark.slow


def migrate(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "interfaces.cli", "migrate", *args],
        cwd=ROOT,
        env=settings_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
    )


def tables(settings: Settings) -> set[str]:
    with psycopg.connect(settings.postgres_url) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()").fetchall()
    return {str(r[0]) for r in rows}


def test_migrate_applies_once_and_stops_on_a_file_changed_after_it_ran(environments: Environments) -> None:
    env = environments.new()
    names = [name for name, _ in migration_files()]
    assert len(names) >= 25

    first = migrate(env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "applied: " + ", ".join(names)  # every file, in order
    assert {"live_streams", "orders", "schema_migrations", "dead_letters"} <= tables(env)
    with psycopg.connect(env.postgres_url) as conn:
        recorded = dict(conn.execute("SELECT name, checksum FROM schema_migrations").fetchall())
    assert sorted(recorded) == names and all(len(c) == 64 for c in recorded.values())

    again = migrate(env)
    assert again.returncode == 0 and again.stdout.strip() == "applied: nothing (up to date)"
    check = migrate(env, "--check")
    assert check.returncode == 0 and "pending: nothing; changed after applied: none" in check.stdout

    # The database says 005_orders.sql ran with other contents than the file has now.
    with psycopg.connect(env.postgres_url, autocommit=True) as conn:
        conn.execute("UPDATE schema_migrations SET checksum = %s WHERE name = '005_orders.sql'", ("0" * 64,))
        conn.execute("DELETE FROM schema_migrations WHERE name = %s", (names[-1],))  # and one is pending
    refused = migrate(env)
    assert refused.returncode == 2
    assert "checksum differs" in refused.stderr and "005_orders.sql" in refused.stderr
    with psycopg.connect(env.postgres_url) as conn:  # nothing applied: the pending one is still pending
        assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone() == (len(names) - 1,)
    check = migrate(env, "--check")
    assert check.returncode == 1
    assert f"pending: {names[-1]}; changed after applied: 005_orders.sql" in check.stdout


def test_a_production_process_waits_for_the_migrate_step_and_changes_nothing(
    environments: Environments, log_dir: Path
) -> None:
    env = environments.new()
    port = free_port()
    prod = env.model_copy(update={"migrations": "verify", "migrations_wait_s": 1.0, "http_port": port})
    api = Proc(prod, "api", "--port", str(port), log_dir=log_dir, name="api-verify-early")
    try:
        assert api.popen.wait(60) != 0  # the schema was never migrated: it gives up after its wait
    finally:
        api.kill()
    assert "migrations not applied (run `livecommerce migrate` first)" in api.output()
    assert tables(env) == set()  # it created nothing, not even the event store

    # The process starts first and waits; the migrate step runs meanwhile; then the process serves.
    prod = prod.model_copy(update={"migrations_wait_s": 90.0})
    api = Proc(prod, "api", "--port", str(port), log_dir=log_dir, name="api-verify")
    try:
        time.sleep(1.0)
        assert api.popen.poll() is None
        done = migrate(env)
        assert done.returncode == 0, done.stderr
        url = f"http://127.0.0.1:{port}/api/v1/live-commerce/streams"
        answer = wait_until(lambda: _get(url), timeout=90, what="api serving")
        assert answer.status_code == 200 and answer.json()["streams"] == []
    finally:
        api.kill()


def _get(url: str) -> httpx.Response | None:
    try:
        return httpx.get(url, timeout=5)
    except httpx.HTTPError:
        return None
