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
        write_private_file(path, json.dumps(body, indent=2).encode(), mode=0o644)
        return settings

    def write_endpoints(self, endpoints: dict[str, Any]) -> None:
        write_private_file(
            self.endpoints_path, (json.dumps(endpoints, indent=2) + "\n").encode(), mode=0o644
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
