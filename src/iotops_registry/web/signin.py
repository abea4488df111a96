"""Single-use sign-in codes for the portal, in the style of Jupyter's token URL.

A code is a short-lived JWT from the server's own :class:`LocalIssuer` with the audience
:data:`SIGNIN_AUDIENCE` and a random ``jti``. Anyone who can read the data directory can mint
one offline (``iotops portal-url``), exactly as ``iotops token`` mints API tokens, so no
server round-trip is needed. The server accepts each ``jti`` once: used ones are remembered in
memory until the code would have expired anyway.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import jwt

from ..errors import SigninError
from ..security import LocalIssuer, Principal
from ..security.verifier import principal_from_claims

__all__ = [
    "SIGNIN_AUDIENCE",
    "SIGNIN_LIFETIME",
    "SigninCodes",
    "SigninError",
    "mint_signin_code",
    "signin_url",
]

SIGNIN_AUDIENCE = "urn:iotops:portal-signin"
SIGNIN_LIFETIME = 900  # seconds; the longest a code may live is MAX_SIGNIN_LIFETIME
MAX_SIGNIN_LIFETIME = 3600
_LEEWAY = 5
_MAX_REMEMBERED = 100_000


def mint_signin_code(
    issuer: LocalIssuer, *, principal: Principal | None = None, lifetime: int = SIGNIN_LIFETIME
) -> str:
    """A new single-use code for ``principal`` (default: the local operator)."""
    lifetime = max(1, min(lifetime, MAX_SIGNIN_LIFETIME))
    return issuer.mint(
        SIGNIN_AUDIENCE,
        principal=principal,
        lifetime=lifetime,
        extra_claims={"jti": uuid.uuid4().hex},
    )


def signin_url(origin: str, code: str) -> str:
    return f"{origin.rstrip('/')}/-/signin?token={code}"


class SigninCodes:
    """Redeem sign-in codes: signature, issuer, audience, expiry, and single use."""

    def __init__(self, issuer: LocalIssuer) -> None:
        self._issuer = issuer
        self._used: dict[str, float] = {}  # jti -> when it may be forgotten
        self._lock = threading.Lock()

    def redeem(self, code: str) -> Principal:
        claims = self._verify(code)
        jti = str(claims["jti"])
        now = time.time()
        with self._lock:
            self._forget_expired(now)
            if jti in self._used:
                raise SigninError("used")
            if len(self._used) >= _MAX_REMEMBERED:
                raise SigninError("invalid")  # refuse rather than forget a live code
            self._used[jti] = float(claims["exp"]) + _LEEWAY
        return principal_from_claims(claims)

    def _verify(self, code: str) -> dict[str, Any]:
        if not code or len(code) > 8192:
            raise SigninError("invalid")
        try:
            claims: dict[str, Any] = jwt.decode(
                code,
                self._issuer.public_key,
                algorithms=["RS256"],
                audience=SIGNIN_AUDIENCE,
                issuer=self._issuer.issuer_url,
                leeway=_LEEWAY,
                options={"require": ["exp", "iat", "iss", "aud", "jti"]},
            )
        except jwt.ExpiredSignatureError:
            raise SigninError("expired") from None
        except jwt.PyJWTError:
            raise SigninError("invalid") from None
        lifetime = float(claims["exp"]) - float(claims["iat"])
        if lifetime > MAX_SIGNIN_LIFETIME or not str(claims["jti"]):
            raise SigninError("invalid")
        return claims

    def _forget_expired(self, now: float) -> None:
        stale = [jti for jti, until in self._used.items() if until < now]
        for jti in stale:
            del self._used[jti]
