"""What the stores can hold: one rule for every text and JSON value that enters the system.

Anything accepted at an edge (HTTP bodies and query strings, Socket.IO payloads, provider callbacks, RTMP
metadata) ends up in an event, a Kafka message and read models, so it must be storable in all of them:

- PostgreSQL ``text``/``jsonb`` refuse NUL; UTF-8 (PostgreSQL, Kafka, MongoDB) cannot encode a lone surrogate;
  other C0/C1 control characters break logs, CSV exports and terminals: refused, except newline, carriage
  return and tab in text that allows several lines.
- ``jsonb`` refuses NaN and Infinity; MongoDB refuses integers beyond 64 bits.
- Depth, container sizes, string and key lengths are bounded, so one request cannot build a value that costs
  megabytes to store or seconds to walk.

The edges refuse (``json_problem`` / ``text_problem`` → a 422 with the field), the media plane cleans
(``clean_text`` / ``cleaned``: an encoder's metadata is not a client to talk back to). Pure standard library.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

# C0 controls but tab/newline/carriage return, DEL, C1 controls, and every surrogate code point (a string
# decoded from JSON or a socket frame holds one only when it was sent unpaired).
_BAD_MULTILINE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_BAD_LINE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
INT64 = 2**63 - 1


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a value cannot be stored: a stable ``code``, a message, and where (``path``, e.g. ``a.b[2]``)."""

    code: str
    message: str
    path: str = ""


@dataclass(frozen=True, slots=True)
class JsonBounds:
    depth: int = 10  # nesting of objects/arrays
    items: int = 1_000  # keys of one object, elements of one array
    nodes: int = 50_000  # values in the whole document
    string: int = 20_000  # characters of one string
    key: int = 100  # characters of one object key


def text_problem(s: str, *, multiline: bool = True) -> Problem | None:
    """None when ``s`` may be stored; else what is wrong with it."""
    bad = (_BAD_MULTILINE if multiline else _BAD_LINE).search(s)
    if bad is None:
        return None
    ch = bad.group()
    if _SURROGATE.match(ch):
        return Problem("lone_surrogate", "contains an unpaired surrogate (not encodable as UTF-8)")
    if ch == "\x00":
        return Problem("nul_character", "contains a NUL character")
    if ch in "\t\n\r":
        return Problem("single_line", "must be a single line (no newline or tab)")
    return Problem("control_character", f"contains the control character U+{ord(ch):04X}")


def json_problem(value: Any, bounds: JsonBounds = JsonBounds()) -> Problem | None:
    """Walk a decoded JSON value (iteratively: a hostile depth cannot exhaust the stack) and return the first
    thing the stores could not hold, or None."""
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    nodes = 0
    while stack:
        v, path, depth = stack.pop()
        nodes += 1
        if nodes > bounds.nodes:
            return Problem("too_many_values", f"more than {bounds.nodes} values in all", path)
        if isinstance(v, str):
            if len(v) > bounds.string:
                return Problem("string_too_long", f"a string longer than {bounds.string} characters", path)
            if (p := text_problem(v)) is not None:
                return Problem(p.code, p.message, path)
        elif isinstance(v, bool) or v is None:
            continue
        elif isinstance(v, int):
            if not -INT64 <= v <= INT64:
                return Problem("number_too_large", "an integer beyond 64 bits", path)
        elif isinstance(v, float):
            if not math.isfinite(v):
                return Problem("number_not_finite", "NaN or Infinity", path)
        elif isinstance(v, dict | list | tuple):
            if depth >= bounds.depth:
                return Problem("too_deep", f"nested deeper than {bounds.depth} levels", path)
            if len(v) > bounds.items:
                return Problem("too_many_items", f"more than {bounds.items} entries", path)
            if isinstance(v, dict):
                for k, item in v.items():
                    if not isinstance(k, str):
                        return Problem("invalid_key", "object keys must be strings", path)
                    if len(k) > bounds.key:
                        return Problem("key_too_long", f"a key longer than {bounds.key} characters", path)
                    if (p := text_problem(k, multiline=False)) is not None:
                        return Problem(p.code, "a key " + p.message, path)
                    stack.append((item, f"{path}.{k}" if path else k, depth + 1))
            else:
                stack.extend((item, f"{path}[{i}]", depth + 1) for i, item in enumerate(v))
        else:
            return Problem("invalid_type", f"{type(v).__name__} is not a JSON value", path)
    return None


def encoded_size(value: Any) -> int:
    """Bytes of ``value`` as compact UTF-8 JSON (what it costs in an event and a Kafka message)."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).encode())


def printable(s: str, limit: int = 120) -> str:
    """``s`` safe to echo in an error body or a log line: bad characters escaped, length capped."""
    out = _BAD_LINE.sub(lambda m: f"\\u{ord(m.group()):04x}", s[:limit])
    return out + ("…" if len(s) > limit else "")


def clean_text(s: str, limit: int = 1_000, *, multiline: bool = True) -> str:
    """For text nobody can be asked to resend (an encoder's metadata, a library's error message): bad
    characters replaced by U+FFFD, newlines kept where several lines are allowed, length capped."""
    return (_BAD_MULTILINE if multiline else _BAD_LINE).sub("\ufffd", s[:limit])


def cleaned(value: Any, limit: int = 1_000, depth: int = 8) -> Any:
    """``value`` with every string (and key) cleaned, non-finite floats as None, integers beyond 64 bits as
    their digits, nesting cut at ``depth``."""
    if isinstance(value, str):
        return clean_text(value, limit)
    if isinstance(value, int) and not isinstance(value, bool) and not -INT64 <= value <= INT64:
        return str(value)[:limit]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return (
            {clean_text(str(k), 100, multiline=False): cleaned(v, limit, depth - 1) for k, v in value.items()}
            if depth
            else {}
        )
    if isinstance(value, list | tuple):
        return [cleaned(v, limit, depth - 1) for v in value] if depth else []
    return value
