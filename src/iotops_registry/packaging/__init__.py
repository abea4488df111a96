"""Build, validate and publish what IoT Operations pulls: graphs, WASM modules, connector
metadata and connector images, plus any OCI artifact. Above ``oci`` (the model) and
``remote`` (pushes go through ``RegistryClient``), below the CLI.

One idea per module:

- ``source``: YAML/JSON with the line of every path; ``templating``: ``${NAME}`` filling;
- ``graph``: graph definition rules; ``modref``: module references; ``wasm``: the binary check;
- ``connector``: connector metadata against the bundled schemas, and the image rule;
- ``bundle``, ``artifacts``: what a push sends, with IoT Operations media types;
- ``layout``: OCI layouts and docker-archives read as they are; ``rootfs``: ``--from-dir``;
- ``kinds``: what a manifest is; ``publish``: pushing, copying, pulling;
- ``workflows``: a graph with its modules, a connector with its image and metadata.

Names load lazily (start-up time: one ``iotops`` process per artifact in CI scripts).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .artifacts import graph_bundle, image_annotations, metadata_bundle, module_bundle
    from .bundle import Bundle, ManifestBytes
    from .connector import ConnectorMetadata, check_image, validate_metadata
    from .graph import GraphDefinition, validate_graph
    from .kinds import classify, stripped
    from .layout import read_docker_archive, read_image, read_oci_layout
    from .modref import ModuleRef
    from .publish import NO_PROGRESS, Copier, CopyResult, Progress, Publisher, Pushed
    from .rootfs import BuiltImage, build_image, parse_platform
    from .templating import parse_settings
    from .wasm import WasmInfo, check_wasm
    from .workflows import default_metadata_target, push_connector, push_graph

_HOME = {
    "BuiltImage": "rootfs",
    "Bundle": "bundle",
    "ConnectorMetadata": "connector",
    "Copier": "publish",
    "CopyResult": "publish",
    "GraphDefinition": "graph",
    "ManifestBytes": "bundle",
    "ModuleRef": "modref",
    "NO_PROGRESS": "publish",
    "Progress": "publish",
    "Publisher": "publish",
    "Pushed": "publish",
    "WasmInfo": "wasm",
    "build_image": "rootfs",
    "check_image": "connector",
    "check_wasm": "wasm",
    "classify": "kinds",
    "default_metadata_target": "workflows",
    "graph_bundle": "artifacts",
    "image_annotations": "artifacts",
    "metadata_bundle": "artifacts",
    "module_bundle": "artifacts",
    "parse_platform": "rootfs",
    "parse_settings": "templating",
    "push_connector": "workflows",
    "push_graph": "workflows",
    "read_docker_archive": "layout",
    "read_image": "layout",
    "read_oci_layout": "layout",
    "stripped": "kinds",
    "validate_graph": "graph",
    "validate_metadata": "connector",
}

__all__ = [
    "NO_PROGRESS",
    "BuiltImage",
    "Bundle",
    "ConnectorMetadata",
    "Copier",
    "CopyResult",
    "GraphDefinition",
    "ManifestBytes",
    "ModuleRef",
    "Progress",
    "Publisher",
    "Pushed",
    "WasmInfo",
    "build_image",
    "check_image",
    "check_wasm",
    "classify",
    "default_metadata_target",
    "graph_bundle",
    "image_annotations",
    "metadata_bundle",
    "module_bundle",
    "parse_platform",
    "parse_settings",
    "push_connector",
    "push_graph",
    "read_docker_archive",
    "read_image",
    "read_oci_layout",
    "stripped",
    "validate_graph",
    "validate_metadata",
]


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f".{module}", __name__), name)
