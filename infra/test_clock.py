"""A clock tests can move forward across processes: ``settings.test_clock_file`` holds seconds to add.

Every process of a test stack reads the same file (``infra.bootstrap.utc_now`` adds its offset), so a test that
must see an auction end, a payment deadline pass or a cart expire writes a larger number instead of waiting.
Unset (production), the clock is the system's. The file is read again only when it changed (one ``stat``).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

_path: Path | None = None
_seen: tuple[int, timedelta] = (-1, timedelta())


def use(path: Path | None) -> None:
    """Called once by the composition root with the setting."""
    global _path
    _path = Path(path) if path else None


def offset() -> timedelta:
    global _seen
    if _path is None:
        return timedelta()
    try:
        stamp = _path.stat().st_mtime_ns
        if stamp != _seen[0]:
            _seen = (stamp, timedelta(seconds=float(_path.read_text().strip() or 0)))
    except (OSError, ValueError):
        return _seen[1]
    return _seen[1]


def advance(path: Path, seconds: float) -> float:
    """Move the clock of every process reading ``path`` forward; → the new offset (tests call this)."""
    current = float(path.read_text().strip() or 0) if path.exists() else 0.0
    path.write_text(str(current + seconds))
    return current + seconds
