"""PostgreSQL: find a server that lets us in and make sure the database exists, or run a private one.

A private server uses the machine's PostgreSQL binaries, else those inside the `pgserver` wheel, started
directly (not through `pgserver.get_server`, which listens on a Unix socket only: the event store's settings
need a TCP host and port).
"""

from __future__ import annotations

import getpass
import os
import pwd
import shutil
import signal
import socket
import subprocess
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from infra.devstack._process import Launch, as_user
from infra.devstack._service import Service, at_port, missing, package_file
from infra.settings import Settings


def answers(url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=2) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def prepare(url: str) -> str | None:
    """The URL with a user the server lets in (the URL's, ours, or `postgres`), its database created."""
    import psycopg

    parts = urlsplit(url)
    if parts.hostname and not _listening(parts.hostname, parts.port or 5432):
        return None
    dbname = parts.path.lstrip("/") or parts.username or getpass.getuser()
    for user in dict.fromkeys([parts.username or getpass.getuser(), getpass.getuser(), "postgres"]):
        for maintenance_db in ("postgres", dbname):
            try:
                with psycopg.connect(url, user=user, dbname=maintenance_db, connect_timeout=2, autocommit=True) as conn:
                    _create_database(conn, dbname)
            except psycopg.OperationalError:
                continue
            return url if user == parts.username else _with_user(url, user)
    return None


def _listening(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=2).close()
        return True
    except OSError:
        return False


def _create_database(conn, dbname: str) -> None:
    from psycopg import errors, sql

    if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone():
        return
    try:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    except errors.DuplicateDatabase:  # another `up` won the race
        pass


def _with_user(url: str, user: str) -> str:
    parts = urlsplit(url)
    hostport = parts.netloc.rpartition("@")[2]
    password = f":{parts.password}" if parts.password else ""
    return urlunsplit(parts._replace(netloc=f"{user}{password}@{hostport}"))


def _bindir() -> Path | None:
    """A directory with `initdb` and `postgres`: PATH, /usr/lib/postgresql/*/bin (newest first), pgserver."""
    found = shutil.which("initdb")
    versions = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if p.parent.name.isdigit()]
    candidates = [Path(found).resolve().parent] if found else []
    candidates += sorted(versions, key=lambda p: int(p.parent.name), reverse=True)
    candidates.append(package_file("pgserver", "pginstall", "bin"))
    return next((d for d in candidates if d and (d / "initdb").exists() and (d / "postgres").exists()), None)


def _os_user() -> str | None:
    """PostgreSQL refuses to run as root: then it runs as the `postgres` OS user (created if missing)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        useradd = ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "postgres"]
        subprocess.run(useradd, check=True, capture_output=True)
    return "postgres"


def launch(settings: Settings, url: str, port: int, data_dir: Path) -> Launch:
    bindir = _bindir()
    if bindir is None:
        raise missing("PostgreSQL binaries (initdb, postgres)", "pgserver")
    run_as = _os_user()
    if not (data_dir / "PG_VERSION").exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        if run_as:
            entry = pwd.getpwnam(run_as)
            os.chown(data_dir, entry.pw_uid, entry.pw_gid)
        data_dir.chmod(0o700)
        superuser = urlsplit(url).username or getpass.getuser()
        argv = [
            str(bindir / "initdb"),
            "-D",
            str(data_dir),
            "-U",
            superuser,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
        ]
        done = subprocess.run(argv, capture_output=True, text=True, cwd="/", **as_user(run_as))
        if done.returncode:
            hint = f" (the OS user {run_as!r} must be able to reach {data_dir})" if run_as else ""
            raise RuntimeError(f"dev stack: initdb failed{hint}:\n{done.stdout}{done.stderr}")
    argv = [
        str(bindir / "postgres"),
        "-D",
        str(data_dir),
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
        "-c",
        "unix_socket_directories=",
        "-c",  # every process of a stack holds a pool; a test run holds several stacks at once
        "max_connections=400",
    ]
    return Launch(argv=argv, url=at_port(url, port), run_as=run_as)


SERVICE = Service(
    name="postgres",
    env_var="LIVECOMMERCE_POSTGRES_URL",
    standard_port=5432,
    settings_url=lambda settings: settings.postgres_url,
    answers=answers,
    prepare=prepare,
    launch=launch,
    stop_signal=signal.SIGINT,  # PostgreSQL's "fast" shutdown
    ready_timeout=60.0,
)
