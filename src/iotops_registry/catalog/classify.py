"""What a manifest is, for the catalog: a graph, a WASM module, connector metadata, or none
of these, and which blob holds the content to index.

Recognition by type reuses ``packaging.kinds`` (every variant of FACTS §2). A manifest the
operations experience would not list (generic config, no artifactType) may still hold a
graph or connector metadata: the catalog reads that blob too (:func:`sniff`) and lists it,
*stripped*, with a warning and the command that re-pushes it with the right types.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..oci import Descriptor, Index, Manifest, mediatypes
from ..packaging.kinds import classify as classify_kind

__all__ = ["MAX_CONTENT", "Recognition", "recognise", "repush_command", "stripped_warning"]

MAX_CONTENT = 1 << 20  # graph YAML and connector metadata are kilobytes; refuse more
_JSONISH = frozenset({"application/json", mediatypes.AKRI_CONNECTOR})
_TARRED = frozenset({mediatypes.OCI_LAYER, mediatypes.OCI_LAYER_GZIP, mediatypes.DOCKER_LAYER,
                     "application/x-tar", "application/gzip", "application/tar+gzip"})


@dataclass(frozen=True)
class Recognition:
    """``kind``: graph, module, connector, or None (then ``content`` is a blob worth sniffing,
    if any). ``typed``: recognised by its media types (not by its content). ``warning``: why
    the operations experience or the Azure CLI would not use it as pushed."""

    kind: str | None
    content: Descriptor | None = None
    typed: bool = True
    warning: str | None = None


def _first(manifest: Manifest, types: frozenset[str]) -> Descriptor | None:
    return next((layer for layer in manifest.layers if layer.media_type in types), None)


def _connector_content(manifest: Manifest) -> Descriptor | None:
    found = _first(manifest, _JSONISH | _TARRED)
    if found is not None:
        return found
    if manifest.layers:
        return manifest.layers[0]
    # edge-ai: the metadata document is the config blob itself, with no layers.
    return manifest.config if manifest.config.size > 2 else None


def recognise(manifest: Manifest | Index) -> Recognition:
    if isinstance(manifest, Index):
        return Recognition(None)
    kind = classify_kind(manifest)
    if kind == "graph":
        layer = _first(manifest, frozenset({mediatypes.YAML, mediatypes.AIO_GRAPH}))
        return Recognition("graph", layer or (manifest.layers[0] if manifest.layers else None))
    if kind == "connector-metadata":
        warning = None
        if manifest.config.media_type != mediatypes.AKRI_CONNECTOR:
            warning = (f"config media type '{manifest.config.media_type}' is not "
                       f"'{mediatypes.AKRI_CONNECTOR}': the Azure CLI refuses this metadata")
        return Recognition("connector", _connector_content(manifest), warning=warning)
    if kind == "wasm-module":
        return Recognition("module")
    if kind in ("signature", "index"):
        return Recognition(None)
    # Connector metadata in a layer of an image-configured or referrer-style manifest.
    akri_layer = _first(manifest, frozenset({mediatypes.AKRI_CONNECTOR}))
    if akri_layer is not None:
        return Recognition("connector", akri_layer, warning=(
            f"config media type '{manifest.config.media_type}' is not "
            f"'{mediatypes.AKRI_CONNECTOR}': the Azure CLI refuses this metadata"))
    # Anything else: a small YAML or JSON blob may be a graph or metadata whose types were lost.
    candidate = _first(manifest, frozenset({mediatypes.YAML, "text/yaml", "application/x-yaml",
                                            *_JSONISH}))
    if candidate is None and len(manifest.layers) == 1 and manifest.layers[0].media_type in (
            mediatypes.OCTET_STREAM, "", "application/vnd.oci.image.layer.v1.tar"):
        candidate = manifest.layers[0]
    if candidate is not None and candidate.size <= MAX_CONTENT:
        return Recognition(None, candidate, typed=False)
    return Recognition(None)


def stripped_warning(kind: str, manifest: Manifest) -> str:
    what = "graphs" if kind == "graph" else "connectors"
    expected = mediatypes.AIO_GRAPH if kind == "graph" else mediatypes.AKRI_CONNECTOR
    return (f"this {'graph' if kind == 'graph' else 'connector metadata'} was pushed with "
            f"config media type '{manifest.config.media_type}'"
            + (f" and artifactType '{manifest.artifact_type}'" if manifest.artifact_type else "")
            + f": IoT Operations finds {what} by the config media type '{expected}', so the "
            "operations experience will not show it (its media types were stripped, e.g. by a "
            "copy that kept only the layers)")


def repush_command(kind: str, reference: str, filename: str) -> str:
    """The command that pushes the same content again with the types IoT Operations needs."""
    pull = f"iotops artifact pull {reference} -O . && "
    if kind == "graph":
        return pull + f"iotops graph push {filename} --to {reference}"
    return pull + (f"iotops artifact push {reference} {filename}:application/json "
                   f"--config /dev/null:{mediatypes.AKRI_CONNECTOR}")
