"""A stream key names its show (so the RTMP door asks the event store about that show), and nothing else does."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from application.streams import new_stream_key, stream_id_in_key


def test_a_new_key_names_its_show_and_keeps_a_secret_part() -> None:
    sid = uuid.uuid4()
    key = new_stream_key(sid, "Zq3-_x9PpLm0aBcD")
    assert key.startswith("live_") and key.endswith("_Zq3-_x9PpLm0aBcD")
    assert stream_id_in_key(key) == sid


def test_keys_of_the_older_form_and_strangers_name_no_show() -> None:
    for key in (
        "live_gFLi3KjjvTyqhXXx",
        f"live_{uuid.uuid4().hex}",
        "sk-live",
        "",
        f"live_{'z' * 32}_secretsecret",
        f"live_{uuid.uuid4().hex}-secretsecret",
    ):
        assert stream_id_in_key(key) is None, key


@given(st.text(max_size=80))
def test_any_text_is_either_a_show_or_none_never_an_error(key: str) -> None:
    sid = stream_id_in_key(key)
    assert sid is None or key[5:37].lower() == sid.hex
