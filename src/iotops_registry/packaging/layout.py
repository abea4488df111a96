"""Read images to push as they are: an OCI image layout directory or a ``docker save`` archive.

Nothing is re-encoded: manifests keep their bytes (so their digests), blobs are streamed
from the files they are in — a layout's ``blobs/<alg>/<hex>`` or a member of an uncompressed
tar, by offset. An index is pushed with every platform it lists.

- **OCI layout** (``oci-layout`` + ``index.json``): the manifest whose
  ``org.opencontainers.image.ref.name`` is the tag asked for, or the only one.
- **docker-archive**: Docker 25+ writes an OCI layout inside the tar (read the same way);
  older ones a ``manifest.json`` with a config file and uncompressed layer tars: pushed as an
  OCI image manifest whose layer digests are the config's ``diff_ids``.
"""

from __future__ import annotations

import json
import posixpath
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import InvalidArtifact, InvalidManifest, Problem
from ..oci import Descriptor, Digest, Index, Manifest, mediatypes, parse_manifest
from ..transport import FileBody
from .bundle import Bundle, ManifestBytes

__all__ = ["read_docker_archive", "read_image", "read_oci_layout"]

REF_NAME = "org.opencontainers.image.ref.name"
_MANIFEST_LIMIT = 4 << 20
_MAX_MANIFESTS = 256


def _refuse(file: str, message: str, fix: str = "") -> InvalidArtifact:
    return InvalidArtifact([Problem(file, "", message, fix)])


class _Source:
    """Blobs by digest, from a directory or a tar, with their sizes checked."""

    def __init__(self, name: str, read: Callable[[str, int], bytes],
                 body: Callable[[str], FileBody]) -> None:
        self.name = name
        self._read = read
        self._body = body

    def blob_name(self, digest: Digest) -> str:
        return f"blobs/{digest.algorithm}/{digest.hex}"

    def manifest(self, descriptor: Descriptor) -> ManifestBytes:
        if descriptor.size > _MANIFEST_LIMIT:
            raise _refuse(self.name, f"manifest {descriptor.digest} is larger than 4 MiB")
        data = self._read(self.blob_name(descriptor.digest), descriptor.size + 1)
        if Digest.of(data, descriptor.digest.algorithm) != descriptor.digest:
            raise _refuse(self.name, f"manifest {descriptor.digest} does not match its digest",
                          "the layout is corrupt: export the image again")
        return ManifestBytes(data, descriptor.media_type, descriptor.digest)

    def blob(self, descriptor: Descriptor) -> FileBody:
        body = self._body(self.blob_name(descriptor.digest))
        if body.length != descriptor.size:
            raise _refuse(self.name, f"blob {descriptor.digest} has {body.length} bytes, its "
                          f"descriptor says {descriptor.size}", "export the image again")
        return body


def _walk(source: _Source, descriptor: Descriptor, bundle: Bundle, depth: int = 0) -> None:
    if depth > 4 or len(bundle.manifests) > _MAX_MANIFESTS:
        raise _refuse(source.name, "the image's indexes nest too deep or list too much")
    fetched = source.manifest(descriptor)
    try:
        parsed = parse_manifest(fetched.data, descriptor.media_type)
    except InvalidManifest as exc:
        raise _refuse(source.name, f"manifest {descriptor.digest}: {exc}") from None
    if isinstance(parsed, Index):
        for child in parsed.manifests:
            _walk(source, child, bundle, depth + 1)
    else:
        assert isinstance(parsed, Manifest)
        for blob in (parsed.config, *parsed.layers):
            if blob.digest not in bundle.blobs:
                bundle.add_blob(blob, source.blob(blob))
    bundle.add_manifest(ManifestBytes(fetched.data, parsed.media_type, fetched.digest))


def _pick(index: dict[str, Any], tag: str | None, name: str) -> Descriptor:
    entries = [Descriptor.from_dict(m) for m in index.get("manifests") or []]
    if not entries:
        raise _refuse(name, "the layout's index.json lists no manifest")
    if tag is not None:
        for entry in entries:
            ref = entry.annotations.get(REF_NAME, "")
            if ref == tag or (ref.rpartition(":")[2] == tag and ":" in ref):
                return entry
        if len(entries) > 1:
            names = sorted({e.annotations.get(REF_NAME, "?") for e in entries})
            raise _refuse(name, f"no manifest in the layout is named {tag!r}",
                          f"pick one of: {', '.join(names)}")
    if len(entries) > 1:
        names = sorted({e.annotations.get(REF_NAME, "?") for e in entries})
        raise _refuse(name, "the layout holds several manifests",
                      f"name one with LAYOUT:TAG, one of: {', '.join(names)}")
    return entries[0]


def _index_of(text: bytes, name: str) -> dict[str, Any]:
    try:
        doc = json.loads(text)
    except ValueError:
        doc = None
    if not isinstance(doc, dict):
        raise _refuse(name, "index.json is not a JSON object")
    return doc


def read_oci_layout(path: Path, tag: str | None = None) -> Bundle:
    """The image (or index) ``tag`` names in the OCI layout at ``path``."""
    name = str(path)
    if not (path / "oci-layout").is_file() or not (path / "index.json").is_file():
        raise _refuse(name, "not an OCI image layout (no oci-layout and index.json)",
                      "export with `skopeo copy ... oci:DIR:TAG` or `docker save`")

    def read(member: str, limit: int) -> bytes:
        try:
            with (path / member).open("rb") as handle:
                return handle.read(limit)
        except OSError as exc:
            raise _refuse(name, f"{member}: {exc.strerror}") from None

    def body(member: str) -> FileBody:
        file = path / member
        try:
            return FileBody(file, 0, file.stat().st_size)
        except OSError as exc:
            raise _refuse(name, f"{member}: {exc.strerror}") from None

    index = _index_of(read("index.json", _MANIFEST_LIMIT), name)
    bundle = Bundle()
    _walk(_Source(name, read, body), _pick(index, tag, name), bundle)
    return bundle


def _members(archive: tarfile.TarFile) -> dict[str, tarfile.TarInfo]:
    members: dict[str, tarfile.TarInfo] = {}
    for member in archive.getmembers():
        members[posixpath.normpath(member.name).lstrip("/")] = member
    return members


def _resolve(members: dict[str, tarfile.TarInfo], name: str, file: str) -> tarfile.TarInfo:
    name = posixpath.normpath(name).lstrip("/")
    for _ in range(8):  # Docker 25+ links legacy layer paths to blobs/sha256/...
        member = members.get(name)
        if member is None:
            raise _refuse(file, f"the archive has no {name}")
        if member.issym():
            name = posixpath.normpath(posixpath.join(posixpath.dirname(name), member.linkname))
            continue
        if member.islnk():
            name = posixpath.normpath(member.linkname)
            continue
        if not member.isfile():
            raise _refuse(file, f"{name} in the archive is not a file")
        return member
    raise _refuse(file, f"{name}: too many links")


def read_docker_archive(path: Path, tag: str | None = None) -> Bundle:
    """The image in a ``docker save`` archive (uncompressed tar)."""
    name = str(path)
    with path.open("rb") as handle:
        if handle.read(2) == b"\x1f\x8b":
            raise _refuse(name, "the archive is gzip-compressed; its layers cannot be "
                          "streamed from it", f"decompress it first: gunzip -k {path.name}")
    try:
        archive = tarfile.open(path, "r:")  # noqa: SIM115 (closed by the with below)
    except (tarfile.TarError, OSError) as exc:
        raise _refuse(name, f"not a tar archive: {exc}") from None
    with archive:
        members = _members(archive)

        def read(member: str, limit: int) -> bytes:
            info = _resolve(members, member, name)
            extracted = archive.extractfile(info)
            assert extracted is not None
            return extracted.read(limit)

        def body(member: str) -> FileBody:
            info = _resolve(members, member, name)
            return FileBody(path, info.offset_data, info.size)

        if "index.json" in members and "oci-layout" in members:
            index = _index_of(read("index.json", _MANIFEST_LIMIT), name)
            entries = index.get("manifests") or []
            if tag is None and len(entries) > 1:
                tags = [e.get("annotations", {}).get(REF_NAME) for e in entries]
                raise _refuse(name, "the archive holds several images",
                              f"name one with ARCHIVE:TAG ({', '.join(map(str, tags))})")
            bundle = Bundle()
            _walk(_Source(name, read, body), _pick(index, tag, name), bundle)
            return bundle
        if "manifest.json" not in members:
            raise _refuse(name, "not a docker-archive (no manifest.json) nor an OCI archive")
        return _legacy(name, read, body, tag)


def _legacy(name: str, read: Callable[[str, int], bytes], body: Callable[[str], FileBody],
            tag: str | None) -> Bundle:
    try:
        entries = json.loads(read("manifest.json", _MANIFEST_LIMIT))
    except ValueError:
        raise _refuse(name, "manifest.json is not JSON") from None
    if not isinstance(entries, list) or not entries:
        raise _refuse(name, "manifest.json lists no image")
    chosen = entries[0]
    if tag is not None or len(entries) > 1:
        chosen = next((e for e in entries if any(
            str(t) == tag or str(t).rpartition(":")[2] == tag for t in e.get("RepoTags") or []
        )), None)
        if chosen is None:
            raise _refuse(name, f"no image in the archive is tagged {tag!r}")
    config_bytes = read(str(chosen["Config"]), _MANIFEST_LIMIT)
    config = json.loads(config_bytes)
    diff_ids = (config.get("rootfs") or {}).get("diff_ids") or []
    layers = chosen.get("Layers") or []
    if len(diff_ids) != len(layers):
        raise _refuse(name, "the image config's diff_ids do not match its layers")
    bundle = Bundle()
    config_descriptor = bundle.add_blob(
        Descriptor(mediatypes.OCI_CONFIG, Digest.of(config_bytes), len(config_bytes)),
        config_bytes,
    )
    descriptors: list[Descriptor] = []
    for layer_name, diff_id in zip(layers, diff_ids, strict=True):
        content = body(str(layer_name))
        if read(str(layer_name), 2) == b"\x1f\x8b":
            raise _refuse(name, f"layer {layer_name} is compressed; docker-archive layers "
                          "are tar files", "export the image with docker save again")
        descriptor = Descriptor(mediatypes.OCI_LAYER, Digest.parse(str(diff_id)),
                                content.length)
        descriptors.append(bundle.add_blob(descriptor, content))
    manifest = Manifest(config=config_descriptor, layers=tuple(descriptors))
    bundle.add_manifest(ManifestBytes.of(manifest.to_json(), mediatypes.OCI_MANIFEST))
    return bundle


def read_image(spec: str) -> Bundle:
    """``DIR[:TAG]`` (an OCI layout) or ``FILE.tar[:TAG]`` (a docker-archive)."""
    path, tag = Path(spec), None
    if not path.exists() and ":" in spec:
        head, _, tail = spec.rpartition(":")
        path, tag = Path(head), tail or None
    if path.is_dir():
        return read_oci_layout(path, tag)
    if path.is_file():
        return read_docker_archive(path, tag)
    raise _refuse(spec, "no such OCI layout directory or archive file")
