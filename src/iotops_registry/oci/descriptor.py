"""Descriptors: what a manifest says about each blob or manifest it points at.

Parsing is strict about the fields clients rely on (media type, digest, size) and keeps the
optional ones the distribution and image specs define. Unknown fields are dropped: the bytes
a registry served stay authoritative, these values are for reading them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidManifest, InvalidReference
from .digest import Digest

__all__ = ["Descriptor", "Platform"]


def _str(obj: Mapping[str, Any], key: str, *, required: bool = False) -> str | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise InvalidManifest(f"descriptor has no {key!r}")
        return None
    if not isinstance(value, str):
        raise InvalidManifest(f"descriptor {key!r} is not a string")
    return value


def _strings(obj: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = obj.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidManifest(f"{key!r} is not a list of strings")
    return tuple(value)


def annotations_of(obj: Mapping[str, Any]) -> dict[str, str]:
    """The ``annotations`` map of a descriptor, manifest or index, checked."""
    value = obj.get("annotations") or {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise InvalidManifest("'annotations' is not a map of strings")
    return dict(value)


@dataclass(frozen=True, slots=True)
class Platform:
    """Which OS and CPU an index entry is for."""

    architecture: str
    os: str
    os_version: str | None = None
    variant: str | None = None
    os_features: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> Platform:
        return cls(
            architecture=_str(obj, "architecture", required=True) or "",
            os=_str(obj, "os", required=True) or "",
            os_version=_str(obj, "os.version"),
            variant=_str(obj, "variant"),
            os_features=_strings(obj, "os.features"),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"architecture": self.architecture, "os": self.os}
        if self.os_version:
            out["os.version"] = self.os_version
        if self.os_features:
            out["os.features"] = list(self.os_features)
        if self.variant:
            out["variant"] = self.variant
        return out


@dataclass(frozen=True, slots=True)
class Descriptor:
    """``{mediaType, digest, size, ...}``: enough to fetch and verify one piece of content."""

    media_type: str
    digest: Digest
    size: int
    artifact_type: str | None = None
    annotations: dict[str, str] = field(default_factory=dict, hash=False)
    urls: tuple[str, ...] = ()
    platform: Platform | None = None
    data: str | None = None
    """Embedded content, base64 (image-spec 1.1); optional and untrusted until verified."""

    def __post_init__(self) -> None:
        if self.size < 0:
            raise InvalidManifest("descriptor size is negative")

    @classmethod
    def from_dict(cls, obj: object) -> Descriptor:
        if not isinstance(obj, dict):
            raise InvalidManifest("descriptor is not a JSON object")
        size = obj.get("size")
        if not isinstance(size, int) or isinstance(size, bool):
            raise InvalidManifest("descriptor 'size' is not an integer")
        try:
            digest = Digest.parse(_str(obj, "digest", required=True) or "")
        except InvalidReference as exc:
            raise InvalidManifest(f"descriptor digest: {exc}") from None
        platform = obj.get("platform")
        if platform is not None and not isinstance(platform, dict):
            raise InvalidManifest("descriptor 'platform' is not an object")
        return cls(
            media_type=_str(obj, "mediaType", required=True) or "",
            digest=digest,
            size=size,
            artifact_type=_str(obj, "artifactType"),
            annotations=annotations_of(obj),
            urls=_strings(obj, "urls"),
            platform=Platform.from_dict(platform) if platform is not None else None,
            data=_str(obj, "data"),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "mediaType": self.media_type,
            "digest": str(self.digest),
            "size": self.size,
        }
        if self.artifact_type:
            out["artifactType"] = self.artifact_type
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        if self.urls:
            out["urls"] = list(self.urls)
        if self.platform is not None:
            out["platform"] = self.platform.to_dict()
        if self.data is not None:
            out["data"] = self.data
        return out
