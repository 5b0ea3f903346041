"""Every domain error code has an English and a Bangla message at the HTTP edge."""

from __future__ import annotations

import importlib
import pkgutil

import domain
from domain.errors import DomainError
from interfaces.http.messages import MESSAGES


def all_error_classes() -> set[type[DomainError]]:
    for mod in pkgutil.iter_modules(domain.__path__):
        importlib.import_module(f"domain.{mod.name}")
    seen: set[type[DomainError]] = set()
    todo = [DomainError]
    while todo:
        cls = todo.pop()
        seen.add(cls)
        todo.extend(cls.__subclasses__())
    return seen


def test_every_error_code_has_english_and_bangla() -> None:
    missing = sorted(c.code for c in all_error_classes() if c.code not in MESSAGES and c is not DomainError)
    assert missing == [], f"add en/bn messages for: {missing}"
    for code, (en, bn) in MESSAGES.items():
        assert en and bn and en != bn, code
        assert any("\u0980" <= ch <= "\u09ff" for ch in bn), f"{code}: Bangla text expected"
