"""``livecommerce run``: API, relay, projections, process managers, notifications and the RTMP ingest front
door as supervised child processes for a laptop.

A child that dies is restarted with a growing delay; Ctrl-C (or SIGTERM) stops them all.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

CHILDREN = {
    "api": ["-m", "interfaces.cli", "api"],
    "relay": ["-m", "interfaces.cli", "relay"],
    "projections": ["-m", "interfaces.cli", "project"],
    "process": ["-m", "interfaces.cli", "process"],
    "notify": ["-m", "interfaces.cli", "notify"],
    # The RTMP front door on rtmp_base_url; it starts one media worker per show on the show's first publish.
    "ingest": ["-m", "interfaces.cli", "ingest"],
    # The providers cannot be reached from a laptop: the local sandbox stands in (settings point at it).
    "payments-sandbox": ["-m", "infra.payments.sandbox", "--port", "{payment_sandbox_port}"],
}


@dataclass
class Child:
    name: str
    args: list[str]
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    next_start: float = 0.0
    history: list[float] = field(default_factory=list)

    def start(self) -> None:
        cmd = [sys.executable, *self.args]
        self.proc = subprocess.Popen(cmd, env=os.environ.copy())
        print(f"[run] started {self.name} (pid {self.proc.pid})", flush=True)


def supervise(names: list[str] | None = None, values: dict[str, object] | None = None) -> int:
    children = [
        Child(n, [a.format(**(values or {})) for a in args]) for n, args in CHILDREN.items() if not names or n in names
    ]
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    for c in children:
        c.start()
    while not stopping:
        time.sleep(0.2)
        now = time.monotonic()
        for c in children:
            if c.proc is not None and c.proc.poll() is not None:
                code = c.proc.returncode
                c.proc = None
                c.restarts += 1
                delay = min(30.0, 0.5 * 2 ** min(c.restarts, 6))
                c.next_start = now + delay
                print(f"[run] {c.name} exited with {code}; restarting in {delay:.1f}s", flush=True)
            if c.proc is None and now >= c.next_start:
                c.start()
    print("[run] stopping", flush=True)
    for c in children:
        if c.proc is not None:
            c.proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 10
    for c in children:
        if c.proc is not None:
            try:
                c.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                c.proc.kill()
    return 0
