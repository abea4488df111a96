"""The embedded token issuer.

In the embedded default the server is its own OpenID issuer, shaped like Microsoft Entra ID:
the issuer URL is ``<origin>/<tenant>/v2.0`` and discovery lives at
``<issuer>/.well-known/openid-configuration``. Tokens are RS256 JWTs carrying the Entra claims
our verifier and the ARM ``systemData`` need (``tid``, ``oid``, ``idtyp``, ``upn``/``appid``).

Later identity services (managed identities) mint through the same :meth:`LocalIssuer.mint`,
with a :class:`Principal` of type ``ManagedIdentity``.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ..config import write_private_file
from ..errors import ConfigurationError

__all__ = ["LocalIssuer", "Principal"]


def _b64u_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass(frozen=True)
class Principal:
    """Who made a request, as ARM's ``systemData`` records it."""

    object_id: str
    tenant_id: str
    display_name: str
    principal_type: str = "User"  # User | Application | ManagedIdentity | Key
    claims: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


class LocalIssuer:
    """Signing key, JWKS and token minting for the embedded issuer."""

    def __init__(self, issuer_dir: Path, tenant_id: str, issuer_url: str | None = None) -> None:
        self.tenant_id = tenant_id
        self._issuer_url = issuer_url
        key_path = issuer_dir / "signing-key.pem"
        if key_path.exists():
            try:
                key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            except ValueError as exc:
                raise ConfigurationError(f"cannot read issuer key {key_path}: {exc}") from exc
            if not isinstance(key, rsa.RSAPrivateKey):
                raise ConfigurationError(f"{key_path} is not an RSA private key")
        else:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            write_private_file(
                key_path,
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                ),
            )
        self._key = key
        numbers = key.public_key().public_numbers()
        self._jwk_public = {"kty": "RSA", "e": _b64u_uint(numbers.e), "n": _b64u_uint(numbers.n)}
        # RFC 7638 thumbprint as the key id.
        canonical = json.dumps(self._jwk_public, separators=(",", ":"), sort_keys=True)
        self.kid = (
            base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest())
            .rstrip(b"=")
            .decode()
        )

    @staticmethod
    def issuer_url_for(origin: str, tenant_id: str) -> str:
        return f"{origin.rstrip('/')}/{tenant_id}/v2.0"

    @property
    def issuer_url(self) -> str:
        if self._issuer_url is None:
            raise ConfigurationError("the issuer URL is not known until the server is bound")
        return self._issuer_url

    def bind(self, origin: str) -> None:
        self._issuer_url = self.issuer_url_for(origin, self.tenant_id)

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        return self._key.public_key()

    def jwks(self) -> dict[str, Any]:
        return {"keys": [{**self._jwk_public, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def openid_configuration(self) -> dict[str, Any]:
        issuer = self.issuer_url
        origin = issuer.rsplit("/", 2)[0]
        return {
            "issuer": issuer,
            "jwks_uri": f"{origin}/{self.tenant_id}/discovery/v2.0/keys",
            "token_endpoint": f"{origin}/{self.tenant_id}/oauth2/v2.0/token",
            "authorization_endpoint": f"{origin}/{self.tenant_id}/oauth2/v2.0/authorize",
            "response_types_supported": ["code", "id_token", "token"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "tenant_region_scope": "LOCAL",
        }

    def default_user(self) -> Principal:
        """The local operator: the OS user who can read the data directory."""
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = "operator"
        oid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"iotops-user:{self.tenant_id}:{user}"))
        return Principal(oid, self.tenant_id, f"{user}@local", "User")

    def mint(
        self,
        audience: str,
        *,
        principal: Principal | None = None,
        lifetime: int = 3600,
        extra_claims: dict[str, Any] | None = None,
    ) -> str:
        who = principal or self.default_user()
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer_url,
            "aud": audience,
            "iat": now,
            "nbf": now - 5,
            "exp": now + lifetime,
            "tid": who.tenant_id,
            "oid": who.object_id,
            "sub": who.object_id,
            "ver": "2.0",
            "uti": uuid.uuid4().hex,
        }
        if who.principal_type == "User":
            claims.update(idtyp="user", upn=who.display_name, name=who.display_name)
        else:
            claims.update(idtyp="app", appid=who.display_name, azp=who.display_name)
            if who.principal_type == "ManagedIdentity":
                claims["xms_mirid"] = who.claims.get("xms_mirid", who.display_name)
        claims.update(extra_claims or {})
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid})
