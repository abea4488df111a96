"""The registry endpoint domain: wire models, validation rules and resource ids. No I/O."""

from __future__ import annotations

from .models import (
    AUTH_METHODS,
    SETTINGS_KEY,
    InstanceBody,
    InstancePatchBody,
    RegistryEndpointBody,
    parse_model,
)
from .resource_id import (
    INSTANCE_TYPE,
    PROVIDER,
    REGISTRY_ENDPOINT_TYPE,
    InstanceKey,
    RegistryEndpointKey,
)

__all__ = [
    "AUTH_METHODS",
    "INSTANCE_TYPE",
    "PROVIDER",
    "REGISTRY_ENDPOINT_TYPE",
    "SETTINGS_KEY",
    "InstanceBody",
    "InstanceKey",
    "InstancePatchBody",
    "RegistryEndpointBody",
    "RegistryEndpointKey",
    "parse_model",
]
