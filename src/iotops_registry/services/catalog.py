"""The catalog's use cases: queries (filters, search, sort, paging, facet counts), one
entry with its versions, each endpoint's sync state, and the writes of the sync engine
(``access.CatalogSync``). Documents are rendered as ARM-style resources under the instance:
``…/instances/{i}/catalog/{graphs|modules|connectors}/{name}``."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..catalog import CatalogQuery, search_terms, skip_token
from ..domain import InstanceKey
from ..errors import NotFoundError
from ..store import Store
from ..store.catalog_store import CatalogStore, NewEntry
from .instances import instance_not_found

__all__ = ["COLLECTIONS", "CatalogPage", "CatalogService", "NewEntry"]

# kind -> the collection's path segment (and back)
COLLECTIONS = {"graph": "graphs", "module": "modules", "connector": "connectors"}
_FACETS_OF = {
    "graph": ("endpoint", "operationType", "module", "vendor", "signature"),
    "module": ("endpoint", "signature"),
    "connector": ("endpoint", "endpointType", "architecture", "vendor", "signature"),
}


class CatalogPage(dict[str, Any]):
    """``{"value": [...], "count": N, "nextSkipToken": ...}`` (the API adds ``nextLink``)."""


def _parse_time(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


class CatalogService:
    def __init__(self, store: Store, *, stale_after: float = 900.0) -> None:
        self._store = store
        self._catalog = CatalogStore(store)
        self.stale_after = stale_after  # seconds; the status marks older syncs stale

    # --- instances and endpoints ---------------------------------------------------------

    def instance(self, key: InstanceKey) -> tuple[int, dict[str, Any]]:
        with self._store.read() as r:
            row = r.get_instance(key.sub_key, key.rg_key, key.instance)
        if row is None:
            raise instance_not_found(key)
        return row.pk, json.loads(row.document)

    def endpoint_names(self, key: InstanceKey) -> list[str]:
        pk, _ = self.instance(key)
        with self._store.read() as r:
            return [row.name for row in r.list_endpoints(pk, None, 10_000)]

    def instance_keys(self) -> list[InstanceKey]:
        with self._store.read() as r:
            ids = r.all_endpoint_ids()
        return sorted({InstanceKey(s, g, i) for s, g, i, _ in ids},
                      key=lambda k: (k.subscription, k.rg_key, k.instance))

    # --- the sync engine's reads and writes ------------------------------------------------

    def known(self, key: InstanceKey, endpoint: str) -> dict[tuple[str, str], str]:
        pk, _ = self.instance(key)
        return self._catalog.known(pk, endpoint)

    def apply(self, key: InstanceKey, endpoint: str, repositories: Iterable[str] | None,
              upserts: Sequence[NewEntry], removed: Iterable[tuple[str, str]]) -> None:
        pk, _ = self.instance(key)
        self._catalog.apply(pk, endpoint, repositories, upserts, removed)

    def set_state(self, key: InstanceKey, endpoint: str, state: dict[str, Any]) -> None:
        pk, _ = self.instance(key)
        self._catalog.set_state(pk, endpoint, state)

    def forget_missing_endpoints(self, key: InstanceKey) -> None:
        pk, _ = self.instance(key)
        self._catalog.forget(pk, self.endpoint_names(key))

    # --- queries ---------------------------------------------------------------------------

    def query(self, key: InstanceKey, kind: str, params: Mapping[str, str], *,
              facets: bool = False) -> CatalogPage:
        pk, doc = self.instance(key)
        version = (doc.get("properties") or {}).get("version")
        q = CatalogQuery.parse(kind, params, instance_version=version)
        terms = search_terms(q.search)
        rows, total = self._catalog.query(pk, q, terms)
        users: dict[str, list[str]] = {}
        if kind == "module" and rows:
            refs = [ref for r in rows for ref in json.loads(r.document).get("references", [])]
            users = self._catalog.users_of(pk, refs)
        value = [self._render(key, r.pk, r.kind, r.is_latest, r.document, users) for r in rows]
        page = CatalogPage(value=value, count=total)
        if q.offset + len(rows) < total:
            page["nextSkipToken"] = skip_token(q.offset + len(rows))
        if facets:
            page["facets"] = self._catalog.facet_counts(pk, q, terms, _FACETS_OF[kind])
        return page

    def get(self, key: InstanceKey, kind: str, name: str) -> dict[str, Any]:
        pk, _ = self.instance(key)
        row = self._catalog.get(pk, kind, int(name)) if name.isdigit() else None
        if row is None:
            raise NotFoundError(
                f"The {kind} '{name}' is not in the catalog of instance '{key.instance}' (it "
                "may have been removed from its registry since the last sync).",
                code="ResourceNotFound")
        doc = json.loads(row.document)
        users: dict[str, list[str]] = {}
        if kind == "module":
            users = self._catalog.users_of(pk, doc.get("references", []))
        rendered = self._render(key, row.pk, row.kind, row.is_latest, row.document, users)
        rendered["properties"]["versions"] = [
            {"name": str(v_pk), "tag": tag, "version": version, "digest": digest,
             "latest": latest}
            for v_pk, tag, version, digest, latest in self._catalog.versions(
                pk, doc["endpoint"], doc["repository"], kind)
        ]
        return rendered

    @staticmethod
    def _render(key: InstanceKey, pk: int, kind: str, latest: bool, document: str,
                users: Mapping[str, list[str]]) -> dict[str, Any]:
        props = json.loads(document)
        props["latest"] = latest
        if kind == "module":
            props["usedBy"] = sorted({g for ref in props.get("references", [])
                                      for g in users.get(ref, [])})
        collection = COLLECTIONS[kind]
        return {
            "id": f"{key.id}/catalog/{collection}/{pk}",
            "name": str(pk),
            "type": f"Microsoft.IoTOperations/instances/catalog/{collection}",
            "properties": props,
        }

    def status(self, key: InstanceKey, syncing: Iterable[str] = ()) -> dict[str, Any]:
        """Every endpoint's sync state: last sync, error, staleness, what it found."""
        pk, _ = self.instance(key)
        states = self._catalog.states(pk)
        now = dt.datetime.now(dt.UTC)
        busy = set(syncing)
        value = []
        for name in self.endpoint_names(key):
            state = dict(states.get(name) or {"state": "NotSynced"})
            last = _parse_time(state.get("lastSuccessTime"))
            state["stale"] = last is None or (now - last).total_seconds() > self.stale_after
            if name in busy:
                state["syncing"] = True
            value.append({"endpoint": name, **state})
        return {"value": value, "staleAfterSeconds": self.stale_after}
