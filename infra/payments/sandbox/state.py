"""The sandbox's memory: payments, tokens, refunds and replies, plus the test hooks each payment carries.

Provider-neutral on purpose: a payment is ``initiated`` (waiting for the buyer), ``authorized`` (the buyer
said yes; bKash still needs execute), ``completed``, ``failed`` or ``cancelled``. Each provider module turns
that into its own words (``Completed``, ``Success``, ``SUCCESS``).
"""

from __future__ import annotations

import re
import secrets
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal
from typing import Any

from infra.settings import Settings

AMOUNT = re.compile(r"^\d{1,9}(\.\d{1,2})?$")
OUTCOMES = ("success", "failure", "cancel")
CALLBACK_MODES = ("once", "twice", "late", "out_of_order", "none")
SLOW_OPERATIONS = ("create", "execute", "query", "refund")


@dataclass(frozen=True)
class SandboxConfig:
    bkash_app_key: str = "sandbox-app-key"
    bkash_app_secret: str = "sandbox-app-secret"
    bkash_username: str = "sandbox-user"
    bkash_password: str = "sandbox-pass"
    nagad_merchant_id: str = "sandbox-merchant"
    rocket_merchant_id: str = "sandbox-merchant"
    sslcommerz_store_id: str = "sandbox-store"
    sslcommerz_store_password: str = "sandbox-store-pass"
    token_ttl: float = 3600.0  # bKash id_token lifetime
    refresh_ttl: float = 28 * 24 * 3600.0
    slow_seconds: float = 35.0  # longer than the adapters' default 30 s timeout
    late_callback_seconds: float = 5.0
    max_amount: Decimal = Decimal("500000.00")

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> SandboxConfig:
        """The same credentials the adapters will send, so a dev stack works with no extra setup."""
        return replace(
            cls(
                bkash_app_key=settings.bkash_app_key,
                bkash_app_secret=settings.bkash_app_secret,
                bkash_username=settings.bkash_username,
                bkash_password=settings.bkash_password,
                nagad_merchant_id=settings.nagad_merchant_id,
                rocket_merchant_id=settings.rocket_merchant_id,
                sslcommerz_store_id=settings.sslcommerz_store_id,
                sslcommerz_store_password=settings.sslcommerz_store_password,
            ),
            **overrides,
        )


@dataclass(frozen=True)
class Scenario:
    """Test hooks in the payer reference, e.g. ``sandbox:fail=insufficient,callback=twice,slow=execute``.

    * ``fail=insufficient``: the buyer's "success" is declined for lack of balance (at execute for bKash);
    * ``slow=create+execute+query+refund``: those calls do their work, then answer after ``slow_seconds``;
    * ``callback=once|twice|late|out_of_order|none``: how the callback is delivered;
    * ``repeat=refuse``: a second bKash execute is refused (2062) as production does, instead of replayed;
    * ``lose=refund+query``: those calls do their work, then their answer is lost on the way back (HTTP 504
      from a gateway in between): the caller cannot tell whether it happened.
    """

    fail: str | None = None
    slow: frozenset[str] = frozenset()
    callback: str = "once"
    repeat: str = "replay"
    lose: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, reference: str | None) -> Scenario:
        if not reference or not reference.startswith("sandbox:"):
            return cls()
        return cls.from_mapping(dict(p.split("=", 1) for p in reference[8:].split(",") if "=" in p))

    @classmethod
    def from_mapping(cls, hooks: dict[str, Any], base: Scenario | None = None) -> Scenario:
        base = base or cls()
        slow, lose = hooks.get("slow", base.slow), hooks.get("lose", base.lose)
        if isinstance(slow, str):
            slow = slow.replace("+", " ").split()
        if isinstance(lose, str):
            lose = lose.replace("+", " ").split()
        scenario = cls(
            fail=hooks.get("fail", base.fail) or None,
            slow=frozenset(slow),
            callback=str(hooks.get("callback", base.callback)),
            repeat=str(hooks.get("repeat", base.repeat)),
            lose=frozenset(lose),
        )
        if (
            scenario.callback not in CALLBACK_MODES
            or not scenario.slow <= set(SLOW_OPERATIONS)
            or not scenario.lose <= set(SLOW_OPERATIONS)
        ):
            raise ValueError(f"callback must be one of {CALLBACK_MODES}, slow and lose subsets of {SLOW_OPERATIONS}")
        return scenario


@dataclass
class Refund:
    refund_id: str
    amount: Decimal
    reference: str  # our refund id as sent (bKash sku, Nagad referenceNo, Rocket requestId, SSLCommerz refe_id)


@dataclass
class SandboxPayment:
    id: str
    provider: str
    order_id: str
    amount: Decimal | None
    payer_reference: str = ""
    callback_url: str = ""
    scenario: Scenario = field(default_factory=Scenario)
    state: str = "initiated"
    trx_id: str | None = None
    reason: str | None = None
    refunds: list[Refund] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    created: float = field(default_factory=time.monotonic)

    @property
    def refunded(self) -> Decimal:
        return sum((r.amount for r in self.refunds), Decimal("0.00"))

    def view(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k not in ("extra", "scenario", "created")}
        out["scenario"] = {
            **asdict(self.scenario),
            "slow": sorted(self.scenario.slow),
            "lose": sorted(self.scenario.lose),
        }
        out["refunded"] = self.refunded
        return out


class Ledger:
    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.payments: dict[str, SandboxPayment] = {}
        self.id_tokens: dict[str, float] = {}  # token -> expiry (monotonic)
        self.refresh_tokens: dict[str, float] = {}
        self.replies: dict[tuple[str, str], tuple[Any, Any]] = {}  # (scope, key) -> (request, reply)
        self.sinks: dict[str, list[dict[str, Any]]] = {}
        self.stats: Counter[str] = Counter()
        self.outages: set[tuple[str, str]] = set()  # (provider, operation) answering 503 before doing anything

    @staticmethod
    def new_id(prefix: str, size: int = 10) -> str:
        return prefix + secrets.token_hex(size).upper()[:size]

    def add(self, payment: SandboxPayment) -> SandboxPayment:
        self.payments[payment.id] = payment
        return payment

    def amount(self, text: Any) -> Decimal | None:
        """A valid amount as sent (a string like "1250.50"), or None."""
        if not isinstance(text, str) or not AMOUNT.match(text):
            return None
        value = Decimal(text)
        return value if Decimal("0") < value <= self.config.max_amount else None

    # ---- bKash tokens --------------------------------------------------------------------------------
    def issue_tokens(self, refresh_token: str | None = None) -> tuple[str, str]:
        now = time.monotonic()
        token = "sbx-id-" + secrets.token_urlsafe(24)
        self.id_tokens[token] = now + self.config.token_ttl
        if refresh_token is None:
            refresh_token = "sbx-refresh-" + secrets.token_urlsafe(24)
            self.refresh_tokens[refresh_token] = now + self.config.refresh_ttl
        return token, refresh_token

    @staticmethod
    def token_state(tokens: dict[str, float], token: str) -> str:
        if token not in tokens:
            return "unknown"
        return "valid" if time.monotonic() < tokens[token] else "expired"

    def expire_tokens(self, *, refresh: bool) -> None:
        """As if the tokens' lifetime had passed (tests cannot wait an hour)."""
        for tokens in (self.id_tokens, self.refresh_tokens) if refresh else (self.id_tokens,):
            for token in tokens:
                tokens[token] = 0.0

    # ---- money ---------------------------------------------------------------------------------------
    def capture(self, payment: SandboxPayment) -> None:
        payment.state, payment.trx_id = "completed", self.new_id("TRX")

    def refund_error(self, payment: SandboxPayment, trx_id: Any, amount: Decimal | None) -> str | None:
        if payment.state != "completed":
            return "state"
        if trx_id != payment.trx_id:
            return "transaction"
        if amount is None:
            return "amount"
        assert payment.amount is not None
        if amount > payment.amount - payment.refunded:
            return "exceeds"
        return None

    def add_refund(self, payment: SandboxPayment, amount: Decimal, reference: str) -> Refund:
        refund = Refund(self.new_id("RFD"), amount, reference)
        payment.refunds.append(refund)
        self.stats["refunds"] += 1
        return refund

    def replay(self, scope: str, key: str, request: Any) -> tuple[bool, Any]:
        """(seen, reply): a request already answered under this idempotency key gets the same reply.

        Seen with another request body → (True, None): the caller answers 409."""
        if (scope, key) not in self.replies:
            return False, None
        seen_request, reply = self.replies[(scope, key)]
        return True, reply if seen_request == request else None

    def remember(self, scope: str, key: str, request: Any, reply: Any) -> Any:
        self.replies[(scope, key)] = (request, reply)
        return reply
