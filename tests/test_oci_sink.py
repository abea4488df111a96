"""BlobSink and the bulk-download path: what reaches the caller is what was announced."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from iotops_registry.errors import DigestMismatch, RegistryUnreachable
from iotops_registry.oci import Digest
from iotops_registry.remote import BlobSink, RegistryClient
from iotops_registry.transport import BULK_EXTENSION, NO_RETRY, HTTP11Transport, ssl_context_for


@pytest.mark.parametrize("keep", [False, True])
def test_sink_hashes_writes_and_keeps(tmp_path: Path, keep: bool) -> None:
    chunks = [os.urandom(300_000) for _ in range(20)]
    path = tmp_path / "out"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        sink = BlobSink("sha256", fd=fd, keep=keep)
        for chunk in chunks:
            sink.write(chunk)
        digest = sink.finish()
    finally:
        os.close(fd)
    data = b"".join(chunks)
    assert digest == Digest.of(data) and sink.size == len(data)
    assert path.read_bytes() == data
    assert sink.content() == (data if keep else b"")


Answer = Callable[[bytes], bytes]


async def serve_once(answer: Answer) -> tuple[asyncio.Server, int, list[bytes]]:
    """A one-shot raw HTTP server: reads the request head, writes ``answer(head)``, closes."""
    heads: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        heads.append(head)
        writer.write(answer(head))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], heads


async def bulk_get(port: int) -> tuple[httpx.Response, bytes]:
    transport = HTTP11Transport(ssl_context=ssl_context_for(True))
    async with httpx.AsyncClient(transport=transport) as http:
        request = http.build_request(
            "GET", f"http://127.0.0.1:{port}/v2/a/blobs/x", extensions={BULK_EXTENSION: True}
        )
        response = await http.send(request, stream=True)
        try:
            body = b"".join([chunk async for chunk in response.aiter_raw()])
        finally:
            await response.aclose()
    return response, body


@pytest.mark.anyio
async def test_bulk_reads_exactly_content_length_and_ignores_what_follows() -> None:
    payload = os.urandom(700_000)
    server, port, heads = await serve_once(
        lambda _: (
            b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(payload)
            + payload
            + b"HTTP/1.1 200 OK\r\n\r\nsmuggled"
        )
    )
    async with server:
        response, body = await bulk_get(port)
    assert response.status_code == 200 and body == payload
    assert heads[0].startswith(b"GET /v2/a/blobs/x HTTP/1.1\r\n") and b"host: 127.0.0.1" in (
        heads[0].lower()
    )


@pytest.mark.anyio
async def test_bulk_chunked_body_is_framed_by_h11() -> None:
    server, port, _ = await serve_once(
        lambda _: (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
        )
    )
    async with server:
        _, body = await bulk_get(port)
    assert body == b"hello world"


@pytest.mark.anyio
async def test_bulk_truncated_body_is_an_error() -> None:
    server, port, _ = await serve_once(
        lambda _: b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"x" * 10
    )
    async with server:
        with pytest.raises(httpx.RemoteProtocolError, match="990 bytes before the end"):
            await bulk_get(port)


@pytest.mark.anyio
async def test_truncated_bulk_download_leaves_no_file(tmp_path: Path) -> None:
    data = os.urandom(9 << 20)
    digest = Digest.of(data)
    server, port, _ = await serve_once(
        lambda _: b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(data) + data[:5000]
    )
    client = RegistryClient(f"127.0.0.1:{port}", plain_http=True, retry=NO_RETRY)
    async with server, client as c:
        with pytest.raises(RegistryUnreachable) as info:
            await c.download_blob("a", digest, tmp_path / "blob", size=len(data))
    assert info.value.kind == "protocol"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.anyio
async def test_bulk_download_of_wrong_content_is_a_mismatch(tmp_path: Path) -> None:
    data = os.urandom(9 << 20)
    server, port, _ = await serve_once(
        lambda _: b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(data) + data
    )
    client = RegistryClient(f"127.0.0.1:{port}", plain_http=True, retry=NO_RETRY)
    async with server, client as c:
        with pytest.raises(DigestMismatch):
            await c.download_blob("a", Digest.of(b"other"), tmp_path / "b", size=len(data))
    assert list(tmp_path.iterdir()) == []
