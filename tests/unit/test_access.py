"""Who may do what (application.access): roles first, then ownership of the stream."""

from __future__ import annotations

import pytest

from application.access import ACTIONS, ROLES, Actor, check_stream, require_role, stream_owners
from domain.errors import NotPermitted
from domain.stream_moderators import StreamModerators
from tests.unit.test_host_profile import T0

HOST, OTHER_HOST, VENDOR, MOD = "h1", "h2", "v1", "m1"


def actor(role: str, user: str = "u", vendor: str | None = None) -> Actor:
    return Actor(user, frozenset({role, "viewer"}), vendor)


def mods(permissions: list[str]) -> StreamModerators:
    m = StreamModerators.open(now=T0, stream_id="s")
    m.assign(now=T0, moderator_id=MOD, permissions=permissions)
    return m


STREAM = {"host_id": HOST, "vendor_id": VENDOR}


@pytest.mark.parametrize(
    ("who", "action", "allowed"),
    [
        (actor("host", HOST), "stream.start", True),
        (actor("host", OTHER_HOST), "stream.start", False),
        (actor("host", OTHER_HOST, VENDOR), "stream.start", False),  # same vendor, not their stream
        (actor("vendor", "x", VENDOR), "stream.cancel", True),
        (actor("vendor", "x", "v2"), "stream.cancel", False),
        (actor("viewer"), "stream.end", False),
        (actor("moderator", MOD), "stream.feature", True),
        (actor("moderator", MOD), "stream.end", False),  # assigned without end_stream
        (actor("moderator", MOD), "stream.start", False),  # never a moderator's
        (actor("moderator", "m2"), "stream.feature", False),  # not assigned
        (actor("admin"), "stream.cancel", True),
        (None, "stream.cancel", True),  # an internal caller
    ],
)
def test_stream_ownership(who: Actor | None, action: str, allowed: bool) -> None:
    def check() -> None:
        check_stream(who, action, moderators=mods(["feature_products"]), **STREAM)

    if allowed:
        check()
    else:
        with pytest.raises(NotPermitted):
            check()


def test_every_action_names_known_roles_and_admins_may_do_everything() -> None:
    for action, roles in ACTIONS.items():
        assert roles <= set(ROLES), action
        require_role(actor("admin"), action)


def test_stream_owners_come_from_the_token_unless_an_admin_names_them() -> None:
    assert stream_owners(actor("host", HOST, VENDOR), vendor_id=None, host_id=None, default_vendor_id="d") == (
        VENDOR,
        HOST,
    )
    assert stream_owners(actor("host", HOST), vendor_id=None, host_id=None, default_vendor_id="d") == ("d", HOST)
    assert stream_owners(actor("vendor", "x", VENDOR), vendor_id=VENDOR, host_id=None, default_vendor_id="d") == (
        VENDOR,
        None,
    )
    assert stream_owners(actor("admin"), vendor_id="v9", host_id="h9", default_vendor_id="d") == ("v9", "h9")
    for body in ({"vendor_id": "v9", "host_id": None}, {"vendor_id": None, "host_id": OTHER_HOST}):
        with pytest.raises(NotPermitted):
            stream_owners(actor("host", HOST, VENDOR), default_vendor_id="d", **body)
    with pytest.raises(NotPermitted):
        stream_owners(actor("viewer"), vendor_id=None, host_id=None, default_vendor_id="d")
