"""A managed identity as clients see it: ids, tenant and its Azure resource id.

The shapes follow Azure: ``az identity create`` prints ``clientId``, ``principalId`` and
``tenantId``; a token for the identity names its resource id in ``xms_mirid``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["SYSTEM_ASSIGNED", "USER_ASSIGNED", "ManagedIdentity"]

SYSTEM_ASSIGNED = "SystemAssigned"
USER_ASSIGNED = "UserAssigned"


@dataclass(frozen=True)
class ManagedIdentity:
    kind: str  # "system" | "user", as stored
    name: str
    client_id: str
    principal_id: str
    tenant_id: str
    resource_id: str

    @property
    def is_system(self) -> bool:
        return self.kind == "system"

    @property
    def label(self) -> str:
        """How messages name it: its name, or "the system-assigned identity"."""
        return "the system-assigned identity" if self.is_system else f"'{self.name}'"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": SYSTEM_ASSIGNED if self.is_system else USER_ASSIGNED,
            "id": self.resource_id,
            "clientId": self.client_id,
            "principalId": self.principal_id,
            "tenantId": self.tenant_id,
        }
