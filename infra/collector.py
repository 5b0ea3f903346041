"""How long the garbage collector paused the API, per generation.

The API logs every pause over 100 ms as it happens (wall and CPU time) and a summary at stop, so a latency
tail can be told apart from one the collector caused. Measured at 5,000 viewers (ADR 0012): the middle
generation's collection right after the viewers connect pauses ~0.5 s; in steady state a young collection
comes once in ~20 s and pauses up to ~150 ms (CPython counts allocations minus deallocations, and a gateway
of idle viewers frees about as much as it allocates while its young generation fills with every viewer's
25-second engine.io waits). Collecting by time instead (every second, the middle generation every ten) was
measured and made the tail worse; see the ADR."""

from __future__ import annotations

import gc
import logging
import time
from typing import Any

log = logging.getLogger(__name__)
LOG_OVER_S = 0.1


class GcPauses:
    def __init__(self) -> None:
        self.count = [0, 0, 0]
        self.total_s = [0.0, 0.0, 0.0]
        self.max_s = [0.0, 0.0, 0.0]
        self._t0 = self._c0 = 0.0

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._t0, self._c0 = time.perf_counter(), time.thread_time()
            return
        took = time.perf_counter() - self._t0
        g = info.get("generation", 0)
        self.count[g] += 1
        self.total_s[g] += took
        self.max_s[g] = max(self.max_s[g], took)
        if took > LOG_OVER_S:
            log.warning(
                "the collector paused the process %.0f ms (%.0f ms on the CPU; generation %d, %d objects collected)",
                took * 1000,
                (time.thread_time() - self._c0) * 1000,
                g,
                info.get("collected", 0),
            )

    def start(self) -> GcPauses:
        if self._callback not in gc.callbacks:
            gc.callbacks.append(self._callback)
        return self

    def stop(self) -> None:
        if self._callback in gc.callbacks:
            gc.callbacks.remove(self._callback)

    def summary(self) -> str:
        return ", ".join(
            f"gen{g}: {self.count[g]} ({self.total_s[g]:.2f} s, longest {self.max_s[g] * 1000:.0f} ms)"
            for g in range(3)
        )
