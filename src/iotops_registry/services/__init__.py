"""Use cases. The only layer that combines the store with domain rules."""

from __future__ import annotations

from .common import Page, Preconditions, WriteResult
from .connection_settings import ConnectionSettingsService
from .endpoints import EndpointTarget, RegistryEndpointService, endpoint_not_found
from .health import HealthRecord, HealthService
from .instances import InstanceService
from .ports import SecretSource
from .pull_secrets import PullSecretError, PullSecretResolver, ResolvedCredential
from .registries import ContainerRegistryService
from .role_assignments import RoleAssignmentService
from .synced_secrets import KeyVaultSecretService, SyncedSecretService

__all__ = [
    "ConnectionSettingsService",
    "ContainerRegistryService",
    "EndpointTarget",
    "HealthRecord",
    "HealthService",
    "InstanceService",
    "KeyVaultSecretService",
    "Page",
    "Preconditions",
    "PullSecretError",
    "PullSecretResolver",
    "RegistryEndpointService",
    "ResolvedCredential",
    "RoleAssignmentService",
    "SecretSource",
    "SyncedSecretService",
    "WriteResult",
    "endpoint_not_found",
]
