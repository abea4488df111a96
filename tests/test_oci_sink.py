"""BlobSink: hashing and writing off the event loop, and never past the caller's back."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path

import pytest

from iotops_registry.oci import Digest
from iotops_registry.remote import BlobSink

MIB = 1 << 20


@pytest.mark.anyio
@pytest.mark.parametrize("offload", [False, True])
async def test_sink_hashes_writes_and_keeps(tmp_path: Path, offload: bool) -> None:
    chunks = [os.urandom(300_000) for _ in range(20)]
    path = tmp_path / "out"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        sink = BlobSink("sha256", fd=fd, keep=True, offload=offload)
        for chunk in chunks:
            await sink.write(chunk)
        digest = await sink.finish()
    finally:
        os.close(fd)
    data = b"".join(chunks)
    assert digest == Digest.of(data) and sink.size == len(data)
    assert path.read_bytes() == data and sink.content() == data


class SlowSink(BlobSink):
    finished = threading.Event()

    def _consume(self, batch: list[bytes]) -> None:
        time.sleep(0.2)
        super()._consume(batch)
        self.finished.set()


@pytest.mark.anyio
async def test_abort_waits_for_the_batch_in_flight(tmp_path: Path) -> None:
    fd = os.open(tmp_path / "out", os.O_WRONLY | os.O_CREAT)
    sink = SlowSink("sha256", fd=fd, offload=True)

    async def feed() -> None:
        for _ in range(4):
            await sink.write(b"x" * MIB)  # the second write waits for the first batch

    task = asyncio.ensure_future(feed())
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not sink.finished.is_set()  # cancelled, but the thread is still writing
    await sink.abort()
    assert sink.finished.is_set()  # only now may the caller close the descriptor
    os.close(fd)
