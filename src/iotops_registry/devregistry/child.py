"""The CNCF Distribution registry (``docker-registry``) as a child process of the server.

The child listens on a private loopback port behind the registry's front (``front.py``, the
one HTTPS origin clients see), speaks plain HTTP to it, keeps its data in
``DIR/devregistry/storage`` and always requires tokens from our token service
(``auth.token``): a configuration without auth is never written, so reaching the port
directly gains nothing. It dies with the
server: the server stops it on the way out, and ``PR_SET_PDEATHSIG`` makes the kernel
signal it if the server is killed outright, so no registry is ever left orphaned.
"""

from __future__ import annotations

import contextlib
import ctypes
import http.client
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

import yaml

from ..errors import ConfigurationError
from ..netutil import format_host_port

__all__ = [
    "ENV_REGISTRY_BINARY",
    "ChildConfig",
    "RegistryConfig",
    "RegistryProcess",
    "find_registry_binary",
    "free_port",
]

ENV_REGISTRY_BINARY = "IOTOPS_REGISTRY_BINARY"
_PR_SET_PDEATHSIG = 1
_LOOPBACK = "127.0.0.1"


def find_registry_binary() -> str:
    """The registry executable: ``$IOTOPS_REGISTRY_BINARY`` or ``docker-registry`` on PATH."""
    explicit = os.environ.get(ENV_REGISTRY_BINARY)
    if explicit:
        if not (os.path.isfile(explicit) and os.access(explicit, os.X_OK)):
            raise ConfigurationError(
                f"{ENV_REGISTRY_BINARY}={explicit} is not an executable file."
            )
        return explicit
    found = shutil.which("docker-registry")
    if found is None:
        raise ConfigurationError(
            "--dev runs the CNCF Distribution registry, but `docker-registry` was not found "
            "on PATH. Install it (Debian: `apt-get install docker-registry`) or set "
            f"{ENV_REGISTRY_BINARY} to its path."
        )
    return found


def free_port(host: str = _LOOPBACK) -> int:
    """A port that was free a moment ago (the registry binds it itself)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class ChildConfig(Protocol):
    """What :class:`RegistryProcess` needs of a configuration: where, how to write it, and
    which answer to ``GET /v2/`` means "up, as configured"."""

    @property
    def directory(self) -> Path: ...

    @property
    def host(self) -> str: ...

    @property
    def port(self) -> int: ...

    @property
    def tls(self) -> bool: ...

    def write(self) -> Path: ...

    def accepts(self, status: int, challenge: str) -> bool: ...


@dataclass(frozen=True)
class RegistryConfig:
    """Everything the registry's ``config.yml`` says."""

    directory: Path  # DIR/devregistry
    port: int  # the private port (the front's is the login server's)
    realm: str  # https://<login server>/oauth2/token: the front
    service: str  # the login server, 127.0.0.1:<front port>
    issuer: str
    token_cert: Path  # the certificate of the token signing key
    host: str = _LOOPBACK  # 127.0.0.1 or ::1
    tls_cert: Path | None = None  # None: plain HTTP (behind the front, on loopback)
    tls_key: Path | None = None

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None

    @property
    def storage(self) -> Path:
        return self.directory / "storage"

    def accepts(self, status: int, challenge: str) -> bool:
        """Up, and with token auth on: 401 naming our realm."""
        return status == 401 and self.realm in challenge

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{format_host_port(self.host, self.port)}"

    def document(self) -> dict[str, Any]:
        http: dict[str, Any] = {
            "addr": format_host_port(self.host, self.port),
            "secret": secrets.token_hex(32),
        }
        if self.tls_cert is not None and self.tls_key is not None:
            http["tls"] = {"certificate": str(self.tls_cert), "key": str(self.tls_key)}
        return {
            "version": 0.1,
            "log": {"level": "warn", "accesslog": {"disabled": True}},
            "storage": {
                "filesystem": {"rootdirectory": str(self.storage)},
                "delete": {"enabled": True},
                "cache": {"blobdescriptor": "inmemory"},
            },
            # Relative Locations (``/v2/...``), as ACR answers: the front relays them as is.
            "http": {**http, "relativeurls": True},
            # Token authentication only: the registry is never started without it.
            "auth": {
                "token": {
                    "realm": self.realm,
                    "service": self.service,
                    "issuer": self.issuer,
                    "rootcertbundle": str(self.token_cert),
                }
            },
        }

    def write(self) -> Path:
        self.storage.mkdir(parents=True, exist_ok=True)
        path = self.directory / "config.yml"
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # holds http.secret
        with os.fdopen(fd, "w") as fh:
            yaml.safe_dump(self.document(), fh, sort_keys=False)
        os.replace(tmp, path)
        return path


def _die_with_parent() -> Callable[[], None]:
    """A ``preexec_fn`` asking the kernel to SIGTERM the child when its parent dies."""
    parent = os.getpid()
    # Looked up before the fork, not in the child. Linux only; elsewhere the server's own
    # clean-up is all there is.
    prctl = getattr(ctypes.CDLL(None, use_errno=True), "prctl", None)

    def preexec() -> None:
        if prctl is not None:
            prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


def _child_environment() -> dict[str, str]:
    """A bare environment: the server's may hold keys (``IOTOPS_VAULT_KEK``), and the
    registry reads ``REGISTRY_*`` variables as configuration (auth included)."""
    env = {"PATH": os.environ.get("PATH", os.defpath), "LANG": "C.UTF-8"}
    if "TMPDIR" in os.environ:
        env["TMPDIR"] = os.environ["TMPDIR"]
    return env


class RegistryProcess:
    """Start, check and stop one registry child. Start it from the main thread: the death
    signal follows the thread that forked it."""

    def __init__(self, binary: str, config: ChildConfig, ca_file: Path | None) -> None:
        self.binary = binary
        self.config = config
        self.ca_file = ca_file
        self.log_path = config.directory / "registry.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def start(self, timeout: float = 20.0) -> None:
        config_path = self.config.write()
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [self.binary, "serve", str(config_path)],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=_child_environment(),
            preexec_fn=_die_with_parent(),
            start_new_session=True,  # a Ctrl-C to the server's group is the server's to handle
        )
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-2000:].strip()
        except OSError:
            return ""

    def _wait_ready(self, timeout: float) -> None:
        """Wait until ``/v2/`` answers 401 with our token realm: up, and with auth on."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        context = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
        while True:
            code = self.proc.poll()
            if code is not None:
                raise ConfigurationError(
                    f"the development registry exited at start (code {code}); "
                    f"its log {self.log_path} ends with:\n{self._log_tail()}"
                )
            answer = self._probe(context)
            if answer is not None:
                status, challenge = answer
                if self.config.accepts(status, challenge):
                    return
                raise ConfigurationError(
                    f"the development registry answered /v2/ with {status}, not as its "
                    "configuration says (token auth); refusing to run it."
                )
            if time.monotonic() > deadline:
                raise ConfigurationError(
                    f"the development registry did not start within {timeout:.0f} s; "
                    f"its log {self.log_path} ends with:\n{self._log_tail()}"
                )
            time.sleep(0.05)

    def _probe(self, context: ssl.SSLContext) -> tuple[int, str] | None:
        """``GET /v2/``: its status and challenge, or None while nothing listens."""
        conn: http.client.HTTPConnection = (
            http.client.HTTPSConnection(
                self.config.host, self.config.port, timeout=2.0, context=context
            )
            if self.config.tls
            else http.client.HTTPConnection(self.config.host, self.config.port, timeout=2.0)
        )
        try:
            conn.request("GET", "/v2/")
            resp = conn.getresponse()
            resp.read()
            return resp.status, resp.getheader("www-authenticate") or ""
        except ConnectionError:
            return None
        except OSError as exc:
            if isinstance(exc, ssl.SSLCertVerificationError):
                raise ConfigurationError(
                    f"TLS with the development registry failed: {exc}"
                ) from None
            return None
        finally:
            conn.close()

    def exited(self) -> int | None:
        """The exit code if the child has stopped, else None."""
        return self.proc.poll() if self.proc else None

    def stop(self, timeout: float = 5.0) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._log is not None:
            with contextlib.suppress(OSError):
                self._log.close()
            self._log = None
