"""Use cases. The only layer that combines the store with domain rules."""

from __future__ import annotations

from .common import Page, Preconditions, WriteResult
from .endpoints import RegistryEndpointService
from .instances import InstanceService

__all__ = [
    "InstanceService",
    "Page",
    "Preconditions",
    "RegistryEndpointService",
    "WriteResult",
]
