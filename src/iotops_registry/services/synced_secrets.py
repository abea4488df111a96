"""Synced secrets (Key Vault secrets mapped to Kubernetes secret keys) and the instance's view
of its Key Vault: list names, create new secrets. Values pass through, never stay."""

from __future__ import annotations

import json
from typing import Any

from ..domain import InstanceKey, parse_model, rules
from ..domain.resource_id import PROVIDER
from ..domain.secrets import (
    KeyVaultSecretBody,
    SecretInfo,
    SyncedSecretBody,
    check_kv_name,
    split_source,
)
from ..errors import ConflictError, NotFoundError, ValidationError
from ..security import Principal
from ..store import Store
from .common import (
    DEFAULT_PAGE_SIZE,
    Page,
    Preconditions,
    WriteResult,
    decode_skip_token,
    encode_skip_token,
    new_etag,
    now_iso,
    retry_on_conflict,
    system_data,
)
from .echo import strip_echoed_identity
from .instances import instance_not_found
from .linked_access import SET_SECRET, LinkedAccess
from .ports import SecretSource

__all__ = ["SYNCED_SECRET_TYPE", "KeyVaultSecretService", "SyncedSecretService"]

SYNCED_SECRET_TYPE = f"{PROVIDER}/instances/syncedSecrets"


def synced_secret_id(parent: InstanceKey, name: str) -> str:
    return f"{parent.id}/syncedSecrets/{name}"


def _not_found(parent: InstanceKey, name: str) -> NotFoundError:
    return NotFoundError(
        f"The synced secret '{name}' was not found in instance '{parent.instance}'.",
        code="ResourceNotFound",
    )


class SyncedSecretService:
    def __init__(
        self, store: Store, source: SecretSource, linked: LinkedAccess | None = None
    ) -> None:
        self._store = store
        self._source = source
        self._linked = linked  # None: an external vault, whose RBAC is Azure's

    def _instance_pk(self, r: Any, parent: InstanceKey) -> int:
        inst = r.get_instance(parent.sub_key, parent.rg_key, parent.instance)
        if inst is None:
            raise instance_not_found(parent)
        return int(inst.pk)

    def get(self, parent: InstanceKey, name: str) -> tuple[str, str]:
        _check_name(name)
        with self._store.read() as r:
            row = r.synced_secret(self._instance_pk(r, parent), name)
        if row is None:
            raise _not_found(parent, name)
        return row.document, row.etag

    def list(self, parent: InstanceKey, top: int | None, skip: str | None) -> Page:
        limit = top or DEFAULT_PAGE_SIZE
        after = decode_skip_token(skip)
        if after is not None and not isinstance(after, str):
            decode_skip_token("!")
        with self._store.read() as r:
            rows = r.list_synced_secrets(self._instance_pk(r, parent), after, limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        return Page(
            [row.document for row in rows],
            encode_skip_token(rows[-1].name) if more and rows else None,
        )

    def put(
        self,
        parent: InstanceKey,
        name: str,
        raw: dict[str, Any],
        principal: Principal,
        pre: Preconditions,
    ) -> WriteResult:
        _check_name(name)
        rid = synced_secret_id(parent, name)
        raw = strip_echoed_identity(raw, rid, name, SYNCED_SECRET_TYPE)
        body = parse_model(SyncedSecretBody, raw)
        if self._linked is not None:  # before the vault is asked: existence is not revealed
            self._linked.require_read(
                principal,
                (split_source(m.sourcePath)[0] for m in body.properties.objectSecretMapping),
            )
        # Every mapped Key Vault secret (and pinned version) must exist now; checked before
        # the transaction because it talks to the vault.
        for i, mapping in enumerate(body.properties.objectSecretMapping):
            kv_name, version = split_source(mapping.sourcePath)
            if self._source.info(kv_name, version) is None:
                what = f"'{kv_name}' version '{version}'" if version else f"'{kv_name}'"
                raise ValidationError(
                    f"The Key Vault secret {what} does not exist in {self._source.vault_url}. "
                    "Create it first (iotops secret set).",
                    code="KeyVaultSecretNotFound",
                    target=f"properties.objectSecretMapping[{i}].sourcePath",
                )
        properties = body.properties.model_dump()

        def txn() -> WriteResult:
            now = now_iso()
            with self._store.write() as w:
                inst = w.lock_instance(parent.sub_key, parent.rg_key, parent.instance)
                if inst is None:
                    raise instance_not_found(parent)
                existing = w.synced_secret(inst.pk, name)
                pre.check(existing.etag if existing else None)
                previous = json.loads(existing.document) if existing else None
                doc = {
                    "id": rid,
                    "name": name,
                    "type": SYNCED_SECRET_TYPE,
                    "properties": {**properties, "provisioningState": "Succeeded"},
                    "systemData": system_data(
                        principal, now, previous["systemData"] if previous else None
                    ),
                }
                document = json.dumps(doc, separators=(",", ":"))
                etag = new_etag()
                if existing is None:
                    w.insert_synced_secret(inst.pk, name, etag, document)
                else:
                    w.update_synced_secret(existing.pk, etag, document)
                return WriteResult(document, etag, existing is None)

        return retry_on_conflict(txn)

    def delete(self, parent: InstanceKey, name: str, pre: Preconditions, *, force: bool) -> bool:
        _check_name(name)
        with self._store.write() as w:
            inst = w.lock_instance(parent.sub_key, parent.rg_key, parent.instance)
            existing = w.synced_secret(inst.pk, name) if inst else None
            pre.check(existing.etag if existing else None)
            if existing is None or inst is None:
                return False
            users = w.endpoints_using_secret(inst.pk, name)
            if users and not force:
                raise ConflictError(
                    f"The synced secret '{name}' is used by registry endpoint(s) "
                    f"{', '.join(repr(u) for u in users)}. Change those endpoints first, or "
                    "delete it anyway with force=true (the CLI: iotops secretsync delete "
                    "--force).",
                    code="SyncedSecretInUse",
                    target=name,
                )
            w.delete_synced_secret(existing.pk)
            return True


class KeyVaultSecretService:
    """The instance's window onto its Key Vault: names and metadata, and write-only create."""

    def __init__(
        self, store: Store, source: SecretSource, linked: LinkedAccess | None = None
    ) -> None:
        self._store = store
        self._source = source
        self._linked = linked

    def _require_instance(self, parent: InstanceKey) -> None:
        with self._store.read() as r:
            if r.get_instance(parent.sub_key, parent.rg_key, parent.instance) is None:
                raise instance_not_found(parent)

    def list(self, parent: InstanceKey) -> list[SecretInfo]:
        self._require_instance(parent)
        return self._source.list()

    def get(self, parent: InstanceKey, name: str) -> SecretInfo:
        _check_kv(name)
        self._require_instance(parent)
        info = self._source.info(name)
        if info is None:
            raise NotFoundError(
                f"The Key Vault secret '{name}' was not found.", code="KeyVaultSecretNotFound"
            )
        return info

    def put(
        self, parent: InstanceKey, name: str, raw: dict[str, Any],
        principal: Principal | None = None,
    ) -> tuple[SecretInfo, bool]:
        _check_kv(name)
        body = parse_model(KeyVaultSecretBody, raw)
        if self._linked is not None:
            assert principal is not None
            self._linked.require(principal, SET_SECRET, [name])
        self._require_instance(parent)
        existed = self._source.info(name) is not None
        props = body.properties
        info = self._source.set(name, props.value, content_type=props.contentType, tags=props.tags)
        return info, not existed


def _check_name(name: str) -> None:
    problem = rules.check_k8s_name(name, "synced secret name")
    if problem:
        raise ValidationError(problem, code="InvalidResourceName", target="syncedSecretName")


def _check_kv(name: str) -> None:
    problem = check_kv_name(name)
    if problem:
        raise ValidationError(problem, code="InvalidKeyVaultSecretName", target="secretName")
