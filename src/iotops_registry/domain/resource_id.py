"""ARM resource identities for instances and their registry endpoints."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CONNECTOR_TEMPLATES",
    "DATAFLOW_GRAPHS",
    "DATAFLOW_PROFILES",
    "INSTANCE_TYPE",
    "PROVIDER",
    "REGISTRY_ENDPOINT_TYPE",
    "InstanceKey",
    "RegistryEndpointKey",
    "ResourceKey",
]

PROVIDER = "Microsoft.IoTOperations"
INSTANCE_TYPE = f"{PROVIDER}/instances"
REGISTRY_ENDPOINT_TYPE = f"{PROVIDER}/instances/registryEndpoints"
# The kinds of ResourceKey: their ARM path segments.
DATAFLOW_PROFILES = "dataflowProfiles"
DATAFLOW_GRAPHS = "dataflowGraphs"
CONNECTOR_TEMPLATES = "akriConnectorTemplates"


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


@dataclass(frozen=True)
class ResourceKey:
    """A dataflow profile, a dataflow graph (under ``profile``) or a connector template."""

    parent: InstanceKey
    kind: str  # DATAFLOW_PROFILES, DATAFLOW_GRAPHS or CONNECTOR_TEMPLATES
    name: str
    profile: str = ""  # the dataflow profile of a graph; "" for the others

    @property
    def id(self) -> str:
        if self.kind == DATAFLOW_GRAPHS:
            return f"{self.parent.id}/{DATAFLOW_PROFILES}/{self.profile}/{self.kind}/{self.name}"
        return f"{self.parent.id}/{self.kind}/{self.name}"

    @property
    def type(self) -> str:
        if self.kind == DATAFLOW_GRAPHS:
            return f"{INSTANCE_TYPE}/{DATAFLOW_PROFILES}/{self.kind}"
        return f"{INSTANCE_TYPE}/{self.kind}"

    @property
    def label(self) -> str:
        """How messages name it: ``dataflow graph 'default/g1'``."""
        what = {DATAFLOW_PROFILES: "dataflow profile", DATAFLOW_GRAPHS: "dataflow graph",
                CONNECTOR_TEMPLATES: "connector template"}[self.kind]
        return f"{what} '{self.profile}/{self.name}'" if self.profile else f"{what} '{self.name}'"
