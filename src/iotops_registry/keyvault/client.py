"""``KeyVaultSecrets``: a narrow adapter over ``azure.keyvault.secrets.SecretClient``.

It exposes only what the project needs, returns :class:`SecretInfo` (never a value) for
listings, and maps Azure SDK exceptions onto this project's errors without copying any
response text that could carry a value.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from azure.core.credentials import TokenCredential
from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
)
from azure.keyvault.secrets import SecretClient, SecretProperties

from ..domain.secrets import SecretInfo, check_kv_name
from ..errors import ApiError, SecretUnavailable
from ..netutil import is_loopback

__all__ = ["KeyVaultSecrets", "SecretUnavailable"]

log = logging.getLogger("iotops_registry.keyvault")


def _info(props: SecretProperties) -> SecretInfo:
    updated = props.updated_on
    return SecretInfo(
        name=props.name or "",
        version=props.version,
        content_type=props.content_type,
        tags=dict(props.tags or {}),
        enabled=bool(props.enabled) if props.enabled is not None else True,
        updated=int(updated.timestamp()) if updated else None,
    )


def _check_name(name: str) -> None:
    """Key Vault's name rule, checked here so that the caller hears the rule itself rather
    than the vault's bare ``BadParameter`` (or, for reads, a misleading "unavailable")."""
    problem = check_kv_name(name)
    if problem:
        raise ApiError(problem, code="InvalidKeyVaultSecretName", status=400, target="name")


class KeyVaultSecrets:
    """Secrets of one vault, through the unmodified Azure SDK client."""

    def __init__(
        self, vault_url: str, credential: TokenCredential, *, ca_file: str | None = None
    ) -> None:
        self.vault_url = vault_url.rstrip("/")
        kwargs: dict[str, Any] = {}
        if ca_file:
            kwargs["connection_verify"] = ca_file
        # Challenge-resource verification needs a vault host under vault.azure.net; an IP
        # cannot satisfy it, so it is relaxed only for loopback vaults.
        self._client = SecretClient(
            self.vault_url,
            credential,
            verify_challenge_resource=not is_loopback(urlsplit(self.vault_url).netloc),
            retry_total=2,
            **kwargs,
        )

    def close(self) -> None:
        self._client.close()

    def list(self) -> list[SecretInfo]:
        try:
            return sorted(
                (_info(p) for p in self._client.list_properties_of_secrets()),
                key=lambda s: s.name.lower(),
            )
        except AzureError as exc:
            raise self._unavailable("the vault's secrets could not be listed", exc) from None

    def info(self, name: str, version: str | None = None) -> SecretInfo | None:
        """Metadata of a secret, or of one version; ``None`` if it does not exist.

        Reads the versions list, so no value ever enters this process just to check.
        """
        _check_name(name)
        try:
            versions = list(self._client.list_properties_of_secret_versions(name))
        except ResourceNotFoundError:
            return None
        except AzureError as exc:
            raise self._unavailable(f"the secret '{name}' could not be read", exc) from None
        if version is not None:
            match = next((v for v in versions if v.version == version), None)
            return _info(match) if match else None
        if not versions:
            return None
        return _info(max(versions, key=lambda p: p.created_on.timestamp() if p.created_on else 0))

    def set(
        self,
        name: str,
        value: str,
        *,
        content_type: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> SecretInfo:
        _check_name(name)
        try:
            secret = self._client.set_secret(name, value, content_type=content_type, tags=tags)
        except HttpResponseError as exc:
            code = exc.error.code if exc.error else None
            raise ApiError(
                f"Key Vault refused to store the secret '{name}' ({code or exc.status_code}).",
                code="KeyVaultRequestRejected",
                status=409 if exc.status_code == 409 else 400,
                target="properties.value" if exc.status_code == 400 else None,
            ) from None
        except AzureError as exc:
            raise self._unavailable(f"the secret '{name}' could not be stored", exc) from None
        return _info(secret.properties)

    def value(self, name: str, version: str | None = None) -> tuple[str, str | None]:
        """The value (and its version) of a secret. Raises :class:`SecretUnavailable`."""
        _check_name(name)
        try:
            secret = self._client.get_secret(name, version)
        except ResourceNotFoundError:
            raise SecretUnavailable(
                f"The Key Vault secret '{name}' does not exist in {self.vault_url}.",
                code="KeyVaultSecretNotFound",
            ) from None
        except HttpResponseError as exc:
            inner = _inner_code(exc)
            raise SecretUnavailable(
                f"The Key Vault secret '{name}' cannot be read: "
                f"{inner or exc.error.code if exc.error else exc.status_code}.",
                code="KeyVaultSecretForbidden" if exc.status_code == 403 else None,
            ) from None
        except AzureError as exc:
            raise self._unavailable(f"the secret '{name}' could not be read", exc) from None
        if secret.value is None:
            raise SecretUnavailable(f"The Key Vault secret '{name}' has no value.")
        return secret.value, secret.properties.version

    def delete(self, name: str, *, purge: bool = False) -> bool:
        """Soft-delete a secret (and purge it when asked); ``False`` if it did not exist."""
        _check_name(name)
        try:
            self._client.begin_delete_secret(name).wait()
            if purge:
                self._client.purge_deleted_secret(name)
        except ResourceNotFoundError:
            return False
        except AzureError as exc:
            raise self._unavailable(f"the secret '{name}' could not be deleted", exc) from None
        return True

    def _unavailable(self, what: str, exc: AzureError) -> SecretUnavailable:
        # Log the exception type only; SDK messages can quote response bodies.
        log.warning("Key Vault request failed: %s (%s)", what, type(exc).__name__)
        if isinstance(exc, ClientAuthenticationError):
            return SecretUnavailable(
                f"Key Vault at {self.vault_url} rejected our credentials: {what}.",
                code="KeyVaultAuthenticationFailed",
            )
        return SecretUnavailable(
            f"Key Vault at {self.vault_url} is not reachable or failed: {what}.",
            code="KeyVaultUnavailable",
            status=502,
        )


def _inner_code(exc: HttpResponseError) -> str | None:
    error = exc.error
    if error is None:
        return None
    inner = getattr(error, "innererror", None) or {}
    code = inner.get("code") if isinstance(inner, dict) else None
    return str(code) if code else None
