"""Notification texts in English and Bangla, Dhaka times, taka amounts, and the reminders a schedule plans."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from application import notifications as n

START = datetime(2024, 3, 17, 13, 0, tzinfo=UTC)  # 19:00 in Dhaka, a Sunday


def test_times_are_shown_in_dhaka_time_in_both_languages() -> None:
    assert n.when_en(START) == "7:00 PM, Sunday 17 March (Dhaka time)"
    assert n.when_bn(START) == "রবিবার, ১৭ মার্চ, সন্ধ্যা ৭:০০টায় (ঢাকা সময়)"
    late = datetime(2024, 3, 17, 18, 30, tzinfo=UTC)  # half past midnight in Dhaka: the next day
    assert n.when_en(late).startswith("12:30 AM, Monday 18 March")
    assert n.when_bn(late).startswith("সোমবার, ১৮ মার্চ, রাত ১২:৩০")


def test_taka_uses_lakh_grouping_and_bangla_digits() -> None:
    assert n.taka(Decimal("85000")) == "৳85,000"
    assert n.taka(Decimal("120000.50")) == "৳1,20,000.50"
    assert n.taka("12345678") == "৳1,23,45,678"
    assert n.taka(Decimal("95000"), bangla=True) == "৳৯৫,০০০"
    assert n.taka(999) == "৳999"


def test_messages_have_english_and_bangla() -> None:
    r = n.reminder_texts("Sarah Khan", "iPhone 14 Pro Flash Sale", "আইফোন ১৪ প্রো ফ্ল্যাশ সেল", START, "15m")
    assert r.title == "Sarah Khan goes live in 15 minutes" and "7:00 PM" in r.body
    assert r.title_bn == "Sarah Khan ১৫ মিনিট পর লাইভে আসছেন" and "আইফোন" in r.body_bn and "৭:০০" in r.body_bn
    tomorrow = n.reminder_texts(None, "Saree haat", None, START, "24h")
    assert "tomorrow" in tomorrow.title and "আগামীকাল" in tomorrow.title_bn and "Saree haat" in tomorrow.body_bn
    sale = n.flash_sale_texts("iPhone 14 Pro", Decimal("85000"), Decimal("120000"), START)
    assert sale.title == "Flash sale: iPhone 14 Pro for ৳85,000" and sale.body.startswith("29% off")
    assert "৳৮৫,০০০" in sale.title_bn and sale.body_bn.startswith("২৯% ছাড়")


def test_a_schedule_plans_only_the_reminders_still_ahead_with_stable_ids() -> None:
    far = n.reminders_for("s1", START, START - timedelta(days=2))
    assert [lead for _, lead, _ in far] == ["24h", "15m"]
    assert [due for _, _, due in far] == [START - timedelta(hours=24), START - timedelta(minutes=15)]
    near = n.reminders_for("s1", START, START - timedelta(minutes=20))
    assert [(jid, lead) for jid, lead, _ in near] == [(far[1][0], "15m")]  # same id: redelivery adds nothing
    assert n.reminders_for("s1", START, START - timedelta(minutes=10)) == []


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)))
def test_bangla_time_is_the_dhaka_clock_in_bangla_digits(at: datetime) -> None:
    text = n.when_bn(at)
    local = at.astimezone(n.DHAKA)
    assert n.bn_digits(f"{local.hour % 12 or 12}:{local.minute:02d}") in text
    assert not any(ch.isascii() and ch.isdigit() for ch in text)
