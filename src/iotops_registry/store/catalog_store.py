"""The catalog index: entries (one per tag an endpoint's registry has), their facets and each
endpoint's sync state. Filters compile to ``IN`` subqueries on the facet index; free text
to FTS5 ``MATCH`` on SQLite and ``@@ to_tsquery('simple', …)`` on PostgreSQL. The store
knows nothing of registries or of the query syntax: it takes plain values."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import and_, delete, func, insert, select, text, update
from sqlalchemy.sql import Select

from .schema import catalog_entries, catalog_facets, catalog_sync
from .store import Store

__all__ = ["CatalogFilter", "CatalogRow", "CatalogStore", "NewEntry"]

_t = catalog_entries
_f = catalog_facets


class CatalogFilter(Protocol):
    """What a query asks (``catalog.CatalogQuery`` has these attributes)."""

    @property
    def kind(self) -> str: ...
    @property
    def filters(self) -> dict[str, str]: ...
    @property
    def latest(self) -> bool: ...
    @property
    def runtime(self) -> str | None: ...
    @property
    def repository(self) -> str | None: ...
    @property
    def stripped(self) -> bool | None: ...
    @property
    def sort(self) -> str: ...
    @property
    def descending(self) -> bool: ...
    @property
    def top(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def versions(self) -> Any: ...  # low, high, low_inclusive (or None)


@dataclass
class NewEntry:
    endpoint: str
    repository: str
    tag: str
    digest: str
    kind: str
    name: str
    version: str
    version_key: str
    runtime_key: str | None
    pushed_at: str
    stripped: bool
    search_text: str
    document: dict[str, Any]
    facets: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class CatalogRow:
    pk: int
    kind: str
    is_latest: bool
    document: str  # the properties, JSON text


def _match(terms: Sequence[str], dialect: str) -> str:
    if dialect == "postgresql":
        return " & ".join(f"{t}:*" for t in terms)
    return " AND ".join(f'"{t}"*' for t in terms)


class CatalogStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    # --- sync ------------------------------------------------------------------------------

    def known(self, instance_pk: int, endpoint: str) -> dict[tuple[str, str], str]:
        """(repository, tag) -> digest of what the last sync saw."""
        q = select(_t.c.repository, _t.c.tag, _t.c.digest).where(
            _t.c.instance_pk == instance_pk, _t.c.endpoint == endpoint)
        with self.store.read() as tx:
            return {(r.repository, r.tag): r.digest for r in tx.conn.execute(q)}

    def apply(self, instance_pk: int, endpoint: str, repositories: Iterable[str] | None,
              upserts: Sequence[NewEntry], removed: Iterable[tuple[str, str]]) -> None:
        """Write one endpoint's sync: drop repositories no longer listed (``repositories``:
        every repository synced; None keeps them all), removed tags, upsert changed tags, and
        recompute which tag is the latest version in each touched repository."""
        mine = and_(_t.c.instance_pk == instance_pk, _t.c.endpoint == endpoint)
        touched = {e.repository for e in upserts}
        with self.store.write() as tx:
            conn = tx.conn
            if repositories is not None:
                keep = set(repositories)
                gone = [r.repository for r in conn.execute(
                    select(_t.c.repository).where(mine).distinct()) if r.repository not in keep]
                for part in _chunks(gone, 500):
                    conn.execute(delete(_t).where(mine, _t.c.repository.in_(part)))
            for repository, tag in removed:
                conn.execute(delete(_t).where(mine, _t.c.repository == repository, _t.c.tag == tag))
                touched.add(repository)
            for e in upserts:
                values = {
                    "digest": e.digest, "kind": e.kind, "name": e.name, "version": e.version,
                    "version_key": e.version_key, "runtime_key": e.runtime_key,
                    "pushed_at": e.pushed_at, "stripped": e.stripped,
                    "search_text": e.search_text,
                    "document": json.dumps(e.document, separators=(",", ":")),
                }
                found = conn.execute(select(_t.c.pk).where(
                    mine, _t.c.repository == e.repository, _t.c.tag == e.tag)).first()
                if found is None:
                    pk = conn.execute(insert(_t).values(
                        instance_pk=instance_pk, endpoint=endpoint, repository=e.repository,
                        tag=e.tag, is_latest=False, **values)).inserted_primary_key
                    assert pk is not None
                    pk = pk[0]
                else:
                    pk = found.pk
                    conn.execute(update(_t).where(_t.c.pk == pk).values(**values))
                    conn.execute(delete(_f).where(_f.c.entry_pk == pk))
                rows = [{"entry_pk": pk, "facet": facet, "value": value[:256]}
                        for facet, values_ in e.facets.items() for value in set(values_) if value]
                if rows:
                    conn.execute(insert(_f), rows)
            for names in _chunks(sorted(touched), 200):
                self._relatest(conn, mine, names)

    @staticmethod
    def _relatest(conn: Any, mine: Any, repositories: list[str]) -> None:
        rows = conn.execute(select(_t.c.pk, _t.c.repository, _t.c.kind, _t.c.version_key,
                                   _t.c.is_latest).where(mine,
                                                         _t.c.repository.in_(repositories))).all()
        best: dict[tuple[str, str], tuple[str, int]] = {}
        for r in rows:
            key = (r.repository, r.kind)
            if key not in best or (r.version_key, -r.pk) > best[key]:
                best[key] = (r.version_key, -r.pk)
        winners = {-pk for _, pk in best.values()}
        for r in rows:
            want = r.pk in winners
            if bool(r.is_latest) != want:
                conn.execute(update(_t).where(_t.c.pk == r.pk).values(is_latest=want))

    def set_state(self, instance_pk: int, endpoint: str, document: dict[str, Any]) -> None:
        doc = json.dumps(document, separators=(",", ":"))
        key = (catalog_sync.c.instance_pk == instance_pk, catalog_sync.c.endpoint == endpoint)
        with self.store.write() as tx:
            if tx.conn.execute(select(catalog_sync.c.endpoint).where(*key)).first() is None:
                tx.conn.execute(insert(catalog_sync).values(
                    instance_pk=instance_pk, endpoint=endpoint, document=doc))
            else:
                tx.conn.execute(update(catalog_sync).where(*key).values(document=doc))

    def states(self, instance_pk: int) -> dict[str, dict[str, Any]]:
        q = select(catalog_sync.c.endpoint, catalog_sync.c.document).where(
            catalog_sync.c.instance_pk == instance_pk)
        with self.store.read() as tx:
            return {r.endpoint: json.loads(r.document) for r in tx.conn.execute(q)}

    def forget(self, instance_pk: int, endpoints_kept: Iterable[str]) -> None:
        """Drop entries and states of endpoints that no longer exist."""
        keep = list(endpoints_kept)
        with self.store.write() as tx:
            for table in (_t, catalog_sync):
                tx.conn.execute(delete(table).where(table.c.instance_pk == instance_pk,
                                                    table.c.endpoint.not_in(keep)))

    # --- queries ---------------------------------------------------------------------------

    def _where(self, instance_pk: int, q: CatalogFilter, terms: Sequence[str],
               skip_facet: str | None = None) -> Select[Any]:
        s = select(_t.c.pk).where(_t.c.instance_pk == instance_pk, _t.c.kind == q.kind)
        for facet, value in q.filters.items():
            if facet == skip_facet:
                continue
            s = s.where(_t.c.pk.in_(select(_f.c.entry_pk).where(_f.c.facet == facet,
                                                                _f.c.value == value)))
        if q.latest:
            s = s.where(_t.c.is_latest.is_(True))
        versions = q.versions
        if versions is not None:
            if versions.low is not None:
                s = s.where(_t.c.version_key >= versions.low if versions.low_inclusive
                            else _t.c.version_key > versions.low)
            if versions.high is not None:
                s = s.where(_t.c.version_key < versions.high)
        if q.runtime is not None:
            s = s.where(_t.c.runtime_key.is_not(None), _t.c.runtime_key <= q.runtime)
        if q.repository is not None:
            s = s.where(_t.c.repository == q.repository)
        if q.stripped is not None:
            s = s.where(_t.c.stripped.is_(q.stripped))
        if terms:
            match = _match(terms, self.store.dialect)
            if self.store.dialect == "postgresql":
                s = s.where(text("catalog_entries.search @@ to_tsquery('simple', :m)")
                            .bindparams(m=match))
            else:
                s = s.where(_t.c.pk.in_(text("SELECT rowid FROM catalog_fts WHERE catalog_fts "
                                             "MATCH :m").bindparams(m=match)))
        return s

    def query(self, instance_pk: int, q: CatalogFilter, terms: Sequence[str]
              ) -> tuple[list[CatalogRow], int]:
        """One page of matching entries and the total count."""
        ids = self._where(instance_pk, q, terms).subquery()
        order = {"name": [_t.c.name, _t.c.version_key], "semver": [_t.c.version_key, _t.c.name],
                 "lastPushed": [_t.c.pushed_at, _t.c.name]}[q.sort]
        columns = [c.desc() if q.descending else c.asc() for c in order]
        page = (select(_t.c.pk, _t.c.kind, _t.c.is_latest, _t.c.document)
                .where(_t.c.pk.in_(select(ids.c.pk)))
                .order_by(*columns, _t.c.endpoint, _t.c.repository, _t.c.tag)
                .limit(q.top).offset(q.offset))
        with self.store.read() as tx:
            total = tx.conn.execute(select(func.count()).select_from(ids)).scalar_one()
            rows = [CatalogRow(r.pk, r.kind, bool(r.is_latest), r.document)
                    for r in tx.conn.execute(page)]
        return rows, int(total)

    def facet_counts(self, instance_pk: int, q: CatalogFilter, terms: Sequence[str],
                     facets: Iterable[str]) -> dict[str, dict[str, int]]:
        """For each facet, how many matching entries have each value (a facet's own filter
        is left out, so its other values stay visible as chips)."""
        out: dict[str, dict[str, int]] = {}
        with self.store.read() as tx:
            for facet in facets:
                ids = self._where(instance_pk, q, terms, skip_facet=facet).subquery()
                rows = tx.conn.execute(
                    select(_f.c.value, func.count()).where(
                        _f.c.facet == facet, _f.c.entry_pk.in_(select(ids.c.pk)))
                    .group_by(_f.c.value).order_by(_f.c.value))
                out[facet] = {r[0]: int(r[1]) for r in rows}
        return out

    def get(self, instance_pk: int, kind: str, pk: int) -> CatalogRow | None:
        q = select(_t.c.pk, _t.c.kind, _t.c.is_latest, _t.c.document).where(
            _t.c.instance_pk == instance_pk, _t.c.kind == kind, _t.c.pk == pk)
        with self.store.read() as tx:
            r = tx.conn.execute(q).first()
        return CatalogRow(r.pk, r.kind, bool(r.is_latest), r.document) if r else None

    def versions(self, instance_pk: int, endpoint: str, repository: str, kind: str
                 ) -> list[tuple[int, str, str, str, bool]]:
        """(pk, tag, version, digest, latest) of every tag of one repository, newest first."""
        q = (select(_t.c.pk, _t.c.tag, _t.c.version, _t.c.digest, _t.c.is_latest)
             .where(_t.c.instance_pk == instance_pk, _t.c.endpoint == endpoint,
                    _t.c.repository == repository, _t.c.kind == kind)
             .order_by(_t.c.version_key.desc(), _t.c.tag))
        with self.store.read() as tx:
            return [(r.pk, r.tag, r.version, r.digest, bool(r.is_latest))
                    for r in tx.conn.execute(q)]

    def users_of(self, instance_pk: int, modules: Sequence[str]) -> dict[str, list[str]]:
        """module facet value -> the ``repository:tag`` of each graph that uses it."""
        if not modules:
            return {}
        q = (select(_f.c.value, _t.c.repository, _t.c.tag)
             .join(_t, _t.c.pk == _f.c.entry_pk)
             .where(_t.c.instance_pk == instance_pk, _t.c.kind == "graph",
                    _f.c.facet == "module", _f.c.value.in_(list(modules))))
        out: dict[str, list[str]] = {}
        with self.store.read() as tx:
            for r in tx.conn.execute(q):
                out.setdefault(r.value, []).append(f"{r.repository}:{r.tag}")
        return {k: sorted(set(v)) for k, v in out.items()}


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]
