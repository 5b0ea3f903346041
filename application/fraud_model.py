"""Fraud scores (issue 17 part 1): a small logistic model per kind of subject over features the detector reads
from its own read model, beside the fixed rules it is measured against (``bench/fraud.py``).

Three subjects are scored: an ``order`` at placement (velocity per buyer / phone / address / device, accounts
sharing a phone or an address, cash-on-delivery refusals, flash-sale hoarding through linked accounts, refund
and failed-payment history), a ``bidder`` in an auction (bids tied to the seller: shared phone / address /
device with the seller's accounts, bids concentrated on that seller, never winning and paying) and a ``wallet``
topping up coins (card testing: many small top-ups failing within the hour, gifts sent from it). A ``buyer``
asking for refunds is scored on the order features that measure refunds.

The weights were fitted here with ``fit`` (numpy, L2-regularised logistic regression by gradient descent) on the
labelled histories of ``bench/fraud_data.py`` (training seed, not the seed the bench measures on); ``python -m
bench.fraud --fit`` prints them again. Features go in as ``log1p`` of what a count has beyond its allowance
(``ALLOWANCE``: what any order, and any household, has), so one more order matters less the more there are, and a
family of a few accounts sharing an address, a phone or a tablet scores like one customer: links are counted as
accounts, phones and addresses (a ring ships one phone's orders to many addresses, a farm puts many phones at one
address, a hoarder's one device to several addresses), not as raw orders. A score is the probability of fraud; the
detector opens a case at ``THRESHOLD``. The reasons are the named signals whose contribution to the score is the
largest (at most 3).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

THRESHOLD = 0.5

# Feature names per subject kind, the reason each one stands for, in the order of the weight vectors.
FEATURES: dict[str, tuple[str, ...]] = {
    "order": (
        "buyer_orders_1h",
        "buyer_addresses_24h",
        "phone_orders_24h",
        "phone_addresses_24h",
        "address_orders_24h",
        "device_orders_24h",
        "phone_accounts",
        "address_accounts",
        "address_phones",
        "device_accounts",
        "device_addresses",
        "cod_refusals",
        "hoard_accounts",
        "hoard_units",
        "refunds",
        "refund_ratio",
        "failed_payments_1h",
    ),
    "bidder": ("tied_to_seller", "seller_share", "seller_auctions", "bids_in_auction", "wins_paid"),
    "wallet": (
        "failed_topups_1h",
        "topups_1h",
        "small_topups_1h",
        "distinct_amounts_1h",
        "gifts_after_fail",
        "failed_share_1h",
    ),
    "buyer": ("refunds", "returns_30d"),
}
REASONS: dict[str, str] = {
    "buyer_orders_1h": "purchase_velocity_buyer",
    "phone_orders_24h": "purchase_velocity_phone",
    "address_orders_24h": "purchase_velocity_address",
    "device_orders_24h": "purchase_velocity_device",
    "buyer_addresses_24h": "purchase_velocity_buyer",
    "phone_addresses_24h": "phone_ships_to_many_addresses",
    "address_phones": "accounts_share_address",
    "device_addresses": "device_ships_to_many_addresses",
    "phone_accounts": "accounts_share_phone",
    "address_accounts": "accounts_share_address",
    "device_accounts": "accounts_share_device",
    "cod_refusals": "cod_refusal_history",
    "hoard_accounts": "flash_sale_hoarding",
    "hoard_units": "flash_sale_hoarding",
    "refunds": "refund_abuse",
    "refund_ratio": "refund_abuse",
    "returns_30d": "refund_abuse",
    "failed_payments_1h": "failed_payments",
    "is_cod": "cash_on_delivery",
    "tied_to_seller": "shill_bidding_tied_to_seller",
    "seller_share": "shill_bidding_one_seller",
    "seller_auctions": "shill_bidding_one_seller",
    "bids_in_auction": "shill_bidding_bid_pumping",
    "wins_paid": "bidder_history",
    "failed_topups_1h": "card_testing",
    "topups_1h": "card_testing",
    "small_topups_1h": "card_testing",
    "distinct_amounts_1h": "card_testing",
    "gifts_after_fail": "card_testing_then_gifts",
    "failed_share_1h": "card_testing",
}
# Ratios (already in [0, 1]) are taken as they are; counts as log1p.
RATIOS = frozenset({"refund_ratio", "seller_share", "tied_to_seller", "is_cod", "failed_share_1h"})
# What any honest order has, and what a household has: the model sees only the count beyond it,
# ``log1p(max(count - allowance, 0))``. Counts that include the order itself (its account, phone, address,
# device) start at 1, so an ordinary order's vector is all zeros. A household (a family of up to three
# accounts at one address, sharing a phone or a device, a unit or two each in the same flash sale) is allowed
# as such: accounts, phones and sale units up to a household's size are no evidence, only what goes past it.
HOUSEHOLD_ACCOUNTS = 3
ALLOWANCE: dict[str, float] = {
    "buyer_orders_1h": 2,  # an order and the thing forgotten in it
    # home and one more (a parent's home, the office, a gift): two addresses a day, or a month on one device
    "buyer_addresses_24h": 2,
    "phone_addresses_24h": 2,
    "device_addresses": 2,
    # a household's day: a couple of orders each, on the family's phone, address or tablet
    "phone_orders_24h": 2 * HOUSEHOLD_ACCOUNTS,
    "address_orders_24h": 2 * HOUSEHOLD_ACCOUNTS,
    "device_orders_24h": 2 * HOUSEHOLD_ACCOUNTS,
    "cod_refusals": 1,  # anyone may be out once when the courier calls
    "refunds": 2,
    "returns_30d": 2,  # and send a thing or two back in a month
    "phone_accounts": HOUSEHOLD_ACCOUNTS,
    "address_accounts": HOUSEHOLD_ACCOUNTS,
    "address_phones": HOUSEHOLD_ACCOUNTS,
    "device_accounts": HOUSEHOLD_ACCOUNTS,
    "hoard_accounts": HOUSEHOLD_ACCOUNTS,
    "hoard_units": 2 * HOUSEHOLD_ACCOUNTS,
    # a viewer gifting through a show buys another small pack or two within the hour
    "failed_topups_1h": 2,  # a card declined, tried again, declined again: still a person
    "gifts_after_fail": 5,
    "topups_1h": 3,
    "small_topups_1h": 3,
    "distinct_amounts_1h": 3,
}

# (intercept, weights...) fitted by ``fit`` on bench/fraud_data.py, training seed 7, 1,200 buyers, scale 18
# (``python -m bench.fraud --fit``), over the vectors above (household allowances applied).
WEIGHTS: dict[str, tuple[float, ...]] = {
    "order": (
        -0.877,
        0.562,
        0.839,
        0.276,
        0.995,
        -0.004,
        0.034,
        1.141,
        0.545,
        1.51,
        0.092,
        0.976,
        1.023,
        0.144,
        0.79,
        -0.105,
        -0.357,
        -0.305,
    ),
    "bidder": (-4.193, 4.082, 0.298, 1.351, 0.51, -0.226),
    "wallet": (-2.896, 1.3, 0.75, 0.778, 0.696, 0.01, 2.696),
    "buyer": (-0.751, 1.184, 2.334),
}

# The rules-only baseline: a subject is flagged when any one of its features reaches its threshold.
RULES: dict[str, dict[str, float]] = {
    "order": {
        "buyer_orders_1h": 4,
        "phone_orders_24h": 5,
        "address_orders_24h": 6,
        "device_orders_24h": 5,
        "phone_accounts": 3,
        "address_accounts": 3,
        "device_accounts": 3,
        "cod_refusals": 2,
        "hoard_accounts": 2,
        "failed_payments_1h": 3,
    },
    "bidder": {"tied_to_seller": 1, "seller_auctions": 4},
    "wallet": {"failed_topups_1h": 3, "small_topups_1h": 5},
    "buyer": {"refunds": 3},
}


@dataclass(frozen=True)
class Assessment:
    kind: str
    score: float
    reasons: tuple[str, ...]
    suspected: bool


def vector(kind: str, features: Mapping[str, float]) -> np.ndarray:
    """The model's input: ratios as they are, counts as ``log1p`` (missing features count 0)."""
    names = FEATURES[kind]
    raw = np.array([float(features.get(n, 0.0) or 0.0) for n in names])
    ratio = np.array([n in RATIOS for n in names])
    allowed = np.array([ALLOWANCE.get(n, 0.0) for n in names])
    return np.where(ratio, raw, np.log1p(np.maximum(raw - allowed, 0.0)))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    out: np.ndarray = 1.0 / (1.0 + np.exp(-np.clip(z, -30.0, 30.0)))
    return out


def assess(
    kind: str, features: Mapping[str, float], weights: Sequence[float] | None = None, threshold: float = THRESHOLD
) -> Assessment:
    w = np.asarray(weights if weights is not None else WEIGHTS[kind], dtype=float)
    x = vector(kind, features)
    contributions = w[1:] * x
    score = float(_sigmoid(np.array(w[0] + contributions.sum())))
    reasons: list[str] = []
    for i in np.argsort(-contributions, kind="stable"):
        if contributions[i] <= 0 or len(reasons) == 3:
            break
        reason = REASONS[FEATURES[kind][i]]
        if reason not in reasons:
            reasons.append(reason)
    return Assessment(kind, round(score, 4), tuple(reasons), score >= threshold and bool(reasons))


def rules_fire(kind: str, features: Mapping[str, float]) -> tuple[str, ...]:
    """The baseline's verdict: the reasons of the rules that fire (empty: not flagged)."""
    fired: list[str] = []
    for name, limit in RULES[kind].items():
        if float(features.get(name, 0.0) or 0.0) >= limit and REASONS[name] not in fired:
            fired.append(REASONS[name])
    return tuple(fired)


def fit(
    kind: str,
    rows: Sequence[Mapping[str, float]],
    labels: Sequence[int],
    *,
    l2: float = 0.01,
    steps: int = 3000,
    rate: float = 0.5,
    balance: bool = True,
    honest_margin: float | None = 0.2,
) -> tuple[float, ...]:
    """Logistic regression by full-batch gradient descent; classes weighted to balance (fraud is rare).

    Then the honest come first: with ``honest_margin``, the intercept is lowered until every honest training row
    scores at least that many logits below the threshold (0.5 ↔ logit 0). Balancing alone weighs each planted
    fraud many times over and put heavy honest buyers (four orders in a show's hour, a failed top-up retried
    while gifting) just over the line; recall pays for it, honest buyers do not."""
    X = np.array([vector(kind, r) for r in rows])
    y = np.asarray(labels, dtype=float)
    X1 = np.hstack([np.ones((len(X), 1)), X])
    pos = max(y.sum(), 1.0)
    sample = np.where(y == 1, len(y) / (2 * pos), len(y) / (2 * max(len(y) - pos, 1.0))) if balance else np.ones(len(y))
    w = np.zeros(X1.shape[1])
    for _ in range(steps):
        p = _sigmoid(X1 @ w)
        grad = X1.T @ (sample * (p - y)) / len(y) + l2 * np.r_[0.0, w[1:]]
        w -= rate * grad
    honest = X1[y == 0]
    if honest_margin is not None and len(honest):
        top = float(np.max(honest @ w))
        if top > -honest_margin:
            w[0] -= top + honest_margin
    return tuple(round(float(v), 3) for v in w)
