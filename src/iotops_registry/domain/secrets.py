"""Synced secrets and Key Vault secret references: wire models and value objects.

A *synced secret* belongs to an instance and maps Key Vault secrets to the keys of one
Kubernetes secret, as ``az iot ops secretsync`` does. An ArtifactPullSecret endpoint's
``secretRef`` names a synced secret with the keys ``username`` and ``password`` (or one
``.dockerconfigjson`` key). Values live only in the vault; nothing here ever holds one, except
:class:`KeyVaultSecretBody`, the write-only body that creates a Key Vault secret.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from .models import _Wire

__all__ = [
    "DOCKER_CONFIG_KEY",
    "PASSWORD_KEY",
    "USERNAME_KEY",
    "KeyVaultSecretBody",
    "SecretInfo",
    "SecretMapping",
    "SyncedSecretBody",
    "check_kv_name",
    "split_source",
]

USERNAME_KEY = "username"
PASSWORD_KEY = "password"
DOCKER_CONFIG_KEY = ".dockerconfigjson"
MAX_SECRET_BYTES = 25 * 1024

_KV_NAME = re.compile(r"^[0-9a-zA-Z-]{1,127}$")
_KV_VERSION = re.compile(r"^[0-9a-fA-F]{32}$")
_TARGET_KEY = re.compile(r"^[-._a-zA-Z0-9]{1,253}$")


def check_kv_name(value: str) -> str | None:
    if not _KV_NAME.fullmatch(value):
        return (
            f"'{value[:130]}' is not a valid Key Vault secret name: use 1 to 127 letters, "
            "digits and hyphens."
        )
    return None


def split_source(source: str) -> tuple[str, str | None]:
    """``name`` or ``name@version`` -> (name, version or None)."""
    name, _, version = source.partition("@")
    return name, (version or None)


class SecretMapping(_Wire):
    sourcePath: str
    targetKey: str

    @field_validator("sourcePath")
    @classmethod
    def _source(cls, v: str) -> str:
        name, version = split_source(v)
        problem = check_kv_name(name)
        if problem:
            raise PydanticCustomError("InvalidKeyVaultSecretName", problem)
        if "@" in v and (version is None or not _KV_VERSION.fullmatch(version)):
            raise PydanticCustomError(
                "InvalidKeyVaultSecretVersion",
                "A pinned version must follow '@' and be 32 hexadecimal characters.",
            )
        return v

    @field_validator("targetKey")
    @classmethod
    def _target(cls, v: str) -> str:
        if not _TARGET_KEY.fullmatch(v):
            raise PydanticCustomError(
                "InvalidTargetKey",
                f"'{v[:60]}' is not a valid Kubernetes secret key: use letters, digits, "
                "'-', '_' and '.'.",
            )
        return v


class SyncedSecretProperties(_Wire):
    kubernetesSecretType: Literal["Opaque"] = "Opaque"
    objectSecretMapping: list[SecretMapping] = Field(min_length=1, max_length=64)

    @field_validator("objectSecretMapping")
    @classmethod
    def _unique(cls, v: list[SecretMapping]) -> list[SecretMapping]:
        seen: set[str] = set()
        for item in v:
            if item.targetKey in seen:
                raise PydanticCustomError(
                    "DuplicateTargetKey",
                    f"The target key '{item.targetKey}' is mapped more than once.",
                )
            seen.add(item.targetKey)
        return v


class SyncedSecretBody(_Wire):
    properties: SyncedSecretProperties


class KeyVaultSecretProperties(_Wire):
    value: str = Field(min_length=1)
    contentType: str | None = Field(default=None, max_length=255)
    tags: dict[str, str] | None = Field(default=None, max_length=15)

    @field_validator("value")
    @classmethod
    def _size(cls, v: str) -> str:
        if len(v.encode("utf-8")) > MAX_SECRET_BYTES:
            # Never echo the value: only its size.
            raise PydanticCustomError(
                "SecretValueTooLarge",
                f"A Key Vault secret value may be at most {MAX_SECRET_BYTES} bytes.",
            )
        return v


class KeyVaultSecretBody(_Wire):
    properties: KeyVaultSecretProperties


@dataclass(frozen=True)
class SecretInfo:
    """What may be shown about a Key Vault secret: never its value."""

    name: str
    version: str | None = None
    content_type: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    enabled: bool = True
    updated: int | None = None  # unix seconds

    def to_dict(self) -> dict[str, object]:
        props: dict[str, object] = {"enabled": self.enabled}
        if self.version:
            props["version"] = self.version
        if self.content_type:
            props["contentType"] = self.content_type
        if self.tags:
            props["tags"] = self.tags
        if self.updated is not None:
            props["updated"] = self.updated
        return {"name": self.name, "properties": props}

