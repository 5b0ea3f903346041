"""Chat sentiment: Bangla, English, romanized Bangla, mixed lines, negation, and the running shares."""

from __future__ import annotations

import pytest

from application.sentiment import SentimentShares, label, score


@pytest.mark.parametrize(
    "text",
    [
        "দারুণ",
        "এই শাড়িটা খুব সুন্দর",
        "অসাধারণ কালেকশন আপু",
        "ধন্যবাদ আপা ❤️",  # Bangla
        "great quality",
        "I love it",
        "not bad at all",
        "this is sooo good",  # English
        "darun",
        "khub bhalo",
        "ekdom josh",
        "darunnnn 😍",
        "valo lagse",  # romanized
        "apu collection ta darun, price o reasonable",
        "ভালো quality, fast delivery",  # mixed
        "খারাপ না",
        "baje na",
        "faltu na",  # a negated bad word is mildly good
    ],
)
def test_positive(text: str) -> None:
    assert label(text) == "positive", score(text)


@pytest.mark.parametrize(
    "text",
    [
        "বাজে",
        "জঘন্য সার্ভিস",
        "নকল প্রোডাক্ট, প্রতারণা",  # Bangla
        "worst seller ever",
        "fake product 👎",
        "not good",
        "this is not very good",  # English
        "faltu",
        "baje product",
        "ekdom bekar",
        "vua jinis, dhoka",  # romanized
        "ভালো না",
        "ভালো লাগেনি",
        "একদম ভালো না",
        "bhalo na",
        "valo lage nai",
        "bhalo lagena",  # negated
        "shari ta sundor kintu delivery khub slow",  # what follows "but" is what they mean
    ],
)
def test_negative(text: str) -> None:
    assert label(text) == "negative", score(text)


@pytest.mark.parametrize("text", ["price koto?", "kobe pabo", "দাম কত?", "hello apu", "", "   ", "123"])
def test_neutral(text: str) -> None:
    assert label(text) == "neutral" and score(text) == 0.0


def test_scores_are_bounded_and_ordered() -> None:
    texts = ["darun darun darun 😍😍😍 best best", "faltu baje scam fraud 👎👎 worst"]
    assert all(-1.0 <= score(t) <= 1.0 for t in texts)
    assert score("khub bhalo") > score("bhalo") > score("thik ache") > 0
    assert score("ekdom faltu") < score("faltu") < 0
    assert score("not bad") > 0 > score("not good")
    assert score("\u09ad\u09be\u09b2\u09cb") == score("\u09ad\u09be\u09b2\u09c7\u09be") > 0  # ো, or ে + া


def test_running_shares_overall_and_in_a_window() -> None:
    shares = SentimentShares()
    for text in ["darun", "ভালো না", "price koto?", "khub sundor", "fake"]:
        shares.add(text)
    assert shares.total == 5
    assert shares.shares() == {"positive": 0.4, "neutral": 0.2, "negative": 0.4}
    recent = SentimentShares(window=2)
    assert recent.shares() == {"positive": 0.0, "neutral": 0.0, "negative": 0.0}
    for text in ["faltu", "baje", "darun", "অসাধারণ"]:
        recent.add(text)
    assert recent.total == 2 and recent.shares()["positive"] == 1.0
