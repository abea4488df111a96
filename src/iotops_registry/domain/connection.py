"""Connection settings of an endpoint (this project's extension, kept beside the ARM
resource): a private registry's CA bundle, plain HTTP for loopback registries, and token
realm hosts other than the registry's that may receive its credentials."""

from __future__ import annotations

from cryptography import x509
from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from .models import _Wire

__all__ = ["ConnectionSettingsBody", "ConnectionSettingsProperties"]

_MAX_PEM = 64 * 1024


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
