"""Registry endpoint bodies from command-line flags, with az's authentication inference.

Only flag logic lives here (which method, which flags fit it). Values are checked by the
server, so the CLI never disagrees with it about what is valid.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

from .errors import CliError

__all__ = [
    "AUTH_TYPES",
    "SETTINGS_KEY",
    "AuthParams",
    "EndpointChange",
    "apply_update",
    "build_authentication",
    "code_signing_cas",
    "strip_read_only",
]

# The wire names (a client-side copy of domain.models, kept equal by a test: importing the
# domain would pull pydantic into every CLI start).
AUTH_TYPES = (
    "Anonymous",
    "ArtifactPullSecret",
    "SystemAssignedManagedIdentity",
    "UserAssignedManagedIdentity",
)
SETTINGS_KEY = {
    "Anonymous": "anonymousSettings",
    "ArtifactPullSecret": "artifactPullSecretSettings",
    "SystemAssignedManagedIdentity": "systemAssignedManagedIdentitySettings",
    "UserAssignedManagedIdentity": "userAssignedManagedIdentitySettings",
}

# parameter -> (flag, settings property)
_PARAMS = {
    "secret_ref": ("--secret-ref", "secretRef"),
    "audience": ("--audience", "audience"),
    "client_id": ("--client-id", "clientId"),
    "tenant_id": ("--tenant-id", "tenantId"),
    "scope": ("--scope", "scope"),
}
_REQUIRED: dict[str, tuple[str, ...]] = {
    "Anonymous": (),
    "ArtifactPullSecret": ("secret_ref",),
    "SystemAssignedManagedIdentity": (),
    "UserAssignedManagedIdentity": ("client_id", "tenant_id"),
}
_OPTIONAL: dict[str, tuple[str, ...]] = {
    "Anonymous": (),
    "ArtifactPullSecret": (),
    "SystemAssignedManagedIdentity": ("audience",),
    "UserAssignedManagedIdentity": ("scope",),
}


@dataclass(frozen=True)
class AuthParams:
    """The authentication flags as given; ``None`` means "not given"."""

    auth_type: str | None = None
    no_auth: bool = False
    secret_ref: str | None = None
    audience: str | None = None
    client_id: str | None = None
    tenant_id: str | None = None
    scope: str | None = None

    def given(self) -> bool:
        return any(getattr(self, f.name) not in (None, False) for f in fields(self))

    def provided(self) -> list[str]:
        return [name for name in _PARAMS if getattr(self, name) is not None]


def _infer(provided: Sequence[str]) -> str:
    """az's order: a secret wins, then any UAMI setting, then SAMI (also the default)."""
    if "secret_ref" in provided:
        return "ArtifactPullSecret"
    if {"client_id", "tenant_id", "scope"} & set(provided):
        return "UserAssignedManagedIdentity"
    return "SystemAssignedManagedIdentity"


def _canonical(auth_type: str) -> str:
    for known in AUTH_TYPES:
        if known.lower() == auth_type.lower():
            return known
    raise CliError(
        f"'{auth_type}' is not an authentication type. Use one of: {', '.join(AUTH_TYPES)}."
    )


def _flags(names: Sequence[str]) -> str:
    return ", ".join(_PARAMS[n][0] for n in names)


def build_authentication(p: AuthParams) -> dict[str, Any]:
    """``{"method": ..., "<method>Settings": {...}}`` for the flags, or a ``CliError``."""
    provided = p.provided()
    if p.no_auth:
        if provided or p.auth_type is not None:
            raise CliError(
                "The --no-auth parameter cannot be used with other authentication parameters."
            )
        method = "Anonymous"
    elif p.auth_type is not None:
        method = _canonical(p.auth_type)
    else:
        method = _infer(provided)
    allowed = set(_REQUIRED[method]) | set(_OPTIONAL[method])
    improper = [n for n in provided if n not in allowed]
    if improper:
        raise CliError(
            f"Parameters {_flags(improper)} are not compatible with authentication type "
            f"'{method}'."
        )
    missing = [n for n in _REQUIRED[method] if n not in provided]
    if missing:
        raise CliError(
            f"Authentication type '{method}' requires the following parameters: "
            f"{_flags(missing)}"
        )
    settings = {_PARAMS[n][1]: getattr(p, n) for n in provided}
    return {"method": method, SETTINGS_KEY[method]: settings}


def code_signing_cas(
    config_maps: Sequence[str] = (), secrets: Sequence[str] = ()
) -> list[dict[str, str]]:
    """ConfigMaps first, then Secrets, as az orders them."""
    return [{"type": "ConfigMap", "configMapRef": n} for n in config_maps] + [
        {"type": "Secret", "secretRef": n} for n in secrets
    ]


_READ_ONLY = ("id", "name", "type", "systemData")
_READ_ONLY_PROPERTIES = ("provisioningState", "healthState")


def strip_read_only(doc: dict[str, Any]) -> dict[str, Any]:
    """A copy of a GET document that is a valid PUT body."""
    body = {k: copy.deepcopy(v) for k, v in doc.items() if k not in _READ_ONLY}
    props = body.get("properties")
    if isinstance(props, dict):
        for key in _READ_ONLY_PROPERTIES:
            props.pop(key, None)
    return body


@dataclass(frozen=True)
class EndpointChange:
    """What ``registry update`` was asked to change; ``None`` means "leave as is"."""

    host: str | None = None
    auth: AuthParams = AuthParams()
    config_maps: Sequence[str] | None = None
    secrets: Sequence[str] | None = None

    def empty(self) -> bool:
        return (
            self.host is None
            and not self.auth.given()
            and self.config_maps is None
            and self.secrets is None
        )


def apply_update(doc: dict[str, Any], change: EndpointChange) -> dict[str, Any]:
    """The PUT body for ``doc`` changed only where a flag was given.

    Authentication flags rebuild the whole authentication (as in az); a code signing flag
    replaces the references of its kind and keeps the other kind (an empty list clears it).
    """
    body = strip_read_only(doc)
    props: dict[str, Any] = body.setdefault("properties", {})
    if change.host is not None:
        props["host"] = change.host
    if change.auth.given():
        props["authentication"] = build_authentication(change.auth)
    if change.config_maps is not None or change.secrets is not None:
        current = [c for c in props.get("codeSigningCas") or [] if isinstance(c, dict)]
        config_maps = change.config_maps
        if config_maps is None:
            config_maps = [c["configMapRef"] for c in current if c.get("type") == "ConfigMap"]
        secrets = change.secrets
        if secrets is None:
            secrets = [c["secretRef"] for c in current if c.get("type") == "Secret"]
        # Kinds the CLI does not know (a newer server) are kept as they are.
        others = [c for c in current if c.get("type") not in ("ConfigMap", "Secret")]
        cas = code_signing_cas(config_maps, secrets) + others
        if cas:
            props["codeSigningCas"] = cas
        else:
            props.pop("codeSigningCas", None)
    return body
