"""Resolve what dataflow graphs and connector templates name, through their registry
endpoints, the way the cluster's controllers would pull it, before anything reaches the edge.

A graph node: the graph artifact (``<host prefix>/<name>:<version>``), validated with the
publishing rules; its ``runtimeVersion`` against the instance's version; its parameters
against the node's ``configuration`` (required ones present, no unknown key); each module,
through the same endpoint (a host with a path prefix prefixes module repositories that do
not already start with it, so both host semantics resolve). A template: its connector
metadata, validated; its endpoint types against the metadata's; its image (tag or digest)
through the image's registry endpoint.

The outcome becomes the resource's status (``services.ResourceService.record``): the first
failure's reason code and message, and every reference with its digest. Work runs in the
background after each PUT, on demand, and when an endpoint the resource names changes. Every
pull is bounded in bytes and the whole resolution in time.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..domain import CONNECTOR_TEMPLATES, DATAFLOW_GRAPHS, RegistryEndpointKey, ResourceKey
from ..errors import (
    InvalidArtifact,
    InvalidReference,
    IotopsError,
    NotFoundError,
    RegistryAuthError,
    RegistryError,
    RegistryNotFound,
    RegistryUnreachable,
)
from ..errors import (
    ResolutionFailed as _Failed,  # short: raised on every path below
)
from ..oci import Digest, Manifest, mediatypes
from ..services import (
    CodeSigningCaService,
    EndpointTarget,
    Outcome,
    RegistryEndpointService,
    ResolutionInput,
    ResourceService,
    UsageService,
)
from .registry_access import RegistryAccess
from .signatures import SignatureChecker

__all__ = ["ReferenceResolver", "repository_in"]

log = logging.getLogger("iotops_registry.resolver")
T = TypeVar("T")

MAX_DOCUMENT_BYTES = 4 << 20
_GRAPH_TYPES = {mediatypes.AIO_GRAPH, mediatypes.DATAFLOW_GRAPH}


def repository_in(target: EndpointTarget, repository: str) -> str:
    """The repository a reference names through an endpoint: a host with a path prefix
    (``ghcr.io/org/project``) prefixes it unless it already starts with that prefix."""
    prefix = target.prefix.strip("/")
    if not prefix or repository == prefix or repository.startswith(prefix + "/"):
        return repository
    return f"{prefix}/{repository}"


@dataclass
class _Run:
    """One resolution: the references seen, the first failure."""

    references: list[dict[str, Any]] = field(default_factory=list)
    failure: tuple[str, str] | None = None

    def add(self, kind: str, target: str, endpoint: str | None, reference: str, *,
            digest: str | None = None, status: str = "Resolved", reason: str | None = None,
            message: str | None = None, signature: dict[str, Any] | None = None) -> None:
        self.references.append({
            "kind": kind, "target": target, "endpoint": endpoint, "reference": reference,
            "digest": digest, "status": status, "reasonCode": reason, "message": message,
            "signature": signature,
        })
        if status == "Failed" and self.failure is None:
            self.failure = (reason or "_Failed", message or "")

    def outcome(self, success: str) -> Outcome:
        details = {"references": self.references}
        if self.failure:
            return Outcome(False, self.failure[0], self.failure[1], details)
        if not any(r["status"] == "Resolved" for r in self.references):
            return Outcome(True, "NotChecked", "Nothing here pulls through a registry endpoint;"
                           " nothing was checked.", details, checked=False)
        return Outcome(True, "Resolved", success, details)


def _version_tuple(text: str) -> tuple[int, ...] | None:
    core = text.strip().lstrip("v").split("-", 1)[0].split("+", 1)[0]
    try:
        return tuple(int(p) for p in core.split("."))
    except ValueError:
        return None


def _registry_failure(exc: BaseException, what: str, endpoint: str) -> _Failed:
    """A registry error as a reason code and a message that names no secret."""
    if isinstance(exc, RegistryNotFound):
        return _Failed("NotFound", f"{what} does not exist")
    if isinstance(exc, RegistryAuthError):
        step = "the token service refused the credentials" if exc.step == "token" else (
            "the registry refused the request")
        return _Failed("EndpointCannotPull",
                       f"the registry endpoint '{endpoint}' cannot pull {what}: {step} "
                       f"(HTTP {exc.status})")
    if isinstance(exc, RegistryUnreachable):
        return _Failed("RegistryUnreachable", f"cannot reach the registry for {what}: {exc}")
    if isinstance(exc, InvalidReference):
        return _Failed("InvalidReference", f"{what} is not a valid reference: {exc}")
    if isinstance(exc, IotopsError):
        # Credential problems (a missing pull secret, a managed identity that has no token)
        # are ours; their messages never carry a value.
        return _Failed("EndpointCannotPull",
                       f"the registry endpoint '{endpoint}' cannot pull {what}: {exc}")
    return _Failed("EndpointCannotPull",
                   f"the registry endpoint '{endpoint}' cannot pull {what}: "
                   f"{type(exc).__name__}")


class ReferenceResolver:
    def __init__(
        self,
        endpoints: RegistryEndpointService,
        resources: dict[str, ResourceService],
        usage: UsageService,
        access: RegistryAccess,
        *,
        concurrency: int = 2,
        timeout: float = 60.0,
        signatures: SignatureChecker | None = None,
        code_signing: CodeSigningCaService | None = None,
    ) -> None:
        self._signatures = signatures
        self._code_signing = code_signing
        self._endpoints = endpoints
        self._resources = resources
        self._usage = usage
        self._access = access
        self._concurrency = concurrency
        self._timeout = timeout
        self._queue: asyncio.Queue[ResourceKey] = asyncio.Queue()
        self._pending: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []

    # --- scheduling ----------------------------------------------------------------------

    def schedule(self, key: ResourceKey) -> None:
        if key.id in self._pending:
            return
        self._pending.add(key.id)
        self._queue.put_nowait(key)

    def endpoint_changed(self, key: RegistryEndpointKey) -> None:
        """Resolve again everything that names this endpoint (soon, in the background)."""
        self._tasks.append(asyncio.create_task(self._users_of(key)))

    async def _users_of(self, key: RegistryEndpointKey) -> None:
        try:
            for user in await asyncio.to_thread(self._usage.users, key):
                self.schedule(user)
        except Exception:
            log.exception("could not list the users of an endpoint")

    async def resolve_now(self, key: ResourceKey) -> None:
        await self._resolve(key)

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self._worker()) for _ in range(self._concurrency)]
        # What was saved but never resolved (a restart while Accepted) is picked up.
        await self._startup()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def _startup(self) -> None:
        try:
            keys = await asyncio.to_thread(self._usage.pending_keys)
        except Exception:
            log.exception("could not list the resources to resolve")
            return
        for key in keys:
            self.schedule(key)

    async def _worker(self) -> None:
        while True:
            key = await self._queue.get()
            self._pending.discard(key.id)
            try:
                await self._resolve(key)
            except NotFoundError:
                pass  # deleted meanwhile
            except Exception:  # keep the resolver alive
                log.exception("resolution of %s failed", key.id)

    # --- one resolution ------------------------------------------------------------------

    async def _resolve(self, key: ResourceKey) -> None:
        service = self._resources[key.kind]
        inp = await asyncio.to_thread(service.resolution_input, key)
        try:
            outcome = await asyncio.wait_for(self._outcome(inp), self._timeout)
        except TimeoutError:
            outcome = Outcome(False, "ResolutionTimedOut",
                              f"Resolving took longer than {self._timeout:.0f} s; try again "
                              "with POST .../resolve.")
        await asyncio.to_thread(service.record, key, inp.etag, outcome)

    async def _outcome(self, inp: ResolutionInput) -> Outcome:
        run = _Run()
        if inp.key.kind == DATAFLOW_GRAPHS:
            for i, node in enumerate(inp.properties.get("nodes") or []):
                if node.get("nodeType") == "Graph":
                    await self._graph_node(inp, i, node, run)
            return run.outcome("Every graph artifact and module resolved through its "
                               "registry endpoint.")
        if inp.key.kind == CONNECTOR_TEMPLATES:
            note = await self._template(inp, run)
            return run.outcome("The template's references resolved." + note)
        return run.outcome("Nothing to resolve.")

    async def _target(self, inp: ResolutionInput, name: str) -> EndpointTarget:
        try:
            return await asyncio.to_thread(
                self._endpoints.target, RegistryEndpointKey(inp.key.parent, name)
            )
        except NotFoundError:
            raise _Failed("RegistryEndpointNotFound",
                          f"the registry endpoint '{name}' does not exist (any more)") from None

    async def _call(self, target: EndpointTarget, endpoint: str, what: str,
                    op: Callable[[Any], Awaitable[T]]) -> T:
        """One registry call through the endpoint's shared client. A failure that is not the
        registry's answer (the shared client replaced and closed meanwhile, after a secret
        rotation or an endpoint update) is tried once more with the current client."""
        for attempt in (1, 2):
            client = await self._access.client(target)
            try:
                return await op(client)
            except RegistryError as exc:
                raise _registry_failure(exc, what, endpoint) from None
            except Exception as exc:
                if attempt == 2:
                    raise _registry_failure(exc, what, endpoint) from None
        raise AssertionError("unreachable")

    async def _signed(self, target: EndpointTarget, endpoint: str, repository: str,
                      digest: Digest, what: str) -> dict[str, Any] | None:
        """The endpoint's signature policy on ``repository@digest`` (docs/trust.md): None when
        the policy is off; the check's summary when allowed (audit records what it found);
        a failure with the verdict's code when enforce refuses it."""
        if self._signatures is None or self._code_signing is None:
            return None
        if not target.ca_sources and target.settings.signature_policy in (None, "off"):
            return None  # nothing configured: no request, no vault read
        cas = await asyncio.to_thread(self._code_signing.resolve, target.ca_sources)
        checker = self._signatures
        check = await self._call(target, endpoint, f"the signatures of {what}",
                                 lambda _c: checker.check(target, cas, repository, digest))
        if check.policy == "off":
            return None
        summary = {"policy": check.policy, "decision": "Allowed" if check.allowed else
                   "Refused", "code": check.code, "badge": check.badge,
                   "signer": check.verdict.signature.signer
                   if check.verdict and check.verdict.signature else None}
        if not check.allowed:
            raise _Failed(check.code, f"{what} ({digest}) is refused by the signature policy "
                          f"of the registry endpoint '{endpoint}': {check.message}")
        return summary

    async def _fetch(self, target: EndpointTarget, endpoint: str, repository: str, ref: str,
                     what: str) -> tuple[Manifest, Digest]:
        fetched = await self._call(target, endpoint, what,
                                   lambda c: c.get_manifest(repository, ref))
        try:
            manifest = fetched.parse()
        except Exception as exc:
            raise _registry_failure(exc, what, endpoint) from None
        if not isinstance(manifest, Manifest):
            raise _Failed("UnexpectedArtifact", f"{what} is an index, not an artifact manifest")
        return manifest, fetched.digest

    async def _blob(self, target: EndpointTarget, endpoint: str, repository: str,
                    manifest: Manifest, what: str, *, want: set[str] | None = None) -> bytes:
        layers = [d for d in manifest.layers if want is None or d.media_type in want]
        descriptor = (layers or manifest.layers or [manifest.config])[0]
        if descriptor.size > MAX_DOCUMENT_BYTES:
            raise _Failed("ArtifactTooLarge", f"{what} is {descriptor.size} bytes; at most "
                          f"{MAX_DOCUMENT_BYTES} are read")
        return await self._call(target, endpoint, what, lambda c: c.get_blob(
            repository, descriptor.digest, size=descriptor.size))

    # --- graphs --------------------------------------------------------------------------

    async def _graph_node(self, inp: ResolutionInput, i: int, node: dict[str, Any],
                          run: _Run) -> None:
        from ..packaging.graph import MIGRATION, graph_parameters, validate_graph_text
        from ..packaging.modref import ModuleRef

        settings = node["graphSettings"]
        endpoint = str(settings["registryEndpointRef"])
        artifact = str(settings["artifact"])
        where = f"properties.nodes[{i}].graphSettings"
        name, _, version = artifact.rpartition(":")
        try:
            target = await self._target(inp, endpoint)
            repository = repository_in(target, name)
            shown = f"the graph artifact {target.registry}/{repository}:{version}"
            try:
                manifest, digest = await self._fetch(target, endpoint, repository, version,
                                                     shown)
            except _Failed as failed:
                if failed.reason == "NotFound":
                    raise _Failed("ArtifactNotFound", f"Node '{node['name']}': {shown} does not "
                                  f"exist (through the registry endpoint '{endpoint}', host "
                                  f"'{target.host}').") from None
                raise
            kinds = {manifest.artifact_type, manifest.config.media_type}
            layers = {d.media_type for d in manifest.layers}
            if not kinds & _GRAPH_TYPES and mediatypes.YAML not in layers and (
                    mediatypes.AIO_GRAPH not in layers):
                raise _Failed("NotAGraphArtifact", f"Node '{node['name']}': {shown} is not a "
                              "graph (its config and layers carry no graph media type)")
            text = (await self._blob(target, endpoint, repository, manifest, shown,
                                     want={mediatypes.YAML, mediatypes.AIO_GRAPH})).decode(
                "utf-8", "replace")
            try:
                graph = validate_graph_text(text, f"{name}:{version}")
            except InvalidArtifact as exc:
                first = exc.problems[0] if exc.problems else None
                if first is not None and first.message == MIGRATION:
                    raise _Failed("PreviewGraphFormat", f"Node '{node['name']}': {shown} is in "
                                  f"the preview format: {first.message}; {first.fix}") from None
                raise _Failed("InvalidGraph", f"Node '{node['name']}': {shown} is not a valid "
                              f"graph: {first}") from None
            signed = await self._signed(target, endpoint, repository, digest, shown)
            run.add("graph", f"{where}.artifact", endpoint, artifact, digest=str(digest),
                    signature=signed)
            self._check_runtime(node["name"], graph.runtime_version, inp.instance_version)
            self._check_parameters(node, graph_parameters(graph))
        except _Failed as failed:
            run.add("graph", f"{where}.artifact", endpoint, artifact, status="Failed",
                    reason=failed.reason, message=failed.message)
            return
        for ref in graph.module_refs:
            module = ModuleRef(repository_in(target, ref.repository), ref.tag, ref.digest)
            what = f"the module {target.registry}/{module}"
            try:
                _m, module_digest = await self._fetch(target, endpoint, module.repository,
                                                      module.ref, what)
                signed = await self._signed(target, endpoint, module.repository,
                                            module_digest, what)
            except _Failed as failed:
                reason = "ModuleNotFound" if failed.reason == "NotFound" else failed.reason
                run.add("module", f"{where}.artifact", endpoint, str(ref), status="Failed",
                        reason=reason, message=f"Node '{node['name']}': {failed.message} "
                        f"(named by {artifact} as '{ref}').")
                continue
            run.add("module", f"{where}.artifact", endpoint, str(ref),
                    digest=str(module_digest), signature=signed)

    @staticmethod
    def _check_runtime(node: str, runtime: str, instance: str) -> None:
        wanted, have = _version_tuple(runtime), _version_tuple(instance)
        if wanted is not None and have is not None and wanted > have:
            raise _Failed("RuntimeVersionNotSupported", f"Node '{node}': the graph needs "
                          f"runtime {runtime}, newer than the instance's version {instance}.")

    @staticmethod
    def _check_parameters(node: dict[str, Any], parameters: list[Any]) -> None:
        given = {str(e["key"]): str(e.get("value", ""))
                 for e in node["graphSettings"].get("configuration") or []}
        known = {p.key for p in parameters}
        unknown = sorted(set(given) - known)
        if unknown:
            raise _Failed("UnknownParameter", f"Node '{node['name']}': the graph has no "
                          f"parameter {', '.join(repr(u) for u in unknown)} (its parameters: "
                          f"{', '.join(sorted(known)) or 'none'}).")
        missing = sorted(p.key for p in parameters if p.required and not given.get(p.key))
        if missing:
            raise _Failed("RequiredParameterMissing", f"Node '{node['name']}': the required "
                          f"parameter {', '.join(repr(m) for m in missing)} has no value in "
                          "graphSettings.configuration.")

    # --- connector templates -------------------------------------------------------------

    async def _template(self, inp: ResolutionInput, run: _Run) -> str:
        props = inp.properties
        settings = props["runtimeConfiguration"]["managedConfigurationSettings"]
        image = settings.get("imageConfigurationSettings")
        registry = (image or {}).get("registrySettings") or {}
        image_endpoint = registry.get("registryEndpointRef") if registry.get(
            "registrySettingsType") == "RegistryEndpointRef" else None
        note = ""
        ref = props.get("connectorMetadataRef")
        if ref:
            target_path = "properties.connectorMetadataRef"
            try:
                endpoint, target, repository, tag = await self._metadata_endpoint(
                    inp, str(ref), image_endpoint)
                meta, digest = await self._pull_metadata(target, endpoint, repository, tag,
                                                         str(ref))
                self._check_endpoint_types(props, meta)
                signed = await self._signed(target, endpoint, repository, digest,
                                            f"the connector metadata {ref}")
                run.add("metadata", target_path, endpoint, str(ref), digest=str(digest),
                        signature=signed)
            except _Failed as failed:
                run.add("metadata", target_path, None, str(ref), status="Failed",
                        reason=failed.reason, message=failed.message)
        if image is not None:
            await self._image(inp, image, image_endpoint, run)
            if image_endpoint is None:
                note = (" The image comes from a ContainerRegistry with pull secrets only the "
                        "cluster holds: not checked.")
        return note

    async def _pull_metadata(self, target: EndpointTarget, endpoint: str, repository: str,
                             tag: str, ref: str) -> tuple[dict[str, Any], Digest]:
        """Connector metadata through an endpoint, validated with the publishing rules."""
        from ..packaging.connector import metadata_text, validate_metadata

        shown = f"the connector metadata {ref}"
        try:
            manifest, digest = await self._fetch(target, endpoint, repository, tag, shown)
        except _Failed as failed:
            if failed.reason == "NotFound":
                raise _Failed("MetadataNotFound", f"{shown} does not exist (through the "
                              f"registry endpoint '{endpoint}').") from None
            raise
        kinds = {manifest.artifact_type, manifest.config.media_type,
                 *(d.media_type for d in manifest.layers)}
        if mediatypes.AKRI_CONNECTOR not in kinds:
            raise _Failed("NotConnectorMetadata", f"{shown} is not connector metadata: its "
                          f"manifest carries no {mediatypes.AKRI_CONNECTOR} media type")
        blob = await self._blob(target, endpoint, repository, manifest, shown)
        try:
            meta = validate_metadata(metadata_text(blob), ref)
        except (InvalidArtifact, UnicodeDecodeError) as exc:
            detail = exc.problems[0] if isinstance(exc, InvalidArtifact) and (
                exc.problems) else exc
            raise _Failed("InvalidMetadata", f"{shown} is not valid connector "
                          f"metadata: {detail}") from None
        return meta.data, digest

    async def connector_metadata(self, target: EndpointTarget, ref: str) -> dict[str, Any]:
        """``POST …/registryEndpoints/{name}/pullConnectorMetadata``: the metadata a
        reference names, pulled through this endpoint and validated (the CLI's and the
        portal's template-from-metadata)."""
        path, at, digest = ref.partition("@")
        repo_path, colon, tag = path.rpartition(":")
        if not colon or "/" in tag:
            repo_path, tag = path, "latest"
        if at:
            tag = digest
        host = target.host.rstrip("/")
        if not (repo_path == host or repo_path.startswith(host + "/")):
            raise _Failed("ReferenceNotOnEndpoint", f"'{ref}' is not under the endpoint's "
                          f"host '{host}'")
        repository = repository_in(target, repo_path[len(host):].lstrip("/"))
        meta, found = await self._pull_metadata(target, target.key.name, repository, tag, ref)
        return {"reference": ref, "digest": str(found), "metadata": meta}

    async def _metadata_endpoint(self, inp: ResolutionInput, ref: str,
                                 preferred: str | None) -> tuple[str, EndpointTarget, str, str]:
        """The endpoint whose host is the longest prefix of the reference (the image's own
        endpoint first), the repository through it and the tag or digest."""
        rest, at, digest = ref.partition("@")
        path, colon, tag = rest.rpartition(":")
        if not colon or "/" in tag:
            path, tag = rest, "latest"
        if at:
            tag = digest
        host, _, _ = path.partition("/")
        page = await asyncio.to_thread(self._endpoints.list, inp.key.parent, 1000, None)
        candidates: list[tuple[int, int, str]] = []
        for doc in map(json.loads, page.documents):
            h = str(doc["properties"]["host"]).rstrip("/")
            if path == h or path.startswith(h + "/"):
                candidates.append((0 if doc["name"] == preferred else 1, -len(h), doc["name"]))
        if not candidates or not host:
            raise _Failed("NoEndpointForMetadata", f"no registry endpoint of the instance has a "
                          f"host that '{ref}' starts with; create one for '{host}'")
        name = str(min(candidates)[2])
        target = await self._target(inp, name)
        repository = path[len(target.host.rstrip("/")):].lstrip("/")
        return name, target, repository_in(target, repository), tag

    @staticmethod
    def _check_endpoint_types(props: dict[str, Any], meta: dict[str, Any]) -> None:
        offered = {str(e.get("endpointType")): e for e in meta.get("inboundEndpoints") or []
                   if isinstance(e, dict)}
        for t in props.get("deviceInboundEndpointTypes") or []:
            found = offered.get(str(t["endpointType"]))
            if found is None:
                raise _Failed("EndpointTypeMismatch", f"the metadata offers no inbound endpoint "
                              f"type '{t['endpointType']}' (it offers: "
                              f"{', '.join(sorted(offered)) or 'none'}).")
            version = t.get("version")
            if version and found.get("version") is not None and str(found["version"]) != version:
                raise _Failed("EndpointTypeMismatch", f"the metadata offers '{t['endpointType']}'"
                              f" version {found['version']}, not {version}.")

    async def _image(self, inp: ResolutionInput, image: dict[str, Any],
                     endpoint: str | None, run: _Run) -> None:
        where = ("properties.runtimeConfiguration.managedConfigurationSettings."
                 "imageConfigurationSettings")
        pin = image.get("tagDigestSettings") or {}
        ref = str(pin.get("digest") or pin.get("tag") or "latest")
        name = str(image["imageName"])
        shown_ref = f"{name}@{ref}" if pin.get("digest") else f"{name}:{ref}"
        if endpoint is None:
            run.add("image", where, None, shown_ref, status="NotChecked",
                    message="ContainerRegistry settings: pulled by the cluster with its own "
                    "pull secrets; not checked here.")
            return
        try:
            target = await self._target(inp, endpoint)
            repository = repository_in(target, name)
            shown = f"the image {target.registry}/{repository}:{ref}" if not pin.get(
                "digest") else f"the image {target.registry}/{repository}@{ref}"
            try:
                _m, digest = await self._fetch(target, endpoint, repository, ref, shown)
            except _Failed as failed:
                if failed.reason == "NotFound":
                    raise _Failed("ImageNotFound", f"{shown} does not exist (through the "
                                  f"registry endpoint '{endpoint}').") from None
                raise
            signed = await self._signed(target, endpoint, repository, digest, shown)
            run.add("image", where, endpoint, shown_ref, digest=str(digest), signature=signed)
        except _Failed as failed:
            run.add("image", where, endpoint, shown_ref, status="Failed", reason=failed.reason,
                    message=failed.message)
