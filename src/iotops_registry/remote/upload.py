"""Blob writes: monolithic and chunked uploads, and cross-repository mounts.

- **monolithic**: ``POST /v2/<repo>/blobs/uploads/`` opens a session (distribution 2.8
  ignores a body on the POST, so a single-request upload is not portable), then
  ``PUT <location>?digest=`` with the whole blob;
- **chunked**: after the POST, ``PATCH <location>`` per chunk with ``Content-Range:
  <start>-<end>``, each answer naming the next location, then an empty ``PUT ?digest=``.
  A chunk whose connection broke is never re-sent blindly (the registry may have stored
  part of it): the session's ``Range`` is asked for and the upload resumes from there;
- a blob the repository already has is not uploaded again (``HEAD`` first).

Files are read in chunks by a replayable body, never loaded whole; bytes are sent as is.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from ..errors import RegistryHTTPError, RegistryUnreachable
from ..oci import Descriptor, Digest, Hasher, mediatypes
from ..transport import FileBody, pull, push, raw_chunks
from .blobs import blob_exists
from .session import Session

__all__ = ["mount_blob", "push_blob"]

_OCTET = {"Content-Type": mediatypes.OCTET_STREAM}
_MAX_RESUMES = 3
BlobSource = bytes | str | os.PathLike[str]


def _hash_file(path: Path, chunk: int = 1 << 20) -> Digest:
    hasher = Hasher()
    with path.open("rb", buffering=0) as handle:
        while data := handle.read(chunk):
            hasher.update(data)
    return hasher.digest()


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
) -> httpx.URL:
    offset, resumes = 0, 0
    while offset < size:
        length = min(chunk_size, size - offset)
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
                content=_part(data, offset, length),
            ) as response:
                location = _location(response)
        except RegistryUnreachable:
            resumes += 1
            if resumes > _MAX_RESUMES:
                raise
            offset, location = await _resume_offset(session, repository, location)
            continue
        offset += length
    return location


async def push_blob(
    session: Session,
    repository: str,
    data: BlobSource,
    *,
    media_type: str = mediatypes.OCTET_STREAM,
    chunk_size: int | None = None,
    digest: Digest | None = None,
) -> Descriptor:
    """Upload ``data`` (bytes, or a file path) unless the repository has it already.

    ``chunk_size`` None → one PUT; else PATCHes of that size. Returns its descriptor.
    """
    if isinstance(data, bytes):
        size = len(data)
        if digest is None:
            digest = Digest.of(data)
    else:
        path = Path(data)
        size = path.stat().st_size
        if digest is None:
            digest = await asyncio.to_thread(_hash_file, path)
    descriptor = Descriptor(media_type, digest, size)
    if await blob_exists(session, repository, digest, scopes=(push(repository),)):
        return descriptor
    location = await _start(session, repository)
    if chunk_size is None or size <= chunk_size:
        await _finish(session, repository, location, digest, _part(data, 0, size), size)
    else:
        location = await _patch_chunks(session, repository, location, data, size, chunk_size)
        await _finish(session, repository, location, digest, b"", 0)
    return descriptor


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
