"""The container registries the resource provider knows, ARM-style under the subscription.

Shaped like ``Microsoft.ContainerRegistry/registries`` (``id``, ``name``, ``type``,
``location``, ``properties.loginServer``), so the portal can offer them as Azure's portal
offers a subscription's registries ("Select an Azure Container Registry"). Three sources:

* ``devRegistry``: the development registry of ``iotops serve --dev``, while it runs
  (resource group ``iotops-local``);
* ``registered``: what an admin registered (``iotops acr register``), kept in the store;
* ``endpoint``: every other host that the subscription's registry endpoints name.

A login server appears once: a registered entry wins over the others.
"""

from __future__ import annotations

import re
from typing import Any

from ..domain import rules
from ..errors import InvalidRequestError, NotFoundError, ValidationError
from ..netutil import split_endpoint_host
from ..store import Store
from ..store.registries_store import ContainerRegistryStore

__all__ = ["DEV_RESOURCE_GROUP", "REGISTRY_TYPE", "ContainerRegistryService"]

REGISTRY_TYPE = "Microsoft.ContainerRegistry/registries"
DEV_RESOURCE_GROUP = "iotops-local"
DEV_NAME = "iotopsdevregistry"
_NAME = re.compile(r"^[a-zA-Z0-9]{5,50}$")
_LOCATION = re.compile(r"^[a-z0-9]{1,40}$")


def _derived_name(host: str) -> str:
    """An ACR-style name (5-50 letters and digits) for a host that has none."""
    base = re.sub(r"[^a-z0-9]", "", host.lower().split(".azurecr.io")[0])[:50]
    return base.ljust(5, "0")


class ContainerRegistryService:
    def __init__(self, store: Store, *, dev_registry: str | None = None,
                 location: str = "eastus") -> None:
        self._store = ContainerRegistryStore(store)
        self.dev_registry = dev_registry
        self._location = location

    def _id(self, subscription: str, rg: str, name: str) -> str:
        return (f"/subscriptions/{subscription}/resourceGroups/{rg}/providers/"
                f"{REGISTRY_TYPE}/{name}")

    def _document(self, subscription: str, rg: str, name: str, login_server: str,
                  source: str, location: str | None = None) -> dict[str, Any]:
        return {
            "id": self._id(subscription, rg, name),
            "name": name,
            "type": REGISTRY_TYPE,
            "location": location or self._location,
            "properties": {
                "loginServer": login_server,
                "provisioningState": "Succeeded",
                "source": source,
            },
        }

    def list(self, subscription: str, resource_group: str | None = None) -> list[dict[str, Any]]:
        rg_key = resource_group.lower() if resource_group else None
        docs = self._store.documents(subscription, rg_key)
        seen = {str(d["properties"]["loginServer"]).lower() for d in docs}
        extra: list[dict[str, Any]] = []
        if self.dev_registry and self.dev_registry.lower() not in seen and rg_key in (
            None, DEV_RESOURCE_GROUP
        ):
            extra.append(self._document(subscription, DEV_RESOURCE_GROUP, DEV_NAME,
                                        self.dev_registry, "devRegistry", "local"))
            seen.add(self.dev_registry.lower())
        for rg, host in self._store.endpoint_hosts(subscription):
            login = host.split("/", 1)[0]  # an endpoint's host may carry a path prefix
            if login.lower() in seen or (rg_key is not None and rg != rg_key):
                continue
            seen.add(login.lower())
            extra.append(self._document(subscription, rg, _derived_name(login), login,
                                        "endpoint"))
        return [*docs, *extra]

    def get(self, subscription: str, resource_group: str, name: str) -> dict[str, Any]:
        for doc in self.list(subscription, resource_group):
            if str(doc["name"]).lower() == name.lower():
                return doc
        raise NotFoundError(
            f"The registry '{name}' is not known in resource group '{resource_group}'.",
            code="ResourceNotFound",
        )

    def put(self, subscription: str, resource_group: str, name: str, body: dict[str, Any]
            ) -> tuple[dict[str, Any], bool]:
        if not _NAME.match(name):
            raise ValidationError("A registry name is 5 to 50 letters and digits.",
                                  code="InvalidResourceName", target="registryName")
        problem = rules.check_resource_group(resource_group)
        if problem:
            raise InvalidRequestError(problem, code="InvalidResourceGroupName",
                                      target="resourceGroupName")
        unknown = set(body) - {"location", "properties", "tags", "id", "name", "type"}
        if unknown:
            raise InvalidRequestError(f"Unknown property '{sorted(unknown)[0]}'.",
                                      target=sorted(unknown)[0])
        props = body.get("properties")
        if not isinstance(props, dict):
            raise InvalidRequestError("The body needs properties.loginServer.",
                                      target="properties")
        login = props.get("loginServer")
        if not isinstance(login, str) or not login.strip():
            raise InvalidRequestError("properties.loginServer must be a host[:port].",
                                      target="properties.loginServer")
        login = login.strip().lower()
        try:
            split_endpoint_host(login)
        except ValueError as exc:
            raise InvalidRequestError(f"properties.loginServer is not a host: {exc}",
                                      target="properties.loginServer") from None
        if "/" in login:
            raise InvalidRequestError("properties.loginServer is a host[:port], no path.",
                                      target="properties.loginServer")
        location = body.get("location", self._location)
        if not isinstance(location, str) or not _LOCATION.match(location):
            raise InvalidRequestError("location must be an Azure region name (eastus).",
                                      target="location")
        doc = self._document(subscription, resource_group, name, login, "registered",
                             location)
        created = self._store.put(subscription, resource_group.lower(), name, doc)
        return doc, created

    def delete(self, subscription: str, resource_group: str, name: str) -> bool:
        return self._store.delete(subscription, resource_group.lower(), name)
