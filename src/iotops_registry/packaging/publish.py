"""``Publisher``: push bundles, copy between registries, pull — fast and in bounded memory.

- blobs go up ``concurrency`` at a time (default 4); each is HEADed first and skipped when
  the repository has it; content streams from files in 1 MiB reads, never whole;
- a copy within one registry mounts blobs across repositories (no data moves); between
  registries each blob streams from one to the other without touching the disk;
- manifests keep their exact bytes (so their digests), children before the index that lists
  them; a copy brings the referrers (signatures, SBOMs) of what it copies, and writes the
  referrers fallback index on a registry without the referrers API;
- a :class:`Progress` hears about bytes as they are sent (a terminal display; none when
  piped).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Protocol

from ..errors import InvalidArtifact, Problem, RegistryNotFound
from ..oci import Descriptor, Digest, Index, Manifest, mediatypes, parse_manifest
from ..remote import RegistryClient
from ..transport import FileBody
from .artifacts import ANNOTATION_TITLE, title_of
from .bundle import BlobContent, Bundle, ManifestBytes

__all__ = ["NO_PROGRESS", "Copier", "CopyResult", "Progress", "Publisher", "Pushed"]

MAX_REFERRER_DEPTH = 3
MAX_COPIED_MANIFESTS = 1024


class Progress(Protocol):
    def expect(self, nbytes: int) -> None:
        """``nbytes`` more bytes are going to be sent or received."""

    def advance(self, nbytes: int) -> None:
        """``nbytes`` were sent (or found already there)."""


class _NoProgress:
    def expect(self, nbytes: int) -> None:
        pass

    def advance(self, nbytes: int) -> None:
        pass


NO_PROGRESS: Progress = _NoProgress()


@dataclass(frozen=True)
class Pushed:
    """One manifest stored: where, and its digest (what ``-o json`` prints)."""

    reference: str
    digest: Digest
    media_type: str
    kind: str = "artifact"

    def to_dict(self) -> dict[str, str]:
        return {"reference": self.reference, "digest": str(self.digest),
                "mediaType": self.media_type, "kind": self.kind}


@dataclass
class CopyResult:
    digest: Digest
    manifests: int = 0
    blobs_copied: int = 0
    blobs_mounted: int = 0
    blobs_present: int = 0
    referrers: list[str] = field(default_factory=list)


class _Counted:
    """Progress for one blob: chunks as they go, and whatever is left when it is done."""

    def __init__(self, progress: Progress, size: int) -> None:
        self.progress = progress
        self.size = size
        self.reported = 0

    def chunk(self, n: int) -> None:
        n = min(n, self.size - self.reported)
        if n > 0:
            self.reported += n
            self.progress.advance(n)

    def finish(self) -> None:
        self.chunk(self.size - self.reported)


class Publisher:
    def __init__(
        self,
        client: RegistryClient,
        *,
        concurrency: int = 4,
        progress: Progress = NO_PROGRESS,
        chunk_size: int | None = None,
    ) -> None:
        self.client = client
        self.concurrency = max(1, concurrency)
        self.progress = progress
        self.chunk_size = chunk_size
        self._slots = asyncio.Semaphore(self.concurrency)

    # -- pushing ------------------------------------------------------------------------

    async def _bounded(self, jobs: Sequence[Callable[[], Awaitable[object]]]) -> None:
        async def run(job: Callable[[], Awaitable[object]]) -> None:
            async with self._slots:
                await job()

        async with asyncio.TaskGroup() as group:
            for job in jobs:
                group.create_task(run(job))

    async def push_blob(self, repository: str, descriptor: Descriptor,
                        content: BlobContent) -> None:
        counted = _Counted(self.progress, descriptor.size)
        body: BlobContent = content
        if isinstance(content, FileBody):
            body = FileBody(content.path, content.offset, content.length,
                            content.chunk_size, counted.chunk)
        await self.client.push_blob(
            repository, body, media_type=descriptor.media_type, digest=descriptor.digest,
            chunk_size=self.chunk_size,
        )
        counted.finish()

    async def push(self, repository: str, tag: str | None, bundle: Bundle) -> Digest:
        """Push every blob, then the manifests (children by digest, the top one by ``tag``,
        or by digest without one)."""
        self.progress.expect(bundle.size)
        await self._bounded(
            [partial(self.push_blob, repository, d, c) for d, c in bundle.blobs.values()]
        )
        for manifest in bundle.manifests[:-1]:
            await self.client.put_manifest(repository, manifest.digest, manifest.data,
                                           manifest.media_type)
        top = bundle.top
        if parse_manifest(top.data, top.media_type).subject is not None:
            await self.client.attach_referrer(repository, top.data, top.media_type)
        if tag is not None or parse_manifest(top.data, top.media_type).subject is None:
            await self.client.put_manifest(repository, tag or top.digest, top.data,
                                           top.media_type)
        return top.digest

    async def push_files(
        self,
        repository: str,
        tag: str | None,
        files: Sequence[tuple[Path, str]],
        *,
        artifact_type: str | None,
        config: tuple[bytes, str] | None,
        annotations: dict[str, str],
    ) -> ManifestBytes:
        """An artifact of ``files`` (path, media type), each titled with its file name. A
        large file is hashed while it uploads, so it is read once."""
        titles = [title_of(path.name) for path, _ in files]
        if len(set(titles)) != len(titles):
            raise InvalidArtifact([Problem(str(files[0][0]), "", "two files have the same "
                                           "name; layers are titled by file name", "")])
        sizes = [path.stat().st_size for path, _ in files]
        self.progress.expect(sum(sizes))
        layers: list[Descriptor | None] = [None] * len(files)

        async def upload(i: int) -> None:
            path, media_type = files[i]
            counted = _Counted(self.progress, sizes[i])
            body = FileBody(path, 0, sizes[i], on_chunk=counted.chunk)
            pushed = await self.client.push_blob(repository, body, media_type=media_type,
                                                 chunk_size=self.chunk_size)
            counted.finish()
            layers[i] = Descriptor(media_type, pushed.digest, pushed.size,
                                   annotations={ANNOTATION_TITLE: titles[i]})

        if config is None:
            config_data, config_type = mediatypes.OCI_EMPTY_JSON, mediatypes.OCI_EMPTY
        else:
            config_data, config_type = config
        configs: list[Descriptor] = []

        async def upload_config() -> None:
            configs.append(await self.client.push_blob(repository, config_data,
                                                       media_type=config_type))

        # The config goes up beside the layers, not after them: one round trip less.
        await self._bounded([upload_config, *(partial(upload, i) for i in range(len(files)))])
        manifest = Manifest(
            config=configs[0],
            layers=tuple(d for d in layers if d is not None),
            artifact_type=artifact_type if artifact_type else (
                mediatypes.OCTET_STREAM if config is None and not files else None),
            annotations=annotations,
        )
        data = ManifestBytes.of(manifest.to_json(), mediatypes.OCI_MANIFEST)
        await self.client.put_manifest(repository, tag or data.digest, data.data,
                                       data.media_type)
        return data

    # -- pulling ------------------------------------------------------------------------

    async def pull(self, repository: str, ref: str | Digest, directory: Path
                   ) -> tuple[ManifestBytes, list[tuple[Path, Descriptor]]]:
        """Every layer of an artifact, into ``directory``, named by its title (file name
        only: a title with a directory in it is flattened; no file outside is written)."""
        fetched = await self.client.get_manifest(repository, ref)
        parsed = fetched.parse()
        if isinstance(parsed, Index):
            children = ", ".join(str(m.digest) for m in parsed.manifests[:8])
            raise InvalidArtifact([Problem(f"{repository}@{fetched.digest}", "",
                                           "this is an index, not one artifact",
                                           f"pull one of its manifests by digest: {children}")])
        assert isinstance(parsed, Manifest)
        targets: list[tuple[Path, Descriptor]] = []
        names: set[str] = set()
        for layer in parsed.layers:
            title = layer.annotations.get(ANNOTATION_TITLE) or layer.digest.hex
            try:
                name = title_of(title)
            except ValueError:
                name = layer.digest.hex
            if name in names:
                raise InvalidArtifact([Problem(title, "", "two layers have the same file name",
                                               "pull into separate directories")])
            names.add(name)
            targets.append((directory / name, layer))
        directory.mkdir(parents=True, exist_ok=True)
        self.progress.expect(sum(d.size for _, d in targets))

        async def download(path: Path, layer: Descriptor) -> None:
            await self.client.download_blob(repository, layer.digest, path, size=layer.size)
            self.progress.advance(layer.size)

        await self._bounded([partial(download, p, d) for p, d in targets])
        return ManifestBytes(fetched.data, fetched.media_type, fetched.digest), targets

    # -- copying ------------------------------------------------------------------------


class Copier:
    """Copy a manifest (an image, an index with every platform, an artifact) and its
    referrers from one registry to another — or within one, mounting blobs."""

    def __init__(self, source: RegistryClient, target: RegistryClient, *,
                 concurrency: int = 4, progress: Progress = NO_PROGRESS) -> None:
        self.source = source
        self.target = target
        self.progress = progress
        self._slots = asyncio.Semaphore(max(1, concurrency))
        self.same_registry = source is target or source.registry == target.registry

    async def copy(self, src_repo: str, ref: str | Digest, dst_repo: str, tag: str | None,
                   *, referrers: bool = True) -> CopyResult:
        fetched = await self.source.get_manifest(src_repo, ref)
        result = CopyResult(fetched.digest)
        top = ManifestBytes(fetched.data, fetched.media_type, fetched.digest)
        await self._manifest(src_repo, dst_repo, top, tag, result, depth=0)
        if referrers:
            await self._referrers(src_repo, dst_repo, top.digest, result, depth=0)
        return result

    async def _blob(self, src_repo: str, dst_repo: str, blob: Descriptor,
                    result: CopyResult) -> None:
        async with self._slots:
            self.progress.expect(blob.size)
            if await self.target.blob_exists(dst_repo, blob.digest):
                result.blobs_present += 1
            elif self.same_registry and src_repo != dst_repo and self.source is self.target:
                if await self.target.mount_blob(dst_repo, blob.digest, src_repo):
                    result.blobs_mounted += 1
                else:
                    result.blobs_copied += 1
            else:
                async with self.source.open_blob(src_repo, blob.digest, blob.size) as chunks:
                    await self.target.push_stream(dst_repo, blob, chunks)
                result.blobs_copied += 1
            self.progress.advance(blob.size)

    async def _manifest(self, src_repo: str, dst_repo: str, manifest: ManifestBytes,
                        tag: str | None, result: CopyResult, depth: int) -> None:
        result.manifests += 1
        if result.manifests > MAX_COPIED_MANIFESTS or depth > 4:
            raise InvalidArtifact([Problem(f"{src_repo}@{manifest.digest}", "",
                                           "too many manifests or too deep an index to copy",
                                           "")])
        parsed = parse_manifest(manifest.data, manifest.media_type)
        if isinstance(parsed, Index):
            for child in parsed.manifests:
                fetched = await self.source.get_manifest(src_repo, child.digest)
                await self._manifest(
                    src_repo, dst_repo,
                    ManifestBytes(fetched.data, fetched.media_type, fetched.digest),
                    None, result, depth + 1,
                )
        else:
            assert isinstance(parsed, Manifest)
            blobs = {b.digest: b for b in (parsed.config, *parsed.layers)}
            async with asyncio.TaskGroup() as group:
                for blob in blobs.values():
                    group.create_task(self._blob(src_repo, dst_repo, blob, result))
        if parsed.subject is not None:
            await self.target.attach_referrer(dst_repo, manifest.data, manifest.media_type)
        else:
            await self.target.put_manifest(dst_repo, manifest.digest, manifest.data,
                                           manifest.media_type)
        if tag is not None:
            await self.target.put_manifest(dst_repo, tag, manifest.data, manifest.media_type)

    async def _referrers(self, src_repo: str, dst_repo: str, subject: Digest,
                         result: CopyResult, depth: int) -> None:
        if depth >= MAX_REFERRER_DEPTH:
            return
        try:
            found = await self.source.referrers(src_repo, subject)
        except RegistryNotFound:
            return
        for referrer in found:
            fetched = await self.source.get_manifest(src_repo, referrer.digest)
            await self._manifest(src_repo, dst_repo,
                                 ManifestBytes(fetched.data, fetched.media_type, fetched.digest),
                                 None, result, depth + 1)
            result.referrers.append(str(fetched.digest))
            await self._referrers(src_repo, dst_repo, fetched.digest, result, depth + 1)
