"""What a consumer sets aside and what it retries (ADR 0019), without servers."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pymongo.errors
import pytest
import redis.exceptions
from aiokafka.errors import KafkaConnectionError, RequestTimedOutError

from application.envelope import Envelope
from infra.consumer_guard import park_key
from infra.dead_letters import describe, is_pointer, is_transient, pointer_for, storable


@pytest.mark.parametrize(
    "exc",
    [
        psycopg.OperationalError("server closed the connection"),
        ConnectionRefusedError(),
        TimeoutError(),
        redis.exceptions.ConnectionError("refused"),
        pymongo.errors.ServerSelectionTimeoutError("no server"),
        KafkaConnectionError(),
        RequestTimedOutError(),
    ],
)
def test_an_unreachable_server_is_retried_not_set_aside(exc: BaseException) -> None:
    assert is_transient(exc)


@pytest.mark.parametrize(
    "exc",
    [
        psycopg.DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes"),
        KeyError("product_id"),
        ValueError("badly formed hexadecimal UUID string"),
        pymongo.errors.DocumentTooLarge("16 MB"),
        redis.exceptions.ResponseError("ERR wrong number of arguments"),
        UnicodeEncodeError("utf-8", "\ud800", 0, 1, "x"),
    ],
)
def test_poison_is_not_mistaken_for_an_outage(exc: BaseException) -> None:
    assert not is_transient(exc)


def envelope(**kw: object) -> Envelope:
    base: dict[str, object] = {
        "id": "e1",
        "type": "HostProfile.ApplicationSubmitted",
        "schema_version": 1,
        "aggregate_id": "a1",
        "aggregate_version": 3,
        "stream_id": None,
        "occurred_at": datetime(2026, 3, 17, tzinfo=UTC),
        "payload": {"host_name": "x"},
        "position": 42,
    }
    return Envelope(**{**base, **kw})  # type: ignore[arg-type]


def test_a_pointer_keeps_everything_but_the_payload_and_says_where_the_event_is() -> None:
    e = envelope()
    p = pointer_for(e, 2_000_000, "too_large")
    assert is_pointer(p) and not is_pointer(e)
    assert (p.id, p.type, p.aggregate_id, p.aggregate_version, p.position, p.key) == (
        e.id,
        e.type,
        e.aggregate_id,
        e.aggregate_version,
        e.position,
        e.key,
    )
    assert p.payload == {"_log_pointer": {"position": 42, "bytes": 2_000_000, "reason": "too_large"}}
    assert Envelope.from_json(p.to_json()) == p


def test_store_events_wait_behind_their_aggregate_and_interactions_do_not() -> None:
    assert park_key(envelope()) == "a1"
    assert park_key(envelope(aggregate_id=None, aggregate_version=None, stream_id="s1")) is None


def test_what_made_a_message_poison_can_still_be_stored_as_text() -> None:
    assert storable("a\x00b\ud800c") == "a\ufffdb?c"
    assert "\\x00" in describe(ValueError("bad \x00 here"))
