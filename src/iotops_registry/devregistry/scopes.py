"""Docker/OCI token scopes and the grant rule: the intersection of requested and allowed.

A scope is ``type:name:action[,action...]`` (``repository:team/app:pull,push``,
``registry:catalog:*``). Clients send several, repeated or space-separated. A partial grant
is not an error: the token lists what was allowed, and the registry refuses the rest.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from ..errors import InvalidRequestError

__all__ = [
    "ACTIONS",
    "CATALOG",
    "Allowed",
    "Scope",
    "grant",
    "matches",
    "parse_scopes",
    "scope_key",
]

ACTIONS = ("pull", "push", "delete")
CATALOG = ("registry", "catalog")
# What a principal may do with one resource: (type, name) -> actions.
Allowed = Callable[[str, str], frozenset[str]]

_TYPE = re.compile(r"^[a-z0-9]+(\([a-z0-9]+\))?$")
_MAX_SCOPES = 64


@dataclass(frozen=True)
class Scope:
    type: str
    name: str
    actions: tuple[str, ...]

    @property
    def base_type(self) -> str:
        """``repository(plugin)`` names the resource class too; the type is ``repository``."""
        return self.type.split("(", 1)[0]

    def __str__(self) -> str:
        return f"{self.type}:{self.name}:{','.join(self.actions)}"


def parse_scopes(values: Iterable[str]) -> list[Scope]:
    scopes: list[Scope] = []
    for value in values:
        for text in value.split():
            kind, sep, rest = text.partition(":")
            name, sep2, actions = rest.rpartition(":")
            if not sep or not sep2 or not name or not _TYPE.match(kind):
                raise InvalidRequestError(f"The scope '{text[:200]}' is not valid.",
                                          code="INVALID_SCOPE")
            wanted = tuple(dict.fromkeys(a for a in actions.split(",") if a))
            scopes.append(Scope(kind, name, wanted))
    if len(scopes) > _MAX_SCOPES:
        raise InvalidRequestError(f"At most {_MAX_SCOPES} scopes may be asked for at once.",
                                  code="INVALID_SCOPE")
    return scopes


def scope_key(scopes: Iterable[Scope]) -> str:
    """A stable name for a set of scopes, for the counters ("" for none)."""
    return " ".join(sorted({str(s) for s in scopes}))


def matches(pattern: str, repository: str) -> bool:
    """ACR scope-map wildcards: ``team/*`` matches every repository under ``team/``."""
    return fnmatchcase(repository, pattern)


def grant(requested: Iterable[Scope], allowed: Allowed) -> list[dict[str, Any]]:
    """The ``access`` claim: per requested resource, the actions both asked for and allowed."""
    merged: dict[tuple[str, str], list[str]] = {}
    for scope in requested:
        permitted = allowed(scope.base_type, scope.name)
        actions = merged.setdefault((scope.type, scope.name), [])
        actions += [a for a in scope.actions if a in permitted and a not in actions]
    return [
        {"type": kind, "name": name, "actions": actions}
        for (kind, name), actions in merged.items()
        if actions
    ]
