"""Dataflow profiles, dataflow graphs and Akri connector templates, with ARM semantics.

Graphs and templates name registry endpoints of their instance. A PUT checks that those
endpoints exist and answers at once: ``provisioningState`` is ``Accepted`` while the resolver
(``access.ReferenceResolver``) pulls what they name, and becomes ``Succeeded`` or ``Failed``
with the reason in ``properties.status.healthState`` when it has. A resource that names no
registry endpoint has nothing to resolve and is ``Succeeded`` at once, its health not checked.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..domain import (
    CONNECTOR_TEMPLATES,
    DATAFLOW_GRAPHS,
    DATAFLOW_PROFILES,
    InstanceKey,
    RegistryEndpointKey,
    ResourceKey,
    parse_model,
    rules,
)
from ..domain.connectors import ConnectorTemplateBody, check_template, template_endpoint_ref
from ..domain.dataflow import (
    DataflowGraphBody,
    DataflowProfileBody,
    check_graph,
    graph_endpoint_refs,
)
from ..errors import NotFoundError, ValidationError
from ..security import Principal
from ..store import ResourceRow, Store
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

__all__ = [
    "DEFAULT_PROFILE",
    "RESOURCE_KINDS",
    "Outcome",
    "ResolutionInput",
    "ResourceService",
    "UsageService",
    "default_profile_document",
    "describe_users",
    "used_repositories",
]

DEFAULT_PROFILE = "default"
_IMAGE_REF = (
    "properties.runtimeConfiguration.managedConfigurationSettings.imageConfigurationSettings."
    "registrySettings.registryEndpointRef"
)


@dataclass(frozen=True)
class _Kind:
    """What differs between the three resource types."""

    body: type[Any]  # the wire model (domain)
    # (ARM target, endpoint name) of every registry endpoint a body's properties name
    references: Callable[[dict[str, Any]], list[tuple[str, str]]]
    check: Callable[[Any], None] = lambda _properties: None
    # Something to pull even without an endpoint reference (a metadata reference)
    resolvable: Callable[[dict[str, Any]], bool] = lambda _properties: False


def _graph_refs(properties: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (f"properties.nodes[{i}].graphSettings.registryEndpointRef", name)
        for i, name in graph_endpoint_refs(properties)
    ]


def _template_refs(properties: dict[str, Any]) -> list[tuple[str, str]]:
    name = template_endpoint_ref(properties)
    return [(_IMAGE_REF, name)] if name else []


_KINDS: dict[str, _Kind] = {
    DATAFLOW_PROFILES: _Kind(DataflowProfileBody, lambda _p: []),
    DATAFLOW_GRAPHS: _Kind(DataflowGraphBody, _graph_refs, check_graph),
    CONNECTOR_TEMPLATES: _Kind(
        ConnectorTemplateBody,
        _template_refs,
        check_template,
        lambda p: bool(p.get("connectorMetadataRef")),
    ),
}


RESOURCE_KINDS = tuple(_KINDS)


@dataclass(frozen=True)
class ResolutionInput:
    """A resource as the resolver needs it: read once, with the instance's version."""

    key: ResourceKey
    etag: str
    properties: dict[str, Any]
    instance_version: str


@dataclass(frozen=True)
class Outcome:
    """What the resolver found: ``ok`` or the first failure's reason code and message, and
    the per-reference results with their digests (served by ``…/resolution``)."""

    ok: bool
    reason: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    checked: bool = True  # False: nothing could be checked (health stays Unknown)


def _not_found(key: ResourceKey) -> NotFoundError:
    return NotFoundError(
        f"The {key.label} was not found in instance '{key.parent.instance}'.",
        code="ResourceNotFound",
    )


def _parent_not_found(key: InstanceKey) -> NotFoundError:
    return NotFoundError(
        f"The parent instance '{key.instance}' was not found in resource group "
        f"'{key.resource_group}'. Create the instance first.",
        code="ParentResourceNotFound",
    )


def _health(status: str, reason: str, message: str, now: str,
            previous: dict[str, Any] | None) -> dict[str, Any]:
    same = previous is not None and previous.get("status") == status
    return {
        "status": status,
        "reasonCode": reason,
        "message": message,
        "lastTransitionTime": previous.get("lastTransitionTime", now) if same and previous
        else now,
        "lastUpdateTime": now,
    }


def _render(key: ResourceKey, location: dict[str, Any], properties: dict[str, Any],
            system: dict[str, Any]) -> str:
    doc = {
        "id": key.id,
        "name": key.name,
        "type": key.type,
        "extendedLocation": location,
        "properties": properties,
        "systemData": system,
    }
    return json.dumps(doc, separators=(",", ":"))


def default_profile_document(
    key: InstanceKey, extended_location: dict[str, Any], principal: Principal, now: str
) -> str:
    """The ``default`` dataflow profile IoT Operations gives every new instance."""
    rkey = ResourceKey(key, DATAFLOW_PROFILES, DEFAULT_PROFILE)
    properties = {"instanceCount": 1, "provisioningState": "Succeeded"}
    return _render(rkey, extended_location, properties, system_data(principal, now, None))


def used_repositories(rows: list[ResourceRow], key: RegistryEndpointKey, host: str
                      ) -> tuple[tuple[str, str], ...]:
    """(repository, who uses it) for what these resources pull through the endpoint ``key``
    of host ``host``: graph artifacts, the modules the last resolution found, images. Names
    are joined to the host's path prefix as the resolver joins them."""
    prefix = host.partition("/")[2].strip("/")

    def under(repository: str) -> str:
        if not prefix or repository == prefix or repository.startswith(prefix + "/"):
            return repository
        return f"{prefix}/{repository}"

    found: dict[str, str] = {}
    for row in rows:
        label = _key_of(key.parent, row).label
        props = json.loads(row.document)["properties"]
        for node in props.get("nodes") or []:
            settings = node.get("graphSettings") or {}
            if node.get("nodeType") == "Graph" and settings.get("registryEndpointRef") == key.name:
                found.setdefault(under(str(settings["artifact"]).rpartition(":")[0]), label)
        if row.kind == CONNECTOR_TEMPLATES and template_endpoint_ref(props) == key.name:
            image = props["runtimeConfiguration"]["managedConfigurationSettings"][
                "imageConfigurationSettings"]
            found.setdefault(under(str(image["imageName"])), label)
        for ref in (json.loads(row.resolution) if row.resolution else {}).get("references", []):
            if ref.get("kind") == "module" and ref.get("endpoint") == key.name:
                repo = str(ref["reference"]).partition("@")[0].rpartition(":")[0] or str(
                    ref["reference"])
                found.setdefault(under(repo), label)
    return tuple(found.items())


def describe_users(rows: list[ResourceRow], parent: InstanceKey) -> list[str]:
    return [_key_of(parent, row).label for row in rows]


def _key_of(parent: InstanceKey, row: ResourceRow) -> ResourceKey:
    return ResourceKey(parent, row.kind, row.name, row.parent)


class ResourceService:
    """CRUD for one of the three kinds (``kind``: its ARM path segment)."""

    def __init__(self, store: Store, kind: str) -> None:
        self._store = store
        self.kind = kind
        self._spec = _KINDS[kind]

    def key(self, parent: InstanceKey, name: str, profile: str = "") -> ResourceKey:
        return ResourceKey(parent, self.kind, name, profile)

    # --- reads ---------------------------------------------------------------------------

    def _instance_pk(self, r: Any, key: InstanceKey) -> int:
        inst = r.get_instance(key.sub_key, key.rg_key, key.instance)
        if inst is None:
            raise _parent_not_found(key)
        return int(inst.pk)

    def _check_profile(self, r: Any, inst_pk: int, key: ResourceKey) -> None:
        if key.kind == DATAFLOW_GRAPHS and r.resource(
            inst_pk, DATAFLOW_PROFILES, "", key.profile
        ) is None:
            raise NotFoundError(
                f"The parent dataflow profile '{key.profile}' was not found in instance "
                f"'{key.parent.instance}'.",
                code="ParentResourceNotFound",
            )

    def get(self, key: ResourceKey) -> tuple[str, str]:
        _check_name(key)
        with self._store.read() as r:
            inst_pk = self._instance_pk(r, key.parent)
            row = r.resource(inst_pk, key.kind, key.profile, key.name)
            if row is None:
                self._check_profile(r, inst_pk, key)
        if row is None:
            raise _not_found(key)
        return row.document, row.etag

    def resolution(self, key: ResourceKey) -> dict[str, Any]:
        """What the last resolution found: status, reason, and each reference's digests."""
        with self._store.read() as r:
            row = r.resource(self._instance_pk(r, key.parent), key.kind, key.profile, key.name)
        if row is None:
            raise _not_found(key)
        props = json.loads(row.document)["properties"]
        health = (props.get("status") or {}).get("healthState") or {}
        found = json.loads(row.resolution) if row.resolution else {}
        return {
            "id": key.id,
            "provisioningState": props.get("provisioningState"),
            "healthState": props.get("healthState"),
            "reasonCode": health.get("reasonCode"),
            "message": health.get("message"),
            "lastUpdateTime": health.get("lastUpdateTime"),
            "references": found.get("references", []),
        }

    def list(self, parent: InstanceKey, top: int | None, skip: str | None,
             profile: str = "") -> Page:
        limit = top or DEFAULT_PAGE_SIZE
        after = decode_skip_token(skip)
        if after is not None and not isinstance(after, str):
            decode_skip_token("!")
        with self._store.read() as r:
            inst_pk = self._instance_pk(r, parent)
            self._check_profile(r, inst_pk, self.key(parent, "-", profile))
            rows = r.list_resources(inst_pk, self.kind, profile, after, limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        return Page(
            [row.document for row in rows],
            encode_skip_token(rows[-1].name) if more and rows else None,
        )

    def resolution_input(self, key: ResourceKey) -> ResolutionInput:
        with self._store.read() as r:
            inst = r.get_instance(key.parent.sub_key, key.parent.rg_key, key.parent.instance)
            row = r.resource(inst.pk, key.kind, key.profile, key.name) if inst else None
        if inst is None or row is None:
            raise _not_found(key)
        version = str(json.loads(inst.document)["properties"].get("version") or "")
        return ResolutionInput(key, row.etag, json.loads(row.document)["properties"], version)

    # --- writes --------------------------------------------------------------------------

    def put(self, key: ResourceKey, raw: dict[str, Any], principal: Principal,
            pre: Preconditions) -> tuple[WriteResult, bool]:
        """Create or replace; also says whether the resolver has work to do."""
        _check_name(key)
        if isinstance(raw, dict):
            raw = strip_echoed_identity(raw, key.id, key.name, key.type)
        body = parse_model(self._spec.body, raw)
        props_model = getattr(body, "properties", None)
        if props_model is not None:
            self._spec.check(props_model)
        properties: dict[str, Any] = (
            props_model.model_dump(exclude_none=True, by_alias=True) if props_model else {}
        )
        references = self._spec.references(properties)
        resolvable = bool(references) or self._spec.resolvable(properties)
        sent_location = getattr(body, "extendedLocation", None)
        p = key.parent

        def txn() -> tuple[WriteResult, bool]:
            now = now_iso()
            with self._store.write() as w:
                inst = w.lock_instance(p.sub_key, p.rg_key, p.instance)
                if inst is None:
                    raise _parent_not_found(p)
                self._check_profile(w, inst.pk, key)
                for target, name in references:
                    if w.endpoint_in_instance(inst.pk, name) is None:
                        raise ValidationError(
                            f"The registry endpoint '{name}' does not exist in instance "
                            f"'{p.instance}'. Create it first (iotops registry create), or name "
                            "one of the instance's endpoints.",
                            code="RegistryEndpointNotFound",
                            target=target,
                        )
                existing = w.resource(inst.pk, key.kind, key.profile, key.name)
                pre.check(existing.etag if existing else None)
                previous = json.loads(existing.document) if existing else None
                location = _extended_location(
                    sent_location, json.loads(inst.document)["extendedLocation"], previous
                )
                stored = dict(properties)
                if key.kind != DATAFLOW_PROFILES:
                    old = ((previous or {}).get("properties", {}).get("status") or {}).get(
                        "healthState")
                    if resolvable:
                        stored["provisioningState"] = "Accepted"
                        health = _health("Unknown", "Resolving", "The references are being "
                                         "resolved through their registry endpoints.", now, old)
                    else:
                        stored["provisioningState"] = "Succeeded"
                        health = _health("Unknown", "NotChecked", _NOTHING[key.kind], now, old)
                    stored["healthState"] = "Unknown"
                    stored["status"] = {"healthState": health}
                else:
                    stored["provisioningState"] = "Succeeded"
                document = _render(
                    key, location, stored,
                    system_data(principal, now, previous["systemData"] if previous else None),
                )
                refs = json.dumps(sorted({name for _t, name in references}))
                etag = new_etag()
                if existing is None:
                    w.insert_resource(inst.pk, key.kind, key.profile, key.name, etag, document,
                                      refs)
                else:
                    w.update_resource(existing.pk, etag, document, refs)
                return WriteResult(document, etag, existing is None), resolvable

        return retry_on_conflict(txn)

    def record(self, key: ResourceKey, etag: str, outcome: Outcome) -> bool:
        """Keep a resolution's outcome, unless the resource changed since it was read (its
        new version has its own resolution coming). True if kept."""
        p = key.parent
        with self._store.write() as w:
            inst = w.lock_instance(p.sub_key, p.rg_key, p.instance)
            row = w.resource(inst.pk, key.kind, key.profile, key.name) if inst else None
            if row is None or row.etag != etag:
                return False
            doc = json.loads(row.document)
            props = doc["properties"]
            old = (props.get("status") or {}).get("healthState")
            now = now_iso()
            status = "Unavailable" if not outcome.ok else (
                "Available" if outcome.checked else "Unknown")
            props["provisioningState"] = "Succeeded" if outcome.ok else "Failed"
            props["healthState"] = status
            props["status"] = {
                "healthState": _health(status, outcome.reason, outcome.message, now, old)
            }
            w.record_resolution(
                row.pk, json.dumps(doc, separators=(",", ":")),
                json.dumps({"at": now, **outcome.details}, separators=(",", ":")),
            )
            return True

    def delete(self, key: ResourceKey, pre: Preconditions) -> bool:
        _check_name(key)
        p = key.parent
        with self._store.write() as w:
            inst = w.lock_instance(p.sub_key, p.rg_key, p.instance)
            existing = w.resource(inst.pk, key.kind, key.profile, key.name) if inst else None
            pre.check(existing.etag if existing else None)
            if existing is None or inst is None:
                return False
            if key.kind == DATAFLOW_PROFILES:
                w.delete_resources_under(inst.pk, DATAFLOW_GRAPHS, key.name)
            w.delete_resource(existing.pk)
            return True


class UsageService:
    """Which graphs and templates name an endpoint; every resource there is (the resolver's
    start-up sweep)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def users(self, key: RegistryEndpointKey) -> list[ResourceKey]:
        p = key.parent
        with self._store.read() as r:
            inst = r.get_instance(p.sub_key, p.rg_key, p.instance)
            rows = r.resources_naming_endpoint(inst.pk, key.name) if inst else []
        return [_key_of(p, row) for row in rows]

    def pending_keys(self) -> list[ResourceKey]:
        """Graphs and templates still ``Accepted`` (saved, never resolved: a restart)."""
        with self._store.read() as r:
            keys = r.instance_resource_keys(state="Accepted")
        return [
            ResourceKey(InstanceKey(s, g, i), kind, name, parent)
            for s, g, i, kind, parent, name in keys
            if kind != DATAFLOW_PROFILES
        ]


_NOTHING = {
    DATAFLOW_GRAPHS: "This graph has no Graph node, so nothing is pulled through a registry "
    "endpoint; nothing was checked.",
    CONNECTOR_TEMPLATES: "The image comes from a ContainerRegistry with pull secrets that "
    "only the cluster holds, and there is no connectorMetadataRef; nothing was checked.",
}


def _check_name(key: ResourceKey) -> None:
    problem = rules.check_resource_name(key.name)
    if problem:
        param = {DATAFLOW_PROFILES: "dataflowProfileName", DATAFLOW_GRAPHS: "dataflowGraphName",
                 CONNECTOR_TEMPLATES: "akriConnectorTemplateName"}[key.kind]
        raise ValidationError(problem, code="InvalidResourceName", target=param)


def _extended_location(sent: Any, instance_location: dict[str, Any],
                       previous: dict[str, Any] | None) -> dict[str, Any]:
    """A resource lives where its instance lives; absent means 'the instance's location'."""
    stored = previous["extendedLocation"] if previous else None
    if sent is None:
        return dict(stored or instance_location)
    value: dict[str, Any] = sent.model_dump()
    if stored is not None and value["name"].lower() != stored["name"].lower():
        raise ValidationError(
            "The extendedLocation cannot change after the resource is created.",
            code="PropertyChangeNotAllowed",
            target="extendedLocation",
        )
    if value["name"].lower() != instance_location["name"].lower():
        raise ValidationError(
            "The extendedLocation must be the custom location of the instance "
            f"('{instance_location['name']}').",
            code="InvalidExtendedLocation",
            target="extendedLocation.name",
        )
    return value
