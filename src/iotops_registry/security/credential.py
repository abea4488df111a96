"""An azure-core ``TokenCredential`` backed by the embedded issuer.

It lets the unmodified Azure SDK clients (and our CLI) talk to an embedded server: the
credential reads the issuer's signing key from the data directory, so only someone who can
read that directory can use it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from azure.core.credentials import AccessToken, AccessTokenInfo

from ..config import DataDir
from .issuer import LocalIssuer, Principal

__all__ = ["IssuerCredential", "LocalIssuerCredential"]


def resource_from_scope(scope: str) -> str:
    return scope[: -len("/.default")] if scope.endswith("/.default") else scope


class IssuerCredential:
    """Tokens for one principal, minted in-process by a :class:`LocalIssuer` (the server's
    own identity when it calls its embedded vault)."""

    def __init__(self, issuer: LocalIssuer, principal: Principal, *, lifetime: int = 3600):
        self._issuer = issuer
        self._principal = principal
        self._lifetime = lifetime

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        info = self.get_token_info(*scopes)
        return AccessToken(info.token, info.expires_on)

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        resource = resource_from_scope(scopes[0] if scopes else "https://management.azure.com")
        token = self._issuer.mint(resource, principal=self._principal, lifetime=self._lifetime)
        return AccessTokenInfo(token, int(time.time()) + self._lifetime)

    def close(self) -> None:
        return None


class LocalIssuerCredential:
    """Mint tokens from the issuer of the server running on ``data_dir``."""

    def __init__(
        self,
        data_dir: Path | str,
        *,
        principal: Principal | None = None,
        lifetime: int = 3600,
    ) -> None:
        dd = DataDir(data_dir)
        endpoints = dd.read_endpoints()
        settings = dd.settings(create=False)
        self._issuer = LocalIssuer(dd.issuer_dir, settings.tenant_id, endpoints["issuer"])
        self._principal = principal
        self._lifetime = lifetime

    def mint(self, resource: str) -> str:
        return self._issuer.mint(
            resource_from_scope(resource), principal=self._principal, lifetime=self._lifetime
        )

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        token = self.mint(scopes[0] if scopes else "https://management.azure.com")
        return AccessToken(token, int(time.time()) + self._lifetime)

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        token = self.mint(scopes[0] if scopes else "https://management.azure.com")
        return AccessTokenInfo(token, int(time.time()) + self._lifetime)

    def close(self) -> None:
        return None

    def __enter__(self) -> LocalIssuerCredential:
        return self

    def __exit__(self, *args: object) -> None:
        return None
