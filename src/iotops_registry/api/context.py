"""Everything a request handler may use, wired once by the server."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from ..domain import RegistryEndpointKey
from ..security import Authorizer, LocalIssuer, TokenVerifier
from ..services import (
    ContainerRegistryService,
    EndpointTarget,
    InstanceService,
    KeyVaultSecretService,
    PullSecretResolver,
    RegistryEndpointService,
    RoleAssignmentService,
    SyncedSecretService,
)
from ..services.connection_settings import ConnectionSettingsService
from ..services.health import HealthService

__all__ = ["REGISTRY_API_VERSIONS", "SUPPORTED_API_VERSIONS", "ApiContext", "EndpointMonitor"]


class EndpointMonitor(Protocol):
    """Connection tests and health checks (``access.HealthMonitor``), set once running."""

    async def test(
        self, target: EndpointTarget, repository: str | None = None
    ) -> dict[str, Any]: ...

    def schedule(self, key: RegistryEndpointKey) -> None: ...

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
    max_body_bytes: int = 256 * 1024
    inline_reads: bool = False  # SQLite: reads are cheaper than a thread hop
