"""A real CNCF Distribution registry (Debian's ``docker-registry``) for tests and benchmarks.

``RegistryProcess`` runs one registry on 127.0.0.1 with a free port and filesystem storage
in a directory of its own, with one of three front doors:

- ``auth="htpasswd"``: Basic auth from a bcrypt htpasswd file (cost 4: the registry checks
  the hash on every request, and the default cost would make each one take ~250 ms);
- ``auth="token"``: Bearer tokens from :class:`TokenServer`, an in-process token service
  (ES256 JWTs the registry verifies against its certificate) that also answers the ACR
  ``/oauth2/exchange`` and refresh-token grant, and counts what it is asked;
- ``auth="none"``.

TLS (a self-signed certificate for 127.0.0.1) is optional. ``skopeo`` helpers push OCI
layouts built with :func:`write_oci_layout`. Each xdist worker starts its own registry.

The child process, its readiness check and the token signing (ES256 keys, the libtrust key
id, the tokens' claims) are the product's own (``devregistry.RegistryProcess``,
``devregistry.TokenSigner``); only the token service's *policy* here is a test's: a fixed
user table, anonymous pulls under ``public/``, and request counters.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import secrets
import shutil
import ssl
import subprocess
import threading
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from iotops_registry.devregistry import RegistryProcess as RegistryChild
from iotops_registry.devregistry import TokenSigner, free_port
from iotops_registry.errors import ConfigurationError

REGISTRY_BIN = shutil.which("docker-registry") or "/usr/bin/docker-registry"
SERVICE = "test-registry"
ISSUER = "test-token-issuer"


def have_registry() -> bool:
    return os.access(REGISTRY_BIN, os.X_OK)


def have_skopeo() -> bool:
    return shutil.which("skopeo") is not None


def bcrypt_hash(password: str) -> str:
    """A bcrypt hash (cost 4) via libcrypt, or ``htpasswd`` where ``crypt`` is gone."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt

        hashed = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))
        if hashed and hashed.startswith("$2"):
            return hashed
    except ImportError:
        pass
    out = subprocess.run(
        ["htpasswd", "-nbB", "-C", "4", "u", password], check=True, capture_output=True, text=True
    )
    return out.stdout.strip().split(":", 1)[1]


def self_signed(directory: Path, name: str, *, key: Any = None) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1/localhost (and its EC key), written as PEM files."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    import ipaddress

    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _parse_scope(scope: str) -> dict[str, Any] | None:
    kind, _, rest = scope.partition(":")
    name, _, actions = rest.rpartition(":")
    if not kind or not name:
        return None
    return {"type": kind, "name": name, "actions": [a for a in actions.split(",") if a]}


class TokenServer:
    """A token service for the registry's ``auth.token`` mode, in a thread.

    - ``GET /token?service&scope...`` with Basic credentials of a known user grants what is
      asked; anonymous requests get ``pull`` on repositories under ``public/`` only;
    - ``POST /oauth2/exchange`` (``grant_type=access_token``) accepts ``entra_token`` and
      answers a refresh token (a JWT with ``exp``);
    - ``POST /token`` (``grant_type=refresh_token``) with that refresh token grants what is
      asked, like ACR's ``/oauth2/token``.

    ``counts`` records requests by kind; ``expires_in`` sets the access tokens' lifetime.
    """

    def __init__(self, directory: Path, users: dict[str, str], entra_token: str) -> None:
        self.signer = TokenSigner(directory, issuer=ISSUER, service=SERVICE)
        self.cert = self.signer.cert_path
        self.kid = self.signer.kid
        self.users = users
        self.entra_token = entra_token
        self.refresh_tokens: set[str] = set()
        self.expires_in = 300
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def realm(self) -> str:
        return f"http://127.0.0.1:{self.port}/token"

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def count(self, kind: str) -> int:
        with self.lock:
            return self.counts[kind]

    def access_token(self, access: list[dict[str, Any]]) -> dict[str, Any]:
        return self.signer.access_token("test", access, lifetime=self.expires_in)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _grant(self, scopes: list[str], user: str | None) -> None:
                access = []
                for scope in scopes:
                    for entry in scope.split(" "):
                        parsed = _parse_scope(entry)
                        if parsed is None:
                            continue
                        if user is None:
                            if not parsed["name"].startswith("public/"):
                                continue
                            parsed["actions"] = [a for a in parsed["actions"] if a == "pull"]
                        access.append(parsed)
                self._answer(200, server.access_token(access))

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = parse_qsl(url.query)
                with server.lock:
                    server.counts["get"] += 1
                user = None
                header = self.headers.get("Authorization", "")
                if header.startswith("Basic "):
                    name, _, password = base64.b64decode(header[6:]).decode().partition(":")
                    if server.users.get(name) != password:
                        self._answer(401, {"details": "bad credentials"})
                        return
                    user = name
                self._grant([v for k, v in query if k == "scope"], user)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = dict(parse_qsl(self.rfile.read(length).decode()))
                path = urlsplit(self.path).path
                if path == "/oauth2/exchange":
                    with server.lock:
                        server.counts["exchange"] += 1
                    if form.get("access_token") != server.entra_token:
                        self._answer(401, {"details": "bad access token"})
                        return
                    refresh = server.signer.refresh_token("exchanged", "tenant", ["AcrPull"])
                    with server.lock:
                        server.refresh_tokens.add(refresh)
                    self._answer(200, {"refresh_token": refresh})
                    return
                with server.lock:
                    server.counts["post"] += 1
                    known = form.get("refresh_token") in server.refresh_tokens
                if form.get("grant_type") != "refresh_token" or not known:
                    self._answer(401, {"details": "bad refresh token"})
                    return
                self._grant([form.get("scope", "")], "exchanged")

        return Handler


@dataclass
class _ChildConfig:
    """The product's ``devregistry.ChildConfig`` for this test registry: any auth, TLS or
    not; any answer to ``GET /v2/`` means it is up."""

    registry: RegistryProcess

    @property
    def directory(self) -> Path:
        return self.registry.root

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        return self.registry.port

    @property
    def tls(self) -> bool:
        return self.registry.tls

    def write(self) -> Path:
        path = self.registry.root / "config.yml"
        path.write_text(self.registry._config())
        return path

    def accepts(self, status: int, challenge: str) -> bool:
        return status in (200, 401)


@dataclass
class RegistryProcess:
    root: Path
    auth: Literal["none", "htpasswd", "token"] = "htpasswd"
    tls: bool = False
    users: dict[str, str] = field(default_factory=lambda: {"tester": secrets.token_hex(8)})
    entra_token: str = field(default_factory=lambda: "entra-" + secrets.token_hex(8))
    port: int = 0
    child: RegistryChild | None = None
    token_server: TokenServer | None = None
    cert: Path | None = None

    @property
    def storage(self) -> Path:
        return self.root / "store"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}"

    @property
    def username(self) -> str:
        return next(iter(self.users))

    @property
    def password(self) -> str:
        return self.users[self.username]

    def ssl_context(self) -> ssl.SSLContext:
        assert self.cert is not None
        return ssl.create_default_context(cafile=str(self.cert))

    def cert_dir(self) -> Path:
        """A directory with ``ca.crt``, as skopeo's ``--*-cert-dir`` wants."""
        assert self.cert is not None
        directory = self.root / "certs.d"
        directory.mkdir(exist_ok=True)
        shutil.copy(self.cert, directory / "ca.crt")
        return directory

    def blob_data(self, digest: str) -> Path:
        """Where the filesystem driver keeps a blob's bytes."""
        algorithm, _, hex_ = digest.partition(":")
        return self.storage / "docker/registry/v2/blobs" / algorithm / hex_[:2] / hex_ / "data"

    def _config(self) -> str:
        lines = [
            "version: 0.1",
            "log: {level: error, accesslog: {disabled: true}}",
            "storage:",
            f"  filesystem: {{rootdirectory: {self.storage}}}",
            "  delete: {enabled: true}",
            "  cache: {blobdescriptor: inmemory}",
            "http:",
            f"  addr: 127.0.0.1:{self.port}",
            f"  secret: {secrets.token_hex(16)}",
        ]
        if self.tls:
            assert self.cert is not None
            lines.append(
                f"  tls: {{certificate: {self.cert}, key: {self.cert.with_suffix('.key')}}}"
            )
        if self.auth == "htpasswd":
            htpasswd = self.root / "htpasswd"
            htpasswd.write_text("".join(f"{u}:{bcrypt_hash(p)}\n" for u, p in self.users.items()))
            lines += ["auth:", f"  htpasswd: {{realm: test-realm, path: {htpasswd}}}"]
        elif self.auth == "token":
            assert self.token_server is not None
            lines += [
                "auth:",
                "  token:",
                f"    realm: {self.token_server.realm}",
                f"    service: {SERVICE}",
                f"    issuer: {ISSUER}",
                f"    rootcertbundle: {self.token_server.cert}",
            ]
        return "\n".join(lines) + "\n"

    def start(self, timeout: float = 20.0) -> RegistryProcess:
        self.root.mkdir(parents=True, exist_ok=True)
        self.storage.mkdir(exist_ok=True)
        if self.tls and self.cert is None:
            self.cert, _ = self_signed(self.root, "registry")
        if self.auth == "token" and self.token_server is None:
            self.token_server = TokenServer(self.root, self.users, self.entra_token)
            self.token_server.start()
        for _ in range(5):
            self.port = free_port()
            child = RegistryChild(REGISTRY_BIN, _ChildConfig(self), self.cert)
            try:
                child.start(timeout)
            except ConfigurationError:
                continue  # most likely the port was taken meanwhile: try another
            self.child = child
            return self
        self.stop()
        raise RuntimeError(f"registry did not start:\n{self.log()[-3000:]}")

    def log(self) -> str:
        path = self.root / "registry.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.child is not None:
            self.child.stop(timeout=10)
            self.child = None
        if self.token_server is not None:
            self.token_server.stop()
            self.token_server = None

    # -- skopeo ---------------------------------------------------------------------------

    def skopeo_dest_args(self) -> list[str]:
        args = (
            ["--dest-tls-verify=true", f"--dest-cert-dir={self.cert_dir()}"]
            if self.tls
            else ["--dest-tls-verify=false"]
        )
        if self.auth != "none":
            args.append(f"--dest-creds={self.username}:{self.password}")
        return args

    def skopeo_src_args(self) -> list[str]:
        args = (
            ["--src-tls-verify=true", f"--src-cert-dir={self.cert_dir()}"]
            if self.tls
            else ["--src-tls-verify=false"]
        )
        if self.auth != "none":
            args.append(f"--src-creds={self.username}:{self.password}")
        return args

    def skopeo_push(self, layout: Path, tag: str, repository: str) -> None:
        subprocess.run(
            [
                "skopeo",
                "copy",
                "--insecure-policy",
                "-q",
                *self.skopeo_dest_args(),
                f"oci:{layout}:{tag}",
                f"docker://{self.host}/{repository}:{tag}",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def skopeo_pull(self, repository: str, tag: str, layout: Path) -> None:
        subprocess.run(
            [
                "skopeo",
                "copy",
                "--insecure-policy",
                "-q",
                *self.skopeo_src_args(),
                f"docker://{self.host}/{repository}:{tag}",
                f"oci:{layout}:{tag}",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )


def _put_blob(layout: Path, data: bytes) -> dict[str, Any]:
    digest = hashlib.sha256(data).hexdigest()
    path = layout / "blobs" / "sha256" / digest
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def write_oci_layout(
    layout: Path,
    tag: str,
    files: list[tuple[bytes, str]],
    *,
    config_media_type: str = "application/vnd.oci.empty.v1+json",
    artifact_type: str | None = None,
    annotations: dict[str, str] | None = None,
) -> str:
    """An OCI image layout with one artifact manifest tagged ``tag``; returns its digest.

    Layer media types must not be ``...image.layer.v1.tar``: skopeo would recompress those
    on push and change their digests; artifact types are copied byte for byte.
    """
    layout.mkdir(parents=True, exist_ok=True)
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    config = _put_blob(layout, b"{}")
    manifest: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": config_media_type, **config},
        "layers": [{"mediaType": mt, **_put_blob(layout, data)} for data, mt in files],
    }
    if artifact_type:
        manifest["artifactType"] = artifact_type
    if annotations:
        manifest["annotations"] = annotations
    raw = json.dumps(manifest).encode()
    described = _put_blob(layout, raw)
    index_path = layout / "index.json"
    index: dict[str, Any] = (
        json.loads(index_path.read_text())
        if index_path.exists()
        else {"schemaVersion": 2, "manifests": []}
    )
    index["manifests"].append(
        {
            "mediaType": manifest["mediaType"],
            **described,
            "annotations": {"org.opencontainers.image.ref.name": tag},
        }
    )
    index_path.write_text(json.dumps(index))
    return str(described["digest"])


# -- pytest fixtures (load with ``pytest_plugins = ["tests.support.registry"]``) -------------


def _start(factory: pytest.TempPathFactory, **kwargs: Any) -> RegistryProcess:
    if not have_registry():
        pytest.fail("docker-registry is missing: run scripts/test.sh (it installs it)")
    return RegistryProcess(factory.mktemp("registry"), **kwargs).start()


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryProcess]:
    """Plain HTTP on loopback, htpasswd Basic auth: one per test session (xdist worker)."""
    proc = _start(tmp_path_factory)
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def tls_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryProcess]:
    """HTTPS with a self-signed certificate, htpasswd Basic auth."""
    proc = _start(tmp_path_factory, tls=True)
    yield proc
    proc.stop()


class Skopeo:
    """skopeo against one registry, and OCI layouts to feed it (see the ``skopeo`` fixture)."""

    def __init__(self, registry: RegistryProcess) -> None:
        self.registry = registry

    def push(self, layout: Path, tag: str, repository: str) -> None:
        self.registry.skopeo_push(layout, tag, repository)

    def pull(self, repository: str, tag: str, layout: Path) -> None:
        self.registry.skopeo_pull(repository, tag, layout)

    write_layout = staticmethod(write_oci_layout)


@pytest.fixture
def skopeo(registry: RegistryProcess) -> Skopeo:
    """skopeo for the ``registry`` fixture; fails the test where skopeo is missing."""
    if not have_skopeo():
        pytest.fail("skopeo is missing: run scripts/test.sh (it installs it)")
    return Skopeo(registry)


@pytest.fixture(scope="session")
def token_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryProcess]:
    """Bearer token auth through :class:`TokenServer` (plain HTTP on loopback)."""
    proc = _start(tmp_path_factory, auth="token")
    yield proc
    proc.stop()
