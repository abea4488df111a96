"""Key Vault's secret semantics over the vault store, with values sealed at rest.

Names are case-insensitive (kept as first written); every set makes a new version; the
newest version is the secret's current one. Delete is soft: the secret and all its versions
leave the live collection and can be recovered or purged until the purge date, 90 days on.
Reading a value is refused (403) for a disabled, not yet valid or expired version.

The service is synchronous and thread-safe; the HTTP layer calls it from worker threads and
other in-process services may call it directly.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import time
import uuid
from collections.abc import Callable

from ..errors import ApiError, UnsealError
from ..store import SealedValue, SecretRecord, StoreConflict, VaultStore, VersionAttributes
from . import faults, rules
from .crypto import Envelope, Sealer
from .model import DeletedSecret, Page, Secret, SecretProperties, SecretUpdate

__all__ = ["MAX_PAGE_SIZE", "RECOVERABLE_DAYS", "VaultService"]

log = logging.getLogger("iotops_registry.vault")

RECOVERABLE_DAYS = 90
MAX_PAGE_SIZE = 25
_DAY = 86_400
_RETRIES = 5
_VERSION = re.compile(r"[0-9a-f]{32}")


def _properties(record: SecretRecord) -> SecretProperties:
    a = record.attributes
    return SecretProperties(
        name=record.name,
        version=record.version,
        enabled=a.enabled,
        created=record.created,
        updated=record.updated,
        not_before=a.not_before,
        expires=a.expires,
        content_type=a.content_type,
        tags=a.tags,
    )


def _deleted(record: SecretRecord) -> DeletedSecret:
    assert record.deleted_at is not None and record.purge_at is not None
    return DeletedSecret(_properties(record), record.deleted_at, record.purge_at)


def _token(kind: str, position: str) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{position}".encode()).decode().rstrip("=")


def _position(kind: str, token: str | None) -> str | None:
    if token is None:
        return None
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, ValueError):
        text = ""
    found, _, position = text.partition(":")
    if found != kind or not position:
        raise faults.bad_parameter("The $skiptoken is not valid for this listing.")
    return position


def _page_size(max_results: int | None) -> int:
    if max_results is None:
        return MAX_PAGE_SIZE
    if not 1 <= max_results <= MAX_PAGE_SIZE:
        raise faults.bad_parameter(f"maxresults must be an integer from 1 to {MAX_PAGE_SIZE}.")
    return max_results


class VaultService:
    """The secrets of one vault."""

    def __init__(
        self, store: VaultStore, sealer: Sealer, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._store = store
        self._sealer = sealer
        self._clock = clock

    def _now(self) -> int:
        return int(self._clock())

    # --- values ------------------------------------------------------------------------

    def set_secret(
        self,
        name: str,
        value: str,
        *,
        content_type: str | None = None,
        tags: dict[str, str] | None = None,
        enabled: bool | None = None,
        not_before: int | None = None,
        expires: int | None = None,
    ) -> Secret:
        """Store ``value`` as a new version of ``name`` (creating the secret if need be)."""
        key = rules.check_name(name).lower()
        plaintext = rules.encode_value(value)
        attrs = VersionAttributes(
            enabled=True if enabled is None else enabled,
            not_before=None if not_before is None else rules.check_time(not_before, "nbf"),
            expires=None if expires is None else rules.check_time(expires, "exp"),
            content_type=None if content_type is None else rules.check_content_type(content_type),
            tags=None if tags is None else rules.check_tags(tags),
        )
        version = uuid.uuid4().hex
        envelope = self._sealer.seal(key, version, plaintext)
        sealed = SealedValue(
            envelope.kek_id, envelope.nonce, envelope.wrapped_key, envelope.ciphertext
        )
        now = self._now()
        for attempt in range(_RETRIES):
            try:
                with self._store.write() as tx:
                    head = tx.lock(key)
                    if head is not None and head.deleted_at is not None:
                        if head.purge_at is not None and head.purge_at > now:
                            raise faults.deleted_but_recoverable(head.name)
                        tx.purge(head.pk)  # its purge date has passed: the name is free
                        head = None
                    secret_pk = head.pk if head else tx.create_secret(key, name)
                    tx.add_version(secret_pk, version, now, attrs, sealed)
                    shown = head.name if head else name
                break
            except StoreConflict:  # another writer created the name first: retry
                if attempt == _RETRIES - 1:
                    raise
        props = SecretProperties(
            shown,
            version,
            attrs.enabled,
            now,
            now,
            attrs.not_before,
            attrs.expires,
            attrs.content_type,
            attrs.tags,
        )
        return Secret(props, value)

    def get_secret(self, name: str, version: str | None = None) -> Secret:
        """The value and properties of a version (the newest when ``version`` is empty)."""
        record = self._find(name, version, with_value=True)
        now = self._now()
        a = record.attributes
        if not a.enabled:
            raise faults.forbidden("get", "SecretDisabled")
        if a.not_before is not None and a.not_before > now:
            raise faults.forbidden("get", "SecretNotYetValid")
        if a.expires is not None and a.expires <= now:
            raise faults.forbidden("get", "SecretExpired")
        return Secret(_properties(record), self._unseal(record))

    def _unseal(self, record: SecretRecord) -> str:
        sealed = record.sealed
        assert sealed is not None
        envelope = Envelope(sealed.kek_id, sealed.nonce, sealed.wrapped_key, sealed.ciphertext)
        try:
            return self._sealer.open(record.name_key, record.version, envelope).decode("utf-8")
        except (UnsealError, UnicodeDecodeError) as exc:
            log.error("secret %s/%s does not open: %s", record.name, record.version, exc)
            raise ApiError(
                f"The secret {record.name}/{record.version} cannot be decrypted with this "
                "vault's key."
            ) from None

    def _find(self, name: str, version: str | None, *, with_value: bool) -> SecretRecord:
        key = rules.check_name(name).lower()
        version = (version or "").lower() or None
        if version is not None and not _VERSION.fullmatch(version):
            raise faults.secret_not_found(name, version)
        with self._store.read() as tx:
            record = (
                tx.latest(key, with_value=with_value)
                if version is None
                else tx.version(key, version, with_value=with_value)
            )
        if record is None or record.deleted_at is not None:
            raise faults.secret_not_found(name, version)
        return record

    # --- properties --------------------------------------------------------------------

    def update_secret(
        self, name: str, version: str | None, update: SecretUpdate
    ) -> SecretProperties:
        """Change a version's attributes (the newest when ``version`` is empty)."""
        key = rules.check_name(name).lower()
        if update.content_type is not None:
            rules.check_content_type(update.content_type)
        if update.tags is not None:
            rules.check_tags(update.tags)
        for when, what in ((update.not_before, "nbf"), (update.expires, "exp")):
            if when is not None:
                rules.check_time(when, what)
        version = (version or "").lower() or None
        if version is not None and not _VERSION.fullmatch(version):
            raise faults.secret_not_found(name, version)
        now = self._now()
        with self._store.write() as tx:
            head = tx.lock(key)
            record = None
            if head is not None and head.deleted_at is None:
                record = tx.latest(key) if version is None else tx.version(key, version)
            if record is None:
                raise faults.secret_not_found(name, version)
            old = record.attributes
            attrs = VersionAttributes(
                enabled=old.enabled if update.enabled is None else update.enabled,
                not_before=old.not_before if update.not_before is None else update.not_before,
                expires=old.expires if update.expires is None else update.expires,
                content_type=(
                    old.content_type if update.content_type is None else update.content_type
                ),
                tags=old.tags if update.tags is None else update.tags,
            )
            tx.update_version(record.version_pk, attrs, now)
        p = _properties(record)
        return SecretProperties(
            p.name,
            p.version,
            attrs.enabled,
            p.created,
            now,
            attrs.not_before,
            attrs.expires,
            attrs.content_type,
            attrs.tags,
        )

    def list_secrets(
        self, max_results: int | None = None, token: str | None = None
    ) -> Page[SecretProperties]:
        """Live secrets by name, each with its newest version's properties."""
        limit = _page_size(max_results)
        after = _position("s", token)
        with self._store.read() as tx:
            rows = tx.list_latest(deleted=False, after=after, limit=limit + 1, now=self._now())
        more = len(rows) > limit
        rows = rows[:limit]
        return Page(
            [_properties(r) for r in rows], _token("s", rows[-1].name_key) if more else None
        )

    def list_versions(
        self, name: str, max_results: int | None = None, token: str | None = None
    ) -> Page[SecretProperties]:
        """Every version of a live secret, oldest first; empty for an unknown name."""
        key = rules.check_name(name).lower()
        limit = _page_size(max_results)
        position = _position("v", token)
        if position is not None and not position.isdigit():
            raise faults.bad_parameter("The $skiptoken is not valid for this listing.")
        with self._store.read() as tx:
            head = tx.head(key)
            if head is None or head.deleted_at is not None:
                return Page([])
            rows = tx.list_versions(head.pk, int(position) if position else None, limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        return Page(
            [_properties(r) for r in rows], _token("v", str(rows[-1].version_pk)) if more else None
        )

    # --- soft delete -------------------------------------------------------------------

    def delete_secret(self, name: str) -> DeletedSecret:
        """Soft-delete a secret with all its versions."""
        key = rules.check_name(name).lower()
        now = self._now()
        with self._store.write() as tx:
            head = tx.lock(key)
            if head is None or head.deleted_at is not None:
                raise faults.secret_not_found(name)
            purge_at = now + RECOVERABLE_DAYS * _DAY
            tx.set_deleted(head.pk, now, purge_at)
            record = tx.latest(key)
        assert record is not None
        return DeletedSecret(_properties(record), now, purge_at)

    def get_deleted_secret(self, name: str) -> DeletedSecret:
        key = rules.check_name(name).lower()
        now = self._now()
        with self._store.read() as tx:
            record = tx.latest(key)
        if record is None or record.purge_at is None or record.purge_at <= now:
            raise faults.deleted_secret_not_found(name)
        return _deleted(record)

    def list_deleted_secrets(
        self, max_results: int | None = None, token: str | None = None
    ) -> Page[DeletedSecret]:
        limit = _page_size(max_results)
        after = _position("d", token)
        with self._store.read() as tx:
            rows = tx.list_latest(deleted=True, after=after, limit=limit + 1, now=self._now())
        more = len(rows) > limit
        rows = rows[:limit]
        return Page([_deleted(r) for r in rows], _token("d", rows[-1].name_key) if more else None)

    def recover_deleted_secret(self, name: str) -> SecretProperties:
        """Bring a soft-deleted secret back with all its versions."""
        key = rules.check_name(name).lower()
        now = self._now()
        with self._store.write() as tx:
            head = tx.lock(key)
            if head is None or head.purge_at is None or head.purge_at <= now:
                raise faults.deleted_secret_not_found(name)
            tx.set_deleted(head.pk, None, None)
            record = tx.latest(key)
        assert record is not None
        return _properties(record)

    def purge_deleted_secret(self, name: str) -> None:
        """Erase a soft-deleted secret for good."""
        key = rules.check_name(name).lower()
        with self._store.write() as tx:
            head = tx.lock(key)
            if head is None or head.deleted_at is None:
                raise faults.deleted_secret_not_found(name)
            tx.purge(head.pk)

    def purge_due(self) -> int:
        """Erase the soft-deleted secrets whose purge date has passed; returns how many."""
        with self._store.write() as tx:
            return tx.purge_due(self._now())
