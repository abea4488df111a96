"""Registry endpoints: create, replace, read, list and delete, with ARM semantics."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..domain import (
    REGISTRY_ENDPOINT_TYPE,
    InstanceKey,
    RegistryEndpointBody,
    RegistryEndpointKey,
    parse_model,
)
from ..domain.auth_methods import ANONYMOUS, PULL_SECRET, AuthMethod, CredentialPlan, plan_for
from ..domain.connection import ConnectionSettings
from ..domain.secrets import split_source
from ..errors import ConflictError, NotFoundError, ValidationError
from ..security import Principal
from ..store import Store
from .code_signing import CaSource, save_warnings, sources_from
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
from .instance_resources import describe_users, used_repositories
from .linked_access import LinkedAccess
from .pull_secrets import pull_secret_warning

__all__ = [
    "EndpointTarget",
    "RegistryEndpointService",
    "default_endpoint_document",
    "endpoint_not_found",
]

DEFAULT_HEALTH = "Unknown"


def endpoint_not_found(key: RegistryEndpointKey) -> NotFoundError:
    """The one answer for a registry endpoint that does not exist, whatever asked for it."""
    return NotFoundError(
        f"The Resource '{REGISTRY_ENDPOINT_TYPE.split('/', 1)[0]}/instances/"
        f"{key.parent.instance}/registryEndpoints/{key.name}' under resource group "
        f"'{key.parent.resource_group}' was not found.",
        code="ResourceNotFound",
    )


@dataclass(frozen=True)
class EndpointTarget:
    """An endpoint, read once, with everything reaching its registry needs: the document,
    the connection settings, the credential plan and, for a pull secret, the synced secret
    it names (its properties, or ``None`` if it does not exist). Loaded by
    :meth:`RegistryEndpointService.target` and passed down, never read again."""

    key: RegistryEndpointKey
    document: dict[str, Any]
    settings: ConnectionSettings
    plan: CredentialPlan
    synced_secret: dict[str, Any] | None = None
    # codeSigningCas entries with the ConfigMaps and synced secrets they name
    ca_sources: tuple[CaSource, ...] = ()
    # Repositories that the instance's graphs and templates pull through this endpoint,
    # with who uses them: what the connection test proves pull permission on first.
    used_repositories: tuple[tuple[str, str], ...] = ()

    @property
    def method(self) -> AuthMethod:
        return self.plan.method

    @property
    def host(self) -> str:
        return str(self.document["properties"]["host"])

    @property
    def registry(self) -> str:
        return self.host.split("/", 1)[0]

    @property
    def prefix(self) -> str:
        """The repository path prefix in the host (``ghcr.io/org`` -> ``org``)."""
        return self.host.partition("/")[2]


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
        "authentication": ANONYMOUS.authentication(),
    }
    return render(key, extended_location, properties, system_data(principal, now, None))


class RegistryEndpointService:
    def __init__(
        self, store: Store, *, tenant: str = "", linked: LinkedAccess | None = None
    ) -> None:
        self._store = store
        self._tenant = tenant  # system-assigned identities belong to the deployment's tenant
        self._linked = linked  # who may send a pull secret where (services.linked_access)

    def get(self, key: RegistryEndpointKey) -> tuple[str, str]:
        p = key.parent
        row = self._store.get_endpoint_fast(p.sub_key, p.rg_key, p.instance, key.name)
        if row is None:
            raise endpoint_not_found(key)
        return row.document, row.etag

    @property
    def async_reads(self) -> bool:
        """:meth:`aget` reads on the event loop (PostgreSQL), so call it directly."""
        return self._store.async_reads

    async def aget(self, key: RegistryEndpointKey) -> tuple[str, str]:
        """:meth:`get` without a worker thread, where the store can (PostgreSQL)."""
        p = key.parent
        row = await self._store.get_endpoint_async(p.sub_key, p.rg_key, p.instance, key.name)
        if row is None:
            raise endpoint_not_found(key)
        return row.document, row.etag

    def target(self, key: RegistryEndpointKey) -> EndpointTarget:
        """The endpoint and what its credentials need, in one read."""
        p = key.parent
        synced: dict[str, Any] | None = None
        ca_sources: tuple[CaSource, ...] = ()
        with self._store.read() as r:
            state = r.endpoint_state(p.sub_key, p.rg_key, p.instance, key.name)
            if state is None:
                raise endpoint_not_found(key)
            document = json.loads(state.document)
            plan = plan_for(document["properties"]["authentication"], self._tenant)
            cas = document["properties"].get("codeSigningCas") or []
            inst = r.get_instance(p.sub_key, p.rg_key, p.instance)
            if plan.kind == PULL_SECRET and plan.secret_ref:
                row = r.synced_secret(inst.pk, plan.secret_ref) if inst else None
                synced = json.loads(row.document)["properties"] if row else None
            if cas and inst is not None:
                ca_sources = _ca_sources(r, inst.pk, cas)
            users = r.resources_naming_endpoint(inst.pk, key.name) if inst else []
        settings = ConnectionSettings.parse(state.connection_settings)
        used = used_repositories(users, key, str(document["properties"]["host"]))
        return EndpointTarget(key, document, settings, plan, synced, ca_sources, used)

    def all_keys(self) -> list[RegistryEndpointKey]:
        """Every endpoint of every instance (the health sweep)."""
        with self._store.read() as r:
            ids = r.all_endpoint_ids()
        return [RegistryEndpointKey(InstanceKey(s, g, i), n) for s, g, i, n in ids]

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
                secret_ref = plan_for(properties["authentication"], self._tenant).secret_ref
                if secret_ref is not None and self._linked is not None:
                    self._check_linked(w, inst.pk, principal, properties, previous, secret_ref)
                if existing is None:
                    w.insert_endpoint(inst.pk, key.name, etag, document, secret_ref)
                else:
                    w.update_endpoint(existing.pk, etag, document, secret_ref)
                warnings: list[str] = []
                cas = properties.get("codeSigningCas") or []
                if cas:  # accepted; what does not resolve is said now and in health
                    warnings.extend(save_warnings(_ca_sources(w, inst.pk, cas)))
                if secret_ref is not None:
                    # Accepted as IoT Operations accepts it: the secret may come later.
                    synced = w.synced_secret(inst.pk, secret_ref)
                    props = json.loads(synced.document)["properties"] if synced else None
                    warning = pull_secret_warning(secret_ref, props)
                    if warning:
                        warnings.append(warning)
                return WriteResult(document, etag, existing is None, warnings)

        return retry_on_conflict(txn)

    def _check_linked(
        self, w: Any, instance_pk: int, principal: Principal, properties: dict[str, Any],
        previous: dict[str, Any] | None, secret_ref: str,
    ) -> None:
        """A new endpoint, host or synced secret sends the secret somewhere new: the caller
        must be able to read the vault secrets behind it."""
        assert self._linked is not None
        if previous is not None:
            old = previous.get("properties") or {}
            old_ref = plan_for(old.get("authentication") or {}, self._tenant).secret_ref
            if old_ref == secret_ref and str(old.get("host", "")).lower() == str(
                properties.get("host", "")
            ).lower():
                return
        synced = w.synced_secret(instance_pk, secret_ref)
        if synced is None:
            return  # nothing to send yet; the synced secret's own PUT is checked
        mapping = json.loads(synced.document)["properties"].get("objectSecretMapping", [])
        self._linked.require_read(
            principal, (split_source(str(m.get("sourcePath", "")))[0] for m in mapping)
        )

    def delete(
        self, key: RegistryEndpointKey, pre: Preconditions, *, force: bool = False
    ) -> bool:
        """Delete; 409 ``RegistryEndpointInUse`` while graphs or templates name it, unless
        ``force`` (they then fail to resolve, and say so in their status)."""
        p = key.parent
        with self._store.write() as w:
            inst = w.lock_instance(p.sub_key, p.rg_key, p.instance)
            existing = w.endpoint_in_instance(inst.pk, key.name) if inst else None
            pre.check(existing.etag if existing else None)
            if existing is None or inst is None:
                return False
            users = describe_users(w.resources_naming_endpoint(inst.pk, key.name), p)
            if users and not force:
                raise ConflictError(
                    f"The registry endpoint '{key.name}' is used by {', '.join(users)}. Point "
                    "those at another endpoint or delete them first, or delete it anyway with "
                    "force=true (the CLI: iotops registry delete --force).",
                    code="RegistryEndpointInUse",
                    target=key.name,
                )
            w.delete_endpoint(existing.pk)
            return True


def _ca_sources(r: Any, instance_pk: int, cas: list[dict[str, Any]]) -> tuple[CaSource, ...]:
    """The codeSigningCas entries with what they name, read in the caller's transaction."""
    maps = [str(c.get("configMapRef")) for c in cas if c.get("type") == "ConfigMap"]
    config_maps = {
        row.name: json.loads(row.document)["properties"]
        for row in r.config_maps_named(instance_pk, maps)
    }
    synced = {}
    for c in cas:
        if c.get("type") == "Secret":
            row = r.synced_secret(instance_pk, str(c.get("secretRef")))
            if row is not None:
                synced[row.name] = json.loads(row.document)["properties"]
    return sources_from(cas, config_maps, synced)


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
