"""The catalog's query model: filters, free text, sort and paging, parsed once from the query
string (the API and the CLI share it), validated, and turned into plain values the store
compiles into SQL."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..errors import InvalidRequestError
from .semver import VersionRange, parse_range, version_key

__all__ = ["FACETS", "KINDS", "SORTS", "CatalogQuery", "search_terms", "search_text", "skip_token"]

KINDS = ("graph", "module", "connector")
SORTS = ("name", "semver", "lastPushed")
# facet -> the query parameter that filters on it
FACETS: dict[str, str] = {
    "endpoint": "endpoint",
    "operationType": "operationType",
    "module": "module",
    "endpointType": "endpointType",
    "architecture": "architecture",
    "vendor": "vendor",
    # signed, unsigned, invalidsignature, notchecked (the endpoint's code-signing CAs)
    "signature": "signature",
}
_WORD = re.compile(r"[0-9a-z]+")


def search_text(*parts: str | None) -> str:
    """The indexed text: lower-case words of letters and digits, so SQLite FTS5 and
    PostgreSQL's ``simple`` configuration split the same way."""
    return " ".join(_WORD.findall(" ".join(p for p in parts if p).lower()))


def search_terms(text: str) -> list[str]:
    return _WORD.findall(text.lower())[:16]


def _skip(token: str | None) -> int:
    if not token:
        return 0
    try:
        value = int(base64.urlsafe_b64decode(token.encode() + b"==").decode())
    except (ValueError, UnicodeDecodeError):
        value = -1
    if value < 0:
        raise InvalidRequestError("$skipToken is not one this server gave.",
                                  code="InvalidSkipToken", target="$skipToken")
    return value


def skip_token(offset: int) -> str:
    return base64.urlsafe_b64encode(str(offset).encode()).decode().rstrip("=")


@dataclass(frozen=True)
class CatalogQuery:
    kind: str
    filters: dict[str, str] = field(default_factory=dict)  # facet -> value (lower-cased)
    search: str = ""
    latest: bool = False
    versions: VersionRange | None = None
    runtime: str | None = None  # the sortable key graphs' runtimeVersion must not exceed
    repository: str | None = None
    stripped: bool | None = None
    sort: str = "name"
    descending: bool = False
    top: int = 50
    offset: int = 0

    @classmethod
    def parse(cls, kind: str, params: Mapping[str, str], *,
              instance_version: str | None = None) -> CatalogQuery:
        """From query parameters: the facet names of :data:`FACETS`, ``search``, ``latest``,
        ``versionRange``, ``runtimeVersion`` (or ``compatible=true``: the instance's
        version), ``repository``, ``stripped``, ``orderBy`` (``name``, ``semver``,
        ``lastPushed``, optionally `` desc``), ``$top``, ``$skipToken``."""
        if kind not in KINDS:
            raise InvalidRequestError(f"Unknown catalog kind '{kind}'.", code="InvalidKind")
        filters = {}
        for facet, param in FACETS.items():
            value = params.get(param)
            if value:
                filters[facet] = value.strip().lower()
        order = (params.get("orderBy") or params.get("$orderby") or "name").split()
        if not order or order[0] not in SORTS or len(order) > 2 or (
                len(order) == 2 and order[1].lower() not in ("asc", "desc")):
            raise InvalidRequestError(
                f"orderBy must be one of {', '.join(SORTS)}, optionally followed by asc or "
                "desc.", code="InvalidOrderBy", target="orderBy")
        top_raw = params.get("$top", "50")
        if not top_raw.isdigit() or not 1 <= int(top_raw) <= 1000:
            raise InvalidRequestError("$top must be an integer from 1 to 1000.",
                                      code="InvalidTop", target="$top")
        runtime = params.get("runtimeVersion")
        if (params.get("compatible") or "").lower() == "true":
            if not instance_version:
                raise InvalidRequestError(
                    "The instance has no properties.version to check compatibility with; "
                    "give runtimeVersion.", code="InvalidRuntimeVersion", target="compatible")
            runtime = instance_version
        runtime_key = None
        if runtime:
            runtime_key = version_key(runtime)
            if runtime_key == "0":
                raise InvalidRequestError(f"runtimeVersion '{runtime}' is not a version.",
                                          code="InvalidRuntimeVersion", target="runtimeVersion")
        range_text = params.get("versionRange")
        stripped = params.get("stripped")
        return cls(
            kind,
            filters,
            (params.get("search") or "").strip()[:200],
            (params.get("latest") or "").lower() == "true",
            parse_range(range_text) if range_text else None,
            runtime_key,
            params.get("repository") or None,
            None if stripped is None else stripped.lower() == "true",
            order[0],
            len(order) == 2 and order[1].lower() == "desc",
            int(top_raw),
            _skip(params.get("$skipToken") or params.get("$skiptoken")),
        )
