"""Lists that page: ``/v2/<repo>/tags/list`` and ``/v2/_catalog``.

Pages are followed through ``Link: <...>; rel="next"`` (RFC 5988, as distribution and ACR
send it), only within the registry's origin, and never twice to the same URL.
"""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from ..errors import RegistryHTTPError
from ..transport import CATALOG, pull
from .session import Session

__all__ = ["acr_tags", "catalog", "list_tags", "paged"]

PAGE_LIMIT = 16 << 20


async def paged(session: Session, first: httpx.URL, key: str, scopes: Sequence[str]) -> list[str]:
    """Every string in ``key`` across all pages starting at ``first``."""
    found: list[str] = []
    seen: set[str] = set()
    url: httpx.URL | None = first
    while url is not None and str(url) not in seen:
        seen.add(str(url))
        response, body = await session.fetch_json(url, scopes=scopes, limit=PAGE_LIMIT)
        items = body.get(key) if isinstance(body, dict) else None
        if items is None:
            items = []
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise RegistryHTTPError(f"{first.path}: {key!r} is not a list of strings", status=200)
        found.extend(items)
        url = None
        following = response.links.get("next", {}).get("url")
        if following:
            candidate = response.url.join(following)
            if session.same_origin(candidate):
                url = candidate
    return found


def _params(page_size: int | None) -> dict[str, str] | None:
    return {"n": str(page_size)} if page_size else None


async def list_tags(
    session: Session, repository: str, *, page_size: int | None = None
) -> list[str]:
    first = session.url(f"/v2/{repository}/tags/list", _params(page_size))
    return await paged(session, first, "tags", (pull(repository),))


async def catalog(session: Session, *, page_size: int | None = None) -> list[str]:
    first = session.url("/v2/_catalog", _params(page_size))
    return await paged(session, first, "repositories", (CATALOG,))


async def acr_tags(session: Session, repository: str, *, page_size: int = 1000
                   ) -> dict[str, str]:
    """Tag -> digest through ACR's listing API (``/acr/v1/{repo}/_tags``): one request per
    page instead of one per tag. Raises ``RegistryHTTPError`` (404 from a registry without
    the API)."""
    found: dict[str, str] = {}
    seen: set[str] = set()
    url: httpx.URL | None = session.url(f"/acr/v1/{repository}/_tags", {"n": str(page_size)})
    scopes = (f"repository:{repository}:metadata_read",)
    while url is not None and str(url) not in seen:
        seen.add(str(url))
        response, body = await session.fetch_json(url, scopes=scopes, limit=PAGE_LIMIT)
        tags = body.get("tags") if isinstance(body, dict) else None
        if not isinstance(tags, list):
            raise RegistryHTTPError(f"/acr/v1/{repository}/_tags: no tag list", status=200)
        for tag in tags:
            if isinstance(tag, dict) and isinstance(tag.get("name"), str) and isinstance(
                    tag.get("digest"), str):
                found[tag["name"]] = tag["digest"]
        url = None
        following = response.links.get("next", {}).get("url")
        if following:
            candidate = response.url.join(following)
            if session.same_origin(candidate):
                url = candidate
    return found
