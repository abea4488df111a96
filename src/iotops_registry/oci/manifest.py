"""Image manifests and indexes: parse what a registry serves, build what we push.

Pure: no I/O. :func:`parse_manifest` accepts OCI and Docker schema-2 documents; schema 1
(signed, long deprecated) is refused. :meth:`Manifest.to_json` / :meth:`Index.to_json` write
*canonical* JSON (keys sorted, no insignificant whitespace, UTF-8), so equal values always
produce the same bytes and therefore the same digest. A manifest fetched from a registry is
never re-serialised: its digest is of the bytes served.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidManifest
from . import mediatypes as mt
from .descriptor import Descriptor, annotations_of
from .digest import Digest

__all__ = ["Index", "Manifest", "canonical_json", "parse_manifest"]


def canonical_json(obj: Any) -> bytes:
    """Deterministic JSON: sorted keys, compact separators, UTF-8."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _common(
    out: dict[str, Any],
    artifact_type: str | None,
    subject: Descriptor | None,
    annotations: dict[str, str],
) -> None:
    if artifact_type:
        out["artifactType"] = artifact_type
    if subject is not None:
        out["subject"] = subject.to_dict()
    if annotations:
        out["annotations"] = dict(annotations)


@dataclass(frozen=True, slots=True)
class Manifest:
    """An image (or artifact) manifest: one config and the layers, in order."""

    config: Descriptor
    layers: tuple[Descriptor, ...] = ()
    media_type: str = mt.OCI_MANIFEST
    artifact_type: str | None = None
    subject: Descriptor | None = None
    annotations: dict[str, str] = field(default_factory=dict, hash=False)
    schema_version: int = 2

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "schemaVersion": self.schema_version,
            "mediaType": self.media_type,
            "config": self.config.to_dict(),
            "layers": [layer.to_dict() for layer in self.layers],
        }
        _common(out, self.artifact_type, self.subject, self.annotations)
        return out

    def to_json(self) -> bytes:
        return canonical_json(self.to_dict())

    def descriptor(self) -> Descriptor:
        """Describe this manifest (as serialised by :meth:`to_json`)."""
        data = self.to_json()
        return Descriptor(
            self.media_type, Digest.of(data), len(data), artifact_type=self.effective_type
        )

    @property
    def effective_type(self) -> str | None:
        """``artifactType``, else the config's media type unless it is a plain image config:
        how the referrers API and IoT Operations classify an artifact."""
        if self.artifact_type:
            return self.artifact_type
        if self.config.media_type in (mt.OCI_CONFIG, mt.DOCKER_CONFIG):
            return None
        return self.config.media_type

    @classmethod
    def from_dict(cls, doc: dict[str, Any], media_type: str) -> Manifest:
        layers = doc.get("layers")
        layers = [] if layers is None else layers
        if not isinstance(layers, list):
            raise InvalidManifest("'layers' is not a list")
        if "config" not in doc:
            raise InvalidManifest("manifest has no 'config'")
        return cls(
            config=Descriptor.from_dict(doc["config"]),
            layers=tuple(Descriptor.from_dict(layer) for layer in layers),
            media_type=media_type,
            artifact_type=_optional_str(doc, "artifactType"),
            subject=_subject(doc),
            annotations=annotations_of(doc),
            schema_version=2,
        )


@dataclass(frozen=True, slots=True)
class Index:
    """An image index (or Docker manifest list): manifests for several platforms or uses.

    The referrers API answers with one too: each entry is a manifest that refers to a subject.
    """

    manifests: tuple[Descriptor, ...] = ()
    media_type: str = mt.OCI_INDEX
    artifact_type: str | None = None
    subject: Descriptor | None = None
    annotations: dict[str, str] = field(default_factory=dict, hash=False)
    schema_version: int = 2

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "schemaVersion": self.schema_version,
            "mediaType": self.media_type,
            "manifests": [m.to_dict() for m in self.manifests],
        }
        _common(out, self.artifact_type, self.subject, self.annotations)
        return out

    def to_json(self) -> bytes:
        return canonical_json(self.to_dict())

    def descriptor(self) -> Descriptor:
        data = self.to_json()
        return Descriptor(
            self.media_type, Digest.of(data), len(data), artifact_type=self.artifact_type
        )

    @classmethod
    def from_dict(cls, doc: dict[str, Any], media_type: str) -> Index:
        manifests = doc.get("manifests")
        manifests = [] if manifests is None else manifests
        if not isinstance(manifests, list):
            raise InvalidManifest("'manifests' is not a list")
        return cls(
            manifests=tuple(Descriptor.from_dict(m) for m in manifests),
            media_type=media_type,
            artifact_type=_optional_str(doc, "artifactType"),
            subject=_subject(doc),
            annotations=annotations_of(doc),
            schema_version=2,
        )


def _optional_str(doc: dict[str, Any], key: str) -> str | None:
    value = doc.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidManifest(f"{key!r} is not a string")
    return value


def _subject(doc: dict[str, Any]) -> Descriptor | None:
    subject = doc.get("subject")
    return Descriptor.from_dict(subject) if subject is not None else None


def parse_manifest(data: bytes, media_type: str | None = None) -> Manifest | Index:
    """Parse a manifest or index.

    ``media_type`` is the ``Content-Type`` the registry sent, if any. The document's own
    ``mediaType`` wins when present; with neither, the shape decides (``manifests`` → index).
    """
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidManifest(f"manifest is not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise InvalidManifest("manifest is not a JSON object")
    if doc.get("schemaVersion") != 2:
        raise InvalidManifest(
            f"unsupported manifest schemaVersion {doc.get('schemaVersion')!r} (only 2)"
        )
    declared = _optional_str(doc, "mediaType")
    kind = declared or _base_type(media_type)
    if kind in mt.INDEX_TYPES or (kind not in mt.MANIFEST_TYPES and "manifests" in doc):
        return Index.from_dict(doc, kind if kind in mt.INDEX_TYPES else mt.OCI_INDEX)
    if kind in mt.MANIFEST_TYPES or "config" in doc:
        return Manifest.from_dict(doc, kind if kind in mt.MANIFEST_TYPES else mt.OCI_MANIFEST)
    raise InvalidManifest(f"not a manifest or an index (media type {kind!r})")


def _base_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None
