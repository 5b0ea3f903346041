"""The carts read model folds a cart's events with the aggregate's own rules: replay gives the aggregate's lines
and totals."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from application.envelope import Envelope, to_plain
from domain.cart import Cart, DiscountRule
from projections.carts_pg import _rule, folded, totals

T0 = datetime(2026, 3, 17, 19, 0, tzinfo=UTC)
PRODUCTS = [str(uuid.UUID(int=i + 1)) for i in range(3)]


def _envelope(event: object) -> Envelope:
    state = {k: v for k, v in vars(event).items() if k not in ("originator_id", "originator_version", "timestamp")}
    name = type(event).__qualname__
    return Envelope(str(uuid.uuid4()), name, 1, None, None, None, T0, to_plain(state))


steps = st.lists(
    st.tuples(
        st.sampled_from(["add", "remove"]),
        st.sampled_from(PRODUCTS),
        st.integers(min_value=1, max_value=5),
        st.sampled_from([Decimal("99.50"), Decimal("2500.00"), Decimal("0.01")]),
    ),
    max_size=25,
)


@given(steps, st.booleans())
def test_the_read_model_s_lines_and_totals_are_the_aggregate_s(
    script: list[tuple[str, str, int, Decimal]], discounted: bool
) -> None:
    cart = Cart.open(id=uuid.uuid4(), now=T0, buyer_id="b", stream_id="s")
    lines: list[dict[str, object]] = []
    rule = None
    for op, product, qty, price in script:
        if op == "add":
            cart.add_item(product_id=product, quantity=qty, unit_price=price, now=T0)
        elif product in cart.lines:
            cart.remove_item(product_id=product, quantity=qty, now=T0)
        else:
            continue
        lines = folded(_envelope(cart.pending_events[-1]), lines)
    if discounted and cart.lines:
        r = DiscountRule(code="LIVE20", percent=Decimal("20"), min_total=Decimal("100"))
        if cart.subtotal >= r.min_total:
            cart.apply_discount_code(code="LIVE20", rule=r, now=T0)
            rule = _rule(to_plain(r.as_dict()))
    assert {x["product_id"]: (x["quantity"], Decimal(str(x["unit_price"]))) for x in lines} == {
        p: (v["quantity"], v["unit_price"]) for p, v in cart.lines.items()
    }
    assert totals(lines, rule) == (cart.subtotal, cart.discount, cart.total)
