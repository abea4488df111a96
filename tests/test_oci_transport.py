"""Transport odds and ends: redaction in logs, error mapping, the network backend's failures."""

from __future__ import annotations

import logging
import socket

import httpx
import pytest

from iotops_registry.errors import (
    ConfigurationError,
    InvalidReference,
    RegistryAuthError,
    RegistryHTTPError,
    RegistryNotFound,
    RegistryUnreachable,
)
from iotops_registry.remote import RegistryClient
from iotops_registry.transport import (
    NO_RETRY,
    HTTP11Transport,
    LoggingTransport,
    raise_for_status,
    redact_headers,
    redact_url,
    ssl_context_for,
)


def test_redact_url_keeps_only_harmless_query_values() -> None:
    url = (
        "https://user:pw@blob.core.windows.net/c/b?sv=2024&se=2026&sig=S3CRET&sp=r"
        "&n=2&last=x&digest=sha256:abc"
    )
    text = redact_url(url)
    assert "S3CRET" not in text and "pw" not in text and "user" not in text
    assert "sig=REDACTED" in text and "n=2" in text and "digest=sha256:abc" in text


def test_redact_headers() -> None:
    headers = httpx.Headers(
        {
            "Authorization": "Bearer eyJtoken",
            "Cookie": "session=1",
            "Location": "/v2/a/blobs/uploads/u?_state=STATE",
            "Link": '</v2/_catalog?last=b&n=2>; rel="next"',
            "WWW-Authenticate": 'Bearer realm="r"',
        }
    )
    out = redact_headers(headers)
    assert out["authorization"] == "Bearer REDACTED" and out["cookie"] == "REDACTED"
    assert out["location"] == "/v2/a/blobs/uploads/u?_state=REDACTED"
    assert out["link"] == '</v2/_catalog?last=b&n=2>; rel="next"'
    assert out["www-authenticate"] == 'Bearer realm="r"'


@pytest.mark.anyio
async def test_debug_log_has_no_secrets(caplog: pytest.LogCaptureFixture) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(307, headers={"Location": "https://blob.test/x?sig=LOCATIONSECRET"})

    transport = LoggingTransport(httpx.MockTransport(handler))
    with caplog.at_level(logging.DEBUG, logger="iotops_registry.transport"):
        async with httpx.AsyncClient(transport=transport) as http:
            await http.get(
                "https://r.test/v2/a/blobs/uploads/u?_state=QUERYSECRET",
                headers={"Authorization": "Bearer TOKENSECRET"},
            )
    text = caplog.text
    assert "r.test/v2/a/blobs/uploads/u" in text
    for secret in ("QUERYSECRET", "TOKENSECRET", "LOCATIONSECRET"):
        assert secret not in text


@pytest.mark.anyio
async def test_httpx_request_log_is_redacted_too(caplog: pytest.LogCaptureFixture) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"x")

    with caplog.at_level(logging.INFO, logger="httpx"):
        async with RegistryClient("r.test", transport=httpx.MockTransport(handler)) as registry:
            await registry._http.get("https://r.test/v2/?sig=SIGNATURE")
    assert "r.test/v2/" in caplog.text and "SIGNATURE" not in caplog.text


@pytest.mark.anyio
async def test_oci_error_bodies_become_typed_errors() -> None:
    body = {
        "errors": [
            {"code": "MANIFEST_UNKNOWN", "message": "manifest unknown", "detail": {"Tag": "v9"}}
        ]
    }
    cases = [
        (404, RegistryNotFound, body),
        (401, RegistryAuthError, {"errors": [{"code": "UNAUTHORIZED"}]}),
        (403, RegistryAuthError, {"errors": [{"code": "DENIED", "message": "no"}]}),
        (500, RegistryHTTPError, {"not": "oci"}),
    ]
    for status, error, payload in cases:
        request = httpx.Request("GET", "https://r.test/v2/a/manifests/v9?sig=X")
        response = httpx.Response(status, json=payload, request=request)
        with pytest.raises(error) as info:
            await raise_for_status(response)
        assert info.value.status == status and "sig" not in str(info.value)
    request = httpx.Request("GET", "https://r.test/v2/a/manifests/v9")
    with pytest.raises(RegistryNotFound) as found:
        await raise_for_status(httpx.Response(404, json=body, request=request))
    assert found.value.codes == ("MANIFEST_UNKNOWN",)
    assert found.value.errors[0].detail == {"Tag": "v9"}
    assert "MANIFEST_UNKNOWN: manifest unknown" in str(found.value)


def test_plain_http_only_for_loopback_and_names_are_checked() -> None:
    with pytest.raises(ConfigurationError):
        RegistryClient("myacr.azurecr.io", plain_http=True)
    for bad in ("", "host/path", "a b"):
        with pytest.raises(InvalidReference):
            RegistryClient(bad)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.anyio
async def test_unreachable_kinds_from_the_real_network_backend() -> None:
    async with RegistryClient("registry.invalid", retry=NO_RETRY) as registry:
        with pytest.raises(RegistryUnreachable) as dns:
            await registry.get_manifest("a", "v1")
    assert dns.value.kind == "dns"
    async with RegistryClient(f"127.0.0.1:{_free_port()}", plain_http=True, retry=NO_RETRY) as r:
        with pytest.raises(RegistryUnreachable) as refused:
            await r.get_manifest("a", "v1")
    assert refused.value.kind == "connect"


@pytest.mark.anyio
async def test_tls_failure_is_reported_as_tls() -> None:
    # a plain TCP server that answers garbage where a TLS ServerHello should be
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    import threading

    def serve() -> None:
        conn, _ = server.accept()
        conn.recv(1024)
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        conn.close()

    threading.Thread(target=serve, daemon=True).start()
    transport = HTTP11Transport(ssl_context=ssl_context_for(True))
    async with RegistryClient(f"127.0.0.1:{port}", transport=transport, retry=NO_RETRY) as registry:
        with pytest.raises(RegistryUnreachable) as info:
            await registry.get_manifest("a", "v1")
    server.close()
    assert info.value.kind == "tls"
