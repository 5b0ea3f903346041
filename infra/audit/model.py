"""What an audit finds, as plain dataclasses: rendered as text, JSON and a chart, and asserted on in tests.

Kept apart from the code that computes it so the report's shape is one place to read (and one JSON schema for
the auditors' own tooling).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import cached_property
from typing import Any, Literal

Severity = Literal["tamper", "violation", "warning", "info"]
FAILING: tuple[Severity, ...] = ("tamper", "violation")


@dataclass(frozen=True)
class StoredRow:
    """One row of ``livecommerce_events`` exactly as stored (state still encoded)."""

    position: int
    aggregate_id: str
    version: int
    topic: str
    state: bytes

    @cached_property
    def type(self) -> str:
        return self.topic.rsplit(":", 1)[-1]


@dataclass(frozen=True)
class Finding:
    severity: Severity
    code: str  # stable: version_gap, undecodable, does_not_fold, position_hole, hash_mismatch, ...
    message: str
    aggregate_id: str | None = None
    version: int | None = None
    position: int | None = None


@dataclass(frozen=True)
class StockPoint:
    """A flash sale's stock right after one of its events."""

    position: int
    version: int
    at: datetime
    type: str
    status: str
    sold: int
    reserved: int
    available: int
    waitlist: int


@dataclass(repr=False)  # a hot sale has 100,000 points: a repr in a log line or a traceback must stay short
class SaleLedger:
    sale_id: str
    name: str
    quantity: int
    points: list[StockPoint] = field(default_factory=list)
    reservations: dict[str, dict[str, Any]] = field(default_factory=dict)  # final (as of ``at``)

    def __repr__(self) -> str:
        return f"SaleLedger({self.sale_id}, {self.name!r}, {self.quantity} units, {len(self.points)} points)"


@dataclass(frozen=True)
class Step:
    """One event of an order or a payment and the money state it left behind."""

    position: int
    version: int
    at: datetime
    type: str
    status: str
    refunded: Decimal


@dataclass
class MoneyHistory:
    """An order (``total``) or a payment (``amount``) with every state it went through."""

    kind: Literal["order", "payment"]
    id: str
    amount: Decimal
    order_id: str | None = None  # payments: the order they collect
    method: str | None = None
    payment_id: str | None = None  # orders: the payment that paid them
    lines: list[dict[str, Any]] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)

    @property
    def status(self) -> str:
        return self.steps[-1].status if self.steps else "unknown"

    @property
    def refunded(self) -> Decimal:
        return self.steps[-1].refunded if self.steps else Decimal("0.00")


@dataclass(frozen=True)
class Comparison:
    table: str
    row_id: str
    field: str
    store: Any
    read_model: Any

    @property
    def equal(self) -> bool:
        """Numbers by value (the read model's DECIMAL comes back as a float), anything else as text."""
        try:
            return Decimal(str(self.store)) == Decimal(str(self.read_model))
        except ArithmeticError:
            return str(self.store) == str(self.read_model)


@dataclass(repr=False)
class AuditReport:
    kind: str  # flash-sale | order | stream
    subject_id: str
    at: datetime | None
    generated_at: datetime
    events: int = 0  # stored events of the aggregates in scope (all of them, whatever ``at``)
    aggregates: dict[str, str] = field(default_factory=dict)  # id → aggregate type
    event_counts: dict[str, int] = field(default_factory=dict)  # type → count (up to ``at``)
    sales: list[SaleLedger] = field(default_factory=list)
    orders: list[MoneyHistory] = field(default_factory=list)
    payments: list[MoneyHistory] = field(default_factory=list)
    checks: dict[str, bool] = field(default_factory=dict)  # invariant name → held everywhere
    findings: list[Finding] = field(default_factory=list)
    read_models: list[Comparison] = field(default_factory=list)
    read_models_note: str = ""
    hashes_recorded: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not any(f.severity in FAILING for f in self.findings)

    def add(self, severity: Severity, code: str, message: str, **where: Any) -> None:
        self.findings.append(Finding(severity, code, message, **where))

    def codes(self) -> set[str]:
        return {f.code for f in self.findings}

    def __repr__(self) -> str:
        return (
            f"AuditReport({self.kind} {self.subject_id}, {self.events} events, ok={self.ok}, "
            f"findings={sorted(self.codes())})"
        )
