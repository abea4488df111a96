"""``BlobSink``: hash a blob as it streams in, and keep it in memory or write it to a file.

On a small machine the client's costs for a large blob are the event loop's (socket,
HTTP parsing) plus SHA-256 plus the file write, and SHA-256 alone runs at under 1 GB/s.
So for large blobs (``offload=True``) chunks are batched (1 MiB) and each batch is hashed
and written in a worker thread while the loop receives the next one: hashlib and
``os.writev`` release the GIL, so the two overlap when a second core is free (and cost
about the same as inline hashing when none is). At most one batch is in flight, which
keeps the order and bounds memory; small batches keep freed buffers reusable (4 MiB ones
made the allocator return and re-fault memory). Small blobs are handled inline: a thread
hop costs more than hashing a few KiB.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence

from ..oci import Digest, Hasher

__all__ = ["OFFLOAD_THRESHOLD", "BlobSink", "write_all"]

OFFLOAD_THRESHOLD = 8 << 20
_INLINE_BATCH = 1 << 20
_OFFLOAD_BATCH = 1 << 20
_IOV_MAX = 512


def write_all(fd: int, chunks: Sequence[bytes]) -> None:
    """Write every byte of ``chunks`` with as few system calls as possible."""
    views = [memoryview(c) for c in chunks if c]
    index = 0
    while index < len(views):
        written = os.writev(fd, views[index : index + _IOV_MAX])
        while written and index < len(views):
            if written >= len(views[index]):
                written -= len(views[index])
                index += 1
            else:
                views[index] = views[index][written:]
                written = 0


class BlobSink:
    def __init__(
        self, algorithm: str, *, fd: int | None = None, keep: bool = False, offload: bool = False
    ) -> None:
        self.hasher = Hasher(algorithm)
        self.size = 0
        self.kept: list[bytes] = []
        self._fd = fd
        self._keep = keep
        self._offload = offload
        self._limit = _OFFLOAD_BATCH if offload else _INLINE_BATCH
        self._batch: list[bytes] = []
        self._batched = 0
        self._pending: asyncio.Future[None] | None = None

    async def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self._keep:
            self.kept.append(chunk)
        self._batch.append(chunk)
        self._batched += len(chunk)
        if self._batched >= self._limit:
            await self._flush()

    async def finish(self) -> Digest:
        """Wait for all bytes to be hashed (and written); the digest of everything."""
        await self._flush()
        await self._settle()
        return self.hasher.digest()

    async def abort(self) -> None:
        """Wait until no batch is in flight: the caller closes the file right after, and a
        worker still writing to a closed (or reused!) descriptor must not happen. Waits
        through repeated cancellation, then re-raises it."""
        pending, cancelled = self._pending, False
        if pending is None:
            return
        while not pending.done():
            try:
                await asyncio.wait([pending])
            except asyncio.CancelledError:
                cancelled = True
        self._pending = None
        if not pending.cancelled():
            pending.exception()  # retrieved: the caller is already raising something else
        if cancelled:
            raise asyncio.CancelledError

    def content(self) -> bytes:
        return b"".join(self.kept)

    async def _flush(self) -> None:
        batch, self._batch, self._batched = self._batch, [], 0
        if not batch:
            return
        if not self._offload:
            self._consume(batch)
            return
        await self._settle()
        self._pending = asyncio.get_running_loop().run_in_executor(None, self._consume, batch)

    async def _settle(self) -> None:
        if self._pending is not None:
            # Shielded: cancelling the caller must not mark the batch done while its
            # thread still runs (abort() relies on done() meaning finished).
            await asyncio.shield(self._pending)
            self._pending = None

    def _consume(self, batch: list[bytes]) -> None:
        for chunk in batch:
            self.hasher.update(chunk)
        if self._fd is not None:
            write_all(self._fd, batch)
