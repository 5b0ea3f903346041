"""Given/when/then helpers shared by the unit tests of the event-sourced aggregates."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pytest
from eventsourcing.application import Application

from domain.errors import DomainError

MAPPER: Any = Application().mapper


def state(agg: Any) -> dict[str, Any]:
    return copy.deepcopy({k: v for k, v in vars(agg).items() if k != "_pending_events"})


def refused(agg: Any, error: type[DomainError], command: Any) -> DomainError:
    """Then: the command raises ``error`` and leaves the aggregate exactly as it was."""
    version, pending, before = agg.version, len(agg.pending_events), state(agg)
    with pytest.raises(error) as info:
        command()
    assert (agg.version, len(agg.pending_events)) == (version, pending)
    assert state(agg) == before
    return info.value


def new_events(agg: Any) -> list[str]:
    return [type(e).__name__ for e in agg.collect_events()]


def fold(events: Sequence[Any]) -> Any:
    agg = copy.copy(events[0]).mutate(None)
    for event in events[1:]:
        agg = copy.copy(event).mutate(agg)
    return agg


def exactly_equal(a: Any, b: Any) -> bool:
    """Equal and of the same type all the way down; Decimals to the digit (Decimal("1.0") != "1.00" here)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, Decimal):
        return a.as_tuple() == b.as_tuple()
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(exactly_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(exactly_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def round_trip(events: Sequence[Any]) -> list[Any]:
    out = [MAPPER.to_domain_event(MAPPER.to_stored_event(e)) for e in events]
    for before, after in zip(events, out, strict=True):
        assert exactly_equal(vars(before), vars(after)), type(before).__name__
    return out
