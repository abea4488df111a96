"""The resource store: SQLAlchemy Core over SQLite (default) or PostgreSQL.

The store keeps each resource as the JSON document the API serves, plus the columns needed
to find and guard it. It knows nothing of HTTP or ARM semantics: callers decide what to
write; the store makes each write atomic and durable.

Write transactions are serialised per instance: SQLite takes its write lock up front
(``BEGIN IMMEDIATE``); PostgreSQL locks the parent instance row (``SELECT ... FOR UPDATE``).
SQLite runs in WAL mode with ``synchronous=FULL``, so an acknowledged write survives a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import (
    Connection,
    Engine,
    Select,
    Table,
    bindparam,
    create_engine,
    delete,
    event,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError

from ..errors import ConfigurationError, StoreConflict
from .schema import (
    config_maps,
    instance_resources,
    instances,
    registry_endpoints,
    resource_groups,
    synced_secrets,
)

__all__ = ["EndpointState", "ResourceRow", "Row", "Store", "StoreConflict"]

_MIGRATIONS = Path(__file__).parent / "migrations"
_PG_MIGRATION_LOCK = 7_204_117_001


@dataclass(frozen=True)
class Row:
    pk: int
    name: str
    etag: str
    document: str


@dataclass(frozen=True)
class ResourceRow:
    """A row of ``instance_resources``: a profile, graph or connector template."""

    pk: int
    kind: str
    parent: str
    name: str
    etag: str
    document: str
    endpoint_refs: str
    resolution: str | None


@dataclass(frozen=True)
class EndpointState:
    """An endpoint with what the connection checks need and keep."""

    pk: int
    etag: str
    document: str
    connection_settings: str | None
    health_message: str | None
    health_transition_at: str | None
    health_checked_at: str | None
    health_report: str | None


_GET_ENDPOINT = (
    select(
        registry_endpoints.c.pk,
        registry_endpoints.c.name,
        registry_endpoints.c.etag,
        registry_endpoints.c.document,
    )
    .join(instances, instances.c.pk == registry_endpoints.c.instance_pk)
    .where(
        instances.c.subscription_id == bindparam("sub"),
        instances.c.rg_key == bindparam("rg"),
        instances.c.name == bindparam("inst"),
        registry_endpoints.c.name == bindparam("name"),
    )
)


_GET_ENDPOINT_SQL = (
    "SELECT e.pk, e.name, e.etag, e.document FROM registry_endpoints AS e "
    "JOIN instances AS i ON i.pk = e.instance_pk "
    "WHERE i.subscription_id = ? AND i.rg_key = ? AND i.name = ? AND e.name = ?"
)
_GET_ENDPOINT_PG = _GET_ENDPOINT_SQL.replace("?", "%s")
_PG_IDLE = 16  # async connections kept per event loop for the hot read (PostgreSQL)


def _docs(table: Table) -> Select[Any]:
    """The columns every resource table shares: key, name, ETag and the served document."""
    return select(table.c.pk, table.c.name, table.c.etag, table.c.document)


def _child(table: Table, instance_pk: int, name: str) -> Select[Any]:
    return _docs(table).where(table.c.instance_pk == instance_pk, table.c.name == name)


def _children(table: Table, instance_pk: int, after: str | None, limit: int) -> Select[Any]:
    """One keyset page of an instance's children, by name."""
    q = _docs(table).where(table.c.instance_pk == instance_pk)
    if after is not None:
        q = q.where(table.c.name > after)
    return q.order_by(table.c.name).limit(limit)


def _instance_query(sub: str, rg_key: str, name: str) -> Select[Any]:
    return _docs(instances).where(
        instances.c.subscription_id == sub,
        instances.c.rg_key == rg_key,
        instances.c.name == name,
    )


class _Reader:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def _one(self, q: Select[Any]) -> Row | None:
        r = self.conn.execute(q).first()
        return Row(r.pk, r.name, r.etag, r.document) if r else None

    def _many(self, q: Select[Any]) -> list[Row]:
        return [Row(r.pk, r.name, r.etag, r.document) for r in self.conn.execute(q)]

    def get_instance(self, sub: str, rg_key: str, name: str) -> Row | None:
        return self._one(_instance_query(sub, rg_key, name))

    def list_instances(
        self, sub: str, rg_key: str | None, after: tuple[str, str] | None, limit: int
    ) -> list[Row]:
        q = select(
            instances.c.pk,
            instances.c.rg_key,
            instances.c.name,
            instances.c.etag,
            instances.c.document,
        ).where(instances.c.subscription_id == sub)
        if rg_key is not None:
            q = q.where(instances.c.rg_key == rg_key)
        if after is not None:
            q = q.where(
                (instances.c.rg_key > after[0])
                | ((instances.c.rg_key == after[0]) & (instances.c.name > after[1]))
            )
        q = q.order_by(instances.c.rg_key, instances.c.name).limit(limit)
        return [Row(r.pk, f"{r.rg_key}/{r.name}", r.etag, r.document) for r in self.conn.execute(q)]

    def get_endpoint(self, sub: str, rg_key: str, instance: str, name: str) -> Row | None:
        # The hottest query: built once, executed with bound parameters.
        r = self.conn.execute(
            _GET_ENDPOINT, {"sub": sub, "rg": rg_key, "inst": instance, "name": name}
        ).first()
        return Row(r.pk, r.name, r.etag, r.document) if r else None

    def list_endpoints(self, instance_pk: int, after: str | None, limit: int) -> list[Row]:
        return self._many(_children(registry_endpoints, instance_pk, after, limit))

    def endpoints_using_secret(self, instance_pk: int, secret_ref: str) -> list[str]:
        q = (
            select(registry_endpoints.c.name)
            .where(
                registry_endpoints.c.instance_pk == instance_pk,
                registry_endpoints.c.secret_ref == secret_ref,
            )
            .order_by(registry_endpoints.c.name)
        )
        return [r.name for r in self.conn.execute(q)]

    def synced_secret(self, instance_pk: int, name: str) -> Row | None:
        return self._one(_child(synced_secrets, instance_pk, name))

    def list_synced_secrets(self, instance_pk: int, after: str | None, limit: int) -> list[Row]:
        return self._many(_children(synced_secrets, instance_pk, after, limit))

    def config_map(self, instance_pk: int, name: str) -> Row | None:
        return self._one(_child(config_maps, instance_pk, name))

    def config_maps_named(self, instance_pk: int, names: list[str]) -> list[Row]:
        if not names:
            return []
        q = _docs(config_maps).where(
            config_maps.c.instance_pk == instance_pk, config_maps.c.name.in_(names)
        )
        return self._many(q)

    def list_config_maps(self, instance_pk: int, after: str | None, limit: int) -> list[Row]:
        return self._many(_children(config_maps, instance_pk, after, limit))

    def endpoint_state(
        self, sub: str, rg_key: str, instance: str, name: str
    ) -> EndpointState | None:
        return self._endpoint_state(sub, rg_key, instance, name, lock=False)

    def _endpoint_state(
        self, sub: str, rg_key: str, instance: str, name: str, *, lock: bool
    ) -> EndpointState | None:
        e = registry_endpoints.c
        q = (
            select(
                e.pk,
                e.etag,
                e.document,
                e.connection_settings,
                e.health_message,
                e.health_transition_at,
                e.health_checked_at,
                e.health_report,
            )
            .join(instances, instances.c.pk == e.instance_pk)
            .where(
                instances.c.subscription_id == sub,
                instances.c.rg_key == rg_key,
                instances.c.name == instance,
                e.name == name,
            )
        )
        if lock and self.conn.dialect.name == "postgresql":
            # Only the endpoint's row: health and settings writers must not queue behind
            # (or block) the instance's configuration writers for longer than one row.
            q = q.with_for_update(of=registry_endpoints)
        r = self.conn.execute(q).first()
        if r is None:
            return None
        return EndpointState(
            r.pk,
            r.etag,
            r.document,
            r.connection_settings,
            r.health_message,
            r.health_transition_at,
            r.health_checked_at,
            r.health_report,
        )

    def health_by_name(
        self, sub: str, rg_key: str, instance: str, names: list[str]
    ) -> dict[str, tuple[str | None, str | None, str | None]]:
        """name -> (message, lastTransitionTime, lastCheckedTime), for ``$expand``."""
        if not names:
            return {}
        e = registry_endpoints.c
        q = (
            select(e.name, e.health_message, e.health_transition_at, e.health_checked_at)
            .join(instances, instances.c.pk == e.instance_pk)
            .where(
                instances.c.subscription_id == sub,
                instances.c.rg_key == rg_key,
                instances.c.name == instance,
                e.name.in_(names),
            )
        )
        return {
            r.name: (r.health_message, r.health_transition_at, r.health_checked_at)
            for r in self.conn.execute(q)
        }

    def all_endpoint_ids(self) -> list[tuple[str, str, str, str]]:
        """(subscription, rg key, instance, endpoint name) of every endpoint."""
        q = (
            select(
                instances.c.subscription_id,
                instances.c.rg_key,
                instances.c.name,
                registry_endpoints.c.name.label("endpoint"),
            )
            .join(instances, instances.c.pk == registry_endpoints.c.instance_pk)
            .order_by(registry_endpoints.c.pk)
        )
        return [(r.subscription_id, r.rg_key, r.name, r.endpoint) for r in self.conn.execute(q)]

    def endpoint_in_instance(self, instance_pk: int, name: str) -> Row | None:
        return self._one(_child(registry_endpoints, instance_pk, name))

    # --- dataflow profiles, graphs, connector templates --------------------------------

    def _resources(self, q: Select[Any]) -> list[ResourceRow]:
        return [
            ResourceRow(r.pk, r.kind, r.parent, r.name, r.etag, r.document, r.endpoint_refs,
                        r.resolution)
            for r in self.conn.execute(q)
        ]

    def resource(self, instance_pk: int, kind: str, parent: str, name: str) -> ResourceRow | None:
        r = instance_resources.c
        rows = self._resources(
            select(instance_resources).where(
                r.instance_pk == instance_pk, r.kind == kind, r.parent == parent, r.name == name
            )
        )
        return rows[0] if rows else None

    def list_resources(
        self, instance_pk: int, kind: str, parent: str, after: str | None, limit: int
    ) -> list[ResourceRow]:
        r = instance_resources.c
        q = select(instance_resources).where(
            r.instance_pk == instance_pk, r.kind == kind, r.parent == parent
        )
        if after is not None:
            q = q.where(r.name > after)
        return self._resources(q.order_by(r.name).limit(limit))

    def resources_naming_endpoint(self, instance_pk: int, endpoint: str) -> list[ResourceRow]:
        """The instance's resources whose ``endpoint_refs`` name ``endpoint``."""
        r = instance_resources.c
        q = select(instance_resources).where(
            r.instance_pk == instance_pk, r.endpoint_refs.contains(f'"{endpoint}"')
        )
        found = self._resources(q.order_by(r.kind, r.parent, r.name))
        return [row for row in found if endpoint in json.loads(row.endpoint_refs)]

    def instance_resource_keys(
        self, state: str | None = None
    ) -> list[tuple[str, str, str, str, str, str]]:
        """(subscription, rg key, instance, kind, parent, name) of every resource, or of those
        whose provisioningState is ``state``."""
        r = instance_resources.c
        q = (
            select(instances.c.subscription_id, instances.c.rg_key, instances.c.name.label("inst"),
                   r.kind, r.parent, r.name)
            .join(instances, instances.c.pk == r.instance_pk)
            .order_by(r.pk)
        )
        if state is not None:
            q = q.where(r.document.contains(f'"provisioningState":"{state}"'))
        return [
            (x.subscription_id, x.rg_key, x.inst, x.kind, x.parent, x.name)
            for x in self.conn.execute(q)
        ]


class _Writer(_Reader):
    def lock_endpoint_state(
        self, sub: str, rg_key: str, instance: str, name: str
    ) -> EndpointState | None:
        """:meth:`endpoint_state` for a read-modify-write: PostgreSQL locks the row until
        commit, so a configuration write cannot commit between the read and the write."""
        return self._endpoint_state(sub, rg_key, instance, name, lock=True)

    def lock_instance(self, sub: str, rg_key: str, name: str) -> Row | None:
        q = _instance_query(sub, rg_key, name)
        if self.conn.dialect.name == "postgresql":
            q = q.with_for_update()
        return self._one(q)

    def ensure_resource_group(self, sub: str, name: str, now: str) -> None:
        exists = self.conn.execute(
            select(resource_groups.c.name).where(
                resource_groups.c.subscription_id == sub,
                resource_groups.c.name_key == name.lower(),
            )
        ).first()
        if exists is None:
            with self._unique():
                self.conn.execute(
                    insert(resource_groups).values(
                        subscription_id=sub, name_key=name.lower(), name=name, created_at=now
                    )
                )

    def instance_on_location(self, custom_location: str) -> tuple[str, str, str] | None:
        """(subscription, resource group key, name) of the instance on a custom location."""
        r = self.conn.execute(
            select(instances.c.subscription_id, instances.c.rg_key, instances.c.name).where(
                instances.c.custom_location == custom_location.lower()
            )
        ).first()
        return (r.subscription_id, r.rg_key, r.name) if r else None

    def insert_instance(
        self, sub: str, rg_key: str, name: str, custom_location: str, etag: str, document: str
    ) -> int:
        with self._unique():
            res = self.conn.execute(
                insert(instances)
                .values(
                    subscription_id=sub,
                    rg_key=rg_key,
                    name=name,
                    custom_location=custom_location.lower(),
                    etag=etag,
                    document=document,
                )
                .returning(instances.c.pk)
            )
            return int(res.scalar_one())

    def update_instance(self, pk: int, etag: str, document: str) -> None:
        self.conn.execute(
            update(instances).where(instances.c.pk == pk).values(etag=etag, document=document)
        )

    def delete_instance(self, pk: int) -> None:
        self.conn.execute(delete(instance_resources).where(instance_resources.c.instance_pk == pk))
        self.conn.execute(delete(registry_endpoints).where(registry_endpoints.c.instance_pk == pk))
        self.conn.execute(delete(synced_secrets).where(synced_secrets.c.instance_pk == pk))
        self.conn.execute(delete(config_maps).where(config_maps.c.instance_pk == pk))
        self.conn.execute(delete(instances).where(instances.c.pk == pk))

    def insert_endpoint(
        self,
        instance_pk: int,
        name: str,
        etag: str,
        document: str,
        secret_ref: str | None = None,
    ) -> None:
        with self._unique():
            self.conn.execute(
                insert(registry_endpoints).values(
                    instance_pk=instance_pk,
                    name=name,
                    etag=etag,
                    document=document,
                    secret_ref=secret_ref,
                )
            )

    def update_endpoint(
        self, pk: int, etag: str, document: str, secret_ref: str | None = None
    ) -> None:
        self.conn.execute(
            update(registry_endpoints)
            .where(registry_endpoints.c.pk == pk)
            .values(etag=etag, document=document, secret_ref=secret_ref)
        )

    def record_health(
        self,
        pk: int,
        etag: str,
        document: str,
        message: str,
        transition_at: str,
        checked_at: str,
        report: str,
    ) -> bool:
        """Health is status, not configuration: the ETag does not change. The update is
        conditional on the ETag read with the document, so it never writes an older
        configuration back; ``False`` when the endpoint changed (or went) meanwhile."""
        res = self.conn.execute(
            update(registry_endpoints)
            .where(registry_endpoints.c.pk == pk, registry_endpoints.c.etag == etag)
            .values(
                document=document,
                health_message=message,
                health_transition_at=transition_at,
                health_checked_at=checked_at,
                health_report=report,
            )
        )
        return bool(res.rowcount)

    def set_connection_settings(self, pk: int, settings: str | None) -> None:
        self.conn.execute(
            update(registry_endpoints)
            .where(registry_endpoints.c.pk == pk)
            .values(connection_settings=settings)
        )

    # --- synced secrets ----------------------------------------------------------------

    def insert_synced_secret(self, instance_pk: int, name: str, etag: str, document: str) -> None:
        with self._unique():
            self.conn.execute(
                insert(synced_secrets).values(
                    instance_pk=instance_pk, name=name, etag=etag, document=document
                )
            )

    def update_synced_secret(self, pk: int, etag: str, document: str) -> None:
        self.conn.execute(
            update(synced_secrets)
            .where(synced_secrets.c.pk == pk)
            .values(etag=etag, document=document)
        )

    def delete_synced_secret(self, pk: int) -> None:
        self.conn.execute(delete(synced_secrets).where(synced_secrets.c.pk == pk))

    # --- config maps -----------------------------------------------------------------------

    def insert_config_map(self, instance_pk: int, name: str, etag: str, document: str) -> None:
        with self._unique():
            self.conn.execute(
                insert(config_maps).values(
                    instance_pk=instance_pk, name=name, etag=etag, document=document
                )
            )

    def update_config_map(self, pk: int, etag: str, document: str) -> None:
        self.conn.execute(
            update(config_maps).where(config_maps.c.pk == pk).values(etag=etag, document=document)
        )

    def delete_config_map(self, pk: int) -> None:
        self.conn.execute(delete(config_maps).where(config_maps.c.pk == pk))

    def delete_endpoint(self, pk: int) -> None:
        self.conn.execute(delete(registry_endpoints).where(registry_endpoints.c.pk == pk))

    # --- dataflow profiles, graphs, connector templates --------------------------------

    def insert_resource(
        self, instance_pk: int, kind: str, parent: str, name: str, etag: str, document: str,
        endpoint_refs: str,
    ) -> None:
        with self._unique():
            self.conn.execute(
                insert(instance_resources).values(
                    instance_pk=instance_pk, kind=kind, parent=parent, name=name, etag=etag,
                    document=document, endpoint_refs=endpoint_refs,
                )
            )

    def update_resource(self, pk: int, etag: str, document: str, endpoint_refs: str) -> None:
        self.conn.execute(
            update(instance_resources)
            .where(instance_resources.c.pk == pk)
            .values(etag=etag, document=document, endpoint_refs=endpoint_refs)
        )

    def record_resolution(self, pk: int, document: str, resolution: str) -> None:
        """Resolution is status, not configuration: the ETag does not change."""
        self.conn.execute(
            update(instance_resources)
            .where(instance_resources.c.pk == pk)
            .values(document=document, resolution=resolution)
        )

    def delete_resource(self, pk: int) -> None:
        self.conn.execute(delete(instance_resources).where(instance_resources.c.pk == pk))

    def delete_resources_under(self, instance_pk: int, kind: str, parent: str) -> None:
        """A profile's graphs, when the profile goes."""
        r = instance_resources.c
        self.conn.execute(
            delete(instance_resources).where(
                r.instance_pk == instance_pk, r.kind == kind, r.parent == parent
            )
        )

    @contextlib.contextmanager
    def _unique(self) -> Iterator[None]:
        # A unique violation aborts the whole transaction (PostgreSQL requires it anyway);
        # the service retries it from the start.
        try:
            yield
        except IntegrityError as exc:
            raise StoreConflict(str(exc.orig)) from None


def _sqlite_engine(url: str) -> Engine:
    engine = create_engine(
        url, pool_size=16, max_overflow=32, pool_pre_ping=False, hide_parameters=True
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # We issue BEGIN ourselves so that writers can take the lock up front.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA busy_timeout=15000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the write lock up front. Readers need no BEGIN: each statement is
        # atomic on its own in WAL mode, and the round trip costs more than the read.
        if conn.get_execution_options().get("iotops_write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class Store:
    """Open with :meth:`open`; use :meth:`read` and :meth:`write` as context managers."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._write_lock = threading.Lock() if engine.dialect.name == "sqlite" else None
        database = engine.url.database
        self._sqlite_path = (
            database
            if engine.dialect.name == "sqlite" and database and database != ":memory:"
            else None
        )
        self._local = threading.local()
        # PostgreSQL: the hot read on the event loop, on raw async psycopg connections
        # (autocommit, a server-side prepared statement). A worker-thread hop costs ~190 µs
        # of CPU and SQLAlchemy's BEGIN/SELECT/COMMIT ~210 µs more; this is one round trip.
        self._pg_dsn = (
            engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
            if engine.dialect.name == "postgresql"
            else None
        )
        self._pg_idle: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, list[Any]] = (
            weakref.WeakKeyDictionary()
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @classmethod
    def open(cls, url: str) -> Store:
        try:
            parsed = make_url(url)
        except Exception as exc:  # sqlalchemy raises ArgumentError on garbage
            raise ConfigurationError(f"invalid database URL: {exc}") from None
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            engine = _sqlite_engine(url)
        elif parsed.get_backend_name() == "postgresql":
            engine = create_engine(
                url, pool_size=16, max_overflow=32, pool_recycle=1800, hide_parameters=True
            )
        else:
            raise ConfigurationError(
                f"unsupported database '{parsed.get_backend_name()}': use sqlite or postgresql"
            )
        store = cls(engine)
        try:
            store.migrate()
        except OperationalError as exc:
            engine.dispose()
            raise ConfigurationError(
                f"cannot open database {parsed.render_as_string(hide_password=True)}: {exc.orig}"
            ) from None
        return store

    def migrate(self) -> None:
        cfg = Config()
        cfg.set_main_option("script_location", str(_MIGRATIONS))
        with self.engine.connect() as conn:
            if self.dialect == "postgresql":
                conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
                conn.commit()
            try:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
                conn.commit()
            finally:
                if self.dialect == "postgresql":
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_MIGRATION_LOCK})
                    conn.commit()

    def get_endpoint_fast(self, sub: str, rg_key: str, instance: str, name: str) -> Row | None:
        """The hottest read (GET of one endpoint). On SQLite it bypasses SQLAlchemy with one
        read-only sqlite3 connection per thread: ~30 µs instead of ~200 µs."""
        if self._sqlite_path is None:
            with self.read() as r:
                return r.get_endpoint(sub, rg_key, instance, name)
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(f"file:{self._sqlite_path}?mode=ro", uri=True)
            conn.execute("PRAGMA query_only=ON")
            self._local.conn = conn
        row = conn.execute(_GET_ENDPOINT_SQL, (sub, rg_key, instance, name)).fetchone()
        return Row(row[0], row[1], row[2], row[3]) if row else None

    @property
    def async_reads(self) -> bool:
        """Whether :meth:`get_endpoint_async` reads without a worker thread."""
        return self._pg_dsn is not None

    async def get_endpoint_async(
        self, sub: str, rg_key: str, instance: str, name: str
    ) -> Row | None:
        """The hottest read on the running loop (PostgreSQL); elsewhere in a thread."""
        params = (sub, rg_key, instance, name)
        if self._pg_dsn is None:
            return await asyncio.to_thread(self.get_endpoint_fast, *params)
        import psycopg

        idle = self._pg_idle.setdefault(asyncio.get_running_loop(), [])
        for attempt in (1, 2):
            cursor = idle.pop() if idle and attempt == 1 else None  # one cursor per conn
            try:
                if cursor is None:
                    conn = await psycopg.AsyncConnection.connect(self._pg_dsn, autocommit=True)
                    cursor = conn.cursor()
                await cursor.execute(_GET_ENDPOINT_PG, params, prepare=True)
                row = await cursor.fetchone()
            except psycopg.OperationalError:
                # A connection the server closed (restart, fail-over, idle timeout): drop
                # every idle one of this loop, and try once more on a new connection.
                stale = [cursor, *idle] if cursor is not None else list(idle)
                idle.clear()
                for c in stale:
                    await c.connection.close()
                if attempt == 2:  # the server is down: answer as every other read does
                    return await asyncio.to_thread(self.get_endpoint, *params)
                continue
            if len(idle) < _PG_IDLE:
                idle.append(cursor)
            else:
                await cursor.connection.close()
            return Row(row[0], row[1], row[2], row[3]) if row else None
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        """Close the async connections of the running loop (before the loop ends)."""
        for cursor in self._pg_idle.pop(asyncio.get_running_loop(), []):
            await cursor.connection.close()

    def get_endpoint(self, sub: str, rg_key: str, instance: str, name: str) -> Row | None:
        with self.read() as r:
            return r.get_endpoint(sub, rg_key, instance, name)

    @contextlib.contextmanager
    def read(self) -> Iterator[_Reader]:
        with self.engine.connect() as conn, conn.begin():
            yield _Reader(conn)

    @contextlib.contextmanager
    def write(self) -> Iterator[_Writer]:
        # SQLite has one writer at a time; queueing here is fairer and faster than its busy
        # handler, whose back-off sleeps up to 100 ms (p99 of PUT: 1.7 s -> ~0.1 s).
        with self._write_lock or contextlib.nullcontext(), self.engine.connect() as conn:
            conn = conn.execution_options(iotops_write=True)
            with conn.begin():
                yield _Writer(conn)

    def close(self) -> None:
        self.engine.dispose()
