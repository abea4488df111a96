"""Build the manifests IoT Operations recognises: graphs, WASM modules, connector metadata.

What each looks like is fixed by what the runtime, the operations experience and the Azure
CLI look for (FACTS §2, the docs' "Registry artifact requirements"):

- **graph**: config ``application/vnd.microsoft.aio.graph.v1+yaml`` (an empty blob, as
  ``--config /dev/null:...`` makes it), no artifactType, one ``application/yaml`` layer;
- **WASM module**: config ``application/vnd.oci.empty.v1+json`` (``{}``), artifactType
  ``application/vnd.module.wasm.content.layer.v1+wasm``, one ``application/wasm`` layer;
- **connector metadata**: config ``application/vnd.microsoft.akri-connector.v1+json``
  (empty), one ``application/json`` layer.

Layers are titled (``org.opencontainers.image.title``) with the file's name, never a path.
Manifests carry ``org.opencontainers.image.*`` annotations; ``created`` honours
``SOURCE_DATE_EPOCH`` so that a reproducible build pushes a reproducible digest.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from pathlib import PurePath

from ..oci import Descriptor, Digest, Manifest, mediatypes
from .bundle import BlobContent, Bundle, ManifestBytes

__all__ = [
    "ANNOTATION_CREATED",
    "ANNOTATION_DESCRIPTION",
    "ANNOTATION_SOURCE",
    "ANNOTATION_TITLE",
    "ANNOTATION_VENDOR",
    "ANNOTATION_VERSION",
    "artifact_bundle",
    "created_now",
    "graph_bundle",
    "image_annotations",
    "metadata_bundle",
    "module_bundle",
    "title_of",
]

ANNOTATION_TITLE = "org.opencontainers.image.title"
ANNOTATION_CREATED = "org.opencontainers.image.created"
ANNOTATION_VERSION = "org.opencontainers.image.version"
ANNOTATION_DESCRIPTION = "org.opencontainers.image.description"
ANNOTATION_VENDOR = "org.opencontainers.image.vendor"
ANNOTATION_SOURCE = "org.opencontainers.image.source"


def created_now() -> str:
    """RFC 3339 UTC time: ``SOURCE_DATE_EPOCH`` if set (reproducible builds), else now."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    when = (dt.datetime.fromtimestamp(int(epoch), dt.UTC) if epoch.isdigit()
            else dt.datetime.now(dt.UTC))
    return when.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def title_of(name: str) -> str:
    """The file name of ``name``: a title never carries a directory or a host path."""
    title = PurePath(name.replace("\\", "/")).name
    if not title or title in (".", ".."):
        raise ValueError(f"{name!r} has no file name to use as a title")
    return title


def image_annotations(
    *,
    version: str | None = None,
    description: str | None = None,
    vendor: str | None = None,
    source: str | None = None,
    created: str | None = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    out = {ANNOTATION_CREATED: created or created_now()}
    for key, value in ((ANNOTATION_VERSION, version), (ANNOTATION_DESCRIPTION, description),
                       (ANNOTATION_VENDOR, vendor), (ANNOTATION_SOURCE, source)):
        if value:
            out[key] = value
    out.update(extra or {})
    return out


def _blob(bundle: Bundle, content: bytes, media_type: str,
          annotations: Mapping[str, str] | None = None) -> Descriptor:
    return bundle.add_blob(
        Descriptor(media_type, Digest.of(content), len(content),
                   annotations=dict(annotations or {})),
        content,
    )


def artifact_bundle(
    layers: Sequence[tuple[Descriptor, BlobContent]],
    *,
    config: tuple[Descriptor, BlobContent] | None = None,
    artifact_type: str | None = None,
    annotations: Mapping[str, str] | None = None,
    subject: Descriptor | None = None,
) -> Bundle:
    """A manifest of ``layers``; without ``config``, the OCI empty config ``{}`` (then an
    ``artifact_type`` is what tells readers what this is)."""
    bundle = Bundle()
    if config is None:
        config_descriptor = _blob(bundle, mediatypes.OCI_EMPTY_JSON, mediatypes.OCI_EMPTY)
    else:
        config_descriptor = bundle.add_blob(*config)
    for descriptor, content in layers:
        bundle.add_blob(descriptor, content)
    manifest = Manifest(
        config=config_descriptor,
        layers=tuple(d for d, _ in layers),
        artifact_type=artifact_type,
        subject=subject,
        annotations=dict(annotations or {}),
    )
    bundle.add_manifest(ManifestBytes.of(manifest.to_json(), mediatypes.OCI_MANIFEST))
    return bundle


def _layer(content: bytes, media_type: str, filename: str) -> tuple[Descriptor, bytes]:
    descriptor = Descriptor(media_type, Digest.of(content), len(content),
                            annotations={ANNOTATION_TITLE: title_of(filename)})
    return descriptor, content


def _empty_config(media_type: str) -> tuple[Descriptor, bytes]:
    return Descriptor(media_type, Digest.of(b""), 0), b""


def graph_bundle(text: bytes, filename: str, annotations: Mapping[str, str]) -> Bundle:
    """A graph definition, as ``oras push --config /dev/null:<graph type> FILE:application/yaml``
    makes it (plus annotations)."""
    return artifact_bundle(
        [_layer(text, mediatypes.YAML, filename)],
        config=_empty_config(mediatypes.AIO_GRAPH),
        annotations=annotations,
    )


def module_bundle(data: bytes, filename: str, annotations: Mapping[str, str]) -> Bundle:
    """A WASM module, as ``oras push --artifact-type <wasm type> FILE:application/wasm``."""
    return artifact_bundle(
        [_layer(data, mediatypes.WASM_MODULE, filename)],
        artifact_type=mediatypes.WASM_LAYER,
        annotations=annotations,
    )


def metadata_bundle(
    data: bytes,
    filename: str,
    annotations: Mapping[str, str],
    subject: Descriptor | None = None,
) -> Bundle:
    """Connector metadata: config ``application/vnd.microsoft.akri-connector.v1+json`` (empty)
    and the document as one ``application/json`` layer."""
    return artifact_bundle(
        [_layer(data, "application/json", filename)],
        config=_empty_config(mediatypes.AKRI_CONNECTOR),
        annotations=annotations,
        subject=subject,
    )
