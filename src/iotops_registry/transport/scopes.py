"""Token scopes (``repository:<name>:<actions>``) and how a request carries them.

``remote`` knows what each call needs (pull, push, a mount's source, the catalog) and puts
the scopes on the request as the ``iotops.scopes`` extension; the auth flow reads them to
pick or fetch a token *before* the first attempt, so steady traffic never sees a 401.
"""

from __future__ import annotations

from collections.abc import Iterable

import httpx

__all__ = [
    "CATALOG",
    "SCOPES_EXTENSION",
    "merge_scopes",
    "pull",
    "push",
    "request_scopes",
]

SCOPES_EXTENSION = "iotops.scopes"
CATALOG = "registry:catalog:*"


def pull(repository: str) -> str:
    return f"repository:{repository}:pull"


def push(repository: str) -> str:
    """Push needs pull too: distribution checks blob existence before uploading."""
    return f"repository:{repository}:pull,push"


def merge_scopes(*groups: Iterable[str]) -> tuple[str, ...]:
    """Union of scopes, one entry per resource with its actions merged, sorted: a stable
    token-cache key (``pull`` + ``push`` on one repo → ``repository:r:pull,push``)."""
    actions: dict[str, set[str]] = {}
    for group in groups:
        for scope in group:
            resource, sep, acts = scope.rpartition(":")
            if not sep or not resource:
                actions.setdefault(scope, set())
                continue
            actions.setdefault(resource, set()).update(a for a in acts.split(",") if a)
    merged = [f"{res}:{','.join(sorted(acts))}" if acts else res for res, acts in actions.items()]
    return tuple(sorted(merged))


def request_scopes(request: httpx.Request) -> tuple[str, ...]:
    scopes = request.extensions.get(SCOPES_EXTENSION, ())
    return tuple(scopes) if isinstance(scopes, tuple | list) else ()
