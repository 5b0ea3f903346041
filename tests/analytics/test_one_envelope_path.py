"""Issue 20 part 5: the relay, the replay and every catch-up turn the same stored events into the same
envelopes, because they share one path (``application.event_envelopes.envelope_of_row``)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from application.envelope import Envelope
from application.event_envelopes import NAMESPACE, envelope_id, plain_state
from infra.relay import Relay
from infra.replay import replay
from infra.replay_parts import envelope_row
from infra.settings import Settings
from infra.store_reader import open_reader, read_after, read_rows_after
from tests.analytics.histories import SaleHistory


async def test_relay_replay_and_catch_up_give_identical_envelopes(
    history: tuple[Settings, SaleHistory], tmp_path: Path
) -> None:
    settings, h = history
    async with open_reader(settings) as reader:
        rows = await read_rows_after(reader, 0, 10_000)
        caught_up = await read_after(reader, 0, 10_000)  # what projections, due work and rebuilds read
    relay = Relay(settings)
    published: list[Envelope] = []
    for row in rows:
        spans: list[Any] = []
        e, raw, problem = relay._encode(row, spans)  # what the relay puts on the log, byte for byte
        assert problem is None and not spans
        assert Envelope.from_json(raw) == e
        published.append(Envelope.from_json(raw))
    await replay(settings, out=tmp_path / "pq", progress=False)
    replayed = pq.read_table(tmp_path / "pq" / "part-00000.parquet").to_pylist()

    assert len(rows) == len(published) == len(caught_up) == len(replayed) > 40
    assert published == caught_up
    for e, r in zip(published, replayed, strict=True):
        assert tuple(r.values()) == envelope_row(e)
    # values a consumer reads: the sale's price an exact decimal string, ids dashed, the show's id named
    sale = next(e for e in published if e.type == "FlashSale.Scheduled")
    assert sale.aggregate_id == str(h.sale_id) and sale.stream_id == str(h.stream_id)
    assert sale.payload["original_price"] == "2500.00"
    assert {e.id for e in published} == {
        str(uuid.uuid5(NAMESPACE, f"{e.aggregate_id}:{e.aggregate_version}")) for e in published
    }


def test_an_envelope_id_is_the_uuid5_of_aggregate_and_version() -> None:
    for n in range(200):
        agg = str(uuid.UUID(int=n * 7919 + 1))
        assert envelope_id(agg, n) == str(uuid.uuid5(NAMESPACE, f"{agg}:{n}"))


def test_typed_values_the_regexes_do_not_match_are_decoded_the_same_way() -> None:
    compact = (
        b'{"price":{"_type_":"decimal_str","_data_":"95.50"},'
        b'"id":{"_type_":"uuid_hex","_data_":"' + uuid.UUID(int=5).hex.encode() + b'"}}'
    )
    spaced = compact.replace(b'":', b'": ').replace(b',"', b', "')  # not the store's compact form
    expected = {"price": "95.50", "id": str(uuid.UUID(int=5))}
    assert plain_state(compact) == plain_state(spaced) == expected
