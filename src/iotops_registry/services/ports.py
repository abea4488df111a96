"""What the services need from the outside world, as protocols (implemented elsewhere)."""

from __future__ import annotations

from typing import Protocol

from ..domain.secrets import SecretInfo

__all__ = ["SecretSource"]


class SecretSource(Protocol):
    """A vault. ``keyvault.KeyVaultSecrets`` implements it over azure-keyvault-secrets."""

    vault_url: str

    def list(self) -> list[SecretInfo]: ...

    def info(self, name: str, version: str | None = None) -> SecretInfo | None: ...

    def set(
        self,
        name: str,
        value: str,
        *,
        content_type: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> SecretInfo: ...

    def value(self, name: str, version: str | None = None) -> tuple[str, str | None]: ...
