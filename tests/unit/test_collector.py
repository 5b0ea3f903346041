"""The API's record of garbage-collector pauses counts each collection in its generation."""

from __future__ import annotations

import gc

from infra.collector import GcPauses


def test_each_collection_is_counted_in_its_generation_and_stop_detaches() -> None:
    pauses = GcPauses().start()
    try:
        before = list(pauses.count)
        gc.collect(0)
        gc.collect(1)
        gc.collect(2)
        assert [a - b for a, b in zip(pauses.count, before, strict=True)] == [1, 1, 1]
        assert all(t >= 0 for t in pauses.total_s) and pauses.max_s[2] > 0
        assert pauses.summary().startswith("gen0: ")
    finally:
        pauses.stop()
    n = list(pauses.count)
    gc.collect()
    assert pauses.count == n
