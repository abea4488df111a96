"""ARM resource identities for instances and their registry endpoints."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "INSTANCE_TYPE",
    "PROVIDER",
    "REGISTRY_ENDPOINT_TYPE",
    "InstanceKey",
    "RegistryEndpointKey",
]

PROVIDER = "Microsoft.IoTOperations"
INSTANCE_TYPE = f"{PROVIDER}/instances"
REGISTRY_ENDPOINT_TYPE = f"{PROVIDER}/instances/registryEndpoints"


@dataclass(frozen=True)
class InstanceKey:
    """Subscription, resource group and instance name. ``resource_group`` keeps the caller's
    casing for display; comparisons use :attr:`rg_key` because ARM names are case-insensitive."""

    subscription: str
    resource_group: str
    instance: str

    @property
    def rg_key(self) -> str:
        return self.resource_group.lower()

    @property
    def sub_key(self) -> str:
        return self.subscription.lower()

    @property
    def resource_group_id(self) -> str:
        return f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"

    @property
    def id(self) -> str:
        return f"{self.resource_group_id}/providers/{PROVIDER}/instances/{self.instance}"


@dataclass(frozen=True)
class RegistryEndpointKey:
    parent: InstanceKey
    name: str

    @property
    def id(self) -> str:
        return f"{self.parent.id}/registryEndpoints/{self.name}"
