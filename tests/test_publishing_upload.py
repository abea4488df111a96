"""Chunked uploads that resume after a dropped connection, against an in-memory registry
(httpx.MockTransport): a dropped PATCH cannot be produced on demand with the real one.

The fake keeps distribution's upload semantics: POST opens a session, PATCH appends at the
session's offset (Content-Range must start there, else 416), GET on the session answers
``204`` with ``Range: 0-<last byte>``, PUT ``?digest=`` checks the digest of what is stored.
A PATCH can be told to store part of its body and then drop the connection.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from iotops_registry.errors import RegistryUnreachable
from iotops_registry.oci import Digest
from iotops_registry.remote import RegistryClient, upload
from iotops_registry.transport import NO_RETRY, FileBody


class FakeRegistry:
    def __init__(self) -> None:
        self.sessions: dict[str, bytearray] = {}
        self.blobs: dict[str, bytes] = {}
        self.drop_after: list[int] = []  # for the next PATCHes: store this many bytes, then drop
        self.requests: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path, method = request.url.path, request.method
        self.requests.append(f"{method} {path}")
        if method == "HEAD" and "/blobs/sha256:" in path:
            return httpx.Response(200 if path.rsplit("/", 1)[1] in self.blobs else 404)
        if method == "POST" and path.endswith("/blobs/uploads/"):
            sid = f"s{len(self.sessions)}"
            self.sessions[sid] = bytearray()
            return httpx.Response(202, headers={"Location": f"/v2/r/blobs/uploads/{sid}"})
        sid = path.rsplit("/", 1)[1]
        stored = self.sessions.get(sid)
        if stored is None:
            return httpx.Response(404)
        if method == "GET":
            end = f"0-{len(stored) - 1}" if stored else "0-0"
            return httpx.Response(204, headers={"Range": end, "Location": path})
        if method == "PATCH":
            start = int(request.headers["Content-Range"].split("-")[0])
            if start != len(stored):
                return httpx.Response(416)
            body = request.read()
            if self.drop_after:
                keep = self.drop_after.pop(0)
                stored.extend(body[:keep])
                raise httpx.ReadError("connection reset by peer")
            stored.extend(body)
            return httpx.Response(202, headers={"Location": path})
        if method == "PUT":
            stored.extend(request.read())
            digest = request.url.params["digest"]
            if f"sha256:{hashlib.sha256(stored).hexdigest()}" != digest:
                return httpx.Response(400, json={"errors": [{"code": "DIGEST_INVALID",
                                                             "message": "digest invalid"}]})
            self.blobs[digest] = bytes(stored)
            return httpx.Response(201)
        return httpx.Response(405)


def _client(fake: FakeRegistry) -> RegistryClient:
    return RegistryClient("127.0.0.1:5000", plain_http=True, retry=NO_RETRY,
                          transport=httpx.MockTransport(fake))


def in_thread(test: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    """Run an async test on a loop of its own thread (a test elsewhere in the session may
    leave a loop running on the main thread)."""
    import functools

    @functools.wraps(test)
    def run(*args: object, **kwargs: object) -> None:
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, test(*args, **kwargs)).result()  # type: ignore[arg-type]

    return run


@pytest.fixture
def blob(tmp_path: Path) -> Path:
    path = tmp_path / "blob.bin"
    path.write_bytes(os.urandom(3 * 1024 * 1024 + 123))
    return path


@in_thread
async def test_chunked_upload_resumes_from_the_registry_offset(blob: Path) -> None:
    fake = FakeRegistry()
    data = blob.read_bytes()
    async with _client(fake) as client:
        first = await client.push_blob("r", blob, chunk_size=1 << 20)
        assert fake.blobs[str(first.digest)] == data
        fake.blobs.clear()
        fake.requests.clear()
        fake.drop_after = [300_000]  # the first chunk breaks after 300 kB were stored
        again = await client.push_blob("r", blob, chunk_size=1 << 20, digest=first.digest)
    assert again.digest == first.digest and fake.blobs[str(first.digest)] == data
    gets = [r for r in fake.requests if r.startswith("GET")]
    assert len(gets) == 1, fake.requests  # asked where the session stood, once


@in_thread
async def test_hashed_while_sent_resumes_and_the_digest_verifies(
    blob: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(upload, "HASH_WHILE_SENDING", 1 << 20)
    fake = FakeRegistry()
    fake.drop_after = [1_500_000, 10]  # two drops: mid-chunk, then just after a chunk start
    data = blob.read_bytes()
    async with _client(fake) as client:
        pushed = await client.push_blob("r", FileBody(blob, 0, blob.stat().st_size),
                                        chunk_size=2 << 20)
    assert pushed.digest == Digest.of(data) and pushed.size == len(data)
    assert fake.blobs[str(pushed.digest)] == data
    # No HEAD first (the digest is not known before the bytes are read), one read of the file.
    assert not any(r.startswith("HEAD") for r in fake.requests)
    assert sum(r.startswith("GET") for r in fake.requests) == 2


@in_thread
async def test_a_resume_gives_up_after_a_bound(blob: Path) -> None:
    fake = FakeRegistry()
    fake.drop_after = [0] * 10
    async with _client(fake) as client:
        with pytest.raises(RegistryUnreachable):
            await client.push_blob("r", blob, chunk_size=1 << 20)
    assert sum(r.startswith("PATCH") for r in fake.requests) == upload._MAX_RESUMES + 1
