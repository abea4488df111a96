"""``--port`` moves every listener: two servers that differ only in ``--port`` run side by
side (their vault, identity, token service and registry ports follow it, to the next free
ones), and a port that was given explicitly and is taken is named by its flag."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

import httpx
import pytest

from tests.support.server import ServerProcess


def _free_span(width: int = 40) -> int:
    """A port ``p`` with ``p - 1`` .. ``p + width`` free right now."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port - 1 < 1024 or port + width > 65535:
            continue
        probes = []
        try:
            for p in range(port - 1, port + width):
                sock = socket.socket()
                probes.append(sock)
                sock.bind(("127.0.0.1", p))
        except OSError:
            continue
        finally:
            for sock in probes:
                sock.close()
        return port
    raise RuntimeError("no free span of ports")


def _ports(server: ServerProcess) -> dict[str, int]:
    ep = server.endpoints
    return {
        "arm": httpx.URL(ep["arm"]).port or 443,
        "vault": httpx.URL(ep["vault"]).port or 443,
        "identity": httpx.URL(ep["identity"]).port or 80,
        "token": httpx.URL(ep["token"]).port or 443,
        "registry": int(str(ep["registry"]).rsplit(":", 1)[1]),
    }


def _healthy(server: ServerProcess) -> None:
    r = httpx.get(f"{server.arm}/healthz", verify=ssl.create_default_context(cafile=server.ca))
    assert r.status_code == 200, r.text
    assert httpx.get(f"https://{server.endpoints['registry']}/v2/",
                     verify=ssl.create_default_context(cafile=server.ca)).status_code == 401


def _start_fails(tmp: Path, *args: str) -> str:
    failed = ServerProcess(tmp, extra_args=list(args))
    with pytest.raises(RuntimeError) as caught:
        failed.start(timeout=30)
    return str(caught.value)


def test_two_servers_differing_only_in_port(tmp_path: Path) -> None:
    base = _free_span()
    first = ServerProcess(tmp_path / "a", extra_args=["--dev", "--port", str(base)])
    # The second's nominal vault port is the first's ARM port, then the first's vault port,
    # and so on: they move to the next free ones.
    second = ServerProcess(tmp_path / "b", extra_args=["--dev", "--port", str(base - 1)])
    first.start()
    try:
        a = _ports(first)
        assert a["arm"] == base
        assert a["vault"] == base + 1 and a["identity"] == base + 2
        # The dev registry has one origin (its token service is on it, as ACR's is).
        assert a["registry"] == base + 4 and a["token"] == a["registry"]
        second.start()
        try:
            b = _ports(second)
            assert b["arm"] == base - 1
            assert set(a.values()).isdisjoint(b.values()), (a, b)
            assert len(set(b.values())) == 4 and b["token"] == b["registry"], b
            assert all(base <= p <= base + 20 for k, p in b.items() if k != "arm"), b
            _healthy(first)
            _healthy(second)

            # An explicit port that is taken is named by its flag.
            error = _start_fails(tmp_path / "c", "--port", str(a["vault"]))
            assert f"127.0.0.1:{a['vault']} (--port)" in error, error
            error = _start_fails(tmp_path / "d", "--port", "0", "--vault-port", str(a["arm"]))
            assert f"127.0.0.1:{a['arm']} (--vault-port)" in error, error
            assert "Choose the port with --vault-port" in error
        finally:
            second.stop()
    finally:
        first.stop()
