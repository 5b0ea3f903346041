"""What a chat message says: its language (by script), banned words, links. Pure functions, no state.

Viewers in Bangladesh write Bangla script, English, romanized Bangla ("dam koto apu?") and all three mixed in
one line, so the filters work on words, not substrings: "বাল" is blocked but "বালতি" (bucket) and "বালিশ"
(pillow) pass. Latin words are compared after undoing the usual disguises (case, leetspeak, stretched letters
"fuuuck", a star "f*ck"), Bangla words after Unicode normalisation and removal of invisible joiners.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

BENGALI = re.compile(r"[\u0980-\u09FF]")
LATIN = re.compile(r"[A-Za-z]")
# Invisible characters used to split a word so filters miss it. ZWNJ/ZWJ also shape Bangla conjuncts, which is
# why they are removed only for matching and kept in the text that is shown.
INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
WORD = re.compile(r"[\w\u0980-\u09FF*@$]+")
LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

# Kept short on purpose: a list that blocks ordinary words drives viewers away. Operators extend it through
# ChatPolicy. "word*" matches the stem with any ending (Bangla and Banglish inflect: চোদা, চুদি, chodar).
BANNED_BN = ("হারামজাদা", "হারামি", "কুত্তার বাচ্চা", "শুয়োরের বাচ্চা", "শুওরের বাচ্চা", "খানকি", "মাগি", "চোদ*", "চুদ*", "বাল", "বোকাচোদা")
BANNED_ROMANIZED = (
    "haramjada",
    "haramzada",
    "harami",
    "kuttar bacha",
    "kuttar baccha",
    "shuorer bacha",
    "khanki",
    "magi",
    "chod*",
    "chud*",
    "bokachoda",
    "bainchod",
    "benchod",
)
BANNED_EN = ("fuck*", "motherfuck*", "shit", "bitch*", "bastard", "asshole", "cunt", "slut", "whore", "dick")

_TLDS = (
    "com|net|org|bd|io|xyz|info|biz|shop|store|online|site|top|link|me|co|ly|gl|tk|ml|ga|cf|gq|ru|cn"
    "|in|pk|app|live|club|vip|page"
)
LINK = re.compile(
    r"(?:https?://|www\.|\b(?:t|wa)\.me/"
    r"|\b[a-z0-9-]{2,}(?:\.[a-z0-9-]{2,})*\s?\.\s?(?:" + _TLDS + r")\b(?:/\S*)?)",
    re.IGNORECASE,
)


def clean(text: str) -> str:
    """The text as stored and shown: NFC, no control characters, trimmed."""
    return CONTROL.sub("", unicodedata.normalize("NFC", text)).strip()


def detect_language(text: str) -> str:
    """``bn``, ``en`` or ``mixed`` by the letters' script; ``und`` for emoji, digits and punctuation only.

    Romanized Bangla is Latin script and comes out ``en``: telling it from English needs a model, not a rule.
    A stray Latin word in a Bangla line (a brand, "iPhone") keeps it ``bn`` up to one letter in five.
    """
    bn = len(BENGALI.findall(text))
    en = len(LATIN.findall(text))
    if bn == 0 and en == 0:
        return "und"
    if en == 0 or (bn and en / (bn + en) <= 0.2 and bn >= 4):
        return "bn" if bn else "en"
    if bn == 0 or (bn / (bn + en) <= 0.2 and en >= 4):
        return "en"
    return "mixed"


def _squeeze(word: str) -> str:
    """Latin runs of one letter become one ("fuuuck" → "fuck", "kuttar" → "kutar"); Bangla is left alone."""
    return re.sub(r"([a-z])\1+", r"\1", word)


def _latin_form(token: str) -> str:
    if LATIN.search(token):
        token = token.translate(LEET)
    return _squeeze(token)


def words(text: str) -> list[str]:
    """Normalised words of ``text`` for matching."""
    folded = unicodedata.normalize("NFC", text).translate(INVISIBLE).casefold()
    return [_latin_form(t) for t in WORD.findall(folded)]


@dataclass(frozen=True, slots=True)
class _Entry:
    words: tuple[str, ...]
    stem: bool


class BannedWords:
    """Whole-word (and whole-phrase) matching; an entry ending in ``*`` matches any word starting with it."""

    def __init__(self, entries: Iterable[str] = BANNED_BN + BANNED_ROMANIZED + BANNED_EN) -> None:
        self._single: set[str] = set()
        self._stems: list[str] = []
        self._phrases: list[_Entry] = []
        for raw in entries:
            stem = raw.endswith("*")
            parts = tuple(words(raw.rstrip("*")))
            if not parts:
                continue
            if len(parts) > 1:
                self._phrases.append(_Entry(parts, stem))
            elif stem:
                self._stems.append(parts[0])
            else:
                self._single.add(parts[0])

    def _word_hits(self, w: str) -> bool:
        if "*" in w:  # "f*ck": a star stands for one hidden letter
            pattern = re.compile(re.escape(w).replace(r"\*", "."))
            return any(pattern.fullmatch(b) for b in self._single) or any(pattern.match(s) for s in self._stems)
        return w in self._single or any(w.startswith(s) for s in self._stems)

    def find(self, text: str) -> str | None:
        """The first banned word or phrase in ``text`` (normalised), or None."""
        ws = words(text)
        for w in ws:
            if self._word_hits(w):
                return w
        for entry in self._phrases:
            n = len(entry.words)
            for i in range(len(ws) - n + 1):
                window = ws[i : i + n]
                last, want = window[-1], entry.words[-1]
                if window[:-1] == list(entry.words[:-1]) and (last == want or (entry.stem and last.startswith(want))):
                    return " ".join(window)
        return None


def has_link(text: str) -> bool:
    """URLs, ``www.``, bare domains ("shop.xyz", "bit.ly/x", "daraz . com"), Telegram/WhatsApp links. Prices
    and decimals ("1.5 kg", "৳1,200.00") are not links."""
    return LINK.search(unicodedata.normalize("NFKC", text).translate(INVISIBLE)) is not None


def normalised_for_repeat(text: str) -> str:
    """Two messages are "the same" when their words are: case, spacing and punctuation do not make it new."""
    return " ".join(words(text))
