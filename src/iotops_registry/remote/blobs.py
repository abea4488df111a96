"""Blob reads: existence, into memory, and to a file — always verified against the digest.

A download streams raw (``Accept-Encoding: identity``: the digest is of the stored
bytes) through a :class:`~.sink.BlobSink`; when the caller passes the descriptor's size
and it is large, the GET takes the transport's bulk path (no h11 copies of the body).
``download_blob`` writes to a temporary file next to the target and renames it only after
the digest matched: a reader of ``path`` sees the old file or the whole verified new one,
and after any failure nothing is left.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from ..errors import DigestMismatch
from ..oci import Digest
from ..transport import BULK_EXTENSION, pull, raw_chunks
from .session import Session
from .sink import BlobSink, write_all

__all__ = ["KNOWN_BLOBS", "blob_exists", "download_blob", "get_blob", "open_blob"]

_RAW = {"Accept-Encoding": "identity"}
BULK_THRESHOLD = 8 << 20
"""Blobs known (from their descriptor) to be at least this large take the bulk path."""

# Content known from the digest alone: the OCI empty JSON ``{}`` (config of ``oras push
# --artifact-type`` artifacts) and the empty blob (config of ``--config /dev/null:...``,
# as IoT Operations graphs and connector metadata are pushed). Served without a request.
KNOWN_BLOBS: dict[Digest, bytes] = {Digest.of(b"{}"): b"{}", Digest.of(b""): b""}


def _blob_path(repository: str, digest: Digest) -> str:
    return f"/v2/{repository}/blobs/{digest}"


def _length(response: httpx.Response) -> int | None:
    value = response.headers.get("Content-Length")
    return int(value) if value and value.isdigit() else None


async def blob_exists(
    session: Session, repository: str, digest: Digest, *, scopes: Sequence[str] = ()
) -> bool:
    """HEAD the blob. ``scopes`` defaults to pull; an upload passes its push scope so one
    token serves the whole upload."""
    url = session.url(_blob_path(repository, digest))
    async with session.open(
        "HEAD", url, scopes=scopes or (pull(repository),), ok=(200, 404)
    ) as response:
        return response.status_code == 200


async def _stream_into(
    session: Session,
    repository: str,
    digest: Digest,
    *,
    size: int | None,
    fd: int | None = None,
    keep: bool = False,
) -> BlobSink:
    url = session.url(_blob_path(repository, digest))
    bulk = {BULK_EXTENSION: True} if (size or 0) >= BULK_THRESHOLD else None
    async with session.open(
        "GET", url, scopes=(pull(repository),), headers=_RAW, extensions=bulk
    ) as response:
        length = _length(response)
        if size is not None and length is not None and length != size:
            raise DigestMismatch(
                expected=f"{size} bytes", actual=f"{length} bytes", what=f"blob {digest}"
            )
        sink = BlobSink(digest.algorithm, fd=fd, keep=keep)
        async for chunk in raw_chunks(response):
            sink.write(chunk)
            if size is not None and sink.size > size:
                raise DigestMismatch(expected=f"{size} bytes", actual="more", what=f"blob {digest}")
        actual = sink.finish()
    if actual != digest:
        raise DigestMismatch(expected=str(digest), actual=str(actual), what=f"blob in {repository}")
    return sink


async def get_blob(
    session: Session, repository: str, digest: Digest, *, size: int | None = None
) -> bytes:
    """The blob's bytes, verified. ``size`` (from a descriptor) caps what is read.

    A blob in :data:`KNOWN_BLOBS` is answered locally, without asking the registry (its
    content is fixed by its digest; whether the repository has it is not checked)."""
    known = KNOWN_BLOBS.get(digest)
    if known is not None and size in (None, len(known)):
        return known
    sink = await _stream_into(session, repository, digest, size=size, keep=True)
    return sink.content()


async def download_blob(
    session: Session,
    repository: str,
    digest: Digest,
    path: str | os.PathLike[str],
    *,
    size: int | None = None,
    fsync: bool = False,
) -> int:
    """Stream the blob into ``path`` (atomically, verified); returns its size."""
    target = Path(path)
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(6)}.part")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    known = KNOWN_BLOBS.get(digest)
    try:
        if known is not None and size in (None, len(known)):
            write_all(fd, [known])
            written = len(known)
        else:
            sink = await _stream_into(session, repository, digest, size=size, fd=fd)
            written = sink.size
        if fsync:
            await asyncio.to_thread(os.fsync, fd)
    except BaseException:
        os.close(fd)
        temporary.unlink(missing_ok=True)
        raise
    os.close(fd)
    try:
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return written


@asynccontextmanager
async def open_blob(
    session: Session, repository: str, digest: Digest, size: int
) -> AsyncIterator[AsyncIterator[bytes]]:
    """The blob's raw bytes as they arrive, for relaying to another registry (which checks
    the digest on its side); more or fewer bytes than ``size`` raise ``DigestMismatch``."""
    url = session.url(_blob_path(repository, digest))
    bulk = {BULK_EXTENSION: True} if size >= BULK_THRESHOLD else None
    async with session.open(
        "GET", url, scopes=(pull(repository),), headers=_RAW, extensions=bulk
    ) as response:
        length = _length(response)
        if length is not None and length != size:
            raise DigestMismatch(
                expected=f"{size} bytes", actual=f"{length} bytes", what=f"blob {digest}"
            )

        async def chunks() -> AsyncIterator[bytes]:
            seen = 0
            async for chunk in raw_chunks(response):
                seen += len(chunk)
                if seen > size:
                    raise DigestMismatch(expected=f"{size} bytes", actual="more",
                                         what=f"blob {digest}")
                yield chunk
            if seen != size:
                raise DigestMismatch(expected=f"{size} bytes", actual=f"{seen} bytes",
                                     what=f"blob {digest}")

        yield chunks()
