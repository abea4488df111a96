"""Who has access to the development registry: role assignments, repository tokens and
the anonymous-pull flag, as the admin routes manage them and the token service reads them.

Stands in for ``az role assignment create --role AcrPull --scope <registry>``,
``az acr token create`` (a scope map of repository patterns and actions; the password is
shown once, only its salted scrypt hash is stored) and ``az acr update
--anonymous-pull-enabled``.
"""

from __future__ import annotations

import re
import time
from typing import Any

from ..errors import ConflictError, InvalidRequestError, NotFoundError
from ..identity import IdentityService
from ..store import StoreConflict
from ..store.devregistry_store import DevRegistryStore, TokenRecord
from .passwords import hash_password, new_password, verify_password
from .policy import ROLES, canonical_role, check_token_name, check_token_scopes

__all__ = ["REFRESH_TOKEN_USERNAME", "RegistryAccounts"]

# ``docker login -u 00000000-... -p <refresh token>``, as ACR documents: never a token name.
REFRESH_TOKEN_USERNAME = "00000000-0000-0000-0000-000000000000"
_ANONYMOUS_SETTING = "anonymous_pull"
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


class RegistryAccounts:
    """Roles, repository tokens and the anonymous flag of one development registry."""

    def __init__(self, store: DevRegistryStore, identities: IdentityService, registry: str):
        self._store = store
        self._identities = identities
        self.registry = registry  # the registry's host, the scope of every role assignment

    def describe(self, client_id: str) -> str:
        """How messages name a principal: an identity by its name, else by client id."""
        identity = self._identities.find(client_id=client_id)
        if identity is not None:
            return f"The identity {identity.label} (client id {client_id})"
        return f"The principal with client id {client_id}"

    # --- role assignments --------------------------------------------------------------

    def roles_of(self, *principal_ids: str) -> set[str]:
        """The roles assigned to any of the ids (a client id and an object id)."""
        roles: set[str] = set()
        for pid in {p.lower() for p in principal_ids if p}:
            roles |= self._store.roles_of(pid)
        return roles & set(ROLES)

    def _assignee(self, assignee: Any) -> str:
        if not isinstance(assignee, str) or not assignee.strip():
            raise InvalidRequestError("'assignee' must be a client id or an identity name.",
                                      target="assignee")
        text: str = assignee.strip()
        if _GUID.match(text):
            return text.lower()
        return self._identities.get(text).client_id  # a user-assigned identity's name

    def assign_role(self, assignee: Any, role: Any) -> tuple[dict[str, Any], bool]:
        client_id = self._assignee(assignee)
        name = canonical_role(str(role or ""))
        created = self._store.add_role(client_id, name, int(time.time()))
        return self._role_dict(client_id, name), created

    def remove_role(self, assignee: Any, role: Any) -> bool:
        return self._store.remove_role(self._assignee(assignee), canonical_role(str(role or "")))

    def list_roles(self) -> list[dict[str, Any]]:
        return [self._role_dict(r.assignee, r.role) for r in self._store.list_roles()]

    def _role_dict(self, client_id: str, role: str) -> dict[str, Any]:
        body: dict[str, Any] = {"assignee": client_id, "role": role, "scope": self.registry}
        identity = self._identities.find(client_id=client_id)
        if identity is not None:
            body["principalName"] = identity.name
        return body

    # --- repository tokens -------------------------------------------------------------

    def create_token(self, name: Any, scopes: Any) -> dict[str, Any]:
        token_name = check_token_name(name, REFRESH_TOKEN_USERNAME)
        checked = check_token_scopes(scopes)
        password = new_password()
        record = TokenRecord(token_name, hash_password(password), checked, int(time.time()))
        try:
            self._store.insert_token(record)
        except StoreConflict:
            raise ConflictError(
                f"A token named '{token_name}' exists; delete it first or use another name."
            ) from None
        return {"username": token_name, "password": password, "scopes": checked}

    def token_scopes(self, username: str, password: str) -> list[dict[str, Any]] | None:
        """The scopes of a token whose password is right, else None."""
        record = self._store.token(username)
        if record is None or not verify_password(password, record.password_hash):
            return None
        return record.scopes

    def list_tokens(self) -> list[dict[str, Any]]:
        return [
            {"username": t.name, "scopes": t.scopes, "createdAt": t.created_at}
            for t in self._store.list_tokens()
        ]

    def delete_token(self, name: str) -> None:
        if not self._store.delete_token(name):
            raise NotFoundError(f"The token '{name}' was not found.")

    # --- anonymous pull ----------------------------------------------------------------

    def anonymous_pull(self) -> bool:
        return self._store.setting(_ANONYMOUS_SETTING) == "true"

    def set_anonymous_pull(self, enabled: bool) -> None:
        self._store.set_setting(_ANONYMOUS_SETTING, "true" if enabled else "false")
