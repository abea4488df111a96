"""The vault's key-encryption key: where it lives, and refusing to start with the wrong one.

Each test runs its own server on a fresh data directory (and a fresh PostgreSQL database when
the suite runs on PostgreSQL).
"""

from __future__ import annotations

import base64
import os
import socket
import ssl
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from azure.keyvault.secrets import SecretClient

from iotops_registry import LocalIssuerCredential
from tests.support.server import (
    ServerProcess,
    create_pg_database,
    database_backend,
    drop_pg_database,
)

API = "2026-04-01"


@pytest.fixture
def fresh_db() -> Iterator[str | None]:
    if database_backend() == "postgresql":
        url = create_pg_database()
        yield url
        drop_pg_database(url)
    else:
        yield None


def _client(srv: ServerProcess) -> SecretClient:
    return SecretClient(
        srv.endpoints["vault"],
        LocalIssuerCredential(srv.data_dir),
        verify_challenge_resource=False,
        connection_verify=srv.ca,
        retry_total=0,
    )


def _fails_to_start(srv: ServerProcess) -> str:
    with pytest.raises(RuntimeError) as e:
        srv.start()
    srv.stop()
    return str(e.value)


def test_wrong_or_missing_key_stops_the_start(tmp_path: Path, fresh_db: str | None) -> None:
    srv = ServerProcess(
        tmp_path / "data", database_url=fresh_db, extra_args=["--log-level", "debug"]
    )
    srv.start()
    canary = f"canary-{uuid.uuid4().hex}"
    try:
        with _client(srv) as client:
            client.set_secret("kept", canary)
            assert client.get_secret("kept").value == canary
            client.update_secret_properties("kept", tags={"t": "1"})
            client.begin_delete_secret("kept").wait()
            client.begin_recover_deleted_secret("kept").wait()
    finally:
        srv.stop()
    # Not even the debug log carries the value.
    assert canary not in srv.log_path.read_text(errors="replace")
    kek = srv.data_dir / "vault" / "kek"
    assert stat.S_IMODE(kek.stat().st_mode) == 0o600 and len(kek.read_bytes()) == 32

    other = base64.b64encode(os.urandom(32)).decode()
    wrong = ServerProcess(srv.data_dir, database_url=fresh_db, env={"IOTOPS_VAULT_KEK": other})
    message = _fails_to_start(wrong)
    assert "the vault key from IOTOPS_VAULT_KEK" in message
    assert "does not match the data in" in message

    saved = kek.read_bytes()
    kek.unlink()
    message = _fails_to_start(ServerProcess(srv.data_dir, database_url=fresh_db))
    assert "does not match the data in" in message and "is missing" in message
    assert not kek.exists()  # no new key was made over the old data

    # The same key from the environment opens the data, and no file is written.
    env = {"IOTOPS_VAULT_KEK": base64.b64encode(saved).decode()}
    same = ServerProcess(srv.data_dir, database_url=fresh_db, env=env).start()
    try:
        with _client(same) as client:
            assert client.get_secret("kept").value == canary
    finally:
        same.stop()
    assert not kek.exists()

    kek.parent.mkdir(exist_ok=True)
    kek.write_bytes(saved)
    kek.chmod(0o600)
    restored = ServerProcess(srv.data_dir, database_url=fresh_db).start()
    try:
        with _client(restored) as client:
            assert client.get_secret("kept").value == canary
    finally:
        restored.stop()


def test_key_from_environment(tmp_path: Path, fresh_db: str | None) -> None:
    bad = ServerProcess(
        tmp_path / "bad", database_url=fresh_db, env={"IOTOPS_VAULT_KEK": "dG9vIHNob3J0"}
    )
    assert "IOTOPS_VAULT_KEK must be the base64 encoding of 32 bytes" in _fails_to_start(bad)

    env = {"IOTOPS_VAULT_KEK": base64.b64encode(os.urandom(32)).decode()}
    srv = ServerProcess(tmp_path / "env", database_url=fresh_db, env=env).start()
    try:
        with _client(srv) as client:
            client.set_secret("s", "v")
            assert client.get_secret("s").value == "v"
        assert srv.endpoints["vault"] != srv.arm
        with httpx.Client(verify=ssl.create_default_context(cafile=srv.ca)) as c:
            assert c.get(srv.endpoints["vault"] + "/secrets").status_code == 401
    finally:
        srv.stop()
    assert not (srv.data_dir / "vault" / "kek").exists()
    assert not (srv.data_dir / "endpoints.json").exists()  # both servers stopped cleanly


def test_vault_port_in_use(tmp_path: Path, fresh_db: str | None) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        srv = ServerProcess(
            tmp_path / "busy", database_url=fresh_db, extra_args=["--vault-port", str(port)]
        )
        assert f"cannot listen on 127.0.0.1:{port}" in _fails_to_start(srv)
    assert not (srv.data_dir / "endpoints.json").exists()
