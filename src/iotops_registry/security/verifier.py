"""Bearer token verification for every API the server exposes.

A token is accepted only when all of these hold: it is a JWS signed with RS256/ES256 by a key
of a *trusted issuer* (the embedded one, or an OpenID issuer configured by URL such as
Microsoft Entra ID), it has not expired, and its audience is one the API accepts. Each failure
has its own ARM error code, so a client can tell an expired token from a wrong audience.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
from jwt import PyJWK

from ..errors import AuthenticationError
from .issuer import LocalIssuer, Principal

__all__ = ["TokenVerifier", "TrustedIssuer"]

# Entra ID and our issuer sign with RS256 only; any other name is refused before a key is
# chosen (an RSA key handed to an EC algorithm makes PyJWT raise TypeError, not a JWT error).
_ALLOWED_ALGS = ("RS256",)
_CACHE_SIZE = 4096


@dataclass
class TrustedIssuer:
    """An issuer string and a way to find its signing keys by ``kid``."""

    issuer: str
    key_for: Callable[[str | None], Any]

    @classmethod
    def local(cls, issuer: LocalIssuer) -> TrustedIssuer:
        public = issuer.public_key

        def key_for(kid: str | None) -> Any:
            if kid not in (None, issuer.kid):
                return None
            return public

        return cls(issuer.issuer_url, key_for)

    @classmethod
    def openid(cls, issuer_url: str, *, timeout: float = 10.0) -> TrustedIssuer:
        """An OpenID issuer whose JWKS is found through discovery and refreshed on unknown kids."""
        jwks = _RemoteJwks(issuer_url.rstrip("/"), timeout)
        return cls(issuer_url, jwks.key_for)


class _RemoteJwks:
    _MIN_REFRESH = 60.0

    def __init__(self, issuer_url: str, timeout: float) -> None:
        self._discovery = f"{issuer_url}/.well-known/openid-configuration"
        self._timeout = timeout
        self._keys: dict[str, Any] = {}
        self._fetched_at = 0.0
        self._lock = threading.Lock()

    def _refresh(self) -> None:
        with httpx.Client(timeout=self._timeout) as client:
            meta = client.get(self._discovery)
            meta.raise_for_status()
            doc = client.get(meta.json()["jwks_uri"])
            doc.raise_for_status()
        keys: dict[str, Any] = {}
        for jwk in doc.json().get("keys", []):
            try:
                keys[jwk.get("kid", "")] = PyJWK(jwk).key
            except jwt.PyJWTError:
                continue  # key types we cannot use are skipped, not fatal
        self._keys = keys
        self._fetched_at = time.monotonic()

    def key_for(self, kid: str | None) -> Any:
        with self._lock:
            if (kid or "") not in self._keys and (
                time.monotonic() - self._fetched_at > self._MIN_REFRESH or not self._keys
            ):
                try:
                    self._refresh()
                except (httpx.HTTPError, ValueError, KeyError):
                    return None
            return self._keys.get(kid or "")


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    oid = str(claims.get("oid") or claims.get("sub") or "unknown")
    tid = str(claims.get("tid") or "")
    user_name = claims.get("upn") or claims.get("unique_name") or claims.get("preferred_username")
    if claims.get("idtyp") == "user" or (user_name and claims.get("idtyp") != "app"):
        return Principal(oid, tid, str(user_name or oid), "User", claims)
    app = claims.get("appid") or claims.get("azp") or oid
    kind = "ManagedIdentity" if claims.get("xms_mirid") else "Application"
    return Principal(oid, tid, str(app), kind, claims)


class TokenVerifier:
    """Verify bearer tokens for one API (one set of accepted audiences)."""

    def __init__(
        self,
        issuers: Iterable[TrustedIssuer],
        audiences: Iterable[str],
        *,
        leeway: int = 60,
        realm: str = "",
    ) -> None:
        self._issuers = {i.issuer: i for i in issuers}
        self._audiences = {a.rstrip("/") for a in audiences}
        self._leeway = leeway
        self.realm = realm
        self._cache: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        self._cache_lock = threading.Lock()

    def add_issuer(self, issuer: TrustedIssuer) -> None:
        self._issuers[issuer.issuer] = issuer

    def _fail(self, code: str, message: str) -> AuthenticationError:
        challenge = f'Bearer authorization_uri="{self.realm}", error="invalid_token"'
        return AuthenticationError(message, code=code, headers={"WWW-Authenticate": challenge})

    def missing(self) -> AuthenticationError:
        challenge = f'Bearer authorization_uri="{self.realm}"'
        return AuthenticationError(
            "Authentication failed. The 'Authorization' header is missing.",
            code="AuthenticationFailed",
            headers={"WWW-Authenticate": challenge},
        )

    def verify_header(self, header: str | None) -> Principal:
        if not header:
            raise self.missing()
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise self._fail(
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header must be 'Bearer <token>'.",
            )
        return self.verify(token.strip())

    def verify(self, token: str) -> Principal:
        now = time.time()
        with self._cache_lock:
            hit = self._cache.get(token)
            if hit is not None:
                if hit[1] + self._leeway > now:
                    self._cache.move_to_end(token)
                    return hit[0]
                del self._cache[token]
        principal, exp = self._verify_uncached(token)
        with self._cache_lock:
            self._cache[token] = (principal, exp)
            if len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return principal

    def _verify_uncached(self, token: str) -> tuple[Principal, float]:
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise self._fail(
                "InvalidAuthenticationToken", "The access token is malformed."
            ) from None
        alg = header.get("alg")
        if alg not in _ALLOWED_ALGS:
            raise self._fail(
                "InvalidAuthenticationToken",
                f"The access token's signing algorithm '{alg}' is not accepted.",
            )
        issuer = self._issuers.get(str(unverified.get("iss", "")))
        if issuer is None:
            raise self._fail(
                "InvalidAuthenticationTokenIssuer",
                f"The access token is from an issuer that is not trusted: "
                f"'{unverified.get('iss')}'.",
            )
        key = issuer.key_for(header.get("kid"))
        if key is None:
            raise self._fail(
                "InvalidAuthenticationToken",
                "The access token is signed with a key the issuer does not publish.",
            )
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[alg],
                issuer=issuer.issuer,
                leeway=self._leeway,
                options={"verify_aud": False, "require": ["exp", "iss"]},
            )
        except jwt.ExpiredSignatureError:
            raise self._fail(
                "ExpiredAuthenticationToken", "The access token has expired."
            ) from None
        except jwt.ImmatureSignatureError:
            raise self._fail(
                "InvalidAuthenticationToken", "The access token is not valid yet."
            ) from None
        except (jwt.PyJWTError, TypeError, ValueError):
            raise self._fail(
                "InvalidAuthenticationToken", "The access token signature is invalid."
            ) from None
        audiences = claims.get("aud")
        aud_list = [audiences] if isinstance(audiences, str) else list(audiences or [])
        if not any(str(a).rstrip("/") in self._audiences for a in aud_list):
            raise self._fail(
                "InvalidAuthenticationTokenAudience",
                f"The access token has an invalid audience '{audiences}'. "
                f"Expected one of: {', '.join(sorted(self._audiences))}.",
            )
        return principal_from_claims(claims), float(claims["exp"])
