"""Retries (which requests, how long to wait) and upload recovery, with httpx.MockTransport."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable

import httpx
import pytest

from iotops_registry.errors import RegistryHTTPError, RegistryUnreachable
from iotops_registry.oci import Digest
from iotops_registry.remote import RegistryClient
from iotops_registry.transport import (
    NO_RETRY,
    FileBody,
    RetryPolicy,
    RetryTransport,
    retry_after,
)
from iotops_registry.transport.token_fetch import NO_TRANSPORT_RETRY

Handler = Callable[[httpx.Request], httpx.Response]


class Script:
    """Answers each request with the next step: a status, or an exception to raise."""

    def __init__(self, *steps: int | Exception, headers: dict[str, str] | None = None) -> None:
        self.steps = list(steps)
        self.headers = headers or {}
        self.calls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        step = self.steps[min(self.calls, len(self.steps) - 1)]
        self.calls += 1
        if isinstance(step, Exception):
            raise step
        return httpx.Response(step, headers=self.headers if step != 200 else {}, content=b"ok")


def retrying(
    script: Handler, policy: RetryPolicy | None = None
) -> tuple[httpx.AsyncClient, list[float]]:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    transport = RetryTransport(
        httpx.MockTransport(script), policy or RetryPolicy(attempts=4), sleep=sleep
    )
    return httpx.AsyncClient(transport=transport), slept


@pytest.mark.anyio
async def test_429_honours_retry_after_seconds() -> None:
    script = Script(429, 429, 200, headers={"Retry-After": "3"})
    http, slept = retrying(script)
    async with http:
        response = await http.get("https://r.test/v2/a/manifests/v1")
    assert response.status_code == 200 and script.calls == 3 and slept == [3.0, 3.0]


@pytest.mark.anyio
async def test_retry_after_http_date_and_cap() -> None:
    when = email.utils.formatdate(time.time() + 20, usegmt=True)
    assert 18 <= (retry_after(when, time.time()) or 0) <= 20
    assert retry_after("garbage", time.time()) is None
    script = Script(503, 200, headers={"Retry-After": "86400"})
    http, slept = retrying(script, RetryPolicy(max_retry_after=10))
    async with http:
        assert (await http.get("https://r.test/v2/")).status_code == 200
    assert slept == [10.0]


@pytest.mark.anyio
async def test_503_retried_with_growing_jittered_backoff_then_succeeds() -> None:
    script = Script(503, 502, 504, 200)
    http, slept = retrying(script, RetryPolicy(attempts=4, base_delay=1, max_delay=100))
    async with http:
        response = await http.get("https://r.test/v2/a/blobs/x")
    assert response.status_code == 200 and script.calls == 4
    assert 0.5 <= slept[0] < 1 and 1 <= slept[1] < 2 and 2 <= slept[2] < 4


@pytest.mark.anyio
async def test_gives_up_after_attempts_and_returns_the_last_answer() -> None:
    script = Script(503)
    http, slept = retrying(script, RetryPolicy(attempts=3))
    async with http:
        response = await http.get("https://r.test/v2/")
    assert response.status_code == 503 and script.calls == 3 and len(slept) == 2


@pytest.mark.anyio
async def test_connection_errors_retried_for_get_and_put() -> None:
    for method in ("GET", "HEAD", "PUT"):
        script = Script(httpx.ConnectError("refused"), httpx.ReadError("reset"), 200)
        http, _ = retrying(script)
        async with http:
            response = await http.request(
                method,
                "https://r.test/v2/a/manifests/v1",
                content=b"{}" if method == "PUT" else None,
            )
        assert response.status_code == 200 and script.calls == 3


@pytest.mark.anyio
async def test_patch_is_never_retried() -> None:
    script = Script(503, 200)
    http, _ = retrying(script)
    async with http:
        response = await http.patch("https://r.test/v2/a/blobs/uploads/u", content=b"chunk")
    assert response.status_code == 503 and script.calls == 1
    script = Script(httpx.WriteError("broken pipe"), 200)
    http, _ = retrying(script)
    async with http:
        with pytest.raises(httpx.WriteError):
            await http.patch("https://r.test/v2/a/blobs/uploads/u", content=b"chunk")
    assert script.calls == 1


@pytest.mark.anyio
async def test_post_retried_only_when_no_response_arrived() -> None:
    script = Script(503, 202)
    http, _ = retrying(script)
    async with http:
        response = await http.post("https://r.test/v2/a/blobs/uploads/")
    assert response.status_code == 503 and script.calls == 1
    script = Script(httpx.ConnectError("refused"), 202)
    http, _ = retrying(script)
    async with http:
        response = await http.post("https://r.test/v2/a/blobs/uploads/")
    assert response.status_code == 202 and script.calls == 2


@pytest.mark.anyio
async def test_unreplayable_bodies_and_opted_out_requests_are_sent_once() -> None:
    async def body():  # type: ignore[no-untyped-def]
        yield b"streamed"

    script = Script(503, 201)
    http, _ = retrying(script)
    async with http:
        response = await http.put("https://r.test/v2/a/blobs/uploads/u", content=body())
    assert response.status_code == 503 and script.calls == 1
    script = Script(503, 200)
    http, _ = retrying(script)
    async with http:
        request = http.build_request("GET", "https://r.test/token")
        request.extensions[NO_TRANSPORT_RETRY] = True
        response = await http.send(request)
    assert response.status_code == 503 and script.calls == 1


@pytest.mark.anyio
async def test_file_bodies_are_replayed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "blob"
    path.write_bytes(b"0123456789")
    bodies: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(request.read())
        return httpx.Response(503 if len(bodies) == 1 else 201)

    http, _ = retrying(handler)
    async with http:
        request = httpx.Request(
            "PUT",
            "https://r.test/v2/a/blobs/uploads/u",
            headers={"Content-Length": "5"},
            stream=FileBody(path, 2, 5, chunk_size=2),
        )
        response = await http.send(request)
    assert response.status_code == 201 and bodies == [b"23456", b"23456"]


@pytest.mark.anyio
async def test_client_retries_a_flaky_blob_download() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls < 3:
            return httpx.Response(503, headers={"Retry-After": "0"})
        return httpx.Response(200, content=b"data")

    async with RegistryClient(
        "r.test", transport=httpx.MockTransport(handler), retry=RetryPolicy(base_delay=0)
    ) as registry:
        assert await registry.get_blob("a", Digest.of(b"data")) == b"data"
    assert calls == 3
    async with RegistryClient(
        "r.test", transport=httpx.MockTransport(handler), retry=NO_RETRY
    ) as registry:
        calls = 0
        with pytest.raises(RegistryHTTPError) as info:
            await registry.get_blob("a", Digest.of(b"data"))
    assert info.value.status == 503 and calls == 1


class UploadServer:
    """Chunked uploads, where the connection breaks after the server stored a chunk."""

    def __init__(self, fail_patch: int | None) -> None:
        self.stored = b""
        self.fail_patch = fail_patch
        self.patches: list[str] = []
        self.final: bytes | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path, method = request.url.path, request.method
        if method == "HEAD":
            return httpx.Response(404)
        if method == "POST":
            return httpx.Response(202, headers={"Location": "/v2/a/blobs/uploads/u1?_state=s0"})
        if method == "PATCH":
            self.patches.append(request.headers["Content-Range"])
            start = int(request.headers["Content-Range"].split("-")[0])
            assert start == len(self.stored), "a chunk was re-sent blindly"
            self.stored += request.read()
            if len(self.patches) == self.fail_patch:
                raise httpx.ReadError("connection reset after the server stored the chunk")
            return httpx.Response(
                202, headers={"Location": f"/v2/a/blobs/uploads/u1?_state=s{len(self.patches)}"}
            )
        if method == "GET" and path.endswith("/u1"):
            return httpx.Response(
                204,
                headers={
                    "Range": f"0-{len(self.stored) - 1}",
                    "Location": "/v2/a/blobs/uploads/u1?_state=resumed",
                },
            )
        if method == "PUT":
            assert request.url.params["digest"] == str(Digest.of(self.stored))
            self.final = self.stored
            digest = str(Digest.of(self.stored))
            return httpx.Response(201, headers={"Docker-Content-Digest": digest})
        return httpx.Response(400)


@pytest.mark.anyio
@pytest.mark.parametrize("fail_patch", [None, 2])
async def test_chunked_upload_resumes_from_the_servers_offset(fail_patch: int | None) -> None:
    data = bytes(range(256)) * 40  # 10240 bytes, 3 chunks of 4096
    server = UploadServer(fail_patch)
    async with RegistryClient("r.test", transport=httpx.MockTransport(server)) as registry:
        descriptor = await registry.push_blob("a", data, chunk_size=4096)
    assert server.final == data and descriptor.size == len(data)
    assert server.patches == ["0-4095", "4096-8191", "8192-10239"]


@pytest.mark.anyio
async def test_mount_not_honoured_falls_back_to_copy() -> None:
    data = b"layer" * 1000
    digest = Digest.of(data)
    received: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            assert request.url.params["mount"] == str(digest)
            assert request.url.params["from"] == "src"
            return httpx.Response(202, headers={"Location": "/v2/dst/blobs/uploads/x"})
        if request.method == "GET" and request.url.path == f"/v2/src/blobs/{digest}":
            return httpx.Response(200, content=data)
        if request.method == "PUT":
            received.append(request.read())
            assert request.headers["Content-Length"] == str(len(data))
            return httpx.Response(201)
        return httpx.Response(400)

    async with RegistryClient("r.test", transport=httpx.MockTransport(handler)) as registry:
        assert await registry.mount_blob("dst", digest, "src") is False
    assert received == [data]


@pytest.mark.anyio
async def test_transport_errors_become_registry_unreachable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("slow")

    async with RegistryClient(
        "r.test", transport=httpx.MockTransport(handler), retry=NO_RETRY
    ) as registry:
        with pytest.raises(RegistryUnreachable) as info:
            await registry.get_manifest("a", "v1")
    assert info.value.kind == "timeout" and "r.test/v2/a/manifests/v1" in str(info.value)


@pytest.mark.anyio
async def test_well_known_empty_blobs_need_no_request(tmp_path) -> None:  # type: ignore[no-untyped-def]
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"unexpected request {request.url}")

    async with RegistryClient("r.test", transport=httpx.MockTransport(handler)) as registry:
        assert await registry.get_blob("a", Digest.of(b"{}")) == b"{}"
        assert await registry.download_blob("a", Digest.of(b""), tmp_path / "cfg", size=0) == 0
    assert (tmp_path / "cfg").read_bytes() == b""
