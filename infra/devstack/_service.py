"""What the dev stack needs to know about one service: how to find it, check it, and start a private one."""

from __future__ import annotations

import importlib.util
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from infra.devstack._process import Launch
from infra.settings import Settings


@dataclass(frozen=True)
class Service:
    name: str
    env_var: str  # the Settings field's variable in stack.env
    standard_port: int
    settings_url: Callable[[Settings], str]
    answers: Callable[[str], bool]  # a real protocol round trip, nothing created
    # (settings, settings URL, port, data dir) -> how to run a private server on 127.0.0.1:port
    launch: Callable[[Settings, str, int, Path], Launch]
    # Returns the URL to use (maybe adjusted, e.g. another user) after any setup, or None; default: answers().
    prepare: Callable[[str], str | None] | None = None
    # The settings URL pointed at 127.0.0.1:port (standard port, private server).
    at_port: Callable[[str, int], str] = field(default=lambda url, port: at_port(url, port))
    dev_port: Callable[[Settings], int] = field(default=lambda settings: 0)  # 0 picks a free port
    stop_signal: int = signal.SIGTERM
    ready_timeout: float = 30.0

    def usable(self, url: str) -> str | None:
        if self.prepare is not None:
            return self.prepare(url)
        return url if self.answers(url) else None


def at_port(url: str, port: int) -> str:
    """`url` pointed at 127.0.0.1:`port`, keeping its scheme, credentials, path and query."""
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@127.0.0.1:{port}" if userinfo else f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


def package_file(package: str, *parts: str) -> Path | None:
    """A file shipped inside an installed package (the dev extra's servers), without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations)), *parts)
    return path if path.exists() else None


def missing(what: str, package: str) -> RuntimeError:
    hint = f"install the dev extra (pip install -e '.[dev]') for {package}"
    return RuntimeError(f"dev stack: no {what} found; {hint}")
