"""Who may do what on the development registry: roles, repository tokens, anonymous pull.

The rules are ACR's:

* ``AcrPull`` allows ``pull`` on every repository and listing the catalog; ``AcrPush`` adds
  ``push``; ``AcrDelete`` allows only ``delete`` (no pull, no catalog). Roles are assigned
  to a client id (or an object id) and checked when a token is issued, so removing a role
  takes effect at the next token request.
* A repository token (``az acr token`` with a scope map) allows its actions on the
  repositories its patterns match (``team/*``), and never the catalog.
* Anonymous pull, when enabled, allows ``pull`` on every repository, and nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ..errors import ValidationError
from .scopes import ACTIONS, CATALOG, Allowed, matches

__all__ = [
    "METADATA_READ",
    "ROLES",
    "anonymous_allowed",
    "canonical_role",
    "check_token_name",
    "check_token_scopes",
    "role_allowed",
    "token_allowed",
]

# AcrDelete (delete only) authenticates at the exchange but cannot pull or list: what a
# connection test must not report as a working pull.
ROLES: dict[str, tuple[str, ...]] = {
    "AcrPull": ("pull",),
    "AcrPush": ("pull", "push"),
    "AcrDelete": ("delete",),
}
# ACR's listing API (``/acr/v1/``) asks for ``metadata_read``: whoever may pull may list.
METADATA_READ = "metadata_read"
_NOTHING: frozenset[str] = frozenset()
_TOKEN_NAME = re.compile(r"^[A-Za-z0-9-]{5,50}$")
_PATTERN = re.compile(r"^[a-z0-9._/*-]{1,256}$")


def canonical_role(role: str) -> str:
    for name in ROLES:
        if name.lower() == role.strip().lower():
            return name
    raise ValidationError(f"The role must be one of {', '.join(ROLES)}.", target="role")


def _with_metadata(actions: frozenset[str]) -> frozenset[str]:
    return actions | {METADATA_READ} if "pull" in actions else actions


def role_allowed(roles: Iterable[str]) -> Allowed:
    actions = _with_metadata(frozenset(a for role in roles for a in ROLES.get(role, ())))

    def allowed(kind: str, name: str) -> frozenset[str]:
        if kind == "repository":
            return actions
        if (kind, name) == CATALOG and "pull" in actions:
            return frozenset({"*"})
        return _NOTHING

    return allowed


def token_allowed(scopes: list[dict[str, Any]]) -> Allowed:
    def allowed(kind: str, name: str) -> frozenset[str]:
        if kind != "repository":
            return _NOTHING  # scope-map tokens cannot list the catalog
        return _with_metadata(frozenset(
            a for s in scopes if matches(str(s["repository"]), name) for a in s["actions"]
        ))

    return allowed


def anonymous_allowed(enabled: bool) -> Allowed:
    pull = frozenset({"pull"}) if enabled else _NOTHING

    def allowed(kind: str, name: str) -> frozenset[str]:
        return pull if kind == "repository" else _NOTHING

    return allowed


def check_token_name(name: Any, reserved: str) -> str:
    if not isinstance(name, str) or not _TOKEN_NAME.match(name) or name == reserved:
        raise ValidationError(
            "The token name must be 5 to 50 letters, digits or '-'.", target="name"
        )
    return name


def check_token_scopes(raw: Any) -> list[dict[str, Any]]:
    """``[{"repository": pattern, "actions": [...]}]``, validated and normalised."""
    if not isinstance(raw, list) or not raw or len(raw) > 100:
        raise ValidationError("scopes must be a list of 1 to 100 entries.", target="scopes")
    scopes: list[dict[str, Any]] = []
    for i, entry in enumerate(raw):
        target = f"scopes[{i}]"
        if not isinstance(entry, dict):
            raise ValidationError("Each scope must be an object.", target=target)
        pattern, actions = entry.get("repository"), entry.get("actions")
        if not isinstance(pattern, str) or not _PATTERN.match(pattern):
            raise ValidationError(
                "repository must be a repository name or pattern (lower-case letters, "
                "digits, '.', '_', '-', '/' and '*').",
                target=f"{target}.repository",
            )
        if (
            not isinstance(actions, list)
            or not actions
            or not all(isinstance(a, str) and a in ACTIONS for a in actions)
        ):
            raise ValidationError(
                f"actions must be a non-empty list of {', '.join(ACTIONS)}.",
                target=f"{target}.actions",
            )
        scopes.append({"repository": pattern, "actions": list(dict.fromkeys(actions))})
    return scopes
