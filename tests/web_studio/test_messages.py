"""Every string the studio and the admin console show exists in English and Bangla (no key shown raw)."""

from __future__ import annotations

import json
import re

from tests.support import ROOT

STATIC = ROOT / "interfaces" / "web" / "static"
USED = re.compile(r"""\bt\(\s*["']([\w.]+)["']|data-i18n(?:-label|-placeholder)?="([\w.]+)\"""")


def _messages(*dirs: str) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {"en": {}, "bn": {}}
    for d in dirs:
        for lang in out:
            out[lang].update(json.loads((STATIC / d / f"{lang}.json").read_text(encoding="utf-8")))
    return out


def test_every_key_in_both_languages() -> None:
    for page, dirs in (("studio", ("i18n", "studio/i18n")), ("admin", ("i18n", "studio/i18n", "admin/i18n"))):
        msgs = _messages(*dirs)
        used = set()
        for f in [*(STATIC / page).glob("*.js"), *(STATIC / page).glob("*.html"), STATIC / "studio" / "kit.js"]:
            used |= {a or b for a, b in USED.findall(f.read_text(encoding="utf-8"))}
        assert len(used) > 40, page
        for lang in ("en", "bn"):
            missing = sorted(k for k in used if k not in msgs[lang])
            assert missing == [], (page, lang, missing)
    for m in (_messages("studio/i18n"), _messages("admin/i18n")):
        assert m["en"].keys() == m["bn"].keys()
        for k, en in m["en"].items():  # the same placeholders, each language in its own order
            assert set(re.findall(r"\{\w+\}", en)) == set(re.findall(r"\{\w+\}", m["bn"][k])), k
            assert not en or re.search("[\u0980-\u09ff]", m["bn"][k]), (k, "not translated")
