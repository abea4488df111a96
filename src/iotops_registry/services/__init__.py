"""Use cases. The only layer that combines the store with domain rules."""

from __future__ import annotations

from .code_signing import CaProblem, CaSource, CodeSigningCas, CodeSigningCaService
from .common import Page, Preconditions, WriteResult
from .config_maps import ConfigMapService
from .connection_settings import ConnectionSettingsService
from .endpoints import EndpointTarget, RegistryEndpointService, endpoint_not_found
from .health import HealthRecord, HealthService
from .instance_resources import (
    RESOURCE_KINDS,
    Outcome,
    ResolutionInput,
    ResourceService,
    UsageService,
)
from .instances import InstanceService
from .ports import SecretSource
from .pull_secrets import PullSecretError, PullSecretResolver, ResolvedCredential
from .registries import ContainerRegistryService
from .role_assignments import RoleAssignmentService
from .synced_secrets import KeyVaultSecretService, SyncedSecretService

__all__ = [
    "RESOURCE_KINDS",
    "CaProblem",
    "CaSource",
    "CodeSigningCaService",
    "CodeSigningCas",
    "ConfigMapService",
    "ConnectionSettingsService",
    "ContainerRegistryService",
    "EndpointTarget",
    "HealthRecord",
    "HealthService",
    "InstanceService",
    "KeyVaultSecretService",
    "Outcome",
    "Page",
    "Preconditions",
    "PullSecretError",
    "PullSecretResolver",
    "RegistryEndpointService",
    "ResolutionInput",
    "ResolvedCredential",
    "ResourceService",
    "RoleAssignmentService",
    "SecretSource",
    "SyncedSecretService",
    "UsageService",
    "WriteResult",
    "endpoint_not_found",
]
