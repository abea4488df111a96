"""Media types a registry client meets: OCI and Docker manifests, and IoT Operations artifacts.

Kept as plain strings (not an enum) because registries send types we have never heard of,
and a manifest's ``artifactType`` is free-form: code compares, it does not validate.
"""

from __future__ import annotations

__all__ = [
    "AIO_GRAPH",
    "AKRI_CONNECTOR",
    "ALL_MANIFEST_TYPES",
    "DATAFLOW_GRAPH",
    "DOCKER_CONFIG",
    "DOCKER_LAYER",
    "DOCKER_MANIFEST",
    "DOCKER_MANIFEST_LIST",
    "INDEX_TYPES",
    "MANIFEST_TYPES",
    "OCI_CONFIG",
    "OCI_EMPTY",
    "OCI_EMPTY_JSON",
    "OCI_INDEX",
    "OCI_LAYER",
    "OCI_LAYER_GZIP",
    "OCI_LAYER_ZSTD",
    "OCI_MANIFEST",
    "OCTET_STREAM",
    "WASM_LAYER",
    "WASM_MODULE",
    "YAML",
]

# OCI image-spec 1.1
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
OCI_EMPTY_JSON = b"{}"
"""The content of the ``OCI_EMPTY`` blob: artifacts without a config point at it."""
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"

# Docker image manifest v2, schema 2
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"

# Artifacts Azure IoT Operations pulls through registry endpoints
AIO_GRAPH = "application/vnd.microsoft.aio.graph.v1+yaml"
"""Config type of a data flow graph definition (``oras push --config /dev/null:...``)."""
DATAFLOW_GRAPH = "application/vnd.microsoft.dataflow.graph.v1+json"
"""The graph config type the Azure CLI's artifact picker filters on."""
WASM_LAYER = "application/vnd.module.wasm.content.layer.v1+wasm"
"""Artifact type of a WASM module (``oras push --artifact-type ...``)."""
WASM_MODULE = "application/wasm"
AKRI_CONNECTOR = "application/vnd.microsoft.akri-connector.v1+json"
"""Config (or artifact) type of an Akri connector metadata document."""

YAML = "application/yaml"
OCTET_STREAM = "application/octet-stream"

MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
ALL_MANIFEST_TYPES = (OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST)
"""What a client accepts when it asks for a manifest, preferred first."""
