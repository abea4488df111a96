"""Per-endpoint connection settings (our extension, kept beside the ARM resource):
a private registry's CA bundle, plain HTTP for loopback registries, extra realm hosts."""

from __future__ import annotations

import json
from typing import Any

from ..domain import RegistryEndpointKey, parse_model
from ..domain.connection import ConnectionSettings, ConnectionSettingsBody
from ..errors import ValidationError
from ..netutil import is_loopback
from ..store import Store
from .endpoints import endpoint_not_found

__all__ = ["ConnectionSettingsService"]


class ConnectionSettingsService:
    def __init__(self, store: Store) -> None:
        self._store = store

    def get(self, key: RegistryEndpointKey) -> dict[str, Any]:
        p = key.parent
        with self._store.read() as r:
            state = r.endpoint_state(p.sub_key, p.rg_key, p.instance, key.name)
        if state is None:
            raise endpoint_not_found(key)
        return _render(key, ConnectionSettings.parse(state.connection_settings))

    def put(self, key: RegistryEndpointKey, raw: dict[str, Any]) -> dict[str, Any]:
        body = parse_model(ConnectionSettingsBody, raw)
        p = key.parent
        with self._store.write() as w:
            state = w.lock_endpoint_state(p.sub_key, p.rg_key, p.instance, key.name)
            if state is None:
                raise endpoint_not_found(key)
            host = json.loads(state.document)["properties"]["host"].split("/")[0]
            if body.properties.plainHttp and not is_loopback(host):
                raise ValidationError(
                    f"Plain HTTP is allowed only for loopback registries, not '{host}'.",
                    code="PlainHttpNotAllowed",
                    target="properties.plainHttp",
                )
            settings = body.settings()
            prefix = json.loads(state.document)["properties"]["host"].partition("/")[2]
            outside = [r for r in settings.catalog_repositories
                       if prefix and r != prefix and not r.startswith(prefix + "/")]
            if outside:
                raise ValidationError(
                    f"catalogRepositories must be under the host's path prefix '{prefix}': "
                    f"{', '.join(outside[:3])} is not.",
                    code="RepositoryOutsidePrefix",
                    target="properties.catalogRepositories",
                )
            w.set_connection_settings(
                state.pk, json.dumps(settings.to_dict(), separators=(",", ":"))
            )
        return _render(key, settings)


def _render(key: RegistryEndpointKey, settings: ConnectionSettings) -> dict[str, Any]:
    return {
        "id": f"{key.id}/connectionSettings/default",
        "name": "default",
        "properties": settings.to_dict(),
    }

