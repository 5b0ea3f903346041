"""The engagement optimizer's rules without I/O: chat themes in three scripts, the advice at a dip, an intent peak
and a repeated question, and the aggregate's rules that keep copies of the advisor from repeating itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from application.chat_themes import complaint_theme, question_key
from application.engagement import Minute, advise, series
from domain.show_engagement import ShowEngagement

T = datetime(2026, 12, 4, 19, 0, tzinfo=UTC)
SALE = {"sale_id": "0b5e1a2c-0000-4000-8000-000000000001", "product_id": "p1", "sale_name": "জামদানি"}


def at(m: int) -> datetime:
    return T + timedelta(minutes=m)


def test_themes_in_bangla_english_and_banglish() -> None:
    assert complaint_theme("ডেলিভারি অনেক দেরি, খুব বাজে সার্ভিস") == "delivery"
    assert complaint_theme("delivery late bhai, ekdom faltu") == "delivery"
    assert complaint_theme("ফালতু প্রোডাক্ট, নকল মনে হচ্ছে") == "authenticity"
    assert complaint_theme("dam onek beshi, kharap deal") == "price"
    assert complaint_theme("darun 😍") is None and complaint_theme("khub bhalo") is None
    keys = {question_key(t) for t in ("দাম কত?", "দাম কত ভাই?", "price koto?")}
    assert keys == {"price"}
    assert question_key("darun saree 😍") is None


def test_advice_at_a_dip_a_peak_and_a_repeated_question() -> None:
    busy = [Minute(at(0), joins=10), Minute(at(1), messages=20, reactions=10), Minute(at(2), messages=25, intents=1)]
    dip = series(busy + [Minute(at(3), messages=2)], at(3))
    assert [m.viewers for m in dip][-4:] == [10, 10, 10, 10]
    (poll,) = advise("s1", dip)
    assert poll.kind == "run_poll" and poll.evidence["per_viewer"] == 0.2
    assert poll.evidence["baseline_per_viewer"] == 1.87 and "poll" in poll.message and "পোল" in poll.message_bn
    assert advise("s1", dip) == [poll]  # the same minute gives the same id: a copy of the advisor cannot differ
    peak = series(busy + [Minute(at(3), messages=30, intents=8)], at(3))
    (sale,) = advise("s1", peak, prepared_sale=SALE)
    assert sale.kind == "start_flash_sale" and sale.action == {"sale_id": SALE["sale_id"], "product_id": "p1"}
    assert sale.evidence["intents"] == 8 and advise("s1", peak) == []  # no prepared sale: nothing to start
    (answer,) = advise("s1", peak, question=("price", "দাম কত?", 3))
    assert answer.kind == "answer_question" and answer.action == {"question": "দাম কত?"}
    assert advise("s1", peak, question=("price", "দাম কত?", 2)) == []
    assert advise("s1", series([Minute(at(0), joins=3)], at(4))) == []  # a quiet show from the start: no dip


def test_the_aggregate_refuses_repeats_and_kinds_cooling_down() -> None:
    agg = ShowEngagement.open(now=T, stream_id="s1")
    busy = [Minute(at(0), joins=10), Minute(at(1), messages=30)]
    (poll,) = advise("s1", series(busy + [Minute(at(2))], at(2)))
    kw = {"message": poll.message, "message_bn": poll.message_bn, "evidence": poll.evidence, "action": {}}
    assert agg.suggest(now=T, suggestion_id=poll.suggestion_id, kind="run_poll", minute=at(2), **kw)
    assert not agg.suggest(now=T, suggestion_id=poll.suggestion_id, kind="run_poll", minute=at(2), **kw)
    assert not agg.suggest(now=T, suggestion_id="other", kind="run_poll", minute=at(4), **kw)  # within 5 minutes
    assert agg.suggest(now=T, suggestion_id="later", kind="run_poll", minute=at(7), **kw)
    shares = {"positive": 0.0, "neutral": 0.5, "negative": 0.5}
    assert agg.measure(
        now=T, minute=at(7), messages=2, score=-0.3, shares=shares, overall={"messages": 2}, top_complaints=[]
    )
    assert not agg.measure(
        now=T, minute=at(7), messages=2, score=-0.3, shares=shares, overall={"messages": 2}, top_complaints=[]
    )
    assert [type(e).__name__ for e in agg.collect_events()] == [
        "Opened",
        "SuggestionMade",
        "SuggestionMade",
        "SentimentMeasured",
    ]


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40), st.integers(0, 10)), min_size=1, max_size=12),
    st.integers(1, 50),
)
def test_advice_is_a_function_of_the_minutes(counts: list[tuple[int, int, int]], viewers: int) -> None:
    """Any history: at most one suggestion of each kind per minute, ids stable, a poll only with viewers."""
    rows = [Minute(at(0), joins=viewers)] + [
        Minute(at(i + 1), messages=m, reactions=r, intents=n) for i, (m, r, n) in enumerate(counts)
    ]
    for i in range(1, len(rows)):
        window = series(rows, at(i))
        made = advise("s", window, prepared_sale=SALE)
        assert len({s.kind for s in made}) == len(made)
        assert made == advise("s", window, prepared_sale=SALE)
        assert all(s.kind != "run_poll" or window[-1].viewers > 0 for s in made)
