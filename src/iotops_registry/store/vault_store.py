"""The vault's tables: secrets, their sealed versions and the key check value.

This module stores bytes and attributes only. Sealing, Key Vault semantics and HTTP live in
the ``vault`` package; nothing here ever sees a secret in clear.

Writers are serialised per secret like the resource store's: SQLite takes its write lock up
front (``BEGIN IMMEDIATE``), PostgreSQL locks the secret's row (``SELECT ... FOR UPDATE``).
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, and_, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from .schema import vault_meta, vault_secret_versions, vault_secrets
from .store import Store, StoreConflict

__all__ = [
    "SealedValue",
    "SecretHead",
    "SecretRecord",
    "VaultStore",
    "VersionAttributes",
]

_s = vault_secrets
_v = vault_secret_versions


@dataclass(frozen=True)
class SealedValue:
    """A value as the database holds it: ciphertext, its nonce and the wrapped data key."""

    kek_id: str
    nonce: bytes
    wrapped_key: bytes
    ciphertext: bytes


@dataclass(frozen=True)
class VersionAttributes:
    enabled: bool
    not_before: int | None
    expires: int | None
    content_type: str | None
    tags: dict[str, str] | None


@dataclass(frozen=True)
class SecretHead:
    """The per-name row: which version is the newest, and whether it is soft-deleted."""

    pk: int
    name: str
    latest_version_pk: int | None
    deleted_at: int | None
    purge_at: int | None


@dataclass(frozen=True)
class SecretRecord:
    """One version of a secret with its secret's state; ``sealed`` only when asked for."""

    secret_pk: int
    version_pk: int
    name: str
    name_key: str
    version: str
    created: int
    updated: int
    attributes: VersionAttributes
    deleted_at: int | None
    purge_at: int | None
    sealed: SealedValue | None = None


_RECORD_COLUMNS = (
    _s.c.pk.label("secret_pk"),
    _s.c.name,
    _s.c.name_key,
    _s.c.deleted_at,
    _s.c.purge_at,
    _v.c.pk.label("version_pk"),
    _v.c.version,
    _v.c.created,
    _v.c.updated,
    _v.c.enabled,
    _v.c.not_before,
    _v.c.expires,
    _v.c.content_type,
    _v.c.tags,
)
_SEALED_COLUMNS = (_v.c.kek_id, _v.c.nonce, _v.c.wrapped_key, _v.c.ciphertext)


def _records(with_value: bool) -> Select[Any]:
    columns = _RECORD_COLUMNS + (_SEALED_COLUMNS if with_value else ())
    return select(*columns).select_from(_s.join(_v, _v.c.secret_pk == _s.c.pk))


# The hot reads, built once: constructing a statement costs more than running it on SQLite.
_LATEST = {
    with_value: _records(with_value).where(
        _s.c.name_key == bindparam("name_key"), _v.c.pk == _s.c.latest_version_pk
    )
    for with_value in (False, True)
}
_VERSION = {
    with_value: _records(with_value).where(
        _s.c.name_key == bindparam("name_key"), _v.c.version == bindparam("version")
    )
    for with_value in (False, True)
}
_HEAD_COLUMNS = (_s.c.pk, _s.c.name, _s.c.latest_version_pk, _s.c.deleted_at, _s.c.purge_at)
_HEAD = select(*_HEAD_COLUMNS).where(_s.c.name_key == bindparam("name_key"))
_HEAD_FOR_UPDATE = _HEAD.with_for_update()


def _record(r: Any, with_value: bool) -> SecretRecord:
    sealed = (
        SealedValue(r.kek_id, bytes(r.nonce), bytes(r.wrapped_key), bytes(r.ciphertext))
        if with_value
        else None
    )
    return SecretRecord(
        secret_pk=r.secret_pk,
        version_pk=r.version_pk,
        name=r.name,
        name_key=r.name_key,
        version=r.version,
        created=r.created,
        updated=r.updated,
        attributes=VersionAttributes(
            enabled=bool(r.enabled),
            not_before=r.not_before,
            expires=r.expires,
            content_type=r.content_type,
            tags=json.loads(r.tags) if r.tags is not None else None,
        ),
        deleted_at=r.deleted_at,
        purge_at=r.purge_at,
        sealed=sealed,
    )


def _attribute_values(attrs: VersionAttributes) -> dict[str, Any]:
    return {
        "enabled": attrs.enabled,
        "not_before": attrs.not_before,
        "expires": attrs.expires,
        "content_type": attrs.content_type,
        "tags": json.dumps(attrs.tags, separators=(",", ":")) if attrs.tags is not None else None,
    }


class VaultReader:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def meta(self, name: str) -> str | None:
        value = self.conn.execute(
            select(vault_meta.c.value).where(vault_meta.c.name == name)
        ).scalar_one_or_none()
        return None if value is None else str(value)

    def has_secrets(self) -> bool:
        return self.conn.execute(select(_v.c.pk).limit(1)).first() is not None

    def head(self, name_key: str) -> SecretHead | None:
        return self._head(_HEAD, name_key)

    def _head(self, query: Select[Any], name_key: str) -> SecretHead | None:
        r = self.conn.execute(query, {"name_key": name_key}).first()
        if r is None:
            return None
        return SecretHead(r.pk, r.name, r.latest_version_pk, r.deleted_at, r.purge_at)

    def latest(self, name_key: str, *, with_value: bool = False) -> SecretRecord | None:
        r = self.conn.execute(_LATEST[with_value], {"name_key": name_key}).first()
        return _record(r, with_value) if r else None

    def version(
        self, name_key: str, version: str, *, with_value: bool = False
    ) -> SecretRecord | None:
        params = {"name_key": name_key, "version": version}
        r = self.conn.execute(_VERSION[with_value], params).first()
        return _record(r, with_value) if r else None

    def list_latest(
        self, *, deleted: bool, after: str | None, limit: int, now: int
    ) -> list[SecretRecord]:
        """The newest version of each live (or each soft-deleted) secret, by name."""
        state = (
            and_(_s.c.deleted_at.is_not(None), _s.c.purge_at > now)
            if deleted
            else _s.c.deleted_at.is_(None)
        )
        q = _records(False).where(_v.c.pk == _s.c.latest_version_pk, state)
        if after is not None:
            q = q.where(_s.c.name_key > after)
        q = q.order_by(_s.c.name_key).limit(limit)
        return [_record(r, False) for r in self.conn.execute(q)]

    def list_versions(self, secret_pk: int, after_pk: int | None, limit: int) -> list[SecretRecord]:
        q = _records(False).where(_s.c.pk == secret_pk)
        if after_pk is not None:
            q = q.where(_v.c.pk > after_pk)
        q = q.order_by(_v.c.pk).limit(limit)
        return [_record(r, False) for r in self.conn.execute(q)]


class VaultWriter(VaultReader):
    def lock(self, name_key: str) -> SecretHead | None:
        """The secret's row, locked until the transaction ends (PostgreSQL)."""
        locking = self.conn.dialect.name == "postgresql"
        return self._head(_HEAD_FOR_UPDATE if locking else _HEAD, name_key)

    def create_secret(self, name_key: str, name: str) -> int:
        with _unique():
            res = self.conn.execute(
                insert(_s).values(name_key=name_key, name=name).returning(_s.c.pk)
            )
            return int(res.scalar_one())

    def add_version(
        self,
        secret_pk: int,
        version: str,
        now: int,
        attrs: VersionAttributes,
        sealed: SealedValue,
    ) -> int:
        """Insert a version and make it the secret's newest."""
        with _unique():
            res = self.conn.execute(
                insert(_v)
                .values(
                    secret_pk=secret_pk,
                    version=version,
                    created=now,
                    updated=now,
                    kek_id=sealed.kek_id,
                    nonce=sealed.nonce,
                    wrapped_key=sealed.wrapped_key,
                    ciphertext=sealed.ciphertext,
                    **_attribute_values(attrs),
                )
                .returning(_v.c.pk)
            )
        pk = int(res.scalar_one())
        self.conn.execute(update(_s).where(_s.c.pk == secret_pk).values(latest_version_pk=pk))
        return pk

    def update_version(self, version_pk: int, attrs: VersionAttributes, now: int) -> None:
        self.conn.execute(
            update(_v).where(_v.c.pk == version_pk).values(updated=now, **_attribute_values(attrs))
        )

    def set_deleted(self, secret_pk: int, deleted_at: int | None, purge_at: int | None) -> None:
        """Soft-delete (both times given) or recover (both ``None``) a secret."""
        self.conn.execute(
            update(_s).where(_s.c.pk == secret_pk).values(deleted_at=deleted_at, purge_at=purge_at)
        )

    def purge(self, secret_pk: int) -> None:
        self.conn.execute(delete(_v).where(_v.c.secret_pk == secret_pk))
        self.conn.execute(delete(_s).where(_s.c.pk == secret_pk))

    def purge_due(self, now: int) -> int:
        """Purge every soft-deleted secret whose purge date has passed; returns how many."""
        due = select(_s.c.pk).where(_s.c.purge_at.is_not(None), _s.c.purge_at <= now)
        pks = [r.pk for r in self.conn.execute(due)]
        for pk in pks:
            self.purge(pk)
        return len(pks)

    def init_meta(self, name: str, value: str) -> str:
        """Store ``value`` under ``name`` unless a value is there already; return the stored."""
        existing = self.meta(name)
        if existing is not None:
            return existing
        with _unique():
            self.conn.execute(insert(vault_meta).values(name=name, value=value))
        return value


@contextlib.contextmanager
def _unique() -> Iterator[None]:
    # A unique violation aborts the transaction; the caller retries it from the start.
    try:
        yield
    except IntegrityError:
        raise StoreConflict("a concurrent writer created the same vault row") from None


class VaultStore:
    """The vault's view of a :class:`Store`: same engine, same transaction discipline."""

    def __init__(self, store: Store) -> None:
        self.store = store
        # SQLite has one writer at a time and its busy handler waits by sleeping, which turns
        # a queue of writers into latency spikes: queue them on a lock in this process instead.
        self._write_lock = threading.Lock() if store.dialect == "sqlite" else None

    @property
    def location(self) -> str:
        """The database, for messages (password hidden)."""
        url = self.store.engine.url
        if url.get_backend_name() == "sqlite":
            return str(url.database)
        return url.render_as_string(hide_password=True)

    @contextlib.contextmanager
    def read(self) -> Iterator[VaultReader]:
        with self.store.read() as tx:
            yield VaultReader(tx.conn)

    @contextlib.contextmanager
    def write(self) -> Iterator[VaultWriter]:
        with self._write_lock or contextlib.nullcontext(), self.store.write() as tx:
            yield VaultWriter(tx.conn)
