"""The registry child's life: it starts with ``iotops serve --dev``, never outlives the
server (stop, crash), stops the server if it dies, and a missing binary fails the start."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.support.server import ServerProcess


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _registry_child(server: ServerProcess) -> int:
    assert server.proc is not None
    for child in _children(server.proc.pid):
        cmdline = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
        if cmdline and cmdline[0].endswith(b"docker-registry"):
            return child
    raise AssertionError("the server has no docker-registry child")


def _running(pid: int) -> bool:
    """Alive and not a zombie (a zombie has exited; only its parent has yet to reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _wait_gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _running(pid):
            return True
        time.sleep(0.05)
    return False


def _dev_server(tmp_path: Path, **env: str) -> ServerProcess:
    return ServerProcess(tmp_path / "data", extra_args=["--dev"], env=env)


def test_registry_stops_with_the_server(tmp_path: Path) -> None:
    # The registry takes REGISTRY_* variables as configuration: the server's are not its.
    server = _dev_server(tmp_path, REGISTRY_AUTH_TOKEN_REALM="http://127.0.0.1:1/x").start()
    child = _registry_child(server)
    assert _running(child)
    assert b"REGISTRY_" not in Path(f"/proc/{child}/environ").read_bytes()
    server.stop()
    assert server.proc is not None and server.proc.returncode == 0
    assert _wait_gone(child)


def test_registry_dies_when_the_server_is_killed(tmp_path: Path) -> None:
    server = _dev_server(tmp_path).start()
    child = _registry_child(server)
    server.kill()  # SIGKILL: no clean-up runs; the kernel's parent-death signal must do it
    assert _wait_gone(child), "the registry outlived its server"


def test_server_stops_when_the_registry_dies(tmp_path: Path) -> None:
    server = _dev_server(tmp_path).start()
    os.kill(_registry_child(server), signal.SIGKILL)
    assert server.proc is not None
    assert server.proc.wait(timeout=20) != 0
    assert "development registry exited unexpectedly" in server.log_path.read_text()
    assert not (server.data_dir / "endpoints.json").exists()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"IOTOPS_REGISTRY_BINARY": "/nonexistent/docker-registry"}, "not an executable"),
        ({"PATH": "/nonexistent"}, "`docker-registry` was not found on PATH"),
    ],
)
def test_missing_registry_fails_the_start(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    server = _dev_server(tmp_path, **env)
    with pytest.raises(RuntimeError, match="exited early") as failed:
        server.start()
    assert message in str(failed.value)
