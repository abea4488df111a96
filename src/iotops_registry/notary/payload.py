"""The signed payload: ``{"targetArtifact": <descriptor>}``. Pure.

The verifier compares the three fields the specification names (digest, size, media type)
with the artifact being pulled; everything else in the descriptor is informational.
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import InvalidManifest, SignatureVerificationFailed
from ..oci import Descriptor
from .envelope import invalid, strict_json

__all__ = ["build", "mismatch", "parse"]


def build(target: Descriptor, *, sorted_keys: bool) -> bytes:
    """The payload for ``target``: its media type, digest and size, as notation signs a
    resolved manifest (no user metadata). notation's JWS payload has its keys sorted; its
    COSE payload keeps Go's descriptor field order (mediaType, digest, size)."""
    descriptor: dict[str, Any] = {
        "mediaType": target.media_type,
        "digest": str(target.digest),
        "size": target.size,
    }
    return json.dumps(
        {"targetArtifact": descriptor}, sort_keys=sorted_keys, separators=(",", ":")
    ).encode()


def parse(data: bytes) -> Descriptor:
    doc = strict_json(data, "signed payload")
    if not isinstance(doc, dict) or "targetArtifact" not in doc:
        raise invalid("the signed payload has no targetArtifact")
    try:
        return Descriptor.from_dict(doc["targetArtifact"])
    except InvalidManifest as exc:
        raise invalid(f"the signed targetArtifact is not a descriptor: {exc}") from None


def _show(d: Descriptor) -> str:
    return f"{d.digest} ({d.media_type}, {d.size} bytes)"


def mismatch(target: Descriptor, artifact: Descriptor) -> SignatureVerificationFailed | None:
    """The TargetMismatch failure if the signed descriptor is not the artifact's."""
    if (target.digest, target.size, target.media_type) == (
        artifact.digest,
        artifact.size,
        artifact.media_type,
    ):
        return None
    return SignatureVerificationFailed(
        f"the signature is for {_show(target)}, not for the artifact {_show(artifact)}",
        code="TargetMismatch",
    )
