"""Persistence: SQLAlchemy Core tables, Alembic migrations and the :class:`Store`."""

from __future__ import annotations

from .store import Row, Store, StoreConflict

__all__ = ["Row", "Store", "StoreConflict"]
