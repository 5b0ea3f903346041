"""Audit: a flash sale through reservations, expiries, waitlist, failures and refunds balances; an edited or
deleted stored event is reported, whichever way it was tampered with."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from uuid import UUID

import psycopg
import pytest

from infra.audit import AuditSubjectNotFound, add_audit_arguments, audit, run_audit
from infra.audit.render import to_json, to_png, to_text
from infra.settings import Settings
from tests.analytics.conftest import MakeDb
from tests.analytics.histories import SaleHistory, flash_sale_history, minutes


@pytest.fixture(scope="module")
def sale(new_db: MakeDb) -> tuple[Settings, SaleHistory]:
    """Its own database: these tests edit and delete stored events (and put them back)."""
    settings = new_db()
    return settings, flash_sale_history(settings)


def version_of(settings: Settings, aggregate: UUID, type_: str, nth: int = 0) -> int:
    with psycopg.connect(settings.postgres_url) as conn:
        rows = conn.execute(
            "SELECT originator_version FROM livecommerce_events WHERE originator_id = %s"
            " AND topic LIKE %s ORDER BY originator_version",
            (aggregate, f"%:{type_}"),
        ).fetchall()
    return int(rows[nth][0])


@contextmanager
def tampered(settings: Settings, aggregate: UUID, version: int, state: bytes | None) -> Iterator[None]:
    """UPDATE the stored event's state (or DELETE it when ``state`` is None), then put the row back."""
    delete = "DELETE FROM livecommerce_events WHERE originator_id = %s AND originator_version = %s"
    with psycopg.connect(settings.postgres_url, autocommit=True) as conn:
        key = (aggregate, version)
        row = conn.execute(
            "SELECT notification_id, topic, state FROM livecommerce_events"
            " WHERE originator_id = %s AND originator_version = %s",
            key,
        ).fetchone()
        assert row is not None
        if state is None:
            conn.execute(delete, key)
        else:
            conn.execute(
                "UPDATE livecommerce_events SET state = %s WHERE originator_id = %s AND originator_version = %s",
                (state, *key),
            )
        try:
            yield
        finally:
            conn.execute(delete, key)
            conn.execute(
                "INSERT INTO livecommerce_events (originator_id, originator_version, topic, state,"
                " notification_id) VALUES (%s, %s, %s, %s, %s)",
                (*key, row[1], row[2], row[0]),
            )


def stored_state(settings: Settings, aggregate: UUID, version: int) -> bytes:
    with psycopg.connect(settings.postgres_url) as conn:
        row = conn.execute(
            "SELECT state FROM livecommerce_events WHERE originator_id = %s AND originator_version = %s",
            (aggregate, version),
        ).fetchone()
    assert row is not None
    return bytes(row[0])


async def test_the_books_balance_and_every_output_is_produced(
    sale: tuple[Settings, SaleHistory], tmp_path: Path
) -> None:
    settings, h = sale
    report = await audit(settings, "flash-sale", str(h.sale_id))
    assert report.ok and all(report.checks.values()) and len(report.checks) == 3, to_text(report)
    [ledger] = report.sales
    last = ledger.points[-1]
    assert (last.status, last.sold, last.reserved, last.available, last.waitlist) == ("ended", 4, 0, 1, 0)
    assert max(p.waitlist for p in ledger.points) == 2 and min(p.available for p in ledger.points) == 0
    assert len(ledger.points) == sum(n for t, n in report.event_counts.items() if t.startswith("FlashSale."))
    statuses = {p.id: p.status for p in report.payments}
    assert sorted(statuses.values()) == ["completed", "completed", "completed", "failed", "refunded"]
    refunded = next(p for p in report.payments if p.id == str(h.payments["buyer-3"]))
    assert [s.status for s in refunded.steps] == ["pending", "processing", "completed", "refunded"]
    assert report.read_models_note.startswith("read model not available")
    assert report.hashes_recorded == report.events
    data = json.loads(to_json(report))
    assert data["ok"] and len(data["sales"][0]["points"]) == len(ledger.points)
    assert "✓ stock: sold + reserved + available = quantity at every event" in to_text(report)
    png = to_png(report, tmp_path / "stock.png")
    assert png is not None and png.read_bytes()[:4] == b"\x89PNG"


async def test_the_state_at_a_past_moment(sale: tuple[Settings, SaleHistory]) -> None:
    settings, h = sale
    report = await audit(settings, "flash-sale", str(h.sale_id), at=minutes(5), record_hashes=False)
    last = report.sales[0].points[-1]
    assert (last.status, last.sold, last.reserved, last.available, last.waitlist) == ("sold_out", 3, 2, 0, 1)
    refunded = {p.id: p.refunded for p in report.payments}
    assert set(refunded.values()) == {0} and len(refunded) == 4  # waiter-0 had not paid yet; no refund yet
    order = await audit(settings, "order", str(h.orders["buyer-3"]), record_hashes=False)
    assert order.ok and [o.status for o in order.orders] == ["refunded"] and len(order.payments) == 1
    show = await audit(settings, "stream", str(h.stream_id), record_hashes=False)
    assert show.ok and len(show.sales) == 1 and len(show.orders) == 5 and len(show.payments) == 5
    with pytest.raises(AuditSubjectNotFound):
        await audit(settings, "flash-sale", str(h.orders["buyer-0"]))


async def test_a_deleted_event_is_reported(sale: tuple[Settings, SaleHistory]) -> None:
    settings, h = sale
    assert (await audit(settings, "flash-sale", str(h.sale_id))).ok  # the chain is on record before the edit
    v = version_of(settings, h.sale_id, "FlashSale.ReservationConfirmed")
    with tampered(settings, h.sale_id, v, None):
        report = await audit(settings, "flash-sale", str(h.sale_id))
    assert not report.ok
    assert {"version_gap", "deleted_since_audit"} <= report.codes()
    gap = next(f for f in report.findings if f.code == "version_gap")
    assert gap.version == v and "a deleted row" in gap.message
    last = version_of(settings, h.sale_id, "FlashSale.Ended")  # no gap after the last event: the chain tells
    with tampered(settings, h.sale_id, last, None):
        report = await audit(settings, "flash-sale", str(h.sale_id))
    assert report.codes() >= {"deleted_since_audit", "position_hole"} and "version_gap" not in report.codes()


async def test_edited_events_are_reported(sale: tuple[Settings, SaleHistory]) -> None:
    settings, h = sale
    assert (await audit(settings, "flash-sale", str(h.sale_id))).ok
    pay = h.payments["buyer-4"]
    state = stored_state(settings, pay, 1)
    with tampered(settings, pay, 1, state.replace(b'"1499.00"', b'"999.00"')):  # folds, but the money is off
        report = await audit(settings, "flash-sale", str(h.sale_id))
    assert {"payment_amount_mismatch", "hash_mismatch"} <= report.codes() and not report.ok
    v = version_of(settings, h.sale_id, "FlashSale.StockReserved", 2)
    with tampered(
        settings, h.sale_id, v, stored_state(settings, h.sale_id, v).replace(b'"quantity":1', b'"quantity":9')
    ):  # more units than exist: the domain refuses on replay
        report = await audit(settings, "flash-sale", str(h.sale_id))
    assert "does_not_fold" in report.codes()
    with tampered(settings, h.sale_id, v, b"\x00not json"):
        report = await audit(settings, "flash-sale", str(h.sale_id))
    assert "undecodable" in report.codes()
    v = version_of(settings, h.sale_id, "FlashSale.ReservationReleased")
    with tampered(
        settings, h.sale_id, v, stored_state(settings, h.sale_id, v).replace(b"payment_failed", b"buyer_cancelled")
    ):  # a valid history: only the recorded chain can tell
        report = await audit(settings, "flash-sale", str(h.sale_id))
    assert report.codes() == {"hash_mismatch"}
    assert (await audit(settings, "flash-sale", str(h.sale_id))).ok  # every row put back: clean again


async def test_refunds_beyond_the_payment_are_violations(new_db: MakeDb) -> None:
    settings = new_db()
    h = flash_sale_history(settings, extra_shows=0)
    await audit(settings, "flash-sale", str(h.sale_id), record_hashes=False)
    pay, order = h.payments["buyer-0"], h.orders["buyer-0"]
    for aggregate in (pay, order):
        v = version_of(settings, aggregate, f"{'Payment' if aggregate == pay else 'Order'}.Refunded")
        with tampered(settings, aggregate, v, stored_state(settings, aggregate, v).replace(b'"500.00"', b'"1600.00"')):
            report = await audit(settings, "flash-sale", str(h.sale_id), record_hashes=False)
        assert "refund_exceeds_payment" in report.codes(), to_text(report)


async def test_read_models_are_compared_when_present(new_db: MakeDb) -> None:
    settings = new_db()
    h = flash_sale_history(settings, extra_shows=0)
    with psycopg.connect(settings.postgres_url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE flash_sales (id UUID PRIMARY KEY, sold_quantity INT,"
            " available_quantity INT, status TEXT, original_price DECIMAL(10,2))"
        )
        conn.execute("INSERT INTO flash_sales VALUES (%s, 3, 1, 'ended', 2500)", (h.sale_id,))
    report = await audit(settings, "flash-sale", str(h.sale_id), record_hashes=False)
    fields = {c.field: c.equal for c in report.read_models}
    assert fields == {"sold_quantity": False, "available_quantity": True, "status": True}
    assert report.ok and "read_model_differs" in report.codes()  # a lagging read model is not tampering
    assert "read model not available: orders, payments" in report.read_models_note


def test_the_cli_entry_point(sale: tuple[Settings, SaleHistory], tmp_path: Path) -> None:
    settings, h = sale
    parser = argparse.ArgumentParser()
    add_audit_arguments(parser)
    assert (
        run_audit(parser.parse_args(["flash-sale", str(h.sale_id), "--out", str(tmp_path), "--no-record"]), settings)
        == 0
    )
    stem = tmp_path / f"audit-flash-sale-{h.sale_id}"
    assert json.loads(stem.with_suffix(".json").read_text())["ok"]
    assert (
        stem.with_suffix(".png").stat().st_size > 1000
        and "stock at every event" in stem.with_suffix(".txt").read_text()
    )
    assert run_audit(parser.parse_args(["order", str(UUID(int=7))]), settings) == 2
    v = version_of(settings, h.sale_id, "FlashSale.HoldExpired")
    with tampered(settings, h.sale_id, v, None):
        args = parser.parse_args(["flash-sale", str(h.sale_id), "--json", "--no-record"])
        assert run_audit(args, settings) == 1
