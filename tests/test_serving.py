"""`iotops serve` as a process: TLS, discovery, endpoints.json, own certificates, issuers,
durability across a crash."""

from __future__ import annotations

import datetime as dt
import json
import os
import ssl
import stat
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from iotops_registry import LocalIssuerCredential
from tests.conftest import API_VERSION, Scope
from tests.support.server import (
    ServerProcess,
    create_pg_database,
    database_backend,
    drop_pg_database,
)


def _client(srv: ServerProcess, token: str | None = None, base: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(
        base_url=base or srv.arm, verify=ssl.create_default_context(cafile=srv.ca), headers=headers
    )


def test_healthz_tls_and_files(server: ServerProcess) -> None:
    port = server.arm.rsplit(":", 1)[1]
    for base in (server.arm, f"https://localhost:{port}"):
        with _client(server, base=base) as c:
            r = c.get("/healthz")
            assert r.status_code == 200 and r.json() == {"status": "ok"}
    # The CA is what makes it verify: without it the handshake fails.
    with pytest.raises(httpx.ConnectError), httpx.Client(verify=True) as c:
        c.get(server.arm + "/healthz")
    ep = server.endpoints
    assert ep["arm"].startswith("https://127.0.0.1:")
    uuid.UUID(ep["subscription"])
    assert Path(ep["ca"]) == server.data_dir / "tls" / "ca.pem"
    key = server.data_dir / "issuer" / "signing-key.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE((server.data_dir / "tls" / "ca-key.pem").stat().st_mode) == 0o600


def test_openid_discovery_and_jwks(
    server: ServerProcess, credential: LocalIssuerCredential
) -> None:
    issuer = server.endpoints["issuer"]
    with _client(server) as c:
        meta = c.get(issuer.removeprefix(server.arm) + "/.well-known/openid-configuration").json()
        assert meta["issuer"] == issuer
        keys = c.get(meta["jwks_uri"]).json()["keys"]
    token = credential.mint("https://management.azure.com")
    header = jwt.get_unverified_header(token)
    key = next(k for k in keys if k["kid"] == header["kid"])
    claims = jwt.decode(
        token,
        jwt.PyJWK(key).key,
        algorithms=["RS256"],
        audience="https://management.azure.com",
        issuer=issuer,
    )
    assert claims["tid"] == server.endpoints["tenant"]


def test_openapi_document(server: ServerProcess) -> None:
    with _client(server) as c:
        doc = c.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    ops = {op["operationId"] for path in doc["paths"].values() for op in path.values()}
    assert {
        "RegistryEndpoint_Get",
        "RegistryEndpoint_CreateOrReplace",
        "RegistryEndpoint_Delete",
        "RegistryEndpoint_ListByInstanceResource",
        "Instance_CreateOrUpdate",
    } <= ops
    schemas = doc["components"]["schemas"]
    for name in (
        "AnonymousAuthentication",
        "SystemAssignedManagedIdentityAuthentication",
        "UserAssignedManagedIdentityAuthentication",
        "ArtifactPullSecretAuthentication",
    ):
        assert schemas[name]["additionalProperties"] is False


def test_token_command(server: ServerProcess) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "iotops_registry",
            "token",
            "--data-dir",
            str(server.data_dir),
            "--resource",
            "https://vault.azure.net",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    claims = jwt.decode(out, options={"verify_signature": False})
    assert claims["aud"] == "https://vault.azure.net"
    assert claims["iss"] == server.endpoints["issuer"]


def _own_cert(tmp: Path) -> tuple[Path, Path, Path]:
    """A user's own CA and server certificate, unrelated to the project's CA."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "user CA")])
    now = dt.datetime.now(dt.UTC)
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(2)
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = tmp / "user-ca.pem", tmp / "user-cert.pem", tmp / "user-key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


def test_own_tls_certificate_and_trusted_issuer(
    tmp_path: Path, server: ServerProcess, credential: LocalIssuerCredential
) -> None:
    user_ca, cert, key = _own_cert(tmp_path)
    # Server B trusts server A's issuer (found via OpenID discovery over A's HTTPS).
    other = ServerProcess(
        tmp_path / "b",
        extra_args=[
            "--tls-cert",
            str(cert),
            "--tls-key",
            str(key),
            "--trusted-issuer",
            server.endpoints["issuer"],
        ],
        env={"SSL_CERT_FILE": server.ca},
    ).start()
    try:
        with httpx.Client(verify=ssl.create_default_context(cafile=str(user_ca))) as c:
            assert c.get(other.arm + "/healthz").status_code == 200
            path = (
                f"/subscriptions/{other.subscription}/providers/Microsoft.IoTOperations/instances"
            )
            for token, status in (
                (credential.mint("https://management.azure.com"), 200),  # A's issuer: trusted
                (LocalIssuerCredential(other.data_dir).mint("https://management.azure.com"), 200),
                (LocalIssuerCredential(server.data_dir).mint("https://vault.azure.net"), 401),
            ):
                r = c.get(
                    other.arm + path,
                    params={"api-version": API_VERSION},
                    headers={"Authorization": f"Bearer {token}"},
                )
                assert r.status_code == status, r.text
        # endpoints.json names no CA: clients use their own trust for the user's certificate,
        # and the project's CA does not vouch for it.
        assert other.endpoints["ca"] is None
        own_ca = ssl.create_default_context(cafile=str(other.data_dir / "tls" / "ca.pem"))
        with pytest.raises(httpx.ConnectError), httpx.Client(verify=own_ca) as c:
            c.get(other.arm + "/healthz")
    finally:
        other.stop()


def test_default_data_dir(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IOTOPS_")}
    env["XDG_DATA_HOME"] = str(tmp_path / "xdg")
    proc = subprocess.Popen(
        [sys.executable, "-m", "iotops_registry", "serve", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        expected = tmp_path / "xdg" / "iotops" / "endpoints.json"
        for _ in range(600):
            if expected.exists():
                break
            assert proc.poll() is None
            __import__("time").sleep(0.05)
        assert json.loads(expected.read_text())["arm"].startswith("https://")
    finally:
        proc.terminate()
        proc.wait(15)
    assert not expected.exists()  # removed on clean shutdown


def test_acknowledged_write_survives_crash(tmp_path: Path, database_url: str | None) -> None:
    db = create_pg_database() if database_backend() == "postgresql" else None
    srv = ServerProcess(tmp_path / "crash", database_url=db).start()
    try:
        sdk_cred = LocalIssuerCredential(srv.data_dir)
        from azure.mgmt.iotoperations import IoTOperationsMgmtClient

        sdk = IoTOperationsMgmtClient(
            sdk_cred, srv.subscription, base_url=srv.arm, connection_verify=srv.ca
        )
        scope = Scope(sdk, srv.subscription)
        body = {
            "properties": {
                "host": "durable.azurecr.io",
                "authentication": {"method": "Anonymous", "anonymousSettings": {}},
            }
        }
        with _client(srv, sdk_cred.mint("https://management.azure.com")) as c:
            r = c.put(
                scope.endpoint_path("durable"), params={"api-version": API_VERSION}, json=body
            )
            assert r.status_code == 201
            etag = r.headers["etag"]
        sdk.close()
        srv.kill()  # SIGKILL right after the acknowledgement
        srv.start()
        with _client(
            srv, LocalIssuerCredential(srv.data_dir).mint("https://management.azure.com")
        ) as c:
            got = c.get(scope.endpoint_path("durable"), params={"api-version": API_VERSION})
        assert got.status_code == 200
        assert got.headers["etag"] == etag
        assert got.json()["properties"]["host"] == "durable.azurecr.io"
    finally:
        srv.stop()
        if db:
            drop_pg_database(db)


def test_concurrent_writers_are_serialised(
    scope: Scope, server: ServerProcess, credential: LocalIssuerCredential
) -> None:
    token = credential.mint("https://management.azure.com")
    body = {
        "properties": {
            "host": "race.azurecr.io",
            "authentication": {"method": "Anonymous", "anonymousSettings": {}},
        }
    }
    url = scope.endpoint_path("race")

    def create(_: int) -> int:
        with _client(server, token) as c:
            return c.put(
                url, params={"api-version": API_VERSION}, json=body, headers={"If-None-Match": "*"}
            ).status_code

    with ThreadPoolExecutor(12) as pool:
        statuses = sorted(pool.map(create, range(12)))
    assert statuses == [201] + [412] * 11

    with _client(server, token) as c:
        etag = c.get(url, params={"api-version": API_VERSION}).headers["etag"]

    def update(i: int) -> int:
        changed = {"properties": {**body["properties"], "host": f"race{i}.azurecr.io"}}
        with _client(server, token) as c:
            return c.put(
                url, params={"api-version": API_VERSION}, json=changed, headers={"If-Match": etag}
            ).status_code

    with ThreadPoolExecutor(12) as pool:
        statuses = sorted(pool.map(update, range(12)))
    assert statuses == [200] + [412] * 11
