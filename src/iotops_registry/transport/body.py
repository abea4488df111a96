"""Bodies: bounded reads of small responses, and file uploads that can be sent twice.

Token and error bodies come from servers we do not control, so they are read with a cap.
Upload bodies from files are re-readable streams: a retry or a 401 → token → resend can
send them again, which an iterator cannot.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx

from .. import netutil

__all__ = ["FileBody", "raw_chunks", "read_bounded"]

TOKEN_BODY_LIMIT = 64 * 1024
ERROR_BODY_LIMIT = 64 * 1024


async def read_bounded(response: httpx.Response, limit: int) -> tuple[bytes, bool]:
    """Up to ``limit`` bytes of the body, and whether there was more (then left unread)."""
    return await netutil.read_bounded(response.aiter_bytes(), limit)


async def raw_chunks(response: httpx.Response) -> AsyncIterator[bytes]:
    """The body as sent (no content decoding), as it arrives. A response that some
    transport already read (``httpx.MockTransport`` does) yields its content once."""
    try:
        content = response.content
    except httpx.ResponseNotRead:
        async for chunk in response.aiter_raw():
            yield chunk
    else:
        if content:
            yield content


class FileBody(httpx.AsyncByteStream):
    """``length`` bytes of a file from ``offset``, read in ``chunk_size`` pieces on each
    iteration (so the request is replayable). Reads are plain blocking reads of at most a
    chunk: page-cache speed, shorter than one network round trip. ``on_chunk`` (progress
    displays) is called with the size of each chunk read."""

    def __init__(
        self,
        path: str | Path,
        offset: int,
        length: int,
        chunk_size: int = 1 << 20,
        on_chunk: Callable[[int], None] | None = None,
    ) -> None:
        self.path = Path(path)
        self.offset = offset
        self.length = length
        self.chunk_size = chunk_size
        self.on_chunk = on_chunk

    def part(self, offset: int, length: int) -> FileBody:
        """``length`` bytes from ``offset`` within this body, same file and callback."""
        return FileBody(self.path, self.offset + offset, length, self.chunk_size, self.on_chunk)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        try:
            position, remaining = self.offset, self.length
            while remaining > 0:
                chunk = os.pread(fd, min(self.chunk_size, remaining), position)
                if not chunk:
                    raise OSError(f"{self.path.name} is shorter than expected")
                position += len(chunk)
                remaining -= len(chunk)
                if self.on_chunk is not None:
                    self.on_chunk(len(chunk))
                yield chunk
        finally:
            os.close(fd)
