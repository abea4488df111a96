"""What an artifact is, from its manifest alone: how ``iotops artifact inspect`` names it.

IoT Operations finds graphs and connectors by the config media type, and modules by the
artifact type; real registries hold every variant the tools and docs ever produced (FACTS
§2), so each kind accepts all of them. A graph or module whose manifest kept only generic
types ("stripped" by a copy) is reported as such.
"""

from __future__ import annotations

from ..oci import Index, Manifest, mediatypes

__all__ = ["GRAPH_TYPES", "MODULE_TYPES", "NOTARY_SIGNATURE", "classify", "stripped"]

GRAPH_TYPES = frozenset({mediatypes.AIO_GRAPH, mediatypes.DATAFLOW_GRAPH})
MODULE_TYPES = frozenset({mediatypes.WASM_LAYER})
MODULE_LAYERS = frozenset({mediatypes.WASM_MODULE, "application/vnd.wasm.content.layer.v1+wasm"})
NOTARY_SIGNATURE = "application/vnd.cncf.notary.signature"
COSIGN_SIGNATURE = "application/vnd.dev.cosign.artifact.sig.v1+json"
_IMAGE_CONFIGS = frozenset({mediatypes.OCI_CONFIG, mediatypes.DOCKER_CONFIG})


def classify(manifest: Manifest | Index) -> str:
    """``graph``, ``wasm-module``, ``connector-metadata``, ``signature``, ``image``,
    ``index`` or ``artifact``."""
    if isinstance(manifest, Index):
        return "index"
    kinds = {manifest.artifact_type, manifest.config.media_type}
    layers = {layer.media_type for layer in manifest.layers}
    if kinds & GRAPH_TYPES or (mediatypes.AIO_GRAPH in layers and not manifest.artifact_type):
        return "graph"
    if kinds & {mediatypes.AKRI_CONNECTOR}:
        return "connector-metadata"
    if kinds & MODULE_TYPES or layers & MODULE_LAYERS:
        return "wasm-module"
    if kinds & {NOTARY_SIGNATURE, COSIGN_SIGNATURE}:
        return "signature"
    if manifest.config.media_type in _IMAGE_CONFIGS:
        return "image"
    return "artifact"


def stripped(manifest: Manifest | Index) -> bool:
    """True for a manifest that looks like a graph (a YAML layer) but lost its graph type:
    the operations experience will not list it."""
    if isinstance(manifest, Index) or classify(manifest) != "artifact":
        return False
    return any(layer.media_type == mediatypes.YAML for layer in manifest.layers)
