"""Blob writes: monolithic and chunked uploads, and cross-repository mounts.

- **monolithic**: ``POST /v2/<repo>/blobs/uploads/`` opens a session (distribution 2.8
  ignores a body on the POST, so a single-request upload is not portable), then
  ``PUT <location>?digest=`` with the whole blob;
- **chunked**: after the POST, ``PATCH <location>`` per chunk with ``Content-Range:
  <start>-<end>``, each answer naming the next location, then an empty ``PUT ?digest=``.
  A chunk whose connection broke is never re-sent blindly (the registry may have stored
  part of it): the session's ``Range`` is asked for and the upload resumes from there;
- a blob this client already put into another repository of the registry is mounted from
  there (one request), where the registry's auth allows it cheaply (:meth:`Session.mount_source`);
- a blob the repository already has is not uploaded again (``HEAD`` first), unless it is
  small (< :data:`HEAD_FIRST`): its upload costs about what the HEAD would, and most
  pushes bring new blobs, so the HEAD would be one request more per blob;
- **hashed while sent**: a large file whose digest is not known yet is read once, hashed
  as it is PATCHed, and finished with the digest computed on the way (the registry checks
  it). No HEAD is possible before the digest exists; a resumed upload re-hashes only the
  part of the last chunk that the registry reports stored.

Files are read in chunks by a replayable body, never loaded whole; bytes are sent as is.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from ..errors import RegistryHTTPError, RegistryUnreachable
from ..oci import Descriptor, Digest, Hasher, mediatypes
from ..transport import FileBody, pull, push, raw_chunks
from .blobs import blob_exists
from .session import Session

__all__ = ["mount_blob", "push_blob", "push_stream"]

_OCTET = {"Content-Type": mediatypes.OCTET_STREAM}
_MAX_RESUMES = 3
HASH_WHILE_SENDING = 32 << 20
"""Files of unknown digest at least this large are hashed while they upload (one read)."""
HEAD_FIRST = 256 << 10
"""Blobs at least this large are HEADed first (and skipped if present); smaller ones are
uploaded straight away (POST + PUT, the registry accepts a blob it already has)."""
BlobSource = bytes | str | os.PathLike[str] | FileBody


def _hash_file(path: Path, offset: int = 0, length: int | None = None,
               chunk: int = 1 << 20) -> Digest:
    hasher = Hasher()
    with path.open("rb", buffering=0) as handle:
        handle.seek(offset)
        remaining = length
        while remaining is None or remaining > 0:
            data = handle.read(chunk if remaining is None else min(chunk, remaining))
            if not data:
                break
            hasher.update(data)
            if remaining is not None:
                remaining -= len(data)
    return hasher.digest()


def _update_from(hasher: Any, body: FileBody, offset: int, length: int) -> None:
    """Feed ``length`` bytes of ``body`` from ``offset`` into ``hasher`` (a local re-read)."""
    with body.path.open("rb", buffering=0) as handle:
        handle.seek(body.offset + offset)
        while length > 0:
            data = handle.read(min(1 << 20, length))
            if not data:
                raise OSError(f"{body.path.name} is shorter than expected")
            hasher.update(data)
            length -= len(data)


class _HashedPart(FileBody):
    """A chunk that hashes what it sends into a copy of the hash of everything before it;
    each replay starts again from that copy, so a resent chunk is never counted twice."""

    def __init__(self, body: FileBody, base: Any) -> None:
        super().__init__(body.path, body.offset, body.length, body.chunk_size, body.on_chunk)
        self.base = base
        self.result: Any = None

    async def __aiter__(self) -> AsyncIterator[bytes]:
        hasher = self.base.copy()
        async for chunk in super().__aiter__():
            hasher.update(chunk)
            yield chunk
        self.result = hasher


def _location(response: httpx.Response) -> httpx.URL:
    value = response.headers.get("Location")
    if not value:
        raise RegistryHTTPError(
            f"{response.request.method} {response.request.url.path}: no Location in the answer",
            status=response.status_code,
        )
    return response.url.join(value)


def _part(data: BlobSource, offset: int, length: int) -> bytes | FileBody:
    if isinstance(data, bytes):
        return data[offset : offset + length] if (offset, length) != (0, len(data)) else data
    if isinstance(data, FileBody):
        return data.part(offset, length)
    return FileBody(Path(data), offset, length)


async def _start(session: Session, repository: str) -> httpx.URL:
    url = session.url(f"/v2/{repository}/blobs/uploads/")
    async with session.open(
        "POST", url, scopes=(push(repository),), ok=(202,), headers={"Content-Length": "0"}
    ) as response:
        return _location(response)


async def _finish(
    session: Session,
    repository: str,
    location: httpx.URL,
    digest: Digest,
    body: bytes | FileBody | httpx.AsyncByteStream,
    length: int,
) -> None:
    url = location.copy_merge_params({"digest": str(digest)})
    headers = {**_OCTET, "Content-Length": str(length)}
    async with session.open(
        "PUT", url, scopes=(push(repository),), ok=(201, 204), headers=headers, content=body
    ):
        pass
    session.remember(digest, repository)


async def _resume_offset(
    session: Session, repository: str, location: httpx.URL
) -> tuple[int, httpx.URL]:
    """Where an interrupted session stands: (bytes stored, next location)."""
    async with session.open("GET", location, scopes=(push(repository),), ok=(204,)) as response:
        stored = response.headers.get("Range", "")
        following = _location(response) if response.headers.get("Location") else location
    _, _, end = stored.partition("-")
    return (int(end) + 1 if end.isdigit() and stored != "0-0" else 0), following


async def _patch_chunks(
    session: Session,
    repository: str,
    location: httpx.URL,
    data: BlobSource,
    size: int,
    chunk_size: int,
    hasher: Any = None,
) -> tuple[httpx.URL, Any]:
    """PATCH ``data`` from 0 to ``size``; with ``hasher`` (a hashlib object over nothing yet,
    ``data`` a file), hash it on the way. Returns the next location and the hash of exactly
what is stored (None without ``hasher``)."""
    offset, resumes = 0, 0
    while offset < size:
        length = min(chunk_size, size - offset)
        content: bytes | FileBody = _part(data, offset, length)
        if hasher is not None:
            assert isinstance(content, FileBody)
            content = _HashedPart(content, hasher)
        headers = {
            **_OCTET,
            "Content-Length": str(length),
            "Content-Range": f"{offset}-{offset + length - 1}",
        }
        try:
            async with session.open(
                "PATCH",
                location,
                scopes=(push(repository),),
                ok=(202,),
                headers=headers,
                content=content,
            ) as response:
                location = _location(response)
        except RegistryUnreachable:
            resumes += 1
            if resumes > _MAX_RESUMES:
                raise
            stored, location = await _resume_offset(session, repository, location)
            if stored < offset or stored > offset + length:
                raise RegistryHTTPError(
                    f"upload to {repository}: the registry reports {stored} bytes stored, "
                    f"expected between {offset} and {offset + length}",
                    status=204,
                ) from None
            if hasher is not None and stored > offset:
                assert isinstance(data, FileBody)
                await asyncio.to_thread(_update_from, hasher, data, offset, stored - offset)
            offset = stored
            continue
        if isinstance(content, _HashedPart):
            hasher = content.result
        offset += length
    return location, hasher


async def push_blob(
    session: Session,
    repository: str,
    data: BlobSource,
    *,
    media_type: str = mediatypes.OCTET_STREAM,
    chunk_size: int | None = None,
    digest: Digest | None = None,
) -> Descriptor:
    """Upload ``data`` (bytes, a file path, or a slice of a file) unless the repository has
    it already.

    ``chunk_size`` None → one PUT; else PATCHes of that size. A file of unknown digest of at
    least :data:`HASH_WHILE_SENDING` bytes is hashed while it is sent. Returns its descriptor.
    """
    if isinstance(data, bytes):
        size = len(data)
        if digest is None:
            digest = Digest.of(data)
    else:
        if isinstance(data, FileBody):
            body: FileBody | None = data
            path, size = data.path, data.length
        else:
            body, path = None, Path(data)
            size = path.stat().st_size
        if digest is None and size >= HASH_WHILE_SENDING:
            whole = body or FileBody(path, 0, size)
            return await _push_hashing(session, repository, whole, media_type, chunk_size)
        if digest is None:
            offset = body.offset if body is not None else 0
            digest = await asyncio.to_thread(_hash_file, path, offset, size)
    descriptor = Descriptor(media_type, digest, size)
    source = session.mount_source(digest, repository)
    if source is not None:
        mounted = await _mount_or_start(session, repository, digest, source)
        if mounted is None:
            return descriptor
        location = mounted
    else:
        if size >= HEAD_FIRST and await blob_exists(session, repository, digest,
                                                    scopes=(push(repository),)):
            return descriptor
        location = await _start(session, repository)
    if chunk_size is None or size <= chunk_size:
        await _finish(session, repository, location, digest, _part(data, 0, size), size)
    else:
        location, _ = await _patch_chunks(session, repository, location, data, size, chunk_size)
        await _finish(session, repository, location, digest, b"", 0)
    return descriptor


async def _mount_or_start(session: Session, repository: str, digest: Digest, source: str
                          ) -> httpx.URL | None:
    """None if the registry mounted ``digest`` from ``source``; else the upload session it
    opened instead (a registry may refuse a mount and answer like a plain POST)."""
    url = session.url(f"/v2/{repository}/blobs/uploads/", {"mount": str(digest),
                                                            "from": source})
    async with session.open("POST", url, scopes=(push(repository), pull(source)),
                            ok=(201, 202), headers={"Content-Length": "0"}) as response:
        if response.status_code == 201:
            session.remember(digest, repository)
            return None
        return _location(response)


async def _push_hashing(
    session: Session,
    repository: str,
    body: FileBody,
    media_type: str,
    chunk_size: int | None,
) -> Descriptor:
    location = await _start(session, repository)
    hasher = hashlib.sha256()
    location, hasher = await _patch_chunks(
        session, repository, location, body, body.length, chunk_size or body.length, hasher
    )
    digest = Digest("sha256", hasher.hexdigest())
    await _finish(session, repository, location, digest, b"", 0)
    return Descriptor(media_type, digest, body.length)


class _Relay(httpx.AsyncByteStream):
    """The body of one response, forwarded as the body of another request."""

    def __init__(self, source: httpx.Response) -> None:
        self._source = source

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in raw_chunks(self._source):
            yield chunk


async def mount_blob(
    session: Session, repository: str, digest: Digest, from_repository: str
) -> bool:
    """Make ``digest`` from ``from_repository`` available in ``repository``.

    True if the registry mounted it (no data moved); False if it opened an upload session
    instead, and the blob was then copied through this client.
    """
    url = session.url(
        f"/v2/{repository}/blobs/uploads/", {"mount": str(digest), "from": from_repository}
    )
    scopes = (push(repository), pull(from_repository))
    async with session.open(
        "POST", url, scopes=scopes, ok=(201, 202), headers={"Content-Length": "0"}
    ) as response:
        if response.status_code == 201:
            return True
        location = _location(response)
    source = session.url(f"/v2/{from_repository}/blobs/{digest}")
    async with session.open(
        "GET", source, scopes=scopes, headers={"Accept-Encoding": "identity"}
    ) as blob:
        length = blob.headers.get("Content-Length", "")
        if not length.isdigit():
            raise RegistryHTTPError(
                f"GET {source.path}: no Content-Length to copy with", status=blob.status_code
            )
        await _finish(session, repository, location, digest, _Relay(blob), int(length))
    return False


class _Chunks(httpx.AsyncByteStream):
    def __init__(self, chunks: AsyncIterable[bytes]) -> None:
        self._chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._chunks:
            yield chunk


async def push_stream(
    session: Session,
    repository: str,
    descriptor: Descriptor,
    chunks: AsyncIterable[bytes],
) -> bool:
    """Upload a blob of known digest and size from an async stream (another registry's
    download). False if the repository had it already (the stream is then not read)."""
    if await blob_exists(session, repository, descriptor.digest, scopes=(push(repository),)):
        return False
    location = await _start(session, repository)
    await _finish(session, repository, location, descriptor.digest, _Chunks(chunks),
                  descriptor.size)
    return True
