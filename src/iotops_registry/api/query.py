"""The query string, parsed once per request (keys as sent, and lower-cased for ARM's
case-insensitive ``$top``/``$skipToken``/``$expand``)."""

from __future__ import annotations

from urllib.parse import unquote_plus

from starlette.requests import Request

__all__ = ["query", "query_ci"]

_KEY = "iotops.query"


def _parse(raw: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in raw.decode("latin-1").split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        if "%" in part or "+" in part:
            key, value = unquote_plus(key), unquote_plus(value)
        out.setdefault(key, value)  # the first value wins, as Starlette's .get() does
    return out


def query(request: Request) -> dict[str, str]:
    scope = request.scope
    cached: dict[str, str] | None = scope.get(_KEY)
    if cached is None:
        cached = _parse(scope.get("query_string", b""))
        scope[_KEY] = cached
    return cached


def query_ci(request: Request) -> dict[str, str]:
    """Keys lower-cased."""
    return {k.lower(): v for k, v in query(request).items()}
