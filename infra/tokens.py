"""Bearer tokens (JWT): who is talking to the realtime gateway and the HTTP API (``interfaces.http.auth``).

Sign-in itself belongs to the identity service (issue 3); this module only checks what it signs: HS256 with a
shared secret in dev, RS256 with the issuer's public key in production (the gateway never holds a private
key), either one PEM key (``jwt_public_key``) or the provider's JWKS URL (``jwt_jwks_url``: keys fetched with
PyJWT's ``PyJWKClient``, fetched again for a key id not seen yet, at most every ``jwt_jwks_refresh_s``, so a
stream of made-up key ids cannot make us hammer the provider). ``iss`` and ``aud`` are checked when configured.

``check_token_settings`` is what ``livecommerce api`` runs before it listens (ADR 0019): the development secret,
or any HMAC secret under 32 bytes, is refused unless ``allow_dev_jwt_secret`` (the dev stack sets it; the
production stack never does), and a JWKS URL needs an issuer and an audience, since an identity provider signs
tokens for other services too.
``issue_token`` exists for the dev stack, tests and benchmarks.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt

from infra.settings import DEV_JWT_SECRET, Settings

log = logging.getLogger(__name__)

# Roles that may moderate *some* show's chat (a coarse first check). Whether they may in *this* show — its host
# or vendor, an admin, or a moderator assigned with the permission — is decided per action by
# ``interfaces.realtime.actions.may_moderate`` against the event store.
MODERATOR_ROLES = frozenset({"moderator", "admin", "host"})


@dataclass(frozen=True, slots=True)
class Identity:
    user_id: str
    roles: frozenset[str] = field(default_factory=frozenset)
    name: str | None = None
    anonymous: bool = False
    vendor_id: str | None = None  # the ``vendor_id`` claim: the vendor a host or vendor account acts for

    @property
    def can_write(self) -> bool:
        return not self.anonymous

    @property
    def is_moderator(self) -> bool:
        return bool(self.roles & MODERATOR_ROLES)

    @classmethod
    def anonymous_viewer(cls, connection_id: str) -> Identity:
        """Anonymous viewers watch and count as viewers; the id lives as long as the connection."""
        return cls(user_id=f"anon:{connection_id}", anonymous=True)


class InvalidToken(Exception):
    """The token is malformed, badly signed, expired or from another issuer (the reason is for logs only)."""


class InsecureSettings(Exception):
    """Token settings a public server must not run with (the message says what to set)."""


MIN_SECRET_BYTES = 32


def check_token_settings(settings: Settings) -> None:
    alg = settings.jwt_algorithm
    if settings.jwt_jwks_url:
        if alg in _HMAC_DIGESTS:
            raise InsecureSettings(f"a JWKS URL needs an asymmetric jwt_algorithm (RS256, ES256), not {alg}")
        if not (settings.jwt_issuer and settings.jwt_audience):
            raise InsecureSettings(
                "with a JWKS URL set LIVECOMMERCE_JWT_ISSUER and LIVECOMMERCE_JWT_AUDIENCE:"
                " the identity provider signs tokens for other services too"
            )
        return
    if alg not in _HMAC_DIGESTS or settings.allow_dev_jwt_secret:
        return
    if settings.jwt_secret == DEV_JWT_SECRET:
        raise InsecureSettings(
            "the JWT secret is the development one, which anybody can read in the source: set"
            " LIVECOMMERCE_JWT_SECRET or LIVECOMMERCE_JWT_SECRET_FILE (or, on a laptop only,"
            " LIVECOMMERCE_ALLOW_DEV_JWT_SECRET=true)"
        )
    if len(settings.jwt_secret.encode()) < MIN_SECRET_BYTES:
        raise InsecureSettings(f"the JWT secret is shorter than {MIN_SECRET_BYTES} bytes")


class JwksKeys:
    """The identity provider's signing keys by key id, from its JWKS URL."""

    def __init__(self, url: str, *, refresh_s: float, timeout_s: float = 5.0) -> None:
        self._client = jwt.PyJWKClient(url, cache_jwk_set=False, cache_keys=False, timeout=int(max(1, timeout_s)))
        self._refresh_s = refresh_s
        self._keys: dict[str | None, Any] = {}
        self._fetched = -float("inf")
        try:
            self.refresh()
        except InvalidToken as exc:  # the provider may come up after us: fetched again on the first token
            log.warning("JWKS not fetched at start: %s", exc)

    def refresh(self) -> None:
        self._fetched = time.monotonic()
        try:
            keys = self._client.get_signing_keys(refresh=True)
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"the identity provider's keys could not be fetched: {exc}") from exc
        self._keys = {k.key_id: k.key for k in keys}

    def key_for(self, token: str) -> Any:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc
        key = self._lookup(kid)
        if key is None and time.monotonic() - self._fetched >= self._refresh_s:
            self.refresh()  # a new key (rotation): at most once per refresh interval
            key = self._lookup(kid)
        if key is None:
            raise InvalidToken(f"no signing key {kid!r} at the identity provider")
        return key

    def _lookup(self, kid: str | None) -> Any:
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        return self._keys.get(kid)


class TokenVerifier:
    def __init__(self, settings: Settings) -> None:
        self._alg = settings.jwt_algorithm
        self._jwks: JwksKeys | None = None
        if settings.jwt_jwks_url:
            self._jwks = JwksKeys(settings.jwt_jwks_url, refresh_s=settings.jwt_jwks_refresh_s)
            self._key: Any = None
        elif self._alg.startswith("RS") or self._alg.startswith("ES"):
            if not settings.jwt_public_key:
                raise ValueError(f"{self._alg} needs LIVECOMMERCE_JWT_PUBLIC_KEY (PEM) or LIVECOMMERCE_JWT_JWKS_URL")
            self._key = settings.jwt_public_key
        else:
            self._key = settings.jwt_secret
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self._cache: dict[str, tuple[float, Identity]] = {}
        digest = _HMAC_DIGESTS.get(self._alg)
        self._hmac: Any = None
        if digest is not None and self._audience is None and self._jwks is None:
            try:  # PyJWT refuses some secrets outright (empty, a PEM key): then it decides every token
                jwt.get_algorithm_by_name(self._alg).prepare_key(self._key)
                self._hmac = hmac.new(self._key.encode(), digestmod=digest)
            except jwt.PyJWTError:
                self._hmac = None
        self._plain_headers: dict[str, bool] = {}  # header segment → "just alg (and typ)": decoded once

    def verify(self, token: str) -> Identity:
        """The token's identity. Verified tokens are remembered until they expire (a signature check costs
        more than the rest of a small request); a refused token is never remembered."""
        hit = self._cache.get(token)
        if hit is not None and hit[0] > time.time():
            return hit[1]
        identity, expires = self._verify(token)
        if len(self._cache) >= 50_000:
            self._cache.clear()
        self._cache[token] = (expires, identity)
        return identity

    def _verify(self, token: str) -> tuple[Identity, float]:
        claims = self._plain_hmac_claims(token)
        if claims is None:  # anything unusual, and every refusal, is decided by PyJWT itself
            key = self._jwks.key_for(token) if self._jwks is not None else self._key
            required = ["sub", "exp"] + (["iss"] if self._issuer else []) + (["aud"] if self._audience else [])
            try:
                claims = jwt.decode(
                    token,
                    key,
                    algorithms=[self._alg],
                    issuer=self._issuer,
                    audience=self._audience,
                    options={
                        "require": required,
                        "verify_iss": self._issuer is not None,
                        "verify_aud": self._audience is not None,
                    },
                    leeway=LEEWAY_S,
                )
            except jwt.PyJWTError as exc:
                raise InvalidToken(str(exc)) from exc
        roles = claims.get("roles") or []
        if isinstance(roles, str):
            roles = roles.split()
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise InvalidToken("roles must be a list of strings")
        name = claims.get("name")
        vendor = claims.get("vendor_id")
        if vendor is not None and not isinstance(vendor, str):
            raise InvalidToken("vendor_id must be a string")
        identity = Identity(
            user_id=str(claims["sub"]),
            roles=frozenset(roles),
            name=str(name)[:64] if name is not None else None,
            vendor_id=vendor,
        )
        return identity, float(claims["exp"])

    def _plain_hmac_claims(self, token: str) -> dict[str, Any] | None:
        """The claims of an ordinary, valid HS256/384/512 token, checked as ``jwt.decode`` above checks them,
        in a fraction of its time (a hot sale brings thousands of first-seen tokens a second); ``None`` for
        anything else — another algorithm, an unusual header or claim, any failed check — so PyJWT decides.
        It only ever accepts what PyJWT accepts (``tests/unit/test_tokens.py`` compares the two)."""
        if self._hmac is None:
            return None
        header, sep, rest = token.partition(".")
        payload, sep2, signature = rest.partition(".")
        if not (sep and sep2) or "." in signature:
            return None
        plain = self._plain_headers.get(header)
        if plain is None:
            plain = self._is_plain_header(header)
            if len(self._plain_headers) < 64:
                self._plain_headers[header] = plain
        if not plain:
            return None
        mac = self._hmac.copy()
        mac.update(f"{header}.{payload}".encode())
        try:
            given = _b64decode(signature)
            claims = json.loads(_b64decode(payload))
        except ValueError:
            return None
        if not hmac.compare_digest(mac.digest(), given) or not isinstance(claims, dict):
            return None
        now = time.time()
        exp, iat, nbf = claims.get("exp"), claims.get("iat", 0), claims.get("nbf", 0)
        if not (_is_int(exp) and _is_int(iat) and _is_int(nbf)):
            return None
        if exp <= now - LEEWAY_S or iat > now + LEEWAY_S or nbf > now + LEEWAY_S:
            return None
        if not isinstance(claims.get("sub"), str) or "aud" in claims:
            return None
        if "jti" in claims and not isinstance(claims["jti"], str):
            return None
        if self._issuer is not None and claims.get("iss") != self._issuer:
            return None
        return claims

    def _is_plain_header(self, segment: str) -> bool:
        try:
            header = json.loads(_b64decode(segment))
        except ValueError:
            return False
        return (
            isinstance(header, dict)
            and header.get("alg") == self._alg
            and set(header) <= {"alg", "typ"}
            and header.get("typ", "JWT") == "JWT"
        )


LEEWAY_S = 5  # phones' clocks drift; five seconds costs nothing
_HMAC_DIGESTS = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


def _b64decode(segment: str) -> bytes:
    """Base64url without padding, strictly: a character outside the alphabet is an error, not skipped."""
    raw = segment.encode("ascii")  # a non-ASCII token raises UnicodeEncodeError, a ValueError
    return base64.b64decode(raw + b"=" * (-len(raw) % 4), altchars=b"-_", validate=True)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def issue_token(
    settings: Settings,
    user_id: str,
    roles: list[str] | tuple[str, ...] = (),
    name: str | None = None,
    ttl: float = 3600.0,
    *,
    private_key: Any = None,
    vendor_id: str | None = None,
    key_id: str | None = None,
) -> str:
    """A signed token for dev and tests. RS256 needs the issuer's ``private_key``; HS256 uses the secret.
    ``aud``/``iss`` are the configured ones; ``key_id`` goes in the header (``kid``, for a JWKS)."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": user_id,
        "roles": list(roles),
        "iat": now,
        "exp": now + int(ttl),
        "jti": uuid.uuid4().hex,
    }
    if name is not None:
        claims["name"] = name
    if vendor_id is not None:
        claims["vendor_id"] = vendor_id
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    key = private_key if private_key is not None else settings.jwt_secret
    headers = {"kid": key_id} if key_id else None
    return jwt.encode(claims, key, algorithm=settings.jwt_algorithm, headers=headers)
