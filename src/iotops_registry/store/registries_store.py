"""Registered container registries, and the registry hosts that endpoints already name."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import delete, insert, select, update

from .schema import container_registries, instances, registry_endpoints
from .store import Store

__all__ = ["ContainerRegistryStore"]

_t = container_registries


class ContainerRegistryStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    def documents(self, subscription: str, rg_key: str | None = None) -> list[dict[str, Any]]:
        q = select(_t.c.document).where(_t.c.subscription_id == subscription)
        if rg_key is not None:
            q = q.where(_t.c.rg_key == rg_key)
        with self.store.read() as tx:
            rows = tx.conn.execute(q.order_by(_t.c.rg_key, _t.c.name_key)).all()
        return [json.loads(r.document) for r in rows]

    def put(self, subscription: str, rg_key: str, name: str, document: dict[str, Any]) -> bool:
        """Create or replace; True if created."""
        key = (_t.c.subscription_id == subscription, _t.c.rg_key == rg_key,
               _t.c.name_key == name.lower())
        text = json.dumps(document, separators=(",", ":"))
        with self.store.write() as tx:
            found = tx.conn.execute(select(_t.c.pk).where(*key)).first()
            if found is None:
                tx.conn.execute(insert(_t).values(
                    subscription_id=subscription, rg_key=rg_key, name_key=name.lower(),
                    document=text))
                return True
            tx.conn.execute(update(_t).where(_t.c.pk == found.pk).values(document=text))
            return False

    def delete(self, subscription: str, rg_key: str, name: str) -> bool:
        with self.store.write() as tx:
            done = tx.conn.execute(delete(_t).where(
                _t.c.subscription_id == subscription, _t.c.rg_key == rg_key,
                _t.c.name_key == name.lower()))
            return bool(done.rowcount)

    def endpoint_hosts(self, subscription: str, limit: int = 1000) -> list[tuple[str, str]]:
        """(resource group key, host) of the subscription's registry endpoints."""
        q = (
            select(instances.c.rg_key, registry_endpoints.c.document)
            .join(instances, instances.c.pk == registry_endpoints.c.instance_pk)
            .where(instances.c.subscription_id == subscription)
            .order_by(registry_endpoints.c.pk)
            .limit(limit)
        )
        with self.store.read() as tx:
            rows = tx.conn.execute(q).all()
        found: list[tuple[str, str]] = []
        for r in rows:
            host = (json.loads(r.document).get("properties") or {}).get("host")
            if isinstance(host, str) and host:
                found.append((r.rg_key, host))
        return found
