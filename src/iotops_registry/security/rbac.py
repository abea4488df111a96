"""Role-based access control in the manner of Azure RBAC: built-in roles, scopes, actions.

Pure functions, no I/O. A role definition has ``actions``/``notActions`` (the management
plane: ARM and the ``/-/dev`` admin routes) and ``dataActions``/``notDataActions`` (the data
plane: the vault's secret operations). An action is permitted by a role when it matches one
of its actions and none of its not-actions; ``*`` matches any run of characters, ``/``
included, and matching ignores case, as in Azure. Owner and Contributor grant no data
actions (as in Azure): reading a vault secret needs a Key Vault role.

A scope is ``/``, a subscription, a resource group, a resource or a child resource; an
assignment applies at its scope and everything below it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "BUILTIN_ROLES",
    "RoleDefinition",
    "action_matches",
    "find_role",
    "normalize_scope",
    "permits",
    "scope_covers",
]


@dataclass(frozen=True)
class RoleDefinition:
    id: str  # the GUID Azure gives the built-in role
    name: str
    description: str
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    data_actions: tuple[str, ...] = ()
    not_data_actions: tuple[str, ...] = ()

    def permits(self, action: str, *, data: bool = False) -> bool:
        allow, deny = (
            (self.data_actions, self.not_data_actions)
            if data
            else (self.actions, self.not_actions)
        )
        return any(action_matches(p, action) for p in allow) and not any(
            action_matches(p, action) for p in deny
        )


_KV_CONTROL_READ = (
    "Microsoft.Authorization/*/read",
    "Microsoft.Resources/subscriptions/resourceGroups/read",
    "Microsoft.KeyVault/checkNameAvailability/read",
    "Microsoft.KeyVault/deletedVaults/read",
    "Microsoft.KeyVault/locations/*/read",
    "Microsoft.KeyVault/vaults/*/read",
    "Microsoft.KeyVault/operations/read",
)

# The names, ids and permissions of Azure's built-in roles (the parts this server serves).
BUILTIN_ROLES: tuple[RoleDefinition, ...] = (
    RoleDefinition(
        "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
        "Owner",
        "Grants full access to manage all resources, including the ability to assign roles "
        "in Azure RBAC.",
        actions=("*",),
    ),
    RoleDefinition(
        "b24988ac-6180-42a0-ab88-20f7382dd24c",
        "Contributor",
        "Grants full access to manage all resources, but does not allow you to assign roles "
        "in Azure RBAC.",
        actions=("*",),
        not_actions=(
            "Microsoft.Authorization/*/Delete",
            "Microsoft.Authorization/*/Write",
            "Microsoft.Authorization/elevateAccess/Action",
        ),
    ),
    RoleDefinition(
        "acdd72a7-3385-48ef-bd42-f606fba81ae7",
        "Reader",
        "View all resources, but does not allow you to make any changes.",
        actions=("*/read",),
    ),
    RoleDefinition(
        "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
        "Key Vault Secrets Officer",
        "Perform any action on the secrets of a key vault, except manage permissions.",
        actions=_KV_CONTROL_READ,
        data_actions=("Microsoft.KeyVault/vaults/secrets/*",),
    ),
    RoleDefinition(
        "4633458b-17de-408a-b874-0445c86b69e6",
        "Key Vault Secrets User",
        "Read secret contents.",
        data_actions=(
            "Microsoft.KeyVault/vaults/secrets/getSecret/action",
            "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
        ),
    ),
    RoleDefinition(
        "21090545-7ca7-4776-b22c-e363652d74d2",
        "Key Vault Reader",
        "Read metadata of key vaults and its certificates, keys, and secrets. Cannot read "
        "sensitive values such as secret contents or key material.",
        actions=_KV_CONTROL_READ,
        data_actions=(
            "Microsoft.KeyVault/vaults/*/read",
            "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
        ),
    ),
)
_BY_KEY = {
    **{r.id: r for r in BUILTIN_ROLES},
    **{r.name.lower(): r for r in BUILTIN_ROLES},
}


def find_role(name_or_id: str) -> RoleDefinition | None:
    """A built-in role by name (any case), GUID, or role definition resource id."""
    key = name_or_id.strip().rstrip("/").lower()
    if "/roledefinitions/" in key:
        key = key.rsplit("/", 1)[1]
    return _BY_KEY.get(key)


@functools.lru_cache(maxsize=512)
def _pattern(permission: str) -> re.Pattern[str]:
    return re.compile(
        ".*".join(re.escape(part) for part in permission.split("*")), re.IGNORECASE
    )


def action_matches(permission: str, action: str) -> bool:
    """Whether a role's permission (``*``, ``*/read``, ``Microsoft.KeyVault/vaults/secrets/*``)
    covers an action."""
    return _pattern(permission).fullmatch(action) is not None


def normalize_scope(scope: str) -> str:
    """``/`` or ``/a/b`` without a trailing slash; ``//`` collapsed. Case is kept."""
    parts = [p for p in scope.split("/") if p]
    return "/" + "/".join(parts)


def scope_covers(assigned: str, scope: str) -> bool:
    """An assignment at ``assigned`` applies at ``scope`` (itself or below), ignoring case."""
    a, s = normalize_scope(assigned).lower(), normalize_scope(scope).lower()
    return a == "/" or s == a or s.startswith(a + "/")


def permits(
    grants: Iterable[tuple[str, RoleDefinition]], action: str, scope: str, *, data: bool = False
) -> bool:
    """Whether any (scope, role) grant permits ``action`` at ``scope``."""
    return any(
        scope_covers(assigned, scope) and role.permits(action, data=data)
        for assigned, role in grants
    )
