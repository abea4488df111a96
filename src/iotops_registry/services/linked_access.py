"""Linked access: what a write hands to a registry must be readable by the writer.

A synced secret maps vault secrets into an instance, and a pull-secret endpoint sends them
to its host. Write access to an instance alone must not be a way to read a vault secret, so
creating or replacing a synced secret, and pointing a pull-secret endpoint at a (new) host or
a (new) synced secret, need ``getSecret`` on every vault secret involved, as if the caller
read them itself. Setting a vault secret through an instance needs ``setSecret`` on it.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..security import Authorizer, Principal

__all__ = ["GET_SECRET", "SET_SECRET", "LinkedAccess"]

GET_SECRET = "Microsoft.KeyVault/vaults/secrets/getSecret/action"
SET_SECRET = "Microsoft.KeyVault/vaults/secrets/setSecret/action"


class LinkedAccess:
    def __init__(self, authorizer: Authorizer, vault_scope: str) -> None:
        self._authorizer = authorizer
        self._vault_scope = vault_scope

    def require_read(self, principal: Principal, kv_names: Iterable[str]) -> None:
        """:class:`AuthorizationFailed` unless ``principal`` may read every one."""
        self.require(principal, GET_SECRET, kv_names)

    def require(self, principal: Principal, action: str, kv_names: Iterable[str]) -> None:
        for name in kv_names:
            scope = f"{self._vault_scope}/secrets/{name.lower()}"
            self._authorizer.check(principal, action, scope, data=True)
