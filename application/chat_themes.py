"""What a show's chat keeps saying: repeated complaints (negative messages grouped by theme) and repeated
questions, in English, Bangla and romanized Bangla.

Why themes and not whole messages: "delivery late", "ডেলিভারি দেরি হয়" and "delivery koto din lage??" are one
complaint or question to a host. A complaint is a negative message (``application.sentiment``); its theme is the
first known topic word in it (delivery, price, quality, size, authenticity, sound, video, payment), else its
first content word. A question is a message with a question mark or a question word ("কত", "koto", "kobe",
"how much"); its key is its sorted content words, so word order and punctuation do not split a question.
Pure standard library, no I/O.
"""

from __future__ import annotations

import re
import unicodedata

from application import sentiment

# topic words → theme: the complaints a host can act on
_TOPICS = {
    "delivery": "delivery courier shipping deliver delivered ডেলিভারি ডেলিভেরি কুরিয়ার পাঠান পাঠাবেন পৌঁছায়নি"
    " পৌঁছায়নি pathan pathaben pathano pouchayni deri late দেরি",
    "price": "price dam daam expensive costly dami দাম দামি টাকা taka",
    "quality": "quality broken damaged torn kapor fabric manh maan মান মানের ভাঙা ছেঁড়া কাপড়",
    "size": "size small big fitting মাপ সাইজ choto boro ছোট বড়",
    "authenticity": "fake original nokol asol copy নকল আসল ভুয়া bhua vua",
    "sound": "sound audio voice awaj awaz শব্দ আওয়াজ",
    "video": "video lag buffering blurry picture ভিডিও ছবি",
    "payment": "payment bkash nagad refund pay পেমেন্ট বিকাশ নগদ রিফান্ড",
}
TOPIC_OF = {w: theme for theme, words in _TOPICS.items() for w in words.split()}
_QUESTION_WORDS = frozenset(
    "কত কবে কি কী কেন কোথায় কিভাবে কীভাবে কোন কয়টা koto kobe ki keno kothay kivabe kibhabe kon "
    "how what when where which why available".split()
)
_STOP = frozenset(
    "a an the is are was were be to of in on for and or it this that i you we he she they my your me "
    "please pls plz bhai apu vai vaia apa ভাই আপু দাদা ki কি কী ta টা er এর e এ o ও na না ar আর hobe হবে "
    "ache আছে koto কত kobe কবে how what when much many".split()
)
_WORD = re.compile(r"[\w\u0980-\u09FF]+")


def _words(text: str) -> list[str]:
    return _WORD.findall(unicodedata.normalize("NFC", text).lower())


def complaint_theme(text: str, score: float | None = None) -> str | None:
    """The theme of a negative message (None for a message that is not negative)."""
    s = sentiment.score(text) if score is None else score
    if s >= -sentiment.THRESHOLD:
        return None
    words = _words(text)
    for w in words:
        if w in TOPIC_OF:
            return TOPIC_OF[w]
    content = [w for w in words if w not in _STOP and sentiment.LEXICON.get(w, 0.0) == 0.0 and len(w) > 2]
    return content[0] if content else "general"


def question_key(text: str) -> str | None:
    """A key that one question asked in different words shares (None: not a question)."""
    words = _words(text)
    if "?" not in text and "？" not in text and not any(w in _QUESTION_WORDS for w in words):
        return None
    content = sorted({TOPIC_OF.get(w, w) for w in words if w not in _STOP and w not in _QUESTION_WORDS})
    if not content:
        content = sorted(set(words))
    return " ".join(content)[:120] or None
