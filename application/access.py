"""Who may do what: roles, and ownership of streams, sales and host profiles.

The HTTP edge turns a verified bearer token into an ``Actor`` and refuses a wrong role before any I/O
(``require_role``). Ownership needs the aggregate, so it is checked inside the command's unit of work
(``check_stream``), where the stream's ``host_id`` / ``vendor_id`` and its moderators are current.
``actor=None`` means an internal caller (a process manager, a CLI): trusted, like the admin.

- stream.create / start / cancel / add_product / moderators, flash_sale.create: host, vendor, admin; a host
  acts on streams whose ``host_id`` is theirs, a vendor on streams whose ``vendor_id`` is theirs.
- stream.end, stream.feature: as above, and a moderator assigned to the stream with ``end_stream`` /
  ``feature_products``.
- flash_sale.purchase, host.apply, host.follow, host.review: anyone signed in, as themselves.
- flash_sale.release: the reservation's buyer, the sale's vendor, the stream's host, an admin.
- flash_sale.cancel: the sale's vendor, the stream's host, an admin.
- flash_sale.confirm: admin (the payment process holds an admin token).
- host.availability, host.schedule_stream, host.dashboard: a host on their own profile, an admin on any.
- host.applications, host.verify / reject / suspend / reinstate / commission: admin.
- stream.feature_stream (feature a show among all shows): admin.
- Reads (``may_view_stream``, ``sees_revenue``): a private show's detail is for its invited (host, vendor,
  assigned moderators, admins); revenue figures are for the show's host and vendor, and admins.
- order.refund (and recording cash collected for COD): admin, or the vendor whose stream sold the order.
- order.fulfil (fulfilment steps, return decisions): the same; order.return: the order's buyer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from domain.errors import NotFound, NotPermitted

ROLES = ("viewer", "host", "vendor", "moderator", "admin")
ANY = frozenset(ROLES)
OWNERS = frozenset({"host", "vendor", "admin"})
ACTIONS: dict[str, frozenset[str]] = {
    "stream.create": OWNERS,
    "stream.start": OWNERS,
    "stream.cancel": OWNERS,
    "stream.add_product": OWNERS,
    "stream.moderators": OWNERS,
    "stream.end": OWNERS | {"moderator"},
    "stream.feature": OWNERS | {"moderator"},
    "stream.feature_stream": frozenset({"admin"}),  # put a show among the featured ones (GET /streams)
    "analytics.read": ANY,  # a show's analytics: anyone signed in (revenue only for its host, vendor, admins)
    "recommendations.read": ANY,  # a show's product recommendations: for the signed-in viewer
    "host.analytics": frozenset({"host", "vendor", "admin"}),  # the host themself, their vendor, admins
    "flash_sale.create": OWNERS,
    "flash_sale.purchase": ANY,
    "flash_sale.release": ANY,
    "flash_sale.confirm": frozenset({"admin"}),
    "flash_sale.cancel": OWNERS,
    "auction.create": OWNERS,
    "group_buy.create": OWNERS,
    "poll.run": OWNERS | {"moderator"},  # open or close a poll: the show's host, vendor, moderators, admins
    "host.apply": ANY,
    "host.follow": ANY,
    "host.review": ANY,
    "host.availability": frozenset({"host", "admin"}),
    "host.schedule_stream": frozenset({"host", "admin"}),
    "host.dashboard": frozenset({"host", "admin"}),
    "host.applications": frozenset({"admin"}),
    "host.verify": frozenset({"admin"}),
    "catalog.vendors": frozenset({"admin"}),
    "catalog.products": frozenset({"vendor", "admin"}),
    "gift.manage": frozenset({"admin"}),  # the gift catalogue (issue 14 part 3)
    "order.refund": frozenset({"vendor", "admin"}),  # a vendor: orders from their own streams
    "order.fulfil": frozenset({"vendor", "admin"}),  # fulfilment steps, return decisions: the same vendor
    "order.return": ANY,  # the order's own buyer
    "host.reject": frozenset({"admin"}),
    "host.suspend": frozenset({"admin"}),
    "host.reinstate": frozenset({"admin"}),
    "host.commission": frozenset({"admin"}),
    "fraud.review": frozenset({"admin"}),  # the fraud review queue and its decisions (issue 17)
}
# What an assigned moderator needs for each stream action they may take.
MODERATOR_PERMISSION = {"stream.end": "end_stream", "stream.feature": "feature_products"}


@dataclass(frozen=True)
class Actor:
    """The signed-in caller: the token's subject, roles, and the vendor a host or vendor acts for."""

    user_id: str
    roles: frozenset[str] = field(default_factory=frozenset)
    vendor_id: str | None = None
    name: str | None = None  # the token's display name (a gift's "from" in the room)

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    def has(self, roles: Iterable[str]) -> bool:
        return bool(self.roles & frozenset(roles))


def refuse(action: str, why: str, **details: Any) -> NotPermitted:
    return NotPermitted(why, action=action, **details)


def require_role(actor: Actor, action: str) -> None:
    allowed = ACTIONS[action]
    if not actor.has(allowed):
        raise refuse(action, "your role may not do this", needs=sorted(allowed))


def check_stream(
    actor: Actor | None, action: str, *, host_id: str | None, vendor_id: str | None, moderators: Any = None
) -> None:
    """Raise ``NotPermitted`` unless ``actor`` may take ``action`` on a stream with this host and vendor.

    ``moderators`` is the stream's ``StreamModerators`` (or None when nobody was ever assigned).
    """
    if actor is None or actor.is_admin:
        return
    require_role(actor, action)
    if "host" in actor.roles and host_id is not None and host_id == actor.user_id:
        return
    if "vendor" in actor.roles and actor.vendor_id is not None and vendor_id == actor.vendor_id:
        return
    permission = MODERATOR_PERMISSION.get(action)
    if (
        permission
        and "moderator" in actor.roles
        and moderators is not None
        and moderators.may(actor.user_id, permission)
    ):
        return
    raise refuse(action, "this stream is not yours")


def check_show_staff(actor: Actor, *, host_id: str | None, vendor_id: str | None, moderator_ids: Iterable[str]) -> None:
    """Raise ``NotPermitted`` unless ``actor`` runs this show: an admin, its host, its vendor, or one of its
    moderators (whatever their permissions). Who moderates a show is for its staff to see (issue 19)."""
    if actor.is_admin:
        return
    if "host" in actor.roles and host_id is not None and host_id == actor.user_id:
        return
    if "vendor" in actor.roles and actor.vendor_id is not None and vendor_id == actor.vendor_id:
        return
    if "moderator" in actor.roles and actor.user_id in set(moderator_ids):
        return
    raise refuse("stream.staff", "only the show's host, vendor, moderators and admins see its moderators")


def stream_owners(
    actor: Actor, *, vendor_id: str | None, host_id: str | None, default_vendor_id: str
) -> tuple[str, str | None]:
    """(vendor_id, host_id) of a stream this actor creates. Hosts and vendors create for themselves; only an
    admin may name another vendor or host in the body."""
    require_role(actor, "stream.create")
    if actor.is_admin:
        return vendor_id or default_vendor_id, host_id
    if "host" in actor.roles:
        own_vendor, own_host = actor.vendor_id or default_vendor_id, actor.user_id
    else:
        own_vendor, own_host = actor.vendor_id or actor.user_id, None
    if vendor_id is not None and vendor_id != own_vendor:
        raise refuse("stream.create", "only an admin may create a stream for another vendor", field="vendor_id")
    if host_id is not None and host_id != own_host:
        raise refuse("stream.create", "only an admin may create a stream for another host", field="host_id")
    return own_vendor, own_host


def get_optional(uow: Any, aggregate_id: Any) -> Any:
    """An aggregate from the unit of work, or None when it was never created."""
    try:
        return uow.get(aggregate_id)
    except NotFound:
        return None


def is_show_owner(actor: Actor | None, *, host_id: str | None, vendor_id: str | None) -> bool:
    """The show's host, its vendor, or an admin (who may see a show's revenue; ADR 0015)."""
    if actor is None:
        return False
    if actor.is_admin:
        return True
    if "host" in actor.roles and host_id is not None and str(host_id) == actor.user_id:
        return True
    return "vendor" in actor.roles and actor.vendor_id is not None and str(vendor_id) == actor.vendor_id


def sees_revenue(actor: Actor | None, *, host_id: str | None, vendor_id: str | None) -> bool:
    return is_show_owner(actor, host_id=host_id, vendor_id=vendor_id)


def may_view_stream(
    actor: Actor | None,
    *,
    is_public: bool,
    host_id: str | None,
    vendor_id: str | None,
    moderator_ids: Iterable[str] = (),
) -> bool:
    """A public show is for everyone; a private one for those invited: its host, its vendor, the moderators
    assigned to it, and admins."""
    if is_public:
        return True
    if is_show_owner(actor, host_id=host_id, vendor_id=vendor_id):
        return True
    return actor is not None and actor.user_id in {str(m) for m in moderator_ids}
