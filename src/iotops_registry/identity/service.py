"""Managed identities: one system-assigned identity per deployment, plus user-assigned ones.

Tokens are minted by the server's :class:`LocalIssuer`, so every API that trusts the issuer
(ARM, the vault, the registry token service) accepts them with the right audience. The
claims are those Entra puts in a managed identity's app-only token: ``oid`` (principal id),
``appid``/``azp`` (client id), ``xms_mirid`` (resource id), ``idtyp: app``.
"""

from __future__ import annotations

import contextlib
import re
import time
import uuid
from typing import Any

from ..errors import ConflictError, NotFoundError, ValidationError
from ..security import LocalIssuer, Principal
from ..store import StoreConflict
from ..store.identity_store import IdentityRecord, IdentityStore
from .model import ManagedIdentity

__all__ = ["TOKEN_LIFETIME", "IdentityService"]

TOKEN_LIFETIME = 3600
# Azure's rule for user-assigned identity names.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,127}$")
_RESOURCE_GROUP = "iotops-local"
_CLUSTER = "iotops-local"
_EXTENSION = "azure-iot-operations"


class IdentityService:
    """Create, find and mint tokens for the deployment's managed identities."""

    def __init__(
        self, store: IdentityStore, issuer: LocalIssuer, tenant_id: str, subscription_id: str
    ) -> None:
        self._store = store
        self._issuer = issuer
        self.tenant_id = tenant_id
        self._subscription = subscription_id

    def _identity(self, r: IdentityRecord) -> ManagedIdentity:
        return ManagedIdentity(
            r.kind, r.name, r.client_id, r.principal_id, self.tenant_id, r.resource_id
        )

    def _resource_group(self) -> str:
        return f"/subscriptions/{self._subscription}/resourcegroups/{_RESOURCE_GROUP}"

    # --- the identities ------------------------------------------------------------------

    def ensure_system(self) -> ManagedIdentity:
        """The system-assigned identity, made on first start and kept in the store."""
        existing = self._store.system()
        if existing is not None:
            return self._identity(existing)
        # The Arc extension's identity is IoT Operations' system-assigned identity.
        resource_id = (
            f"{self._resource_group()}/providers/Microsoft.Kubernetes/connectedClusters/"
            f"{_CLUSTER}/providers/Microsoft.KubernetesConfiguration/extensions/{_EXTENSION}"
        )
        record = IdentityRecord(
            "system", _EXTENSION, str(uuid.uuid4()), str(uuid.uuid4()), resource_id,
            int(time.time()),
        )
        with contextlib.suppress(StoreConflict):  # another server on the database won
            self._store.insert(record)
        made = self._store.system()
        assert made is not None
        return self._identity(made)

    def system(self) -> ManagedIdentity:
        found = self._store.system()
        if found is None:
            return self.ensure_system()
        return self._identity(found)

    def create(self, name: str) -> tuple[ManagedIdentity, bool]:
        """A user-assigned identity; ``(identity, False)`` when it exists already."""
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValidationError(
                "The identity name must be 3 to 128 letters, digits, '-' or '_', starting "
                "with a letter or digit.",
                target="name",
            )
        existing = self._store.by_name(name)
        if existing is not None:
            return self._identity(existing), False
        resource_id = (
            f"{self._resource_group()}/providers/Microsoft.ManagedIdentity/"
            f"userAssignedIdentities/{name}"
        )
        record = IdentityRecord(
            "user", name, str(uuid.uuid4()), str(uuid.uuid4()), resource_id, int(time.time())
        )
        try:
            self._store.insert(record)
        except StoreConflict:
            raise ConflictError(f"The identity '{name}' was created concurrently.") from None
        return self._identity(record), True

    def get(self, name: str) -> ManagedIdentity:
        found = self._store.by_name(name)
        if found is None or found.kind != "user":
            raise NotFoundError(f"The user-assigned identity '{name}' was not found.")
        return self._identity(found)

    def list(self) -> list[ManagedIdentity]:
        return [self._identity(r) for r in self._store.list()]

    def delete(self, name: str) -> bool:
        return self._store.delete_user_assigned(name)

    def find(
        self,
        *,
        client_id: str | None = None,
        object_id: str | None = None,
        resource_id: str | None = None,
    ) -> ManagedIdentity | None:
        """The identity an IMDS request selects: by one id, or the system one by default."""
        if client_id:
            r = self._store.by_client_id(client_id)
        elif object_id:
            r = self._store.by_principal_id(object_id)
        elif resource_id:
            r = self._store.by_resource_id(resource_id)
        else:
            return self.system()
        return self._identity(r) if r else None

    # --- tokens ---------------------------------------------------------------------------

    def token(
        self, identity: ManagedIdentity, resource: str, lifetime: int = TOKEN_LIFETIME
    ) -> dict[str, Any]:
        """The IMDS answer: an access token for ``resource`` (its audience, kept as given)."""
        principal = Principal(
            identity.principal_id,
            self.tenant_id,
            identity.client_id,
            "ManagedIdentity",
            {"xms_mirid": identity.resource_id},
        )
        now = int(time.time())
        token = self._issuer.mint(resource, principal=principal, lifetime=lifetime)
        return {
            "access_token": token,
            "refresh_token": "",
            "expires_in": str(lifetime),
            "expires_on": str(now + lifetime),
            "ext_expires_in": str(lifetime),
            "not_before": str(now),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": identity.client_id,
        }
