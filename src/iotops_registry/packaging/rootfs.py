"""Build a container image from a directory: one gzip layer and a proper image config.

``iotops connector push --from-dir DIR --entrypoint CMD`` needs no Docker: the directory
becomes the image's root filesystem (one layer, entries sorted, owned by root, so the same
tree gives the same layer), and the config says the entrypoint, the OS and CPU. With
several ``supportedArchitectures`` the image is an index of one manifest per platform,
sharing the layer (the files are whatever the directory holds: a connector built for each
architecture needs one push per architecture's directory).

The layer is written once to a temporary file while two digests are computed on the same
pass: of the compressed bytes (the blob's digest) and of the tar (the config's ``diff_id``).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shlex
import stat
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from ..errors import InvalidArtifact, Problem
from ..oci import Descriptor, Digest, Index, Manifest, Platform, canonical_json, mediatypes
from ..transport import FileBody
from .artifacts import created_now
from .bundle import Bundle, ManifestBytes

__all__ = ["BuiltImage", "build_image", "parse_platform"]

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def parse_platform(text: str) -> Platform:
    """``linux/amd64``, ``linux/arm/v7`` → a :class:`Platform`."""
    parts = text.strip().split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise ValueError(f"{text!r} is not os/arch[/variant]")
    return Platform(architecture=parts[1], os=parts[0],
                    variant=parts[2] if len(parts) == 3 else None)


class _Hashing:
    """A write-only file object that hashes what passes through to ``inner``."""

    def __init__(self, inner: IO[bytes] | None) -> None:
        self.inner = inner
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.hash.update(data)
        self.size += len(data)
        if self.inner is not None:
            self.inner.write(data)
        return len(data)

    def flush(self) -> None:
        if self.inner is not None:
            self.inner.flush()


def _mtime(path: Path) -> int:
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    mtime = int(path.lstat().st_mtime)
    return min(mtime, int(epoch)) if epoch.isdigit() else mtime


def _add_tree(archive: tarfile.TarFile, root: Path) -> int:
    count = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        base = Path(dirpath)
        for name in [*sorted(dirnames), *sorted(filenames)]:
            path = base / name
            info = archive.gettarinfo(str(path), arcname=path.relative_to(root).as_posix())
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = _mtime(path)
            mode = path.lstat().st_mode
            if stat.S_ISREG(mode):
                with path.open("rb") as handle:
                    archive.addfile(info, handle)
            elif stat.S_ISDIR(mode) or stat.S_ISLNK(mode):
                archive.addfile(info)
            else:
                continue  # sockets, devices, fifos have no place in an image
            count += 1
    return count


class BuiltImage:
    """The bundle, and the temporary layer file it streams from (call :meth:`cleanup`)."""

    def __init__(self, bundle: Bundle, layer_file: Path, files: int) -> None:
        self.bundle = bundle
        self.layer_file = layer_file
        self.files = files

    def cleanup(self) -> None:
        self.layer_file.unlink(missing_ok=True)

    def __enter__(self) -> BuiltImage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


def _config(platform: Platform, diff_id: str, entrypoint: list[str], workdir: str,
            env: Sequence[str], created: str) -> dict[str, Any]:
    config: dict[str, Any] = {
        "architecture": platform.architecture,
        "os": platform.os,
        "created": created,
        "config": {
            "Entrypoint": entrypoint,
            "Env": [f"PATH={DEFAULT_PATH}", *env],
            "WorkingDir": workdir,
        },
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": created, "created_by": "iotops connector push --from-dir"}],
    }
    if platform.variant:
        config["variant"] = platform.variant
    return config


def build_image(
    directory: Path,
    entrypoint: str,
    platforms: Sequence[Platform],
    *,
    workdir: str = "/",
    env: Sequence[str] = (),
    temp_dir: str | None = None,
) -> BuiltImage:
    """An image of ``directory`` for each platform (one: a manifest; more: an index)."""
    name = str(directory)
    if not directory.is_dir():
        raise InvalidArtifact([Problem(name, "", "not a directory", "pass --from-dir DIR")])
    argv = shlex.split(entrypoint)
    if not argv:
        raise InvalidArtifact([Problem(name, "", "the entrypoint is empty",
                                       'pass --entrypoint "/app/connector --flag"')])
    if not platforms:
        raise InvalidArtifact([Problem(name, "", "no platform to build for",
                                       "list supportedArchitectures in the metadata")])
    fd, temporary = tempfile.mkstemp(prefix=".iotops-layer-", suffix=".tar.gz", dir=temp_dir)
    layer_path = Path(temporary)
    try:
        with os.fdopen(fd, "wb") as raw:
            compressed = _Hashing(raw)
            with gzip.GzipFile(fileobj=compressed, mode="wb", mtime=0,
                               compresslevel=6) as gz:
                tar_stream = _Hashing(gz)  # type: ignore[arg-type]
                with tarfile.open(fileobj=tar_stream, mode="w|",  # type: ignore[call-overload]
                                  format=tarfile.PAX_FORMAT) as archive:
                    files = _add_tree(archive, directory)
        layer_digest = Digest("sha256", compressed.hash.hexdigest())
        diff_id = f"sha256:{tar_stream.hash.hexdigest()}"
        created = created_now()
        bundle = Bundle()
        layer = bundle.add_blob(
            Descriptor(mediatypes.OCI_LAYER_GZIP, layer_digest, compressed.size),
            FileBody(layer_path, 0, compressed.size),
        )
        children: list[Descriptor] = []
        for platform in platforms:
            config_bytes = canonical_json(
                _config(platform, diff_id, argv, workdir, env, created))
            config = bundle.add_blob(
                Descriptor(mediatypes.OCI_CONFIG, Digest.of(config_bytes), len(config_bytes)),
                config_bytes,
            )
            manifest = ManifestBytes.of(
                Manifest(config=config, layers=(layer,)).to_json(), mediatypes.OCI_MANIFEST)
            bundle.add_manifest(manifest)
            children.append(Descriptor(manifest.media_type, manifest.digest,
                                       len(manifest.data), platform=platform))
        if len(children) > 1:
            bundle.add_manifest(ManifestBytes.of(
                Index(manifests=tuple(children)).to_json(), mediatypes.OCI_INDEX))
        return BuiltImage(bundle, layer_path, files)
    except BaseException:
        layer_path.unlink(missing_ok=True)
        raise
