"""Bearer tokens: HS256 with the shared secret (dev), RS256 with the issuer's public key (production)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from infra.settings import Settings
from infra.tokens import Identity, InvalidToken, TokenVerifier, issue_token


def test_hs256_round_trip_with_roles_and_name() -> None:
    s = Settings()
    who = TokenVerifier(s).verify(issue_token(s, "u-1", ["moderator"], "মডারেটর আপা"))
    assert who == Identity("u-1", frozenset({"moderator"}), "মডারেটর আপা")
    assert who.is_moderator and who.can_write
    assert not TokenVerifier(s).verify(issue_token(s, "u-2")).is_moderator


def test_rs256_verified_with_the_public_key_only() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    s = Settings().model_copy(
        update={"jwt_algorithm": "RS256", "jwt_public_key": public, "jwt_issuer": "https://id.example.com.bd"}
    )
    token = issue_token(s, "u-9", ["host"], private_key=private)
    assert TokenVerifier(s).verify(token).roles == frozenset({"host"})
    other = s.model_copy(update={"jwt_issuer": "https://evil.example"})
    with pytest.raises(InvalidToken):
        TokenVerifier(other).verify(token)
    hs = Settings()
    with pytest.raises(InvalidToken):  # an HS256 token signed with the dev secret is not accepted
        TokenVerifier(s).verify(issue_token(hs, "u-9"))


@pytest.mark.parametrize("bad", ["", "abc.def.ghi", "x" * 5000])
def test_garbage_and_expired_tokens_are_refused(bad: str) -> None:
    s = Settings()
    with pytest.raises(InvalidToken):
        TokenVerifier(s).verify(bad)
    with pytest.raises(InvalidToken):
        TokenVerifier(s).verify(issue_token(s, "u", ttl=-60))


def test_anonymous_viewers_watch_only() -> None:
    anon = Identity.anonymous_viewer("sid123")
    assert anon.user_id == "anon:sid123" and not anon.can_write and not anon.is_moderator
