"""Chat sentiment for live shows: English, Bangla (Bengali script) and romanized Bangla ("Banglish"), mixed.

Why a lexicon and not a model: the gateway scores every chat message on the hot path, on CPU, with no network
and no weights to ship, and hosts want a mood gauge ("70 % positive"), not a verdict on one message. Viewers
write "darun 😍", "khub bhalo", "ভালো না", "not good", "baje product", often in one line. So: tokens are
looked up in one lexicon of all three scripts (with spelling variants folded: repeated letters, common
suffixes), intensifiers scale the next word, and negation flips what it governs: English negators come
*before* the word ("not good"), Bangla ones *after* it ("ভালো না", "bhalo na", "ভালো লাগেনি"). Scores are
squashed to [-1, 1] as VADER does; a clause after "but" / "kintu" / "কিন্তু" weighs more than the one before.
Pure standard library, no I/O: the application layer may call it anywhere.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter, deque
from typing import Literal

Label = Literal["positive", "neutral", "negative"]
THRESHOLD = 0.05  # |score| below this is neutral (VADER's convention)
ALPHA = 15.0  # squash: x / sqrt(x² + α); a single strong word lands near ±0.6

_POSITIVE = {
    3.0: "excellent awesome amazing outstanding fantastic superb perfect love loved best wonderful brilliant "
    "darun daroon dorun oshadharon osadharon oshchorjo josh joss jotil fatafati "
    "দারুণ দারুন অসাধারণ চমৎকার সেরা অসাম জোস ফাটাফাটি ভালোবাসি অপূর্ব",
    2.0: "good great nice beautiful happy recommended genuine authentic cool wow glad fast helpful "
    "bhalo valo bhalo-i sundor shundor pochondo posondo khushi onnorokom moja mojar "
    "ভালো ভাল সুন্দর পছন্দ খুশি মজা মজার আসল দ্রুত চমক",
    1.0: "ok okay fine thanks thank cheap affordable like liked dhonnobad thik shosta sasta ধন্যবাদ ঠিক সস্তা",
}
_NEGATIVE = {
    3.0: "worst terrible horrible awful scam fraud hate disgusting useless rubbish pathetic "
    "faltu phaltu baje baaje bajey joghonno jghonno bhua vua dhoka thok thokbaz prothar protarona "
    "ফালতু বাজে জঘন্য ভুয়া ধোঁকা প্রতারণা প্রতারক ঠকবাজ",
    2.0: "bad poor fake broken disappointed disappointing angry late slow expensive boring damaged "
    "kharap kharaap bekar nokol batpar birokto hotash raag "
    "খারাপ বেকার নকল বিরক্ত হতাশ রাগ দেরি ভাঙা",
    1.0: "costly meh dami beshi-dam দামি",
}
_INTENSIFIERS = {
    "very": 1.5,
    "so": 1.3,
    "really": 1.4,
    "too": 1.3,
    "extremely": 1.8,
    "super": 1.5,
    "most": 1.5,
    "khub": 1.5,
    "onek": 1.4,
    "ekdom": 1.6,
    "oshomvob": 1.8,
    "bhishon": 1.6,
    "vishon": 1.6,
    "খুব": 1.5,
    "অনেক": 1.4,
    "একদম": 1.6,
    "ভীষণ": 1.6,
    "অসম্ভব": 1.8,
}
_NEGATE_BEFORE = frozenset(
    "not no never dont don't doesnt doesn't didnt didn't isnt isn't wasnt wasn't arent aren't cant can't "
    "cannot wont won't neither nor hardly without".split()
)
_NEGATE_AFTER = frozenset("na noy noi nai nei ni nah না নয় নাই নেই নি নহে".split())
_NEGATED_VERB = re.compile(r"(?:েনি|য়নি|ইনি|িনি|nai|nei)$")  # লাগেনি, হয়নি, পাইনি, করিনি, lagenai
_NEGATED_ROMAN = frozenset("lagena lagenai lageni hoyna hoina hoyni hoini paini paina dilona hobena".split())
_BUT = frozenset("but however kintu tobe কিন্তু তবে".split())
_EMOJI = {
    "😍": 3.0,
    "🥰": 3.0,
    "❤": 3.0,
    "💖": 3.0,
    "😘": 2.0,
    "👍": 2.0,
    "🔥": 2.0,
    "👏": 2.0,
    "💯": 2.0,
    "😊": 2.0,
    "😀": 2.0,
    "😁": 2.0,
    "😂": 1.0,
    "🙂": 1.0,
    "😡": -3.0,
    "🤬": -3.0,
    "👎": -2.0,
    "😠": -2.0,
    "😢": -2.0,
    "😭": -2.0,
    "😞": -2.0,
    "💩": -2.0,
    "😒": -1.0,
}
_SUFFIXES = ("টা", "টি", "ই", "ও", "রে", "ের", "er", "ta", "ti", "i", "o")
_TOKEN = re.compile(r"[\w\u0980-\u09FF'’-]+|[\U0001F300-\U0001FAFF\u2600-\u27BF]")
_SEPARATORS = re.compile(r"[.!?।,;:\n]+")
_REPEATS = re.compile(r"(.)\1{2,}")
_DOUBLES = re.compile(r"(.)\1")

LEXICON: dict[str, float] = {}
for _weight, _words in _POSITIVE.items():
    LEXICON.update((w, _weight) for w in _words.split())
for _weight, _words in _NEGATIVE.items():
    LEXICON.update((w, -_weight) for w in _words.split())


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFC", text).replace("\u200c", "").replace("\u200d", "").lower()
    return _REPEATS.sub(r"\1\1", text.replace("’", "'"))  # "darunnnn" → "darunn", "goooood" → "good"


def _valence(token: str) -> float:
    if token in _EMOJI:
        return _EMOJI[token]
    for candidate in (token, _DOUBLES.sub(r"\1", token)):  # "darunn" → "darun"; "good" matched first
        if candidate in LEXICON:
            return LEXICON[candidate]
        for suffix in _SUFFIXES:  # ভালোই, ভালোটা, bhaloi, darunta
            stem = candidate[: -len(suffix)]
            if candidate.endswith(suffix) and len(stem) >= 3 and stem in LEXICON:
                return LEXICON[stem]
    return 0.0


def _negates_after(token: str) -> bool:
    return (
        token in _NEGATE_AFTER
        or token in _NEGATED_ROMAN
        or bool(len(token) > 3 and _NEGATED_VERB.search(token) and _valence(token) == 0.0)
    )


def _clause_score(tokens: list[str]) -> float:
    total = 0.0
    for i, tok in enumerate(tokens):
        v = _valence(tok)
        if v == 0.0:
            continue
        if i > 0:  # "khub bhalo", "very good", "sooo good"
            v *= _INTENSIFIERS.get(tokens[i - 1], _INTENSIFIERS.get(_DOUBLES.sub(r"\1", tokens[i - 1]), 1.0))
        before = tokens[max(0, i - 3) : i]
        after = tokens[i + 1 : i + 4]
        # "not good" / "ভালো না": flip and damp ("not bad" is mildly good, not great)
        if (
            any(t in _NEGATE_BEFORE for t in before)
            or any(_negates_after(t) for t in after[:2])
            or (len(after) > 2 and _negates_after(after[2]) and _valence(after[1]) == 0.0)
        ):
            v *= -0.75
        total += v
    return total


def score(text: str) -> float:
    """Sentiment in [-1, 1]: below -0.05 negative, above 0.05 positive."""
    total = 0.0
    for clause in _SEPARATORS.split(_normalise(text)):
        tokens = _TOKEN.findall(clause)
        for j, tok in enumerate(tokens):
            if tok in _BUT and j > 0:  # what follows "but" is what they mean
                total += 0.5 * _clause_score(tokens[:j]) + 1.5 * _clause_score(tokens[j + 1 :])
                break
        else:
            total += _clause_score(tokens)
    return max(-1.0, min(1.0, total / math.sqrt(total * total + ALPHA)))


def label(text: str) -> Label:
    s = score(text)
    return "positive" if s > THRESHOLD else "negative" if s < -THRESHOLD else "neutral"


class SentimentShares:
    """Running shares of positive / neutral / negative messages, over all or the last ``window`` messages.

    The host's mood gauge: a live chat's mood changes within minutes, so a window is usually what is shown.
    """

    def __init__(self, window: int | None = None) -> None:
        self._recent: deque[Label] | None = deque(maxlen=window) if window else None
        self._counts: Counter[Label] = Counter()

    def add(self, text: str) -> Label:
        lab = label(text)
        if self._recent is not None:
            if len(self._recent) == self._recent.maxlen:
                self._counts[self._recent[0]] -= 1
            self._recent.append(lab)
        self._counts[lab] += 1
        return lab

    @property
    def total(self) -> int:
        return sum(self._counts.values())

    def shares(self) -> dict[Label, float]:
        n = self.total
        return {k: (self._counts[k] / n if n else 0.0) for k in ("positive", "neutral", "negative")}
