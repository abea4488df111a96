"""Per-endpoint connection settings (our extension, kept beside the ARM resource):
a private registry's CA bundle, plain HTTP for loopback registries, extra realm hosts."""

from __future__ import annotations

import json
from typing import Any

from ..domain import RegistryEndpointKey, parse_model
from ..domain.connection import ConnectionSettingsBody
from ..errors import NotFoundError, ValidationError
from ..netutil import is_loopback
from ..store import Store

__all__ = ["ConnectionSettingsService"]


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
        body = parse_model(ConnectionSettingsBody, raw)
        p = key.parent
        with self._store.write() as w:
            state = w.endpoint_state(p.sub_key, p.rg_key, p.instance, key.name)
            if state is None:
                raise _missing(key)
            host = json.loads(state.document)["properties"]["host"].split("/")[0]
            if body.properties.plainHttp and not is_loopback(host):
                raise ValidationError(
                    f"Plain HTTP is allowed only for loopback registries, not '{host}'.",
                    code="PlainHttpNotAllowed",
                    target="properties.plainHttp",
                )
            props = body.properties.model_dump()
            w.set_connection_settings(state.pk, json.dumps(props, separators=(",", ":")))
        return _render(key, props)


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
