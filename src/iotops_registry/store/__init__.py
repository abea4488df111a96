"""Persistence: SQLAlchemy Core tables, Alembic migrations and the :class:`Store`."""

from __future__ import annotations

from .store import EndpointState, ResourceRow, Row, Store, StoreConflict
from .vault_store import SealedValue, SecretRecord, VaultStore, VersionAttributes

__all__ = [
    "EndpointState",
    "ResourceRow",
    "Row",
    "SealedValue",
    "SecretRecord",
    "Store",
    "StoreConflict",
    "VaultStore",
    "VersionAttributes",
]
