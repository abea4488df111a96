"""Signature manifests: the OCI image manifest that stores an envelope as a referrer. Pure.

Two shapes are read (signature specification, "OCI Signatures" and its compatibility
section): the current one, ``artifactType: application/vnd.cncf.notary.signature`` with the
empty config, and the legacy one of registries without ``artifactType``, where the config's
media type says it. Both have exactly one layer, the envelope, and a ``subject``. The
current shape is written, byte for byte as notation writes it (Go's field order), so the
same signature gives the same manifest digest.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import InvalidManifest, SignatureVerificationFailed
from ..oci import Descriptor, Digest, Manifest, mediatypes, parse_manifest
from .envelope import invalid
from .media import ARTIFACT_TYPE, ENVELOPE_LIMIT, ENVELOPE_TYPES, THUMBPRINT_ANNOTATION

__all__ = ["CREATED_ANNOTATION", "build", "envelope_layer", "is_signature", "thumbprints"]

CREATED_ANNOTATION = "org.opencontainers.image.created"
_EMPTY_DIGEST = Digest.of(mediatypes.OCI_EMPTY_JSON)
_EMPTY_DATA = "e30="  # base64 of the empty config "{}", inlined as notation does


def is_signature(manifest: Manifest) -> bool:
    return manifest.artifact_type == ARTIFACT_TYPE or (
        manifest.artifact_type is None and manifest.config.media_type == ARTIFACT_TYPE
    )


def envelope_layer(data: bytes, artifact: Descriptor) -> Descriptor:
    """Check a signature manifest's shape; return its envelope's descriptor."""
    try:
        manifest = parse_manifest(data, mediatypes.OCI_MANIFEST)
    except InvalidManifest as exc:
        raise invalid(f"the signature manifest cannot be read: {exc}") from None
    if not isinstance(manifest, Manifest) or manifest.media_type != mediatypes.OCI_MANIFEST:
        raise invalid("a signature manifest is an OCI image manifest")
    if not is_signature(manifest):
        raise invalid(f"the manifest is not a Notary Project signature ({ARTIFACT_TYPE})")
    current = manifest.artifact_type == ARTIFACT_TYPE
    if current and manifest.config.media_type != mediatypes.OCI_EMPTY:
        raise invalid("a signature manifest with an artifactType must have the empty config")
    if manifest.subject is None or manifest.subject.digest != artifact.digest:
        raise SignatureVerificationFailed(
            f"the signature manifest's subject is "
            f"{manifest.subject.digest if manifest.subject else 'missing'}, not {artifact.digest}",
            code="TargetMismatch",
        )
    if len(manifest.layers) != 1:
        raise invalid(f"a signature manifest has one layer, not {len(manifest.layers)}")
    layer = manifest.layers[0]
    if layer.media_type not in ENVELOPE_TYPES:
        raise invalid(
            f"the signature layer is {layer.media_type!r}, not a JWS ({ENVELOPE_TYPES[0]}) or "
            f"COSE ({ENVELOPE_TYPES[1]}) envelope"
        )
    if layer.size > ENVELOPE_LIMIT:
        raise invalid(f"the envelope is {layer.size} bytes, more than {ENVELOPE_LIMIT}")
    return layer


def thumbprints(annotations: Mapping[str, str]) -> list[str]:
    """The chain fingerprints a manifest (or its referrers entry) announces: lowercase hex,
    leaf first; [] when absent or malformed. Unsigned: use it to order candidates only."""
    try:
        value = json.loads(annotations.get(THUMBPRINT_ANNOTATION, "[]"))
    except ValueError:
        return []
    if not isinstance(value, list):
        return []
    return [v.lower() for v in value if isinstance(v, str)]


def _time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build(
    subject: Descriptor,
    envelope: Descriptor,
    fingerprints: Sequence[str],
    created: dt.datetime,
) -> bytes:
    """The signature manifest notation pushes today, as its exact bytes."""
    doc: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": mediatypes.OCI_MANIFEST,
        "artifactType": ARTIFACT_TYPE,
        "config": {
            "mediaType": mediatypes.OCI_EMPTY,
            "digest": str(_EMPTY_DIGEST),
            "size": len(mediatypes.OCI_EMPTY_JSON),
            "data": _EMPTY_DATA,
        },
        "layers": [
            {
                "mediaType": envelope.media_type,
                "digest": str(envelope.digest),
                "size": envelope.size,
            }
        ],
        "subject": {
            "mediaType": subject.media_type,
            "digest": str(subject.digest),
            "size": subject.size,
        },
        "annotations": {
            THUMBPRINT_ANNOTATION: json.dumps(list(fingerprints), separators=(",", ":")),
            CREATED_ANNOTATION: _time(created),
        },
    }
    return json.dumps(doc, separators=(",", ":")).encode()

