"""Registry endpoints: create, replace, read, list and delete, with ARM semantics."""

from __future__ import annotations

import json
from typing import Any

from ..domain import (
    REGISTRY_ENDPOINT_TYPE,
    InstanceKey,
    RegistryEndpointBody,
    RegistryEndpointKey,
    parse_model,
)
from ..errors import NotFoundError, ValidationError
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
from .pull_secrets import pull_secret_warning

__all__ = ["RegistryEndpointService", "default_endpoint_document"]

DEFAULT_HEALTH = "Unknown"


def _not_found(key: RegistryEndpointKey) -> NotFoundError:
    return NotFoundError(
        f"The Resource '{REGISTRY_ENDPOINT_TYPE.split('/', 1)[0]}/instances/"
        f"{key.parent.instance}/registryEndpoints/{key.name}' under resource group "
        f"'{key.parent.resource_group}' was not found.",
        code="ResourceNotFound",
    )


def _parent_not_found(key: InstanceKey) -> NotFoundError:
    return NotFoundError(
        f"The parent instance '{key.instance}' was not found in resource group "
        f"'{key.resource_group}'. Create the instance first.",
        code="ParentResourceNotFound",
    )


def render(
    key: RegistryEndpointKey,
    extended_location: dict[str, Any],
    properties: dict[str, Any],
    system: dict[str, Any],
    *,
    provisioning_state: str = "Succeeded",
    health_state: str = DEFAULT_HEALTH,
) -> str:
    props = dict(properties)
    props["provisioningState"] = provisioning_state
    props["healthState"] = health_state
    doc = {
        "id": key.id,
        "name": key.name,
        "type": REGISTRY_ENDPOINT_TYPE,
        "extendedLocation": extended_location,
        "properties": props,
        "systemData": system,
    }
    return json.dumps(doc, separators=(",", ":"))


def default_endpoint_document(
    key: RegistryEndpointKey, extended_location: dict[str, Any], principal: Principal, now: str
) -> str:
    properties = {
        "host": "mcr.microsoft.com",
        "authentication": {"method": "Anonymous", "anonymousSettings": {}},
    }
    return render(key, extended_location, properties, system_data(principal, now, None))


class RegistryEndpointService:
    def __init__(self, store: Store) -> None:
        self._store = store

    def get(self, key: RegistryEndpointKey) -> tuple[str, str]:
        p = key.parent
        row = self._store.get_endpoint_fast(p.sub_key, p.rg_key, p.instance, key.name)
        if row is None:
            raise _not_found(key)
        return row.document, row.etag

    def list(self, parent: InstanceKey, top: int | None, skip: str | None) -> Page:
        limit = top or DEFAULT_PAGE_SIZE
        after = decode_skip_token(skip)
        if after is not None and not isinstance(after, str):
            decode_skip_token("!")
        with self._store.read() as r:
            inst = r.get_instance(parent.sub_key, parent.rg_key, parent.instance)
            if inst is None:
                raise _parent_not_found(parent)
            rows = r.list_endpoints(inst.pk, after, limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        token = encode_skip_token(rows[-1].name) if more and rows else None
        return Page([row.document for row in rows], token)

    def put(
        self,
        key: RegistryEndpointKey,
        raw: dict[str, Any],
        principal: Principal,
        pre: Preconditions,
    ) -> WriteResult:
        if isinstance(raw, dict):
            raw = strip_echoed_identity(raw, key.id, key.name, REGISTRY_ENDPOINT_TYPE)
        body = parse_model(RegistryEndpointBody, raw)
        properties = body.properties.model_dump(exclude_none=True)
        p = key.parent

        def txn() -> WriteResult:
            now = now_iso()
            with self._store.write() as w:
                inst = w.lock_instance(p.sub_key, p.rg_key, p.instance)
                if inst is None:
                    raise _parent_not_found(p)
                existing = w.endpoint_in_instance(inst.pk, key.name)
                pre.check(existing.etag if existing else None)
                instance_location = json.loads(inst.document)["extendedLocation"]
                location = _extended_location(body, instance_location, existing)
                previous = json.loads(existing.document) if existing else None
                document = render(
                    key,
                    location,
                    properties,
                    system_data(principal, now, previous["systemData"] if previous else None),
                )
                etag = new_etag()
                secret_ref = _secret_ref(properties)
                if existing is None:
                    w.insert_endpoint(inst.pk, key.name, etag, document, secret_ref)
                else:
                    w.update_endpoint(existing.pk, etag, document, secret_ref)
                warnings: list[str] = []
                if secret_ref is not None:
                    # Accepted as IoT Operations accepts it: the secret may come later.
                    synced = w.synced_secret(inst.pk, secret_ref)
                    props = json.loads(synced.document)["properties"] if synced else None
                    warning = pull_secret_warning(secret_ref, props)
                    if warning:
                        warnings.append(warning)
                return WriteResult(document, etag, existing is None, warnings)

        return retry_on_conflict(txn)

    def delete(self, key: RegistryEndpointKey, pre: Preconditions) -> bool:
        p = key.parent
        with self._store.write() as w:
            inst = w.lock_instance(p.sub_key, p.rg_key, p.instance)
            existing = w.endpoint_in_instance(inst.pk, key.name) if inst else None
            pre.check(existing.etag if existing else None)
            if existing is None:
                return False
            w.delete_endpoint(existing.pk)
            return True


def _secret_ref(properties: dict[str, Any]) -> str | None:
    auth = properties["authentication"]
    if auth["method"] != "ArtifactPullSecret":
        return None
    return str(auth["artifactPullSecretSettings"]["secretRef"])


def _extended_location(
    body: RegistryEndpointBody, instance_location: dict[str, Any], existing: Any
) -> dict[str, Any]:
    """The endpoint lives where its instance lives; absent means 'the instance's location'."""
    if body.extendedLocation is None:
        if existing is not None:
            stored: dict[str, Any] = json.loads(existing.document)["extendedLocation"]
            return stored
        return dict(instance_location)
    sent = body.extendedLocation.model_dump()
    if existing is not None:
        stored = json.loads(existing.document)["extendedLocation"]
        if sent["name"].lower() != stored["name"].lower() or (
            sent["type"].lower() != stored["type"].lower()
        ):
            raise ValidationError(
                "The extendedLocation of a registry endpoint cannot change after it is created.",
                code="PropertyChangeNotAllowed",
                target="extendedLocation",
            )
    if sent["name"].lower() != instance_location["name"].lower():
        raise ValidationError(
            "The extendedLocation must be the custom location of the instance "
            f"('{instance_location['name']}').",
            code="InvalidExtendedLocation",
            target="extendedLocation.name",
        )
    return sent
