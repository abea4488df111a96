"""Where the vault's key-encryption key (KEK) comes from.

``IOTOPS_VAULT_KEK`` (base64 of 32 bytes) wins; no file is written then. Otherwise the key
is the 32 raw bytes of ``DIR/vault/kek`` (mode 0600), which :func:`create_kek` makes on a
first start. Deciding *whether* a new key may be made is the caller's job: making one
while the database holds data sealed with another would lose that data.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..config import write_private_file
from ..errors import ConfigurationError
from .crypto import KEY_BYTES

__all__ = ["ENV_KEK", "KeyMaterial", "create_kek", "kek_path", "read_kek"]

ENV_KEK = "IOTOPS_VAULT_KEK"

log = logging.getLogger("iotops_registry.vault")


@dataclass(frozen=True)
class KeyMaterial:
    key: bytes = field(repr=False)
    source: str  # for messages: the env variable's name or the file's path


def kek_path(data_dir: Path) -> Path:
    return data_dir / "vault" / "kek"


def _from_env(text: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise ConfigurationError(
            f"{ENV_KEK} must be the base64 encoding of {KEY_BYTES} bytes "
            f"(make one with: openssl rand -base64 {KEY_BYTES})"
        )
    return key


def read_kek(path: Path, environ: Mapping[str, str]) -> KeyMaterial | None:
    """The configured KEK, or ``None`` when neither the variable nor the file exists."""
    text = environ.get(ENV_KEK)
    if text:
        return KeyMaterial(_from_env(text), ENV_KEK)
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigurationError(f"cannot read the vault key {path}: {exc.strerror}") from None
    if len(key) != KEY_BYTES:
        raise ConfigurationError(f"the vault key {path} must hold exactly {KEY_BYTES} bytes")
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        log.warning("the vault key %s is readable by other users; chmod 600 it", path)
    return KeyMaterial(key, str(path))


def create_kek(path: Path) -> KeyMaterial:
    key = os.urandom(KEY_BYTES)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_private_file(path, key, mode=0o600)
    log.info("created a new vault key in %s", path)
    return KeyMaterial(key, str(path))
