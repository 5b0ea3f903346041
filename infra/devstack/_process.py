"""Detached server processes of the dev stack: start, wait until they answer, record, stop.

Each process runs in its own session (so it outlives the `up` call and its terminal), logs to
``state_dir/logs/NAME.log``, and is recorded in ``state_dir/NAME.json`` with its pid, the kernel's start time
of that pid (so a recycled pid is never mistaken for ours) and the URL it serves.
"""

from __future__ import annotations

import json
import os
import pwd
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Launch:
    """How to start one server: its command line, the URL it will serve, the OS user to run it as."""

    argv: list[str]
    url: str
    run_as: str | None = None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def as_user(name: str | None) -> dict:
    """subprocess keyword arguments that run the command as OS user `name` (None: as ourselves)."""
    if not name:
        return {}
    entry = pwd.getpwnam(name)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def _start_ticks(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux); None where /proc is not available."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def alive(pid: int, start_ticks: str | None = None) -> bool:
    """True while `pid` runs (not a zombie) and, if given, is still the process started at `start_ticks`."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:  # our own child that exited: reap it
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state != "Z" and (start_ticks is None or _start_ticks(pid) == start_ticks)


def log_tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def record_path(state_dir: Path, name: str) -> Path:
    return state_dir / f"{name}.json"


def read_record(state_dir: Path, name: str) -> dict | None:
    """The record of a process we started, if that process still runs."""
    try:
        record = json.loads(record_path(state_dir, name).read_text())
    except (OSError, ValueError):
        return None
    return record if alive(record["pid"], record.get("start_ticks")) else None


def spawn(name: str, launch: Launch, state_dir: Path) -> dict:
    """Start `launch` detached from this process, record it, and return the record."""
    log = state_dir / "logs" / f"{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            launch.argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=state_dir,
            start_new_session=True,
            **as_user(launch.run_as),
        )
    record = {"pid": proc.pid, "start_ticks": _start_ticks(proc.pid), "url": launch.url, "log": str(log)}
    record_path(state_dir, name).write_text(json.dumps(record, indent=2) + "\n")
    return record


def wait_ready(name: str, record: dict, check: Callable[[], str | None], stop_signal: int, timeout: float) -> str:
    """Poll `check` until it returns the usable URL; on exit or timeout stop the process and raise."""
    deadline = time.monotonic() + timeout
    while True:
        url = check()
        if url:
            return url
        if not alive(record["pid"]):
            problem = "exited before it answered"
        elif time.monotonic() > deadline:
            problem = f"did not answer within {timeout:.0f} s"
        else:
            time.sleep(0.2)
            continue
        stop(record, stop_signal)
        log = Path(record["log"])
        tail = log_tail(log)
        raise RuntimeError(f"dev stack: {name} {problem} (pid {record['pid']}); {log} ends with:\n{tail}")


def stop(record: dict, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
    """Signal the server, wait for it, then SIGKILL whatever is left of its process group."""
    pid = record["pid"]
    if not alive(pid, record.get("start_ticks")):
        return
    os.kill(pid, sig)
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    try:
        os.killpg(pid, signal.SIGKILL)  # start_new_session made the server its group's leader
    except (ProcessLookupError, PermissionError):
        pass
    while alive(pid) and time.monotonic() < deadline + 5:
        time.sleep(0.05)
