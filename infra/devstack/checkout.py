"""One store per checkout: the names a checkout's dev stack uses on servers it may share with other checkouts.

Two checkouts on one machine (a second clone, a git worktree) used to share one PostgreSQL database, one Redis
database, one MongoDB database and one set of Kafka topics, so one checkout's events (or one poisoned event)
were every checkout's. Unless ``dev_shared_stack`` is set, ``dev up`` now derives the names from the checkout's
folder — ``livecommerce_{folder}_{hash of its path}`` — for every name still at its default: the PostgreSQL
database, the MongoDB database and the Kafka topic prefix; and it runs a Redis server of the checkout's own
(Redis has numbered databases only: too few to hand one to every checkout). Names given explicitly (settings,
environment) are kept. What was chosen is written to ``.livecommerce/stack.env`` like the URLs.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from infra.settings import Settings

DEFAULT_NAME = "livecommerce"


def _default(name: str) -> object:
    return Settings.model_fields[name].default


def checkout_tag(root: Path) -> str:
    """``{folder}_{8 hex of the absolute path}``: readable, and distinct for two folders of the same name."""
    folder = re.sub(r"[^a-z0-9]+", "_", root.name.lower()).strip("_")[:24] or "checkout"
    return f"{folder}_{hashlib.sha1(str(root.resolve()).encode()).hexdigest()[:8]}"  # noqa: S324 - a name


@dataclass(frozen=True)
class CheckoutNames:
    settings: Settings  # the settings with the checkout's names in place
    env: dict[str, str] = field(default_factory=dict)  # what stack.env must say besides the URLs
    private_redis: bool = False  # start a Redis of this checkout's own rather than share the machine's


def checkout_names(settings: Settings, root: Path) -> CheckoutNames:
    if settings.dev_shared_stack:
        return CheckoutNames(settings)
    name = f"{DEFAULT_NAME}_{checkout_tag(root)}"
    update: dict[str, object] = {}
    url = urlsplit(settings.postgres_url)
    if url.path.lstrip("/") in ("", DEFAULT_NAME):
        update["postgres_url"] = urlunsplit(url._replace(path=f"/{name}"))
    if settings.mongo_db == DEFAULT_NAME:
        update["mongo_db"] = name
    if settings.topic_prefix == DEFAULT_NAME:
        update["topic_prefix"] = name
    named = settings.model_copy(update=update)
    # Written every time (a later `up` reads them back from stack.env as they are, not as defaults).
    env = {"LIVECOMMERCE_MONGO_DB": named.mongo_db, "LIVECOMMERCE_TOPIC_PREFIX": named.topic_prefix}
    return CheckoutNames(named, env, private_redis=settings.redis_url == _default("redis_url"))
