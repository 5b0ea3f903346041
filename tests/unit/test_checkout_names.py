"""Each checkout's dev stack names its own store; explicit names and the shared setting are respected."""

from __future__ import annotations

from pathlib import Path

from infra.devstack.checkout import checkout_names, checkout_tag
from infra.settings import Settings


def _settings(**kw: object) -> Settings:
    return Settings(_env_file=None, **kw)  # type: ignore[call-arg]


def test_two_checkouts_get_two_stores_and_the_same_checkout_always_the_same(tmp_path: Path) -> None:
    a, b = tmp_path / "one" / "live-commerce", tmp_path / "two" / "live-commerce"  # same folder name
    na, nb = checkout_names(_settings(), a), checkout_names(_settings(), b)
    assert na.settings.postgres_url != nb.settings.postgres_url
    assert na.settings.mongo_db != nb.settings.mongo_db and na.settings.topic_prefix != nb.settings.topic_prefix
    assert na.private_redis and nb.private_redis
    assert na.settings.topic_prefix == f"livecommerce_live_commerce_{checkout_tag(a)[-8:]}"
    assert na.settings.postgres_url == f"postgresql://postgres@127.0.0.1:5432/{na.settings.topic_prefix}"
    assert checkout_names(_settings(), a) == na
    assert na.env == {
        "LIVECOMMERCE_MONGO_DB": na.settings.mongo_db,
        "LIVECOMMERCE_TOPIC_PREFIX": na.settings.topic_prefix,
    }


def test_names_given_explicitly_are_kept_and_sharing_keeps_the_old_defaults(tmp_path: Path) -> None:
    given = checkout_names(
        _settings(
            postgres_url="postgresql://u@db:5432/shop", mongo_db="m", topic_prefix="t", redis_url="redis://cache:6379/3"
        ),
        tmp_path,
    )
    assert (given.settings.postgres_url, given.settings.mongo_db, given.settings.topic_prefix) == (
        "postgresql://u@db:5432/shop",
        "m",
        "t",
    )
    assert not given.private_redis
    shared = checkout_names(_settings(dev_shared_stack=True), tmp_path)
    assert shared.settings == _settings(dev_shared_stack=True) and shared.env == {} and not shared.private_redis
