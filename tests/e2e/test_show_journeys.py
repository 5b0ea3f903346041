"""Issue 13: every show journey, end to end, as a client drives it (HTTP + Socket.IO) against the real
services, asserting the values a user sees. One test per journey, named after it; the stack is
``tests/e2e/journeys.py``."""

from __future__ import annotations

from tests.e2e.journeys import P, Show, show  # noqa: F401  (the module-scoped stack fixture)


# ── Journey 1: Scheduled flash sale ────────────────────────────────────────────────────────────────


# ── Journey 2: Stream stock ────────────────────────────────────────────────────────────────────────


# ── Journey 3: Auction winner and group-buy members pay ────────────────────────────────────────────


# ── Journey 4: Cart to order ───────────────────────────────────────────────────────────────────────


# ── Journey 5: Sales figures ───────────────────────────────────────────────────────────────────────


# ── Journey 6: Featured streams ────────────────────────────────────────────────────────────────────


# ── Journey 7: Live payment confirmation in chat ───────────────────────────────────────────────────


# ── Journey 8: Fulfilment and returns ──────────────────────────────────────────────────────────────


# ── Journey 9: Host analytics ──────────────────────────────────────────────────────────────────────


# ── Journey 10: Go live at once ─────────────────────────────────────────────────────────────────────


# ── Journey 11: The spec's own values ───────────────────────────────────────────────────────────────


# ── Journey 12: Viewer counts move ──────────────────────────────────────────────────────────────────


# ── Journey 13: A sale ends with its show ───────────────────────────────────────────────────────────


# ── Journey 14: One set of figures ──────────────────────────────────────────────────────────────────


# ── Journey 15: Read your writes everywhere ─────────────────────────────────────────────────────────


# ── Journey 16: A show's whole history ──────────────────────────────────────────────────────────────


# ── Journey 17: A newcomer's first minutes ──────────────────────────────────────────────────────────

