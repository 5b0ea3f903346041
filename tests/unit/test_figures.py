"""The figures' rules without servers (ADR 0015): featuring a show, who sees a private show and revenue, the
one money format, shares that never pass 1, and the live payment confirmation's words."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from application.access import Actor, may_view_stream, require_role, sees_revenue
from domain.errors import NotPermitted, StreamClosed
from domain.live_stream import LiveStream
from interfaces.http.errors import error_response
from interfaces.http.presenters import json_default, minutes, money, money_fields, rate
from interfaces.realtime.pusher import mask_name, payment_message
from projections.analytics_queries import Figures, conversion, total
from projections.stream_metrics_redis import ops_for

T0 = datetime(2026, 3, 17, 19, 0, tzinfo=UTC)


def show(**kw: object) -> LiveStream:
    return LiveStream.schedule(
        id=uuid.uuid4(), now=T0, vendor_id="v1", stream_key="live_k", title="Eid", stream_type="flash_sale", **kw
    )  # type: ignore[arg-type]


# ---- featuring a show -------------------------------------------------------------------------------------
def test_a_show_is_featured_once_and_unfeatured_once() -> None:
    s = show()
    assert s.feature(now=T0, by="admin-1") is True and s.is_featured
    assert s.feature(now=T0) is False  # already featured: nothing recorded
    s.start(now=T0, rtmp_url="rtmp://x/live", stream_url="https://x/m.m3u8", chat_room_id="c")
    assert s.unfeature(now=T0, by="admin-1") is True and not s.is_featured
    assert s.unfeature(now=T0) is False
    events = [type(e).__name__ for e in s.collect_events()]
    assert events == ["Scheduled", "Featured", "Started", "Unfeatured"]


def test_a_show_that_is_over_cannot_be_featured_but_can_be_taken_off() -> None:
    s = show()
    s.feature(now=T0)
    s.cancel(now=T0)
    with pytest.raises(StreamClosed):
        s.feature(now=T0)
    assert s.unfeature(now=T0) is True


def test_only_admins_feature_a_show() -> None:
    require_role(Actor("a", frozenset({"admin"})), "stream.feature_stream")
    for role in ("host", "vendor", "moderator", "viewer"):
        with pytest.raises(NotPermitted):
            require_role(Actor("u", frozenset({role, "viewer"}), "v1"), "stream.feature_stream")


# ---- who sees what ----------------------------------------------------------------------------------------
HOST, VENDOR = "h1", "v1"


@pytest.mark.parametrize(
    ("who", "private_ok", "revenue"),
    [
        (None, False, False),
        (Actor("x", frozenset({"viewer"})), False, False),
        (Actor(HOST, frozenset({"host", "viewer"}), VENDOR), True, True),
        (Actor("h2", frozenset({"host", "viewer"}), VENDOR), False, False),  # another host of the same vendor
        (Actor(VENDOR, frozenset({"vendor", "viewer"}), VENDOR), True, True),
        (Actor("v2", frozenset({"vendor", "viewer"}), "v2"), False, False),
        (Actor("m1", frozenset({"moderator", "viewer"})), True, False),  # assigned: sees the show, not revenue
        (Actor("m2", frozenset({"moderator", "viewer"})), False, False),
        (Actor("a", frozenset({"admin"})), True, True),
    ],
)
def test_private_shows_and_revenue(who: Actor | None, private_ok: bool, revenue: bool) -> None:
    owners = {"host_id": HOST, "vendor_id": VENDOR}
    assert may_view_stream(who, is_public=True, **owners) is True
    assert may_view_stream(who, is_public=False, moderator_ids=["m1"], **owners) is private_ok
    assert sees_revenue(who, **owners) is revenue


def test_anonymous_joins_lift_no_show_in_trending() -> None:
    from application.envelope import Envelope

    def join(user: str | None) -> Envelope:
        return Envelope(
            id="o.1",
            type="presence.joined",
            schema_version=1,
            aggregate_id=None,
            aggregate_version=None,
            stream_id="s1",
            occurred_at=T0,
            payload={"viewer_id": user or "anon:c1", "user_id": user, "connection_id": "c1"},
        )

    assert ops_for(join("u1"))[0][7] == 2
    assert ops_for(join(None))[0][7] == 0


# ---- one money format -------------------------------------------------------------------------------------
@given(st.decimals(min_value=0, max_value=Decimal("9999999999.99"), places=2, allow_nan=False))
def test_money_is_a_number_of_taka_to_the_paisa(d: Decimal) -> None:
    for form in (d, str(d), float(d)):
        v = money(form)
        assert isinstance(v, float) and Decimal(str(v)) == d


def test_money_rounds_half_up_and_everything_left_serializes_as_a_number() -> None:
    assert money(Decimal("0.005")) == 0.01 and money("95000") == 95000.0 and money(None) is None
    body = json.loads(
        json.dumps({"total": Decimal("85000.00"), "at": T0, "id": uuid.UUID(int=1)}, default=json_default)
    )
    assert body == {"total": 85000.0, "at": "2026-03-17T19:00:00Z", "id": str(uuid.UUID(int=1))}
    lines = [{"product_id": "p", "quantity": 2, "unit_price": "2500.00"}]
    assert money_fields(lines) == [{"product_id": "p", "quantity": 2, "unit_price": 2500.0}]
    assert money_fields({"months": 6, "monthly_installment": "16666.67"}) == {
        "months": 6,
        "monthly_installment": 16666.67,
    }


def test_refusals_carry_amounts_as_numbers_too() -> None:
    body = json.loads(error_response(409, "price_changed", {"current_price": "2500.00", "product_id": "p"}).body)
    assert body["error"]["details"] == {"current_price": 2500.0, "product_id": "p"}
    assert (
        json.loads(error_response(409, "refund_exceeds_payment", {"left": "40.50"}).body)["error"]["details"]["left"]
        == 40.5
    )


# ---- shares, minutes --------------------------------------------------------------------------------------
@given(st.integers(0, 10_000), st.integers(0, 10_000))
def test_a_rate_is_a_share_never_above_one(part: int, whole: int) -> None:
    r = rate(part, whole)
    assert 0.0 <= r <= 1.0 and (r == 0.0 if whole == 0 else True)


@given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 50)), max_size=10))
def test_conversion_of_one_or_many_shows_never_passes_one(shows: list[tuple[int, int]]) -> None:
    # buyers are part of the audience by definition: audience >= buyers
    figures = [Figures(viewers=v, audience=v + b, buyers=b, purchases=b, revenue=Decimal(b)) for v, b in shows]
    assert all(0.0 <= conversion(f) <= 1.0 for f in figures)
    assert 0.0 <= conversion(total(figures)) <= 1.0


def test_watch_time_is_minutes() -> None:
    assert minutes("750.0") == 12.5 and minutes(None) == 0.0 and minutes("x") == 0.0


# ---- the live payment confirmation in chat ----------------------------------------------------------------
def test_the_buyer_is_masked_to_a_letter() -> None:
    assert mask_name("Rahima Akter") == "R***"
    assert mask_name("  ") is None and mask_name(None) is None
    assert mask_name("কিবরিয়া") == "কি***"  # the letter keeps its vowel sign


def test_payment_message_in_english_and_bangla() -> None:
    names = {"p1": {"name": "iPhone 14 Pro", "name_bn": "আইফোন ১৪ প্রো"}}
    one = payment_message("o1", "s1", {"name": "Rahima"}, [{"product_id": "p1", "quantity": 1}], names, "t")
    assert (one["message"], one["message_bn"]) == ("R*** bought iPhone 14 Pro", "R*** আইফোন ১৪ প্রো কিনেছেন")
    assert one["id"] == payment_message("o1", "s1", {}, [{"product_id": "p1"}], {}, "t")["id"]  # per order
    many = payment_message(
        "o2",
        "s1",
        {"full_name": "Karim"},
        [{"product_id": "p1", "quantity": 2}, {"product_id": "p2", "quantity": 1}],
        names,
        "t",
    )
    assert many["message"] == "K*** bought 2 × iPhone 14 Pro and 1 more"
    assert many["message_bn"] == "K*** ২টি আইফোন ১৪ প্রো ও আরও ১টি পণ্য কিনেছেন"
    nameless = payment_message("o3", "s1", {"city": "Dhaka"}, [{"product_id": "p9", "quantity": 1}], {}, "t")
    assert (nameless["message"], nameless["message_bn"]) == ("Someone bought a product", "একজন ক্রেতা একটি পণ্য কিনেছেন")
    assert nameless["user_id"] is None and nameless["message_type"] == "payment_confirmation"


# ---- a show's figures are asked once per half second per process ---------------------------------------------
async def test_figures_are_loaded_once_for_everyone_asking_within_the_ttl() -> None:
    import asyncio

    from interfaces.http.streams import ShortLived

    calls = 0

    async def load() -> Figures:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return Figures(purchases=calls)

    cache = ShortLived(ttl=0.05)
    got = await asyncio.gather(*(cache.get("s1", load) for _ in range(50)))
    assert calls == 1 and {f.purchases for f in got} == {1}
    await asyncio.sleep(0.06)
    assert (await cache.get("s1", load)).purchases == 2

    async def broken() -> Figures:
        raise RuntimeError("database away")

    with pytest.raises(RuntimeError):
        await cache.get("s2", broken)
    assert (await cache.get("s2", load)).purchases == 3  # a failure is not kept
