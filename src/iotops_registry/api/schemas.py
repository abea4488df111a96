"""What the ARM API answers, as pydantic models: the response schemas of ``/openapi.json``.

Request bodies are the wire models of ``domain`` (they validate what clients send); these
describe what the server sends back, and a test validates real answers against them. Unknown
properties are allowed, as ARM clients must tolerate additions.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..domain.config_maps import ConfigMapProperties
from ..domain.connectors import ConnectorTemplateProperties
from ..domain.dataflow import DataflowGraphProperties, DataflowProfileProperties
from ..domain.models import ExtendedLocation, InstanceProperties, RegistryEndpointProperties
from ..domain.secrets import SyncedSecretProperties

__all__ = [
    "CatalogEntry",
    "CatalogList",
    "CatalogStatus",
    "ConnectionSettingsResource",
    "ConnectionTestReport",
    "ConnectorTemplateList",
    "ConnectorTemplateResource",
    "ContainerRegistryBody",
    "ContainerRegistryList",
    "ContainerRegistryResource",
    "DataflowGraphList",
    "DataflowGraphResource",
    "DataflowProfileList",
    "DataflowProfileResource",
    "EndpointHealth",
    "ErrorResponse",
    "InstanceList",
    "InstanceResource",
    "KeyVaultSecretInfo",
    "KeyVaultSecretList",
    "PullConnectorMetadataBody",
    "PulledConnectorMetadata",
    "RegistryEndpointList",
    "RegistryEndpointResource",
    "ResolutionReport",
    "ResolvedCredentials",
    "SyncedSecretList",
    "SyncedSecretResource",
]


class _Answer(BaseModel):
    model_config = ConfigDict(extra="allow")


class SystemData(_Answer):
    createdBy: str
    createdByType: str
    createdAt: str
    lastModifiedBy: str
    lastModifiedByType: str
    lastModifiedAt: str


class _Tracked(_Answer):
    id: str
    name: str
    type: str
    systemData: SystemData


class InstanceResourceProperties(InstanceProperties):
    model_config = ConfigDict(extra="allow")
    provisioningState: str
    version: str | None = None


class InstanceResource(_Tracked):
    location: str
    extendedLocation: ExtendedLocation
    tags: dict[str, str] | None = None
    properties: InstanceResourceProperties


class HealthStatus(_Answer):
    message: str
    lastTransitionTime: str | None
    lastCheckedTime: str | None


class RegistryEndpointResourceProperties(RegistryEndpointProperties):
    model_config = ConfigDict(extra="allow")
    provisioningState: str
    healthState: Literal["Available", "Degraded", "Unavailable", "Unknown"]
    healthStatus: HealthStatus | None = Field(
        default=None, description="With $expand=healthStatus only."
    )


class RegistryEndpointResource(_Tracked):
    extendedLocation: ExtendedLocation
    properties: RegistryEndpointResourceProperties


class SyncedSecretResourceProperties(SyncedSecretProperties):
    model_config = ConfigDict(extra="allow")
    provisioningState: str


class SyncedSecretResource(_Tracked):
    properties: SyncedSecretResourceProperties


_HEALTH = Literal["Available", "Degraded", "Unavailable", "Unknown"]


class ResourceHealthStatus(_Answer):
    status: _HEALTH
    reasonCode: str | None = None
    message: str | None = None
    lastTransitionTime: str | None = None
    lastUpdateTime: str | None = None


class ResourceStatus(_Answer):
    healthState: ResourceHealthStatus


class DataflowProfileResourceProperties(DataflowProfileProperties):
    model_config = ConfigDict(extra="allow")
    provisioningState: str


class ConfigMapResourceProperties(ConfigMapProperties):
    model_config = ConfigDict(extra="allow")
    provisioningState: str


class DataflowProfileResource(_Tracked):
    extendedLocation: ExtendedLocation
    properties: DataflowProfileResourceProperties


class DataflowGraphResourceProperties(DataflowGraphProperties):
    model_config = ConfigDict(extra="allow")
    provisioningState: Literal["Accepted", "Succeeded", "Failed"]
    healthState: _HEALTH
    status: ResourceStatus


class DataflowGraphResource(_Tracked):
    extendedLocation: ExtendedLocation
    properties: DataflowGraphResourceProperties


class ConnectorTemplateResourceProperties(ConnectorTemplateProperties):
    model_config = ConfigDict(extra="allow")
    provisioningState: Literal["Accepted", "Succeeded", "Failed"]
    healthState: _HEALTH
    status: ResourceStatus = Field(description="Our extension: why, and since when.")


class ConnectorTemplateResource(_Tracked):
    extendedLocation: ExtendedLocation
    properties: ConnectorTemplateResourceProperties


class ResolvedReference(_Answer):
    """One reference and what it resolved to."""

    kind: str = Field(description="graph, module, metadata or image")
    target: str = Field(description="Where the resource names it (an ARM property path).")
    endpoint: str | None
    reference: str
    digest: str | None = None
    status: Literal["Resolved", "Failed", "NotChecked"]
    reasonCode: str | None = None
    message: str | None = None


class ResolutionReport(_Answer):
    """Our extension: what the last resolution found, with the digests it pinned."""

    id: str
    provisioningState: str | None
    healthState: str | None
    reasonCode: str | None
    message: str | None
    lastUpdateTime: str | None
    references: list[ResolvedReference]


class PullConnectorMetadataBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reference: str = Field(description="host/path/x-metadata:version (or @digest) under the "
                           "endpoint's host.")


class PulledConnectorMetadata(_Answer):
    reference: str
    digest: str
    metadata: dict[str, object]


class ConfigMapResource(_Tracked):
    properties: ConfigMapResourceProperties


class _Page(_Answer):
    nextLink: str | None = None


class ConfigMapList(_Page):
    value: list[ConfigMapResource]


class InstanceList(_Page):
    value: list[InstanceResource]


class RegistryEndpointList(_Page):
    value: list[RegistryEndpointResource]


class DataflowProfileList(_Page):
    value: list[DataflowProfileResource]


class DataflowGraphList(_Page):
    value: list[DataflowGraphResource]


class ConnectorTemplateList(_Page):
    value: list[ConnectorTemplateResource]


class SyncedSecretList(_Page):
    value: list[SyncedSecretResource]


class KeyVaultSecretAttributes(_Answer):
    enabled: bool
    version: str | None = None
    contentType: str | None = None
    tags: dict[str, str] | None = None
    updated: int | None = None


class KeyVaultSecretInfo(_Answer):
    """A Key Vault secret's metadata. Never its value."""

    name: str
    properties: KeyVaultSecretAttributes


class KeyVaultSecretList(_Answer):
    value: list[KeyVaultSecretInfo]


class ConnectionSettingsValues(_Answer):
    caBundle: str | None
    plainHttp: bool
    allowedRealmHosts: list[str]
    probeRepository: str | None
    signaturePolicy: Literal["enforce", "audit", "off"] | None = None
    catalogRepositories: list[str]


class ConnectionSettingsResource(_Answer):
    id: str
    name: str
    properties: ConnectionSettingsValues


class TestStep(_Answer):
    name: str
    status: Literal["Succeeded", "Failed", "Skipped", "Warning"]
    code: str
    message: str
    hint: str
    durationMs: int


class ConnectionTestReport(_Answer):
    status: Literal["Succeeded", "PartiallyVerified", "Failed"]
    registry: str
    repository: str | None
    authenticationMethod: str
    durationMs: int
    steps: list[TestStep]


class EndpointHealth(_Answer):
    state: str
    message: str
    lastTransitionTime: str | None
    lastCheckedTime: str | None
    lastReport: ConnectionTestReport | None


class ResolvedCredentials(_Answer):
    """Where an endpoint's credentials come from: Key Vault secret names and versions. Never
    a value."""

    status: Literal["Resolved"]
    syncedSecret: str
    sources: dict[str, str]


class ContainerRegistryProperties(_Answer):
    loginServer: str
    provisioningState: Literal["Succeeded"]
    source: Literal["devRegistry", "registered", "endpoint"] = Field(
        description="Where the server knows it from: its --dev registry, an admin's "
        "registration, or a registry endpoint's host."
    )


class ContainerRegistryResource(_Answer):
    """Shaped like ``Microsoft.ContainerRegistry/registries``."""

    id: str
    name: str
    type: Literal["Microsoft.ContainerRegistry/registries"]
    location: str
    properties: ContainerRegistryProperties


class ContainerRegistryBodyProperties(BaseModel):
    model_config = ConfigDict(extra="forbid")
    loginServer: str = Field(description="host[:port] of the registry's /v2/ API.")


class ContainerRegistryBody(BaseModel):
    """What ``PUT …/registries/{name}`` takes (``iotops acr register``)."""

    model_config = ConfigDict(extra="forbid")
    location: str | None = None
    properties: ContainerRegistryBodyProperties


class ContainerRegistryList(_Answer):
    value: list[ContainerRegistryResource]


class ErrorDetail(_Answer):
    code: str
    message: str
    target: str | None = None
    details: list[ErrorDetail] | None = None


class ErrorResponse(_Answer):
    error: ErrorDetail


class ArtifactSignatureCheck(_Answer):
    """``POST …/registryEndpoints/{n}/verifyArtifact``: the policy's decision on one
    artifact, the Notary verdict when one was reached, and the CAs it was checked against."""

    model_config = ConfigDict(extra="allow")
    artifact: str
    digest: str | None  # None: the policy is off and a tag was not resolved
    policy: Literal["enforce", "audit", "off"]
    decision: Literal["Allowed", "Refused"]
    verification: Literal["Checked", "NotChecked"]
    code: str
    message: str
    badge: str
    signer: str | None = None
    verdict: dict[str, object] | None = None
    codeSigningCas: dict[str, object] | None = None


# --- the catalog ------------------------------------------------------------------------------


class CatalogEntry(_Answer):
    id: str
    name: str
    type: str
    properties: dict[str, Any]


class CatalogList(_Answer):
    value: list[CatalogEntry]
    count: int
    nextLink: str | None = None
    facets: dict[str, dict[str, int]] | None = None


class CatalogEndpointState(_Answer):
    endpoint: str
    state: str
    stale: bool


class CatalogStatus(_Answer):
    value: list[CatalogEndpointState]
    staleAfterSeconds: float
