"""The token service's signing key: ES256 JWTs the Distribution registry verifies itself.

The registry is configured with the key's certificate (``rootcertbundle``) and matches a
token's ``kid`` against the libtrust fingerprint of that key, so the ``kid`` below must be
exactly libtrust's: SHA-256 of the DER SubjectPublicKeyInfo, first 30 bytes, base32, twelve
groups of four joined by ``:``.

Two kinds of token are signed here: registry *access* tokens (``access`` claim, minutes to
an hour) and ACR-style *refresh* tokens (``grant_type: refresh_token``, 3 hours) that the
exchange hands out for an Entra token and ``/oauth2/token`` takes back.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ..config import write_private_file
from ..errors import AuthenticationError, ConfigurationError

__all__ = ["ACCESS_LIFETIME", "REFRESH_LIFETIME", "TokenSigner", "libtrust_kid"]

ACCESS_LIFETIME = 3600
REFRESH_LIFETIME = 3 * 3600


def libtrust_kid(public_key: ec.EllipticCurvePublicKey) -> str:
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    b32 = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
    return ":".join(b32[i : i + 4] for i in range(0, len(b32), 4))


def _load_or_create_key(path: Path) -> ec.EllipticCurvePrivateKey:
    if path.exists():
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except ValueError as exc:
            raise ConfigurationError(f"cannot read the token signing key {path}: {exc}") from None
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ConfigurationError(f"{path} is not an EC private key")
        return key
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_private_file(path, pem)
    return key


def _self_signed(key: ec.EllipticCurvePrivateKey) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "iotops-registry token service")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


class TokenSigner:
    """Sign and check the token service's JWTs. ``issuer`` and ``service`` must be the
    values in the registry's ``auth.token`` configuration."""

    def __init__(self, directory: Path, *, issuer: str, service: str) -> None:
        self.issuer = issuer
        self.service = service
        self._key = _load_or_create_key(directory / "token-signing-key.pem")
        self.kid = libtrust_kid(self._key.public_key())
        self.cert_path = directory / "token-signing.pem"
        # Rewritten each start: cheap, and always the certificate of the current key.
        write_private_file(self.cert_path, _self_signed(self._key), mode=0o644)

    def _sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self._key, algorithm="ES256", headers={"kid": self.kid})

    def _base(self, subject: str, lifetime: int) -> dict[str, Any]:
        now = int(time.time())
        return {
            "iss": self.issuer,
            "aud": self.service,
            "sub": subject,
            "iat": now,
            "nbf": now - 5,
            "exp": now + lifetime,
            "jti": uuid.uuid4().hex,
        }

    def access_token(
        self, subject: str, access: list[dict[str, Any]], lifetime: int = ACCESS_LIFETIME
    ) -> dict[str, Any]:
        """The token endpoint's answer, with a registry token for ``access``."""
        claims = {**self._base(subject, lifetime), "access": access}
        token = self._sign(claims)
        issued = dt.datetime.fromtimestamp(claims["iat"], dt.UTC)
        return {
            "token": token,
            "access_token": token,
            "expires_in": lifetime,
            "issued_at": issued.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }

    def refresh_token(
        self,
        subject: str,
        tenant: str,
        roles: list[str],
        *,
        extra: dict[str, Any] | None = None,
        lifetime: int = REFRESH_LIFETIME,
    ) -> str:
        claims = {
            **(extra or {}),
            **self._base(subject, lifetime),
            "grant_type": "refresh_token",
            "tenant": tenant,
            "roles": roles,
            "version": "1.0",
        }
        return self._sign(claims)

    def verify_access(self, token: str) -> dict[str, Any]:
        """The claims of a registry access token this service issued (what the registry
        itself checks: signature, issuer, audience, expiry), or ``AuthenticationError``."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key.public_key(),
                algorithms=["ES256"],
                audience=self.service,
                issuer=self.issuer,
                leeway=30,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError:
            raise AuthenticationError("The access token is not valid.",
                                      code="UNAUTHORIZED") from None
        if "grant_type" in claims or not isinstance(claims.get("access"), list):
            raise AuthenticationError("The token is not an access token.", code="UNAUTHORIZED")
        return claims

    def verify_refresh(self, token: str) -> dict[str, Any]:
        """The claims of a refresh token this service issued, or ``AuthenticationError``."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key.public_key(),
                algorithms=["ES256"],
                audience=self.service,
                issuer=self.issuer,
                leeway=30,
                options={"require": ["exp", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthenticationError("The refresh token has expired.",
                                      code="UNAUTHORIZED") from None
        except jwt.PyJWTError:
            raise AuthenticationError("The refresh token is not valid.",
                                      code="UNAUTHORIZED") from None
        if claims.get("grant_type") != "refresh_token":
            raise AuthenticationError("The token is not a refresh token.", code="UNAUTHORIZED")
        return claims
