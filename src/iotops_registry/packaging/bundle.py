"""``Bundle``: everything one push sends — blobs by digest, then manifests, children first.

Graphs, modules, connector metadata, images read from a layout or an archive and images
built from a directory all become a bundle, so one publisher pushes them all the same way.
Blob content is bytes (small) or a :class:`~iotops_registry.transport.FileBody` (a file or a
slice of one, e.g. a member of a tar archive), never a whole large file in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..oci import Descriptor, Digest
from ..transport import FileBody

__all__ = ["BlobContent", "Bundle", "ManifestBytes"]

BlobContent = bytes | FileBody


@dataclass(frozen=True)
class ManifestBytes:
    """A manifest or index exactly as it will be stored (its digest is of these bytes)."""

    data: bytes
    media_type: str
    digest: Digest

    @classmethod
    def of(cls, data: bytes, media_type: str) -> ManifestBytes:
        return cls(data, media_type, Digest.of(data))

    def descriptor(self, artifact_type: str | None = None) -> Descriptor:
        return Descriptor(self.media_type, self.digest, len(self.data),
                          artifact_type=artifact_type)


@dataclass
class Bundle:
    blobs: dict[Digest, tuple[Descriptor, BlobContent]] = field(default_factory=dict)
    manifests: list[ManifestBytes] = field(default_factory=list)

    def add_blob(self, descriptor: Descriptor, content: BlobContent) -> Descriptor:
        self.blobs.setdefault(descriptor.digest, (descriptor, content))
        return descriptor

    def add_manifest(self, manifest: ManifestBytes) -> ManifestBytes:
        if all(m.digest != manifest.digest for m in self.manifests):
            self.manifests.append(manifest)
        return manifest

    @property
    def top(self) -> ManifestBytes:
        """The manifest the tag points at: the last one added."""
        return self.manifests[-1]

    @property
    def size(self) -> int:
        """Bytes of blob content (what a progress display counts)."""
        return sum(d.size for d, _ in self.blobs.values())
