"""The two publishing workflows: a graph with its modules, a connector with its image.

Everything is checked before the first byte goes out — graph rules, each module's WASM
header, every module reference resolved (a given file, or already in the target registry),
the metadata against its schema, the metadata's image against the image being pushed — so a
refused publish leaves the registry as it was. Then modules go first, the graph last (a
graph never points at a module that is not there yet); the image first, its metadata last.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import InvalidArtifact, Problem, RegistryNotFound
from ..oci import Digest, Reference
from .artifacts import graph_bundle, image_annotations, metadata_bundle, module_bundle
from .bundle import Bundle
from .connector import ConnectorMetadata, check_image
from .graph import GraphDefinition
from .modref import ModuleRef
from .publish import Publisher, Pushed
from .wasm import check_wasm_file

__all__ = ["default_metadata_target", "push_connector", "push_graph", "target_of_module"]


def target_of_module(graph_target: Reference, ref: ModuleRef) -> Reference:
    """Where a module goes: the graph's registry, the module's own repository path (the
    runtime resolves ``repo:tag`` against the registry host, not the graph's repository)."""
    return Reference(graph_target.registry, ref.repository, ref.tag or "latest")


def default_metadata_target(image: Reference) -> Reference:
    """``REPO-metadata:TAG``, the convention the SDK docs and first-party connectors use."""
    return Reference(image.registry, f"{image.repository}-metadata", image.tag or "latest")


@dataclass
class _Module:
    ref: ModuleRef
    target: Reference
    bundle: Bundle | None  # None: already in the registry
    digest: Digest | None = None


async def push_graph(
    publisher: Publisher,
    target: Reference,
    graph: GraphDefinition,
    modules: Mapping[str, Path],
    *,
    source: str | None = None,
    annotations: Mapping[str, str] | None = None,
) -> list[Pushed]:
    """Validate the modules' resolution, push the given modules, then the graph."""
    problems: list[Problem] = []
    used = {str(ref) for ref in graph.module_refs}
    choices = ", ".join(sorted(used)) or "(none)"
    for name in modules:
        if name not in used:
            problems.append(Problem(graph.file, "operations", f"--module {name}=... is not "
                                    "used by any operation", f"use one of: {choices}"))
    plan: list[_Module] = []
    for use in graph.modules:
        if any(m.ref == use.ref for m in plan):
            continue
        where = target_of_module(target, use.ref)
        given = modules.get(str(use.ref))
        if given is not None:
            try:
                data, _ = check_wasm_file(given)
            except InvalidArtifact as exc:
                problems.extend(exc.problems)
                continue
            notes = image_annotations(version=use.ref.tag, source=source)
            plan.append(_Module(use.ref, where, module_bundle(data, given.name, notes)))
            continue
        try:
            descriptor = await publisher.client.head_manifest(where.repository, use.ref.ref)
        except RegistryNotFound:
            problems.append(Problem(
                graph.file, use.path,
                f"module {str(use.ref)!r} is not in {target.registry} and no file was given",
                f"pass --module {use.ref}=PATH.wasm, or push the module first", use.line))
            continue
        plan.append(_Module(use.ref, where, None, descriptor.digest))
    if problems:
        raise InvalidArtifact(problems)
    pushed: list[Pushed] = []
    for module in plan:
        if module.bundle is not None:
            module.digest = await publisher.push(module.target.repository, module.target.tag,
                                                 module.bundle)
            pushed.append(Pushed(str(module.target), module.digest,
                                 module.bundle.top.media_type, "wasm-module"))
    notes = image_annotations(version=graph.version, description=graph.description,
                              vendor=graph.vendor, source=source, extra=annotations)
    bundle = graph_bundle(graph.text.encode(), Path(graph.file).name, notes)
    digest = await publisher.push(target.repository, target.tag or "latest", bundle)
    pushed.append(Pushed(str(target), digest, bundle.top.media_type, "graph"))
    return pushed


def pinned_metadata(meta: ConnectorMetadata, digest: Digest) -> bytes:
    """The metadata document with the image named by digest instead of tag, so that a
    template made from it runs exactly the image pushed with it."""
    data = json.loads(json.dumps(meta.data))
    image = data["imageConfigurationSettings"]
    image.pop("tag", None)
    image["digest"] = str(digest)
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode()


async def push_connector(
    publisher: Publisher,
    image_target: Reference,
    meta: ConnectorMetadata,
    image: Bundle,
    metadata_target: Reference,
    *,
    metadata_filename: str = "connector-metadata.json",
    source: str | None = None,
    metadata_publisher: Publisher | None = None,
) -> list[Pushed]:
    """Check the metadata names the image, push the image, then the metadata (through
    ``metadata_publisher`` when it goes to another registry)."""
    digest = image.top.digest
    problems = check_image(meta, image_target, digest)
    if problems:
        raise InvalidArtifact(problems)
    pushed_digest = await publisher.push(image_target.repository, image_target.tag or "latest",
                                         image)
    result = [Pushed(str(image_target), pushed_digest, image.top.media_type, "image")]
    description = meta.data.get("description")
    vendor = meta.data.get("vendor") or meta.data.get("maintainer")
    notes = image_annotations(
        version=meta.version,
        description=description if isinstance(description, str) else None,
        vendor=vendor if isinstance(vendor, str) else None,
        source=source or (meta.data.get("sourceCode") if isinstance(
            meta.data.get("sourceCode"), str) else None),
    )
    bundle = metadata_bundle(pinned_metadata(meta, pushed_digest), metadata_filename, notes)
    metadata_digest = await (metadata_publisher or publisher).push(metadata_target.repository,
                                           metadata_target.tag or "latest", bundle)
    result.append(Pushed(str(metadata_target), metadata_digest, bundle.top.media_type,
                         "connector-metadata"))
    return result
