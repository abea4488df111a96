"""ConfigMaps of an instance (our extension): create, replace, read, list and delete, with ARM
semantics. A registry endpoint's ``codeSigningCas`` may name one; deleting a ConfigMap that an
endpoint names answers 409 ``ConfigMapInUse`` unless forced, as for synced secrets."""

from __future__ import annotations

import json
from typing import Any

from ..domain import InstanceKey, parse_model, rules
from ..domain.config_maps import ConfigMapBody
from ..domain.resource_id import PROVIDER
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

__all__ = ["CONFIG_MAP_TYPE", "ConfigMapService", "endpoints_naming"]

CONFIG_MAP_TYPE = f"{PROVIDER}/instances/configMaps"
_SCAN = 100_000  # endpoints per instance scanned for references (far above any real count)


def _not_found(parent: InstanceKey, name: str) -> NotFoundError:
    return NotFoundError(
        f"The ConfigMap '{name}' was not found in instance '{parent.instance}'.",
        code="ResourceNotFound",
    )


def endpoints_naming(rows: list[Any], kind: str, name: str) -> list[str]:
    """Names of the endpoints (store rows) whose codeSigningCas name ``kind``/``name``."""
    field = "configMapRef" if kind == "ConfigMap" else "secretRef"
    users = []
    for row in rows:
        cas = json.loads(row.document)["properties"].get("codeSigningCas") or []
        if any(c.get("type") == kind and c.get(field) == name for c in cas):
            users.append(row.name)
    return users


class ConfigMapService:
    def __init__(self, store: Store) -> None:
        self._store = store

    def _instance_pk(self, r: Any, parent: InstanceKey) -> int:
        inst = r.get_instance(parent.sub_key, parent.rg_key, parent.instance)
        if inst is None:
            raise instance_not_found(parent)
        return int(inst.pk)

    def get(self, parent: InstanceKey, name: str) -> tuple[str, str]:
        _check_name(name)
        with self._store.read() as r:
            row = r.config_map(self._instance_pk(r, parent), name)
        if row is None:
            raise _not_found(parent, name)
        return row.document, row.etag

    def list(self, parent: InstanceKey, top: int | None, skip: str | None) -> Page:
        limit = top or DEFAULT_PAGE_SIZE
        after = decode_skip_token(skip)
        if after is not None and not isinstance(after, str):
            decode_skip_token("!")
        with self._store.read() as r:
            rows = r.list_config_maps(self._instance_pk(r, parent), after, limit + 1)
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
        rid = f"{parent.id}/configMaps/{name}"
        raw = strip_echoed_identity(raw, rid, name, CONFIG_MAP_TYPE)
        body = parse_model(ConfigMapBody, raw)
        properties = body.properties.model_dump()

        def txn() -> WriteResult:
            now = now_iso()
            with self._store.write() as w:
                inst = w.lock_instance(parent.sub_key, parent.rg_key, parent.instance)
                if inst is None:
                    raise instance_not_found(parent)
                existing = w.config_map(inst.pk, name)
                pre.check(existing.etag if existing else None)
                previous = json.loads(existing.document) if existing else None
                doc = {
                    "id": rid,
                    "name": name,
                    "type": CONFIG_MAP_TYPE,
                    "properties": {**properties, "provisioningState": "Succeeded"},
                    "systemData": system_data(
                        principal, now, previous["systemData"] if previous else None
                    ),
                }
                document = json.dumps(doc, separators=(",", ":"))
                etag = new_etag()
                if existing is None:
                    w.insert_config_map(inst.pk, name, etag, document)
                else:
                    w.update_config_map(existing.pk, etag, document)
                return WriteResult(document, etag, existing is None)

        return retry_on_conflict(txn)

    def delete(self, parent: InstanceKey, name: str, pre: Preconditions, *, force: bool) -> bool:
        _check_name(name)
        with self._store.write() as w:
            inst = w.lock_instance(parent.sub_key, parent.rg_key, parent.instance)
            existing = w.config_map(inst.pk, name) if inst else None
            pre.check(existing.etag if existing else None)
            if existing is None or inst is None:
                return False
            users = endpoints_naming(w.list_endpoints(inst.pk, None, _SCAN), "ConfigMap", name)
            if users and not force:
                raise ConflictError(
                    f"The ConfigMap '{name}' holds code-signing CAs of registry endpoint(s) "
                    f"{', '.join(repr(u) for u in users)}. Change those endpoints first, or "
                    "delete it anyway with force=true (the CLI: iotops configmap delete "
                    "--force).",
                    code="ConfigMapInUse",
                    target=name,
                )
            w.delete_config_map(existing.pk)
            return True


def _check_name(name: str) -> None:
    problem = rules.check_k8s_name(name, "ConfigMap name")
    if problem:
        raise ValidationError(problem, code="InvalidResourceName", target="configMapName")
