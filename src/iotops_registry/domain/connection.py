"""Connection settings of an endpoint (this project's extension, kept beside the ARM
resource): a private registry's CA bundle, plain HTTP for loopback registries, token realm
hosts other than the registry's that may receive its credentials, and the repository the
connection test proves pull permission on when none is named, and the repositories the
catalog syncs when the registry will not list its catalog."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from cryptography import x509
from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from ..errors import InvalidReference
from ..oci.reference import check_repository
from . import rules
from .models import _Wire

__all__ = [
    "SIGNATURE_POLICIES",
    "ConnectionSettings",
    "ConnectionSettingsBody",
    "ConnectionSettingsProperties",
    "ConnectionTestBody",
    "SignaturePolicy",
    "VerifyArtifactBody",
]

_MAX_PEM = 64 * 1024
SignaturePolicy = Literal["enforce", "audit", "off"]
SIGNATURE_POLICIES: tuple[SignaturePolicy, ...] = ("enforce", "audit", "off")


@dataclass(frozen=True)
class ConnectionSettings:
    """How to reach an endpoint's registry: the one shape every layer uses. The API's body
    (:class:`ConnectionSettingsBody`) validates into it; the store keeps :meth:`to_dict`."""

    ca_bundle: str | None = None  # PEM: a private registry's CA
    plain_http: bool = False  # loopback registries only
    allowed_realm_hosts: tuple[str, ...] = ()
    # The repository a connection test (and every health check) pulls from when none is
    # named: without one, pull permission can only be proven through the catalog.
    probe_repository: str | None = None
    # Notary signature policy for artifacts pulled through the endpoint: enforce (refuse
    # what does not verify), audit (pull, record the verdict) or off. None: enforce when
    # code-signing CAs are configured, else off.
    signature_policy: SignaturePolicy | None = None
    # The repositories the catalog syncs when the registry refuses to list its catalog
    # (repository-scoped tokens, most pull secrets): full repository paths.
    catalog_repositories: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConnectionSettings:
        return cls(
            data.get("caBundle"),
            bool(data.get("plainHttp")),
            tuple(data.get("allowedRealmHosts") or ()),
            data.get("probeRepository") or None,
            data.get("signaturePolicy") or None,
            tuple(data.get("catalogRepositories") or ()),
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
            "probeRepository": self.probe_repository,
            "signaturePolicy": self.signature_policy,
            "catalogRepositories": list(self.catalog_repositories),
        }


class ConnectionSettingsProperties(_Wire):
    caBundle: str | None = Field(default=None, max_length=_MAX_PEM)
    plainHttp: bool = False
    allowedRealmHosts: list[str] = Field(default_factory=list, max_length=8)
    probeRepository: str | None = Field(default=None, max_length=256)
    signaturePolicy: SignaturePolicy | None = None
    catalogRepositories: list[str] = Field(default_factory=list, max_length=1000)

    @field_validator("catalogRepositories")
    @classmethod
    def _repositories(cls, v: list[str]) -> list[str]:
        checked = [_check_repository(r, "catalogRepositories") or "" for r in v]
        if len(set(checked)) != len(checked):
            raise PydanticCustomError(
                "DuplicateRepository", "catalogRepositories names a repository twice.")
        return checked

    @field_validator("probeRepository")
    @classmethod
    def _repository(cls, v: str | None) -> str | None:
        return _check_repository(v, "probeRepository")

    @field_validator("allowedRealmHosts")
    @classmethod
    def _realm_hosts(cls, v: list[str]) -> list[str]:
        for i, host in enumerate(v):
            problem = rules.check_host_port(host)
            if problem:
                raise PydanticCustomError(
                    "InvalidRealmHost", f"allowedRealmHosts[{i}]: {problem}"
                )
        return v

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
    def _repository(cls, v: str | None) -> str | None:
        return _check_repository(v, "repository")


def _check_repository(value: str | None, name: str) -> str | None:
    """An OCI repository name (the distribution spec's grammar), or None."""
    if value is None:
        return None
    try:
        return check_repository(value)
    except InvalidReference:
        raise PydanticCustomError(
            "InvalidRepositoryName",
            f"{name} must be an OCI repository name: lowercase path components of letters and "
            "digits separated by '.', '_', '__' or '-', joined by '/' (e.g. graphs/simple).",
        ) from None


class VerifyArtifactBody(_Wire):
    """``POST .../verifyArtifact``: ``repository:tag`` or ``repository@sha256:…``, relative to
    the endpoint's host (its path prefix is added, as for graph artifacts)."""

    artifact: str = Field(min_length=1, max_length=512)
