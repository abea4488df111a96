"""Where state lives: the data directory, its persistent settings and ``endpoints.json``.

A data directory holds everything one embedded deployment needs::

    DIR/
      settings.json      tenant id and default subscription id, made once
      endpoints.json     the URLs of the running server (written when it is ready)
      tls/               local CA and server certificates
      issuer/            the embedded token issuer's signing key (0600)
      registry.db        the default SQLite store
"""

from __future__ import annotations

import json
import os
import stat
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigurationError

__all__ = [
    "DataDir",
    "default_data_dir",
    "write_private_file",
]

ENV_DATA_DIR = "IOTOPS_DATA_DIR"


def default_data_dir() -> Path:
    """Per-user data directory: ``$IOTOPS_DATA_DIR``, else ``$XDG_DATA_HOME/iotops``."""
    explicit = os.environ.get(ENV_DATA_DIR)
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(Path.home(), ".local", "share")
    return Path(base) / "iotops"


def write_private_file(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write ``data`` atomically, creating the file with ``mode`` from the start."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class Settings:
    tenant_id: str
    subscription_id: str


class DataDir:
    """Typed access to the files of one data directory."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path).expanduser().resolve()

    @property
    def tls_dir(self) -> Path:
        return self.path / "tls"

    @property
    def ca_path(self) -> Path:
        return self.tls_dir / "ca.pem"

    @property
    def issuer_dir(self) -> Path:
        return self.path / "issuer"

    @property
    def endpoints_path(self) -> Path:
        return self.path / "endpoints.json"

    @property
    def sqlite_path(self) -> Path:
        return self.path / "registry.db"

    def ensure(self) -> None:
        try:
            self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise ConfigurationError(f"cannot create data directory {self.path}: {exc}") from exc

    def secure(self) -> list[str]:
        """Force the directory and everything in it to the owner only (0700 directories,
        0600 files): a directory made by an older version, a copy or a restore keeps its
        modes, and the database and keys would be readable by every local user. Returns
        what was changed, for a warning. The registry's blob storage is left alone."""
        fixed: list[str] = []

        def tighten(path: Path, mode: int, wanted: int) -> None:
            if stat.S_IMODE(mode) != wanted:
                os.chmod(path, wanted, follow_symlinks=False)
                fixed.append(f"{path} {stat.S_IMODE(mode):04o} -> {wanted:04o}")

        tighten(self.path, self.path.stat().st_mode, 0o700)
        for root, dirs, files in os.walk(self.path):
            here = Path(root)
            dirs[:] = [d for d in dirs if (here / d) != self.path / "devregistry" / "storage"]
            for name in dirs:
                st = os.lstat(here / name)
                if stat.S_ISDIR(st.st_mode):
                    tighten(here / name, st.st_mode, 0o700)
            for name in files:
                st = os.lstat(here / name)
                if stat.S_ISREG(st.st_mode):
                    tighten(here / name, st.st_mode, 0o600)
        return fixed

    def stale_endpoints(self) -> str | None:
        """If ``endpoints.json`` is left from a server that is gone (killed outright), remove
        it and say so; clients would otherwise call a dead server. ``None``: nothing stale."""
        try:
            data = json.loads(self.endpoints_path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            data = {}
        pid = data.get("pid") if isinstance(data, dict) else None
        if isinstance(pid, int) and pid != os.getpid() and _alive(pid):
            return (
                f"{self.endpoints_path} names a server that is still running (pid {pid}); "
                "two servers on one data directory overwrite each other's endpoints.json"
            )
        self.clear_endpoints()
        owner = f" (pid {pid}, no longer running)" if isinstance(pid, int) else ""
        return (
            f"removed a stale {self.endpoints_path} left by a server that did not stop "
            f"cleanly{owner}"
        )

    def settings(self, *, create: bool = True) -> Settings:
        """The deployment's tenant and default subscription; made on first use."""
        path = self.path / "settings.json"
        if path.exists():
            raw = json.loads(path.read_text())
            return Settings(tenant_id=raw["tenantId"], subscription_id=raw["subscriptionId"])
        if not create:
            raise ConfigurationError(f"{self.path} is not an iotops data directory")
        self.ensure()
        settings = Settings(tenant_id=str(uuid.uuid4()), subscription_id=str(uuid.uuid4()))
        body = {"tenantId": settings.tenant_id, "subscriptionId": settings.subscription_id}
        write_private_file(path, json.dumps(body, indent=2).encode())
        return settings

    def write_endpoints(self, endpoints: dict[str, Any]) -> None:
        write_private_file(
            self.endpoints_path, (json.dumps(endpoints, indent=2) + "\n").encode()
        )

    def read_endpoints(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self.endpoints_path.read_text())
        except FileNotFoundError as exc:
            raise ConfigurationError(
                f"no running server found: {self.endpoints_path} does not exist "
                "(start one with `iotops serve`)"
            ) from exc
        return data

    def clear_endpoints(self) -> None:
        self.endpoints_path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: not ours to judge, assume it runs
    return True
