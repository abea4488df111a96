"""The registry endpoint domain: wire models, validation rules, resource ids and the
authentication methods. No I/O.

The pydantic wire models load on first use, so that the CLI (which needs the method table,
``domain.auth_methods``, but validates nothing itself) starts without pydantic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .auth_methods import AUTH_METHODS, SETTINGS_KEY
from .resource_id import (
    CONNECTOR_TEMPLATES,
    DATAFLOW_GRAPHS,
    DATAFLOW_PROFILES,
    INSTANCE_TYPE,
    PROVIDER,
    REGISTRY_ENDPOINT_TYPE,
    InstanceKey,
    RegistryEndpointKey,
    ResourceKey,
)

if TYPE_CHECKING:
    from .models import InstanceBody, InstancePatchBody, RegistryEndpointBody, parse_model

__all__ = [
    "AUTH_METHODS",
    "CONNECTOR_TEMPLATES",
    "DATAFLOW_GRAPHS",
    "DATAFLOW_PROFILES",
    "INSTANCE_TYPE",
    "PROVIDER",
    "REGISTRY_ENDPOINT_TYPE",
    "SETTINGS_KEY",
    "InstanceBody",
    "InstanceKey",
    "InstancePatchBody",
    "RegistryEndpointBody",
    "RegistryEndpointKey",
    "ResourceKey",
    "parse_model",
]

_FROM_MODELS = ("InstanceBody", "InstancePatchBody", "RegistryEndpointBody", "parse_model")


def __getattr__(name: str) -> Any:
    if name in _FROM_MODELS:
        from . import models

        return getattr(models, name)
    raise AttributeError(f"module 'iotops_registry.domain' has no attribute {name!r}")
