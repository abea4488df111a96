"""Everything a request handler may use, wired once by the server."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from ..domain import InstanceKey, RegistryEndpointKey, ResourceKey
from ..security import Authorizer, LocalIssuer, TokenVerifier
from ..services import (
    CodeSigningCas,
    CodeSigningCaService,
    ConfigMapService,
    ContainerRegistryService,
    EndpointTarget,
    InstanceService,
    KeyVaultSecretService,
    PullSecretResolver,
    RegistryEndpointService,
    ResourceService,
    RoleAssignmentService,
    SyncedSecretService,
)
from ..services.catalog import CatalogService
from ..services.connection_settings import ConnectionSettingsService
from ..services.health import HealthService

__all__ = [
    "REGISTRY_API_VERSIONS",
    "SUPPORTED_API_VERSIONS",
    "ApiContext",
    "ArtifactChecker",
    "CatalogSyncer",
    "EndpointMonitor",
    "Resolver",
]


class EndpointMonitor(Protocol):
    """Connection tests and health checks (``access.HealthMonitor``), set once running."""

    async def test(
        self, target: EndpointTarget, repository: str | None = None
    ) -> dict[str, Any]: ...

    def schedule(self, key: RegistryEndpointKey) -> None: ...


class ArtifactChecker(Protocol):
    """Signature checks through endpoints (``access.SignatureChecker``), set once running."""

    async def check_artifact(
        self, target: EndpointTarget, cas: CodeSigningCas, artifact: str
    ) -> tuple[str, Any, Any]: ...
class CatalogSyncer(Protocol):
    """The catalog's sync engine (``access.CatalogSync``), set once running."""

    async def sync_instance(self, key: InstanceKey) -> dict[str, Any]: ...

    def schedule(self, key: InstanceKey) -> Any: ...

    def syncing(self, key: InstanceKey) -> list[str]: ...



class Resolver(Protocol):
    """Resolves what graphs and templates name (``access.ReferenceResolver``), once running."""

    def schedule(self, key: ResourceKey) -> None: ...

    def endpoint_changed(self, key: RegistryEndpointKey) -> None: ...

    async def resolve_now(self, key: ResourceKey) -> None: ...

    async def connector_metadata(self, target: EndpointTarget, ref: str) -> dict[str, Any]: ...

# 2025-10-01, 2026-03-01 and 2026-07-01 share one registry endpoint shape.
SUPPORTED_API_VERSIONS = ("2025-10-01", "2026-03-01", "2026-07-01")
# Microsoft.ContainerRegistry/registries: the versions azure-mgmt-containerregistry and the
# Azure portal use for the registry listing.
REGISTRY_API_VERSIONS = ("2019-05-01", "2021-09-01", "2023-07-01", "2025-04-01")


@dataclass
class ApiContext:
    instances: InstanceService
    endpoints: RegistryEndpointService
    arm_verifier: TokenVerifier
    issuer: LocalIssuer | None
    authorizer: Authorizer  # every route's RBAC check (api.arm)
    synced_secrets: SyncedSecretService | None = None
    kv_secrets: KeyVaultSecretService | None = None
    pull_secrets: PullSecretResolver | None = None
    health: HealthService | None = None
    connection_settings: ConnectionSettingsService | None = None
    registries: ContainerRegistryService | None = None
    roles: RoleAssignmentService | None = None
    monitor: EndpointMonitor | None = None
    config_maps: ConfigMapService | None = None
    code_signing: CodeSigningCaService | None = None
    signatures: ArtifactChecker | None = None
    catalog: CatalogService | None = None
    catalog_sync: CatalogSyncer | None = None
    # dataflowProfiles, dataflowGraphs, akriConnectorTemplates: by path segment
    resources: dict[str, ResourceService] = field(default_factory=dict)
    resolver: Resolver | None = None
    max_body_bytes: int = 256 * 1024
    inline_reads: bool = False  # SQLite: reads are cheaper than a thread hop
