"""Connection settings of an endpoint (this project's extension, kept beside the ARM
resource): a private registry's CA bundle, plain HTTP for loopback registries, and token
realm hosts other than the registry's that may receive its credentials."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from .models import _Wire

__all__ = [
    "ConnectionSettings",
    "ConnectionSettingsBody",
    "ConnectionSettingsProperties",
    "ConnectionTestBody",
]

_MAX_PEM = 64 * 1024


@dataclass(frozen=True)
class ConnectionSettings:
    """How to reach an endpoint's registry: the one shape every layer uses. The API's body
    (:class:`ConnectionSettingsBody`) validates into it; the store keeps :meth:`to_dict`."""

    ca_bundle: str | None = None  # PEM: a private registry's CA
    plain_http: bool = False  # loopback registries only
    allowed_realm_hosts: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConnectionSettings:
        return cls(
            data.get("caBundle"),
            bool(data.get("plainHttp")),
            tuple(data.get("allowedRealmHosts") or ()),
        )

    @classmethod
    def parse(cls, raw: str | None) -> ConnectionSettings:
        """From the stored JSON (already validated when it was written)."""
        return cls.from_dict(json.loads(raw)) if raw else cls()

    def to_dict(self) -> dict[str, Any]:
        return {
            "caBundle": self.ca_bundle,
            "plainHttp": self.plain_http,
            "allowedRealmHosts": list(self.allowed_realm_hosts),
        }


class ConnectionSettingsProperties(_Wire):
    caBundle: str | None = Field(default=None, max_length=_MAX_PEM)
    plainHttp: bool = False
    allowedRealmHosts: list[str] = Field(default_factory=list, max_length=8)

    @field_validator("caBundle")
    @classmethod
    def _pem(cls, v: str | None) -> str | None:
        if v is None:
            return v
        try:
            certs = x509.load_pem_x509_certificates(v.encode())
        except ValueError:
            certs = []
        if not certs:
            raise PydanticCustomError(
                "InvalidCaBundle", "caBundle must hold one or more PEM certificates."
            )
        return v


class ConnectionSettingsBody(_Wire):
    properties: ConnectionSettingsProperties

    def settings(self) -> ConnectionSettings:
        return ConnectionSettings.from_dict(self.properties.model_dump())


class ConnectionTestBody(_Wire):
    """``POST .../test``: optionally, the repository to test pull permission on (else one
    from the catalog)."""

    repository: str | None = Field(default=None, max_length=256)

    @field_validator("repository")
    @classmethod
    def _non_empty(cls, v: str | None) -> str | None:
        if v is not None and not v:
            raise PydanticCustomError(
                "InvalidPropertyType", "repository must be a non-empty string."
            )
        return v
