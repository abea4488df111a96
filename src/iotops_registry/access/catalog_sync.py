"""The catalog's sync engine: per instance, per endpoint, with the endpoint's own
credentials (the shared :class:`RegistryAccess` client, so tokens are reused per scope).

Repositories come from ``/v2/_catalog`` when the registry allows it, else from the
endpoint's ``catalogRepositories`` connection setting, else from what the instance's
resources reference (:data:`ReferenceProvider` hooks). A host path prefix limits them.

Incremental: a registry with ACR's listing API (``/acr/v1/{repo}/_tags``, ACR and the dev
registry) names every tag's digest in its tags list; elsewhere each tag is checked with a
``HEAD`` of its manifest. Only a digest the index does not have yet costs a manifest ``GET``
and, for graphs and connector metadata, one blob ``GET``. A no-change resync is one tags list
per repository (plus one ``HEAD`` per tag on registries without the ACR listing).
Requests to one registry are bounded by a semaphore shared by every endpoint on it. A
failing endpoint records its error and never stops the others.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..catalog import (
    MAX_CONTENT,
    connector_summary,
    graph_summary,
    looks_like,
    parse_content,
    recognise,
    repush_command,
    search_text,
    stripped_warning,
    version_key,
)
from ..domain import InstanceKey, RegistryEndpointKey
from ..errors import IotopsError, NotFoundError, RegistryHTTPError, RegistryNotFound
from ..oci import Descriptor, Digest, Index, Manifest
from ..remote import RegistryClient
from ..services import (
    CodeSigningCas,
    CodeSigningCaService,
    EndpointTarget,
    RegistryEndpointService,
)
from ..services.catalog import CatalogService, NewEntry
from .registry_access import RegistryAccess
from .signatures import SignatureChecker

__all__ = ["CatalogSync", "ReferenceProvider"]

log = logging.getLogger("iotops_registry.catalog")

ReferenceProvider = Callable[[RegistryEndpointKey], Iterable[str]]
"""Repositories an instance's resources pull through one endpoint (e.g. the artifacts of its
dataflow graphs), for registries that list neither a catalog nor a configured list."""

_CREATED = "org.opencontainers.image.created"
_CATALOG_REFUSED = (401, 403, 404, 405)


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _message(exc: BaseException) -> str:
    """Our own errors say what failed without secrets; anything else only its type."""
    if isinstance(exc, IotopsError):
        return str(exc)[:500]
    return f"unexpected {type(exc).__name__}"


@dataclass
class _Run:
    """One endpoint's sync in progress."""

    target: EndpointTarget
    client: RegistryClient
    semaphore: asyncio.Semaphore
    known: dict[tuple[str, str], str]
    upserts: list[NewEntry] = field(default_factory=list)
    removed: list[tuple[str, str]] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # repository -> message
    tags: int = 0
    listing: set[str] = field(default_factory=set)  # acr, v2
    cas: CodeSigningCas | None = None  # resolved when the endpoint verifies signatures


class CatalogSync:
    def __init__(
        self,
        endpoints: RegistryEndpointService,
        access: RegistryAccess,
        catalog: CatalogService,
        *,
        interval: float = 900.0,
        concurrency: int = 8,
        signatures: SignatureChecker | None = None,
        code_signing: CodeSigningCaService | None = None,
    ) -> None:
        self._signatures = signatures
        self._code_signing = code_signing
        self._endpoints = endpoints
        self._access = access
        self._catalog = catalog
        self.interval = interval
        self._concurrency = concurrency
        self._semaphores: dict[str, asyncio.Semaphore] = {}
        self._acr_listing: dict[str, bool] = {}  # registry -> has /acr/v1 (once known)
        self._providers: list[ReferenceProvider] = []
        self._running: dict[str, asyncio.Task[dict[str, Any]]] = {}
        self._syncing: set[str] = set()  # endpoint ids being synced now
        self._tasks: list[asyncio.Task[None]] = []

    async def _signature(self, run: _Run, repository: str,
                         described: Descriptor) -> dict[str, Any] | None:
        """The endpoint's signature verdict on a new digest (None: no CAs, policy off)."""
        if self._signatures is None:
            return None
        return await _signature_of(self._signatures, run, repository, described)

    def add_reference_provider(self, provider: ReferenceProvider) -> None:
        self._providers.append(provider)

    def syncing(self, key: InstanceKey) -> list[str]:
        prefix = key.id.lower() + "/registryendpoints/"
        return [i[len(prefix):] for i in self._syncing if i.startswith(prefix)]

    # --- scheduling ------------------------------------------------------------------------

    def start(self) -> None:
        if self.interval > 0:
            self._tasks.append(asyncio.create_task(self._sweep()))

    async def stop(self) -> None:
        tasks = [*self._tasks, *self._running.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks = []

    def schedule(self, key: InstanceKey) -> asyncio.Task[dict[str, Any]]:
        """Sync soon, in the background; a sync already running for the instance is reused."""
        task = self._running.get(key.id.lower())
        if task is None or task.done():
            task = asyncio.create_task(self._sync_and_forget(key))
            self._running[key.id.lower()] = task
        return task

    async def _sync_and_forget(self, key: InstanceKey) -> dict[str, Any]:
        try:
            return await self.sync_instance(key)
        finally:
            self._running.pop(key.id.lower(), None)

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                keys = await asyncio.to_thread(self._catalog.instance_keys)
            except Exception:
                log.exception("catalog sweep could not list instances")
                continue
            for key in keys:
                self.schedule(key)

    # --- syncing ---------------------------------------------------------------------------

    async def sync_instance(self, key: InstanceKey) -> dict[str, Any]:
        """Sync every endpoint of the instance (concurrently); the instance's sync status."""
        names = await asyncio.to_thread(self._catalog.endpoint_names, key)
        await asyncio.to_thread(self._catalog.forget_missing_endpoints, key)
        await asyncio.gather(*(self.sync_endpoint(RegistryEndpointKey(key, n)) for n in names))
        return await asyncio.to_thread(self._catalog.status, key, self.syncing(key))

    async def sync_endpoint(self, key: RegistryEndpointKey) -> dict[str, Any]:
        """Sync one endpoint and record its state; never raises for registry failures."""
        started = time.monotonic()
        self._syncing.add(key.id.lower())
        previous = (await asyncio.to_thread(self._catalog.status, key.parent))["value"]
        before: dict[str, Any] = next((s for s in previous if s["endpoint"] == key.name), {})
        state: dict[str, Any] = {"lastSyncTime": _now()}
        try:
            target = await asyncio.to_thread(self._endpoints.target, key)
            state.update(await self._sync(target))
            state["state"] = "PartiallySucceeded" if state["repositoryErrors"] else "Succeeded"
            state["lastSuccessTime"] = state["lastSyncTime"]
            state["error"] = None
        except NotFoundError:
            raise
        except Exception as exc:
            if not isinstance(exc, IotopsError):
                log.exception("catalog sync of %s failed", key.id)
            state["state"] = "Failed"
            state["error"] = {"code": type(exc).__name__, "message": _message(exc)}
            state["lastSuccessTime"] = before.get("lastSuccessTime")
        finally:
            self._syncing.discard(key.id.lower())
        state["durationMs"] = round((time.monotonic() - started) * 1000, 1)
        await asyncio.to_thread(self._catalog.set_state, key.parent, key.name, state)
        return state

    def _semaphore(self, registry: str) -> asyncio.Semaphore:
        sem = self._semaphores.get(registry)
        if sem is None:
            sem = self._semaphores[registry] = asyncio.Semaphore(self._concurrency)
        return sem

    async def _sync(self, target: EndpointTarget) -> dict[str, Any]:
        client = await self._access.client(target)
        sem = self._semaphore(target.registry.lower())
        repositories, source = await self._repositories(client, target, sem)
        known = await asyncio.to_thread(self._catalog.known, target.key.parent, target.key.name)
        run = _Run(target, client, sem, known)
        if self._code_signing is not None and (
                target.ca_sources or target.settings.signature_policy not in (None, "off")):
            run.cas = await asyncio.to_thread(self._code_signing.resolve, target.ca_sources)
        await asyncio.gather(*(self._repository(run, repo) for repo in repositories))
        # A repository that failed keeps what the last sync saw.
        await asyncio.to_thread(self._catalog.apply, target.key.parent, target.key.name,
                                repositories, run.upserts, run.removed)
        kinds: dict[str, int] = {}
        for entry in run.upserts:
            kinds[entry.kind] = kinds.get(entry.kind, 0) + 1
        return {
            "repositorySource": source,
            "repositories": len(repositories),
            "tags": run.tags,
            "changed": len(run.upserts),
            "removed": len(run.removed),
            "tagListing": sorted(run.listing),
            "repositoryErrors": [{"repository": r, "message": m}
                                 for r, m in sorted(run.failed.items())],
        }

    async def _repositories(self, client: RegistryClient, target: EndpointTarget,
                            sem: asyncio.Semaphore) -> tuple[list[str], str]:
        prefix = target.prefix.strip("/")

        def under(names: Iterable[str]) -> list[str]:
            return sorted({n for n in names
                           if not prefix or n == prefix or n.startswith(prefix + "/")})

        try:
            async with sem:
                return under(await client.catalog(page_size=1000)), "catalog"
        except RegistryHTTPError as exc:
            if exc.status not in _CATALOG_REFUSED:
                raise
        if target.settings.catalog_repositories:
            return under(target.settings.catalog_repositories), "configuredList"
        referenced: set[str] = set()
        for provider in self._providers:
            referenced |= set(await asyncio.to_thread(_collect, provider, target.key))
        return under(referenced), "referencedByResources"

    async def _acr_tags(self, run: _Run, repository: str) -> dict[str, str] | None:
        """Tag -> digest from ACR's listing API, or None where the registry has none (then
        /v2 tags and a HEAD per tag)."""
        registry = run.target.registry.lower()
        if self._acr_listing.get(registry) is False:
            return None
        try:
            async with run.semaphore:
                digests = await run.client.acr_tags(repository)
        except RegistryNotFound:
            if self._acr_listing.get(registry):
                return {}  # the API exists: the repository has no tags
            self._acr_listing[registry] = False
            return None
        except RegistryHTTPError as exc:
            if exc.status in (400, 405, 501):
                self._acr_listing[registry] = False
            return None  # e.g. no metadata_read for this repository: /v2 still may work
        self._acr_listing[registry] = True
        return digests

    async def _repository(self, run: _Run, repository: str) -> None:
        try:
            digests = await self._acr_tags(run, repository)
            if digests is not None:
                run.listing.add("acr")
                tags = set(digests)
            else:
                run.listing.add("v2")
                async with run.semaphore:
                    try:
                        tags = set(await run.client.list_tags(repository, page_size=1000))
                    except RegistryNotFound:
                        tags = set()  # every tag deleted, or never pushed
            run.tags += len(tags)
            for (repo, tag) in run.known:
                if repo == repository and tag not in tags:
                    run.removed.append((repo, tag))
            await asyncio.gather(*(self._tag(run, repository, tag, (digests or {}).get(tag))
                                   for tag in sorted(tags)))
        except Exception as exc:
            run.failed[repository] = _message(exc)
            # Nothing of this repository is removed on a failed listing.
            run.removed = [r for r in run.removed if r[0] != repository]

    async def _tag(self, run: _Run, repository: str, tag: str, listed: str | None) -> None:
        if listed is not None and run.known.get((repository, tag)) == listed:
            return  # the tags list named its digest: nothing to ask
        if listed is None:
            async with run.semaphore:
                digest = (await run.client.head_manifest(repository, tag)).digest
            if run.known.get((repository, tag)) == str(digest):
                return
        else:
            digest = Digest.parse(listed)
        async with run.semaphore:
            fetched = await run.client.get_manifest(repository, digest)
            manifest = fetched.parse()
            described = Descriptor(fetched.media_type, fetched.digest, len(fetched.data))
            entry = await self._entry(run, repository, tag, fetched.media_type, described,
                                      manifest)
        run.upserts.append(entry)

    async def _entry(self, run: _Run, repository: str, tag: str, media_type: str,
                     described: Descriptor, manifest: Manifest | Index) -> NewEntry:
        target = run.target
        recognition = recognise(manifest)
        kind = recognition.kind
        warnings: list[str] = [recognition.warning] if recognition.warning else []
        value: Any = None
        data = b""
        content = recognition.content
        wants = kind in ("graph", "connector") or (kind is None and not recognition.typed)
        if content is not None and wants:
            if content.size > MAX_CONTENT:
                warnings.append(f"the content blob is {content.size} bytes: not read")
            else:
                data = await run.client.get_blob(repository, content.digest, size=content.size)
                value = parse_content(data)
        stripped = False
        if kind is None and value is not None and isinstance(manifest, Manifest):
            shape = looks_like(value)
            if shape is not None:
                kind, stripped = shape, True
                warnings.append(stripped_warning(shape, manifest))
        if kind in ("graph", "connector") and not isinstance(value, dict):
            warnings.append("the content is not a YAML/JSON document: nothing indexed")
            value = {}
        prefix = target.prefix.strip("/")
        relative = repository[len(prefix) + 1:] if prefix and repository.startswith(
            prefix + "/") else repository
        reference = f"{target.registry}/{repository}:{tag}"
        props: dict[str, Any] = {
            "kind": kind or "other",
            "endpoint": target.key.name,
            "repository": repository,
            "tag": tag,
            "artifact": f"{relative}:{tag}",
            "reference": reference,
            "digest": str(described.digest),
            "mediaType": media_type,
            "configMediaType": manifest.config.media_type if isinstance(manifest, Manifest)
            else None,
            "artifactType": manifest.artifact_type if isinstance(manifest, Manifest) else None,
            "stripped": stripped,
        }
        annotations = manifest.annotations if isinstance(manifest, Manifest) else {}
        pushed = (annotations or {}).get(_CREATED) or _now()
        facets: dict[str, list[str]] = {"endpoint": [target.key.name.lower()]}
        words: list[str] = [repository, tag, target.key.name]
        name, version, runtime = relative, tag, None
        if kind == "graph":
            summary = graph_summary(value, data.decode("utf-8", "replace"))
            name = summary["name"] or relative
            version = summary["version"] or tag
            runtime = summary["runtimeVersion"]
            props.update(summary)
            props["dataflowGraphNode"] = _node(summary, target.key.name, f"{relative}:{tag}")
            facets["operationType"] = [t.lower() for t in summary["operationTypes"]]
            facets["module"] = _module_values(summary["modules"])
            facets["vendor"] = [summary["vendor"].lower()] if summary["vendor"] else []
            words += [summary["description"] or "", summary["vendor"] or "",
                      *summary["operationTypes"], *summary["modules"],
                      *(p["key"] for p in summary["parameters"])]
        elif kind == "connector":
            summary = connector_summary(value, data)
            name = summary["name"] or relative
            version = summary["version"] or tag
            props.update(summary)
            facets["endpointType"] = [e["endpointType"].lower() for e in summary["endpointTypes"]]
            facets["architecture"] = [a.lower() for a in summary["architectures"]]
            facets["vendor"] = [summary["vendor"].lower()] if summary["vendor"] else []
            words += [summary["description"] or "", summary["vendor"] or "",
                      *(e["endpointType"] for e in summary["endpointTypes"]),
                      *summary["architectures"], summary["image"] or ""]
        elif kind == "module":
            props["references"] = sorted({f"{repository}:{tag}".lower(),
                                          f"{relative}:{tag}".lower()})
        if kind in ("graph", "module", "connector"):
            signature = await self._signature(run, repository, described)
            if signature is not None:
                props["signature"] = signature
                facets["signature"] = [signature["badge"].lower()]
        props["name"] = name
        props["version"] = version
        props["pushedAt"] = pushed
        props["warnings"] = warnings
        if stripped and kind is not None:
            filename = "connector-metadata.json" if kind == "connector" else "graph.yaml"
            title = content.annotations.get("org.opencontainers.image.title") if content else None
            props["repushCommand"] = repush_command(kind, reference, title or filename)
        runtime_key = version_key(runtime) if runtime else None
        return NewEntry(
            endpoint=target.key.name,
            repository=repository,
            tag=tag,
            digest=str(described.digest),
            kind=kind or "other",
            name=name,
            version=version,
            version_key=version_key(version),
            runtime_key=None if runtime_key == "0" else runtime_key,
            pushed_at=pushed,
            stripped=stripped,
            search_text=search_text(name, version, *words),
            document=props,
            facets=facets,
        )


async def _signature_of(checker: SignatureChecker, run: _Run, repository: str,
                        described: Descriptor) -> dict[str, Any] | None:
    if run.cas is None:
        return None
    try:
        check = await checker.check(run.target, run.cas, repository, described)
    except Exception as exc:  # a check that could not be made is shown as not made
        return {"badge": "NotChecked", "code": "SignatureNotChecked", "policy": None,
                "signer": None, "message": f"not checked: {_message(exc)}"}
    if check.policy == "off":
        return None
    return {"badge": check.badge, "code": check.code, "policy": check.policy,
            "signer": check.verdict.signature.signer
            if check.verdict and check.verdict.signature else None,
            "message": check.message}


def _collect(provider: ReferenceProvider, key: RegistryEndpointKey) -> list[str]:
    return list(provider(key))


def _module_values(modules: Iterable[str]) -> list[str]:
    """A graph's module references as written, and each one's repository alone."""
    out: set[str] = set()
    for ref in modules:
        ref = ref.lower()
        out.add(ref)
        out.add(ref.split("@", 1)[0].rsplit(":", 1)[0] if ":" in ref.split("/")[-1] else ref)
    return sorted(out)


def _node(summary: dict[str, Any], endpoint: str, artifact: str) -> dict[str, Any]:
    """The DataflowGraph node that runs this graph, with every required parameter's key."""
    return {
        "nodeType": "Graph",
        # A resource name: the repository's last segment (graph-simple), not the title.
        "name": re.sub(r"[^a-z0-9-]+", "-", artifact.split(":")[0].rsplit("/", 1)[-1].lower()
                       ).strip("-")[:63] or "graph",
        "graphSettings": {
            "registryEndpointRef": endpoint,
            "artifact": artifact,
            "configuration": [{"key": p["key"], "value": p["default"] or ""}
                              for p in summary["parameters"] if p["required"]],
        },
    }
