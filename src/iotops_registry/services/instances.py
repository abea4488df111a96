"""IoT Operations instances, kept minimal: the parents of registry endpoints."""

from __future__ import annotations

import json
from typing import Any

from ..domain import (
    DATAFLOW_PROFILES,
    INSTANCE_TYPE,
    InstanceBody,
    InstanceKey,
    InstancePatchBody,
    RegistryEndpointKey,
    parse_model,
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
from .endpoints import default_endpoint_document
from .instance_resources import DEFAULT_PROFILE, default_profile_document

__all__ = ["InstanceService", "instance_not_found"]

INSTANCE_VERSION = "1.2.0"


def instance_not_found(key: InstanceKey) -> NotFoundError:
    return NotFoundError(
        f"The Resource '{INSTANCE_TYPE}/{key.instance}' under resource group "
        f"'{key.resource_group}' was not found.",
        code="ResourceNotFound",
    )


class InstanceService:
    def __init__(self, store: Store) -> None:
        self._store = store

    def get(self, key: InstanceKey) -> tuple[str, str]:
        with self._store.read() as r:
            row = r.get_instance(key.sub_key, key.rg_key, key.instance)
        if row is None:
            raise instance_not_found(key)
        return row.document, row.etag

    def list(
        self, subscription: str, resource_group: str | None, top: int | None, skip: str | None
    ) -> Page:
        limit = top or DEFAULT_PAGE_SIZE
        after = decode_skip_token(skip)
        if after is not None and (
            not isinstance(after, list)
            or len(after) != 2
            or not all(isinstance(a, str) for a in after)
        ):
            decode_skip_token("!")  # raises the standard error
        rg_key = resource_group.lower() if resource_group is not None else None
        with self._store.read() as r:
            rows = r.list_instances(
                subscription.lower(), rg_key, tuple(after) if after else None, limit + 1
            )
        more = len(rows) > limit
        rows = rows[:limit]
        token = encode_skip_token(rows[-1].name.split("/", 1)) if more and rows else None
        return Page([row.document for row in rows], token)

    def put(
        self, key: InstanceKey, raw: dict[str, Any], principal: Principal, pre: Preconditions
    ) -> WriteResult:
        if isinstance(raw, dict):
            raw = strip_echoed_identity(raw, key.id, key.instance, INSTANCE_TYPE)
        body = parse_model(InstanceBody, raw)

        def txn() -> WriteResult:
            now = now_iso()
            with self._store.write() as w:
                existing = w.lock_instance(key.sub_key, key.rg_key, key.instance)
                pre.check(existing.etag if existing else None)
                previous = json.loads(existing.document) if existing else None
                if previous is not None:
                    _immutable(previous, body)
                properties: dict[str, Any] = (
                    body.properties.model_dump(exclude_none=True) if body.properties else {}
                )
                properties.update(provisioningState="Succeeded", version=INSTANCE_VERSION)
                doc: dict[str, Any] = {
                    "id": key.id,
                    "name": key.instance,
                    "type": INSTANCE_TYPE,
                    "location": body.location,
                    "extendedLocation": body.extendedLocation.model_dump(),
                    "properties": properties,
                    "systemData": system_data(
                        principal, now, previous["systemData"] if previous else None
                    ),
                }
                if body.tags is not None:
                    doc["tags"] = body.tags
                document = json.dumps(doc, separators=(",", ":"))
                etag = new_etag()
                if existing is None:
                    _location_free(w.instance_on_location(body.extendedLocation.name))
                    w.ensure_resource_group(key.sub_key, key.resource_group, now)
                    pk = w.insert_instance(
                        key.sub_key,
                        key.rg_key,
                        key.instance,
                        body.extendedLocation.name,
                        etag,
                        document,
                    )
                    # IoT Operations always gives a new instance its MCR endpoint.
                    ep_key = RegistryEndpointKey(key, "default")
                    w.insert_endpoint(
                        pk,
                        "default",
                        new_etag(),
                        default_endpoint_document(ep_key, doc["extendedLocation"], principal, now),
                    )
                    # ... and its default dataflow profile.
                    w.insert_resource(
                        pk,
                        DATAFLOW_PROFILES,
                        "",
                        DEFAULT_PROFILE,
                        new_etag(),
                        default_profile_document(key, doc["extendedLocation"], principal, now),
                        "[]",
                    )
                else:
                    w.update_instance(existing.pk, etag, document)
                return WriteResult(document, etag, existing is None)

        return retry_on_conflict(txn)

    def patch(
        self, key: InstanceKey, raw: dict[str, Any], principal: Principal, pre: Preconditions
    ) -> WriteResult:
        body = parse_model(InstancePatchBody, raw)
        with self._store.write() as w:
            existing = w.lock_instance(key.sub_key, key.rg_key, key.instance)
            if existing is None:
                raise instance_not_found(key)
            pre.check(existing.etag)
            doc = json.loads(existing.document)
            if body.tags is not None:
                doc["tags"] = body.tags
            if body.properties is not None:
                doc["properties"].update(body.properties.model_dump(exclude_none=True))
            doc["systemData"] = system_data(principal, now_iso(), doc["systemData"])
            document = json.dumps(doc, separators=(",", ":"))
            etag = new_etag()
            w.update_instance(existing.pk, etag, document)
            return WriteResult(document, etag, False)

    def delete(self, key: InstanceKey, pre: Preconditions) -> bool:
        with self._store.write() as w:
            existing = w.lock_instance(key.sub_key, key.rg_key, key.instance)
            pre.check(existing.etag if existing else None)
            if existing is None:
                return False
            w.delete_instance(existing.pk)
            return True


def _location_free(holder: tuple[str, str, str] | None) -> None:
    if holder is not None:
        raise ConflictError(
            f"The custom location already hosts the IoT Operations instance '{holder[2]}' "
            f"(resource group '{holder[1]}'). A custom location runs one instance.",
            code="CustomLocationInUse",
            target="extendedLocation.name",
        )


def _immutable(previous: dict[str, Any], body: InstanceBody) -> None:
    if previous["location"].lower() != body.location.lower():
        raise ValidationError(
            f"The location of an existing instance cannot change (it is '{previous['location']}').",
            code="PropertyChangeNotAllowed",
            target="location",
        )
    old = previous["extendedLocation"]
    if old["name"].lower() != body.extendedLocation.name.lower() or (
        old["type"].lower() != body.extendedLocation.type.lower()
    ):
        raise ValidationError(
            "The extendedLocation of an existing instance cannot change.",
            code="PropertyChangeNotAllowed",
            target="extendedLocation",
        )
