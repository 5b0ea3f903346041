"""The verifier's fast HMAC path accepts exactly what PyJWT accepts, and is the path ordinary tokens take."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infra.settings import Settings
from infra.tokens import InvalidToken, TokenVerifier, issue_token

SECRET = "unit-test-secret-of-a-decent-length-0123456789"
BASE = Settings(jwt_secret=SECRET)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _sign(header: dict[str, Any], claims: Any, secret: str = SECRET) -> str:
    h = _b64(json.dumps(header).encode())
    p = _b64(json.dumps(claims).encode())
    sig = hmac.new(secret.encode(), f"{h}.{p}".encode(), hashlib.sha256).digest()
    return f"{h}.{p}.{_b64(sig)}"


def _pyjwt(token: str, issuer: str | None) -> dict[str, Any] | None:
    try:
        return jwt.decode(
            token,
            SECRET,
            algorithms=["HS256"],
            issuer=issuer,
            options={"require": ["sub", "exp"], "verify_iss": issuer is not None},
            leeway=5,
        )
    except jwt.PyJWTError:
        return None


now = int(time.time())
times = st.one_of(
    st.integers(now - 3600, now + 3600),
    st.sampled_from([now - 6, now - 4, now + 4, now + 6]),
    st.floats(now - 100, now + 100),
    st.text(max_size=3),
    st.none(),
    st.booleans(),
)
valid_times = st.sampled_from([now - 6, now - 4, now, now + 4, now + 6, now + 3600])
nearly_valid = st.fixed_dictionaries(  # mostly good tokens, with the boundaries PyJWT draws
    {"sub": st.uuids().map(str), "exp": st.sampled_from([now - 6, now - 4, now + 1, now + 3600])},
    optional={
        "iat": valid_times,
        "nbf": valid_times,
        "jti": st.text(max_size=4),
        "iss": st.sampled_from(["live", "other"]),
        "aud": st.sampled_from(["", "app"]),
    },
)
claim_sets = (
    nearly_valid
    | nearly_valid
    | st.fixed_dictionaries(
        {},
        optional={
            "sub": st.one_of(st.uuids().map(str), st.integers(), st.none()),
            "exp": times,
            "iat": times,
            "nbf": times,
            "aud": st.one_of(st.text(max_size=3), st.lists(st.text(max_size=2), max_size=2)),
            "jti": st.one_of(st.text(max_size=4), st.integers()),
            "iss": st.sampled_from(["live", "other"]),
            "roles": st.lists(st.sampled_from(["viewer", "host", "admin"]), max_size=2),
        },
    )
)
headers = st.one_of(
    st.just({"alg": "HS256", "typ": "JWT"}),
    st.just({"alg": "HS256"}),
    st.just({"alg": "HS256", "typ": "JWT"}),
    st.fixed_dictionaries(
        {
            "alg": st.sampled_from(["HS256", "HS512", "none"]),
            "typ": st.sampled_from(["JWT", "jwt", "JOSE"]),
            "kid": st.one_of(st.text(max_size=3), st.integers()),
        }
    ),
)


@settings(max_examples=400, deadline=None)
@given(
    headers,
    claim_sets,
    st.sampled_from([None, "live"]),
    st.sampled_from(["none", "none", "none", "signature", "payload", "secret", "dots"]),
)
def test_the_fast_path_never_accepts_what_pyjwt_refuses(
    header: dict[str, Any], claims: dict[str, Any], issuer: str | None, tamper: str
) -> None:
    token = _sign(header, claims, secret="another-secret-entirely-0123456789" if tamper == "secret" else SECRET)
    h, p, s = token.split(".")
    if tamper == "signature":
        token = f"{h}.{p}.{s[:-2]}{'A' if s[-2] != 'A' else 'B'}{s[-1]}"
    elif tamper == "payload":
        token = f"{h}.{_b64(json.dumps({**claims, 'roles': ['admin']}).encode())}.{s}"
    elif tamper == "dots":
        token = f"{h}.{p}.{s}.x"
    verifier = TokenVerifier(BASE.model_copy(update={"jwt_issuer": issuer}))
    fast = verifier._plain_hmac_claims(token)
    if fast is not None:
        assert _pyjwt(token, issuer) == fast
    elif (
        tamper == "none"
        and header == {"alg": "HS256", "typ": "JWT"}
        and isinstance(claims.get("exp"), int)
        and not isinstance(claims.get("exp"), bool)
    ):
        # Declined an ordinary-looking token: only because PyJWT refuses it too (or for a float-free reason
        # the fast path leaves to PyJWT: a claim PyJWT accepts only after conversion).
        assert (
            _pyjwt(token, issuer) is None
            or "aud" in claims
            or any(not isinstance(claims.get(k, 0), int) for k in ("iat", "nbf"))
        )


def test_ordinary_tokens_take_the_fast_path_and_give_the_same_identity() -> None:
    verifier = TokenVerifier(BASE)
    token = issue_token(
        BASE,
        "4f1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        ["host"],
        name="Rina",
        vendor_id="5f1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
    )
    assert verifier._plain_hmac_claims(token) == _pyjwt(token, None)
    identity, expires = verifier._verify(token)
    assert identity.user_id == "4f1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d" and identity.roles == {"host"}
    assert identity.vendor_id == "5f1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d" and expires > time.time()
    with_issuer = BASE.model_copy(update={"jwt_issuer": "live"})
    assert TokenVerifier(with_issuer)._plain_hmac_claims(issue_token(with_issuer, "u1")) is not None


def test_refusals_still_come_from_pyjwt_with_its_reason() -> None:
    verifier = TokenVerifier(BASE)
    expired = _sign({"alg": "HS256", "typ": "JWT"}, {"sub": "u", "exp": now - 60})
    with pytest.raises(InvalidToken, match="expired"):
        verifier.verify(expired)
    with pytest.raises(InvalidToken):
        verifier.verify(_sign({"alg": "HS256"}, {"sub": "u", "exp": now + 60}, secret="wrong-secret-0123456789abcdef"))
    with pytest.raises(InvalidToken):
        verifier.verify("not.a.token")


def test_a_secret_pyjwt_refuses_turns_the_fast_path_off() -> None:
    pem = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----"
    assert TokenVerifier(BASE.model_copy(update={"jwt_secret": pem}))._hmac is None
