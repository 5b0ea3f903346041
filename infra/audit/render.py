"""An audit report three ways: text for a person, JSON for tools (every event's stock), PNG for the file.

The text is bounded (``rows`` per table, evenly sampled) because a hot sale has 100,000 events; the JSON keeps
every one. The chart draws the stock ledger of each sale as steps over time, with the Agg backend so it runs
on a server without a display.
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from collections import Counter
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from infra.audit.model import AuditReport, Comparison, MoneyHistory, SaleLedger

MAX_SALES_CHARTED = 6
MAX_CHART_STEPS = 2_000  # about the chart's width in pixels


def _default(o: Any) -> Any:
    """Shallow, one object at a time (``dataclasses.asdict`` deep-copies 100,000 stock points: seconds)."""
    if isinstance(o, datetime):
        return o.isoformat()
    if isinstance(o, Decimal):
        return str(o)
    if isinstance(o, MoneyHistory):
        return {**vars(o), "status": o.status, "refunded": o.refunded}
    if isinstance(o, Comparison):
        return {**vars(o), "equal": o.equal}
    if dataclasses.is_dataclass(o) and not isinstance(o, type):
        return vars(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def to_json(report: AuditReport) -> str:
    """Compact: a hot sale's report is tens of megabytes, read by tools (jq, pandas), not by eye."""
    return json.dumps({**vars(report), "ok": report.ok}, default=_default, ensure_ascii=False, separators=(",", ":"))


def _sample(items: list[Any], rows: int) -> list[Any]:
    if len(items) <= rows:
        return items
    step = (len(items) - 1) / (rows - 1)
    return [items[round(i * step)] for i in range(rows)]


def _money_line(h: MoneyHistory) -> str:
    path = " → ".join(s.status for i, s in enumerate(h.steps) if i == 0 or s.status != h.steps[i - 1].status)
    refund = f", refunded {h.refunded}" if h.refunded else ""
    extra = f" for order {h.order_id}" if h.kind == "payment" else ""
    return f"  {h.id}{extra} {h.method} {h.amount}: {path}{refund}"


def to_text(report: AuditReport, rows: int = 40) -> str:
    fails = Counter(f.severity for f in report.findings)
    verdict = "OK" if report.ok else f"FAILED ({fails['tamper']} tamper, {fails['violation']} violation)"
    out = [
        f"AUDIT {report.kind} {report.subject_id} as of {report.at.isoformat() if report.at else 'now'} — {verdict}",
        f"scope: {len(report.sales)} flash sale(s), {len(report.orders)} order(s), {len(report.payments)}"
        f" payment(s); {report.events} stored events of {len(report.aggregates)} aggregates;"
        f" {report.seconds:.2f} s",
        "",
    ]
    out.append("events: " + ", ".join(f"{t} {n}" for t, n in sorted(report.event_counts.items())))
    for sale in report.sales:
        last = sale.points[-1] if sale.points else None
        out += ["", f"flash sale {sale.name!r} ({sale.sale_id}), quantity {sale.quantity}"]
        if last:
            out.append(
                f"  final: {last.status}, sold {last.sold}, reserved {last.reserved}, available "
                f"{last.available}, waitlist {last.waitlist} (v{last.version}, {last.at.isoformat()})"
            )
        shown = _sample(sale.points, rows)
        out.append(f"  stock at every event ({len(shown)} of {len(sale.points)} shown; the JSON has all):")
        out.append(f"  {'pos':>8} {'ver':>6}  {'time':<25} {'event':<34} {'status':<9} sold  res avail wait")
        out += [
            f"  {p.position:>8} {p.version:>6}  {p.at.isoformat():<25} {p.type:<34} {p.status:<9}"
            f" {p.sold:>4} {p.reserved:>4} {p.available:>5} {p.waitlist:>4}"
            for p in shown
        ]
        kinds = Counter(
            r["status"] if r["status"] != "released" else f"released:{r['reason']}" for r in sale.reservations.values()
        )
        out.append("  reservations: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
    for title, histories in (("payments", report.payments), ("orders", report.orders)):
        if histories:
            counts = Counter(h.status for h in histories)
            summary = ", ".join(f"{k} {n}" for k, n in sorted(counts.items()))
            out += ["", f"{title} ({len(histories)}): {summary}"]
            out += [_money_line(h) for h in histories[:rows]]
            if len(histories) > rows:
                out.append(f"  … and {len(histories) - rows} more (see the JSON)")
    out += ["", "invariants:"] + [f"  {'✓' if ok else '✗'} {name}" for name, ok in report.checks.items()]
    out += ["", f"integrity and findings ({len(report.findings)}):"]
    out += [f"  {f.severity.upper():<9} {f.code}: {f.message}" for f in report.findings[: rows * 2]]
    if not report.findings:
        out.append("  none: versions contiguous, every event decodes and folds")
    out += [
        "",
        f"read models: {report.read_models_note or 'nothing to compare'}",
        f"hash chain: {report.hashes_recorded} new link(s) recorded in audit_hashes",
    ]
    return "\n".join(out) + "\n"


def to_png(report: AuditReport, path: Path) -> Path | None:
    """Stock over time for each sale in scope (up to six); None when the scope has no sale."""
    sales = [s for s in report.sales if s.points][:MAX_SALES_CHARTED]
    if not sales:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with warnings.catch_warnings():  # Bangla sale names: glyphs missing from the default font are dropped
        warnings.simplefilter("ignore", UserWarning)
        return _draw(plt, sales, path)


def _envelope(x: list[Any], y: list[int], width: int = MAX_CHART_STEPS) -> tuple[list[Any], Any, Any]:
    """At most ``width`` steps: per bucket of events, the lowest and highest value (a spike stays visible)."""
    if len(y) <= width:
        return x, None, y
    import numpy as np

    k = -(-len(y) // width)
    values = np.asarray(y + [y[-1]] * (-len(y) % k)).reshape(-1, k)
    return x[::k], values.min(axis=1), values.max(axis=1)


def _drawable(name: str) -> str:
    """The sale's name if the chart font has its glyphs (servers rarely have a Bangla font)."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    charmap = FT2Font(font_manager.findfont(font_manager.FontProperties())).get_charmap()
    return name if all(ord(c) in charmap for c in name) else "flash sale"


def _draw(plt: Any, sales: list[SaleLedger], path: Path) -> Path:
    fig, axes = plt.subplots(len(sales), 1, figsize=(11, 3.2 * len(sales)), squeeze=False)
    for ax, sale in zip(axes[:, 0], sales, strict=True):
        by_time = len({p.at for p in sale.points}) > 1
        x = [p.at for p in sale.points] if by_time else [p.version for p in sale.points]
        for attr, colour in (
            ("available", "tab:green"),
            ("reserved", "tab:orange"),
            ("sold", "tab:blue"),
            ("waitlist", "tab:grey"),
        ):
            xs, low, high = _envelope(x, [getattr(p, attr) for p in sale.points])
            ax.step(xs, high, where="post", label=attr, color=colour, linewidth=1)
            if low is not None:
                ax.fill_between(xs, low, high, step="post", color=colour, alpha=0.3, linewidth=0)
        ax.axhline(sale.quantity, color="black", linewidth=0.6, linestyle=":", label="quantity")
        ax.set_title(f"{_drawable(sale.name)} ({sale.sale_id[:8]}) — stock after every event", fontsize=10)
        ax.set_xlabel("time (UTC)" if by_time else "aggregate version")
        ax.set_ylabel("units")
        ax.legend(loc="upper right", fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
