"""Bearer tokens (JWT): who is talking to the realtime gateway and the HTTP API (``interfaces.http.auth``).

Sign-in itself belongs to the identity service (issue 3); this module only checks what it signs: HS256 with a
shared secret in dev, RS256 with the issuer's public key in production (the gateway never holds a private
key).
``issue_token`` exists for the dev stack, tests and benchmarks.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt

from infra.settings import Settings

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


class TokenVerifier:
    def __init__(self, settings: Settings) -> None:
        self._alg = settings.jwt_algorithm
        if self._alg.startswith("RS") or self._alg.startswith("ES"):
            if not settings.jwt_public_key:
                raise ValueError(f"{self._alg} needs LIVECOMMERCE_JWT_PUBLIC_KEY (PEM)")
            self._key: str = settings.jwt_public_key
        else:
            self._key = settings.jwt_secret
        self._issuer = settings.jwt_issuer
        self._cache: dict[str, tuple[float, Identity]] = {}
        digest = _HMAC_DIGESTS.get(self._alg)
        self._hmac: Any = None
        if digest is not None:
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
            try:
                claims = jwt.decode(
                    token, self._key, algorithms=[self._alg], issuer=self._issuer,
                    options={"require": ["sub", "exp"], "verify_iss": self._issuer is not None},
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
        identity = Identity(user_id=str(claims["sub"]), roles=frozenset(roles),
                        name=str(name)[:64] if name is not None else None, vendor_id=vendor)
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
        return (isinstance(header, dict) and header.get("alg") == self._alg
                and set(header) <= {"alg", "typ"} and header.get("typ", "JWT") == "JWT")


LEEWAY_S = 5  # phones' clocks drift; five seconds costs nothing
_HMAC_DIGESTS = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


def _b64decode(segment: str) -> bytes:
    """Base64url without padding, strictly: a character outside the alphabet is an error, not skipped."""
    raw = segment.encode("ascii")  # a non-ASCII token raises UnicodeEncodeError, a ValueError
    return base64.b64decode(raw + b"=" * (-len(raw) % 4), altchars=b"-_", validate=True)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def issue_token(settings: Settings, user_id: str, roles: list[str] | tuple[str, ...] = (),
                name: str | None = None, ttl: float = 3600.0, *, private_key: str | None = None,
                vendor_id: str | None = None) -> str:
    """A signed token for dev and tests. RS256 needs the issuer's ``private_key``; HS256 uses the secret."""
    now = int(time.time())
    claims: dict[str, Any] = {"sub": user_id, "roles": list(roles), "iat": now, "exp": now + int(ttl),
                              "jti": uuid.uuid4().hex}
    if name is not None:
        claims["name"] = name
    if vendor_id is not None:
        claims["vendor_id"] = vendor_id
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    key = private_key if private_key is not None else settings.jwt_secret
    return jwt.encode(claims, key, algorithm=settings.jwt_algorithm)
