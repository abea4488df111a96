"""Input limits: every route caps its body and names its content type, JSON nesting never
reaches a RecursionError, only RS256 tokens are accepted, hosts and ports are ASCII, and the
values kept beside an endpoint (realm hosts, repositories) are validated with a target."""

from __future__ import annotations

import socket
import ssl
import stat
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.conftest import API_VERSION, Scope
from tests.support.inprocess import InProcess, InProcessScope

V = {"api-version": API_VERSION}
ANON = {"method": "Anonymous", "anonymousSettings": {}}
JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def env(inproc: InProcess) -> Iterator[tuple[httpx.Client, InProcessScope, str]]:
    with inproc.client() as client:
        scope = InProcessScope(client, inproc.subscription)
        path = scope.endpoint_path("ep-limits")
        made = client.put(
            path, params=V, json={"properties": {"host": "127.0.0.1:9", "authentication": ANON}}
        )
        assert made.status_code == 201, made.text
        yield client, scope, path


def _error(resp: httpx.Response, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    error: dict[str, Any] = resp.json()["error"]
    return error


def test_a_token_naming_another_algorithm_is_401_not_500(
    env: tuple[httpx.Client, InProcessScope, str], inproc: InProcess
) -> None:
    client, _, path = env
    real = jwt.decode(inproc.token, options={"verify_signature": False})
    kid = jwt.get_unverified_header(inproc.token).get("kid")
    forged = jwt.encode(
        {**real, "exp": int(time.time()) + 600},
        ec.generate_private_key(ec.SECP256R1()),
        algorithm="ES256",
        headers={"kid": kid},
    )
    for token in (forged, forged.replace("ES256", "HS256")):
        error = _error(
            client.get(path, params=V, headers={"Authorization": f"Bearer {token}"}), 401
        )
        assert error["code"] == "InvalidAuthenticationToken"


@pytest.mark.parametrize(
    "host", ["127.0.0.1:\u0661\u0669\u0665\u0661\u0660", "regístry.example.com", "127.0.0.1:²"]
)
def test_hosts_and_ports_are_ascii(
    env: tuple[httpx.Client, InProcessScope, str], host: str
) -> None:
    client, scope, _ = env
    resp = client.put(
        scope.endpoint_path("ep-ascii"),
        params=V,
        json={"properties": {"host": host, "authentication": ANON}},
    )
    error = _error(resp, 400)
    assert error["code"] == "InvalidHost" and error["target"] == "properties.host"


@pytest.mark.parametrize(
    "hosts",
    [
        ["a b"],
        ["x" * 300],
        ["evil.example.com/path"],
        ["user@evil.example.com"],
        ["h:\u0661"],
        [""],
    ],
)
def test_allowed_realm_hosts_are_host_names(
    env: tuple[httpx.Client, InProcessScope, str], hosts: list[str]
) -> None:
    client, _, path = env
    resp = client.put(
        f"{path}/connectionSettings", params=V, json={"properties": {"allowedRealmHosts": hosts}}
    )
    error = _error(resp, 400)
    assert error["target"] == "properties.allowedRealmHosts"


def test_allowed_realm_hosts_are_capped_and_good_ones_kept(
    env: tuple[httpx.Client, InProcessScope, str],
) -> None:
    client, _, path = env
    many = [f"h{i}.example.com" for i in range(9)]
    _error(
        client.put(
            f"{path}/connectionSettings", params=V, json={"properties": {"allowedRealmHosts": many}}
        ),
        400,
    )
    good = ["login.example.com", "127.0.0.1:8443", "[::1]:9"]
    resp = client.put(
        f"{path}/connectionSettings", params=V, json={"properties": {"allowedRealmHosts": good}}
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["properties"]["allowedRealmHosts"] == good


def test_deep_nesting_is_400(env: tuple[httpx.Client, InProcessScope, str]) -> None:
    client, _, path = env
    for method, url in (("PUT", f"{path}/connectionSettings"), ("PUT", path)):
        resp = client.request(method, url, params=V, content=b"[" * 100_000, headers=JSON)
        assert _error(resp, 400)["code"] == "InvalidRequestContent"


# --- the actions on a real server (the connection tester runs only there) -----------------


@pytest.mark.parametrize("repository", ["../../etc", "UPPER/case", "a//b", "x" * 300])
def test_connection_test_validates_the_repository(
    http: httpx.Client, scope: Scope, repository: str
) -> None:
    path = scope.endpoint_path("ep-" + uuid.uuid4().hex[:6])
    made = http.put(
        path, params=V, json={"properties": {"host": "127.0.0.1:9", "authentication": ANON}}
    )
    assert made.status_code == 201, made.text
    error = _error(http.post(f"{path}/test", params=V, json={"repository": repository}), 400)
    assert error["target"] == "repository"


def test_actions_cap_bodies_and_name_their_content_type(http: httpx.Client, scope: Scope) -> None:
    path = scope.endpoint_path("ep-" + uuid.uuid4().hex[:6])
    made = http.put(
        path, params=V, json={"properties": {"host": "127.0.0.1:9", "authentication": ANON}}
    )
    assert made.status_code == 201, made.text
    big = b'{"repository": "' + b"a" * (2 * 1024 * 1024) + b'"}'
    for method, url in (("POST", f"{path}/test"), ("PUT", f"{path}/connectionSettings")):
        assert _error(http.request(method, url, params=V, content=big, headers=JSON), 413)
        resp = http.request(
            method, url, params=V, content=b"{}", headers={"content-type": "text/plain"}
        )
        assert _error(resp, 415)["code"] == "UnsupportedMediaType"
        nested = http.request(method, url, params=V, content=b"[" * 100_000, headers=JSON)
        assert _error(nested, 400)["code"] == "InvalidRequestContent"


# --- the data directory at start ------------------------------------------------------


def test_start_tightens_the_data_directory_and_replaces_a_stale_endpoints_file(
    tmp_path: Path,
) -> None:
    """A server killed outright leaves ``endpoints.json``; a directory made by hand (or
    restored) has open modes. The next start fixes both and says so."""
    from tests.support.server import ServerProcess

    srv = ServerProcess(tmp_path / "data")
    srv.start()
    first = dict(srv.endpoints)
    assert first["pid"] == srv.proc.pid if srv.proc else False
    srv.kill()
    assert srv.endpoints_file.exists()  # what kill -9 leaves
    db = srv.data_dir / "registry.db"
    srv.data_dir.chmod(0o755)
    db.chmod(0o644)
    (srv.data_dir / "tls").chmod(0o755)
    try:
        srv.start(keep_endpoints=True)
        assert srv.endpoints["pid"] != first["pid"]
        assert stat.S_IMODE(srv.data_dir.stat().st_mode) == 0o700
        assert stat.S_IMODE(db.stat().st_mode) == 0o600
        assert stat.S_IMODE((srv.data_dir / "tls").stat().st_mode) == 0o700
        for path in srv.data_dir.rglob("*"):
            if path.is_file() and not path.is_symlink():
                assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path
        log = srv.log_path.read_text()
        assert "removed a stale" in log and "registry.db 0644 -> 0600" in log
    finally:
        srv.stop()
    assert not srv.endpoints_file.exists()


def _tls_socket(srv: Any) -> ssl.SSLSocket:
    url = httpx.URL(srv.arm)
    ctx = ssl.create_default_context(cafile=srv.ca)
    raw = socket.create_connection((url.host, url.port), timeout=20)
    return ctx.wrap_socket(raw, server_hostname=url.host)


def _closed(sock: ssl.SSLSocket) -> bytes | None:
    """What the server sent before closing, or None while it keeps the connection open."""
    sock.settimeout(0.05)
    try:
        data = sock.recv(65536)
    except (TimeoutError, ssl.SSLWantReadError):
        return None
    except OSError:
        return b""
    return data if data else b""


def test_request_heads_have_a_deadline_and_a_size_cap(tmp_path: Path) -> None:
    """A client trickling its headers is cut off; a 100 KiB head gets 431; others are served."""
    from tests.support.server import ServerProcess

    srv = ServerProcess(tmp_path / "data", extra_args=["--header-timeout", "1"])
    srv.start()
    try:
        slow = _tls_socket(srv)
        slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        closed = None
        for i in range(100):  # up to ~30 s of trickling, one header each 0.3 s
            try:
                slow.sendall(b"X-%d: y\r\n" % i)
            except OSError:
                closed = b""
                break
            time.sleep(0.25)
            closed = _closed(slow)
            if closed is not None:
                break
        assert closed is not None, "a trickling client kept its connection"
        slow.close()

        big = _tls_socket(srv)
        big.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n")
        big.settimeout(20)
        answer = big.recv(65536)
        assert answer.startswith(b"HTTP/1.1 431"), answer[:80]
        big.close()

        with httpx.Client(verify=ssl.create_default_context(cafile=srv.ca)) as client:
            assert client.get(f"{srv.arm}/healthz").status_code == 200
    finally:
        srv.stop()
