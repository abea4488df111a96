"""Per-endpoint connection settings (our extension, kept beside the ARM resource):
a private registry's CA bundle, plain HTTP for loopback registries, extra realm hosts."""

from __future__ import annotations

import json
from typing import Any

from cryptography import x509
from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from ..domain import RegistryEndpointKey, parse_model
from ..domain.models import _Wire
from ..errors import NotFoundError, ValidationError
from ..store import Store

__all__ = ["ConnectionSettingsService"]

_MAX_PEM = 64 * 1024


class _Props(_Wire):
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


class _Body(_Wire):
    properties: _Props


class ConnectionSettingsService:
    def __init__(self, store: Store) -> None:
        self._store = store

    def get(self, key: RegistryEndpointKey) -> dict[str, Any]:
        p = key.parent
        with self._store.read() as r:
            state = r.endpoint_state(p.sub_key, p.rg_key, p.instance, key.name)
        if state is None:
            raise _missing(key)
        raw = json.loads(state.connection_settings) if state.connection_settings else {}
        return _render(key, raw)

    def put(self, key: RegistryEndpointKey, raw: dict[str, Any]) -> dict[str, Any]:
        body = parse_model(_Body, raw)
        host = None
        p = key.parent
        with self._store.write() as w:
            state = w.endpoint_state(p.sub_key, p.rg_key, p.instance, key.name)
            if state is None:
                raise _missing(key)
            host = json.loads(state.document)["properties"]["host"].split("/")[0]
            if body.properties.plainHttp and not _loopback(host):
                raise ValidationError(
                    f"Plain HTTP is allowed only for loopback registries, not '{host}'.",
                    code="PlainHttpNotAllowed",
                    target="properties.plainHttp",
                )
            props = body.properties.model_dump()
            w.set_connection_settings(state.pk, json.dumps(props, separators=(",", ":")))
        return _render(key, props)


def _loopback(hostport: str) -> bool:
    import ipaddress

    name = hostport[1:].split("]")[0] if hostport.startswith("[") else hostport.split(":")[0]
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _render(key: RegistryEndpointKey, props: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"{key.id}/connectionSettings/default",
        "name": "default",
        "properties": {
            "caBundle": props.get("caBundle"),
            "plainHttp": bool(props.get("plainHttp")),
            "allowedRealmHosts": list(props.get("allowedRealmHosts") or []),
        },
    }


def _missing(key: RegistryEndpointKey) -> NotFoundError:
    return NotFoundError(
        f"The registry endpoint '{key.name}' was not found.", code="ResourceNotFound"
    )
