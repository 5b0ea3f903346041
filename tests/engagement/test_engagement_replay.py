"""Part 4's figure from past shows (issue 17): shows written out by the analysts' export (``infra.replay``'s own
Parquet schema and writer) and read back by ``bench.engagement --export`` count the same suggestions, the same
rises in sales and the same random-minute baseline as the shows replayed in memory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from bench.engagement import Tally, generate, past_shows
from infra.replay_parts import envelope_row, to_table


def test_past_shows_from_an_export_count_as_the_same_shows_in_memory(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    shows = {f"show{k}": generate(rng, f"show{k}") for k in range(4)}
    rows = [envelope_row(e) for log in shows.values() for e in log]
    pq.write_table(to_table(rows), tmp_path / "part-00000.parquet")
    read = past_shows(tmp_path)
    assert {sid: len(log) for sid, log in read.items()} == {sid: len(log) for sid, log in shows.items()}

    in_memory, exported = Tally(), Tally()
    for sid in sorted(shows):
        in_memory.show(sid, shows[sid], np.random.default_rng(1))
        exported.show(sid, read[sid], np.random.default_rng(1))
    assert exported.shows == in_memory.shows == 4
    assert dict(exported.hits) == dict(in_memory.hits) and dict(exported.random_hits) == dict(in_memory.random_hits)
    made = sum(len(v) for v in exported.hits.values())
    assert made >= 4 and {"start_flash_sale", "run_poll"} & set(exported.hits)
