"""Chat moderation before fan-out: one decision per message, taken before a single viewer sees it.

Why here and not in a read model: a message shown to ten thousand viewers cannot be taken back, so the gateway
decides synchronously. The rules, in the order they are checked (cheapest and most decisive first):

1. banned from the show, muted until a time (moderators' actions; the gateway reads them from shared state);
2. flooding: a token bucket per user (bursts of a few messages, then one every couple of seconds);
3. slow mode: at most one message per N seconds per user, when moderators turn it on;
4. content: empty, too long, links, banned words (Bangla, romanized Bangla, English);
5. repeats: the same words again within a short window.

Moderators skip 2, 3 and the link rule: hosts post product links. The counters are per gateway process; a
viewer's socket lives on one process, so that is where their rate is measured.

Who counts as a moderator is decided per show (``moderation_refusal``): the show's host (and its vendor) may
take every action in their own show, an admin in any show, and a ``moderator`` only in shows whose
``StreamModerators`` (read model ``live_stream_moderators``) list them, and only the actions their permissions
there allow (``ACTION_PERMISSION``). The token's role alone is not enough.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from application.chat_filters import BannedWords, clean, detect_language, has_link, normalised_for_repeat


@dataclass(frozen=True, slots=True)
class ChatPolicy:
    max_length: int = 500
    burst: int = 5  # messages a user may send at once…
    refill_per_second: float = 0.5  # …then one every two seconds
    repeat_window_s: float = 30.0
    repeat_memory: int = 3
    reaction_burst: int = 20
    reaction_refill_per_second: float = 10.0
    max_tracked_users: int = 200_000  # memory bound: the least recently active are forgotten first
    extra_banned: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    code: str | None = None  # stable error code when refused (see interfaces/realtime/messages.py)
    text: str = ""
    language: str = "und"
    retry_after: float | None = None
    detail: str | None = None  # for moderators' logs: which word, never shown to other viewers

    @classmethod
    def refuse(cls, code: str, *, retry_after: float | None = None, detail: str | None = None) -> Verdict:
        return cls(False, code, retry_after=round(retry_after, 2) if retry_after is not None else None, detail=detail)


# The StreamModerators permission (domain/stream_moderators.py) an assigned moderator needs per chat action.
# All chat actions share ``moderate_chat`` today; a finer permission (say ``ban_users``) is one line here and
# one in the domain's PERMISSIONS.
ACTION_PERMISSION: dict[str, str] = {
    action: "moderate_chat" for action in ("mute", "unmute", "ban", "unban", "delete", "pin", "unpin", "slow_mode")
}
STAFF_ROLES = frozenset({"host", "vendor", "moderator"})  # roles that may be staff of some show


@dataclass(frozen=True, slots=True)
class ShowStaff:
    """Who runs one show: its host and vendor (from the stream), its moderators with their permissions."""

    host_id: str | None
    vendor_id: str | None
    moderators: Mapping[str, Sequence[str]] = field(default_factory=dict)


def moderation_refusal(
    *, user_id: str, roles: Collection[str], vendor_id: str | None, action: str, staff: ShowStaff | None
) -> tuple[str, dict[str, str]] | None:
    """None if this user may take ``action`` in the show; else (stable error code, details).

    ``staff`` None means the show is unknown to the event store: only an admin may act there.
    """
    if "admin" in roles:
        return None
    if not STAFF_ROLES & set(roles):
        return "forbidden", {}
    if staff is not None:
        if "host" in roles and staff.host_id is not None and staff.host_id == user_id:
            return None
        if "vendor" in roles and vendor_id is not None and staff.vendor_id == vendor_id:
            return None
        granted = staff.moderators.get(user_id)
        if "moderator" in roles and granted is not None:
            needed = ACTION_PERMISSION.get(action, action)
            if needed in granted:
                return None
            return "moderator_permission_missing", {"permission": needed}
    return "not_stream_moderator", {}


@dataclass(frozen=True, slots=True)
class StreamRules:
    """What moderators decided for a show and a user, read by the gateway from shared state."""

    slow_mode_s: float = 0.0
    banned: bool = False
    muted_until: float | None = None  # epoch seconds


@dataclass
class _Bucket:
    tokens: float
    at: float

    def take(self, now: float, capacity: int, refill: float) -> float | None:
        """Take one token; None on success, else the seconds until one is available."""
        self.tokens = min(capacity, self.tokens + (now - self.at) * refill)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return None
        return (1.0 - self.tokens) / refill


@dataclass
class _UserState:
    chat: _Bucket
    reactions: _Bucket
    last_accepted: float = float("-inf")
    recent: deque[tuple[float, str]] = field(default_factory=deque)


class ChatModerator:
    def __init__(self, policy: ChatPolicy | None = None, banned_words: BannedWords | None = None) -> None:
        self.policy = policy or ChatPolicy()
        if banned_words is None:
            from application.chat_filters import BANNED_BN, BANNED_EN, BANNED_ROMANIZED

            banned_words = BannedWords(BANNED_BN + BANNED_ROMANIZED + BANNED_EN + self.policy.extra_banned)
        self.banned_words = banned_words
        self._users: OrderedDict[tuple[str, str], _UserState] = OrderedDict()

    def _state(self, stream_id: str, user_id: str, now: float) -> _UserState:
        key = (stream_id, user_id)
        st = self._users.get(key)
        if st is None:
            p = self.policy
            st = _UserState(_Bucket(p.burst, now), _Bucket(p.reaction_burst, now))
            self._users[key] = st
            if len(self._users) > p.max_tracked_users:
                self._users.popitem(last=False)
        else:
            self._users.move_to_end(key)
        return st

    def check_message(
        self,
        *,
        stream_id: str,
        user_id: str,
        text: str,
        now: float,
        is_moderator: bool = False,
        rules: StreamRules | None = None,
    ) -> Verdict:
        rules = rules or StreamRules()
        p = self.policy
        if rules.banned:
            return Verdict.refuse("user_banned")
        if rules.muted_until is not None and rules.muted_until > now:
            return Verdict.refuse("user_muted", retry_after=rules.muted_until - now)
        st = self._state(stream_id, user_id, now)
        if not is_moderator:
            wait = st.chat.take(now, p.burst, p.refill_per_second)
            if wait is not None:
                return Verdict.refuse("rate_limited", retry_after=wait)
            if rules.slow_mode_s > 0 and now - st.last_accepted < rules.slow_mode_s:
                return Verdict.refuse("slow_mode", retry_after=rules.slow_mode_s - (now - st.last_accepted))
        body = clean(text)
        if not body:
            return Verdict.refuse("message_empty")
        if len(body) > p.max_length:
            return Verdict.refuse("message_too_long")
        if not is_moderator and has_link(body):
            return Verdict.refuse("links_not_allowed")
        bad = self.banned_words.find(body)
        if bad is not None:
            return Verdict.refuse("message_blocked", detail=bad)
        key = normalised_for_repeat(body)
        while st.recent and now - st.recent[0][0] > p.repeat_window_s:
            st.recent.popleft()
        if any(k == key for _, k in st.recent):
            return Verdict.refuse("message_repeated")
        st.recent.append((now, key))
        while len(st.recent) > p.repeat_memory:
            st.recent.popleft()
        st.last_accepted = now
        return Verdict(True, text=body, language=detect_language(body))

    def check_reaction(self, *, stream_id: str, user_id: str, now: float, rules: StreamRules | None = None) -> Verdict:
        """Reactions are cheap to send and coalesced on the way out, but a script tapping "like" in a loop
        still inflates the counts: a faster bucket than chat's."""
        if rules is not None and rules.banned:
            return Verdict.refuse("user_banned")
        p = self.policy
        wait = self._state(stream_id, user_id, now).reactions.take(now, p.reaction_burst, p.reaction_refill_per_second)
        return Verdict.refuse("rate_limited", retry_after=wait) if wait is not None else Verdict(True)

    def forget(self, stream_id: str, user_id: str) -> None:
        self._users.pop((stream_id, user_id), None)
