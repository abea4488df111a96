"""The catalog's pure core: what an artifact is (:mod:`.classify`), what the index keeps of
graphs and connector metadata (:mod:`.summary`), semantic versions and ranges
(:mod:`.semver`), and the query model (:mod:`.query`). No I/O: the sync engine
(``access.catalog_sync``) reads registries, the store (``store.catalog_store``) indexes."""

from __future__ import annotations

from .classify import MAX_CONTENT, Recognition, recognise, repush_command, stripped_warning
from .query import FACETS, KINDS, SORTS, CatalogQuery, search_terms, search_text, skip_token
from .semver import VersionRange, parse_range, parse_version, version_key
from .summary import connector_summary, graph_summary, looks_like, parse_content

__all__ = [
    "FACETS",
    "KINDS",
    "MAX_CONTENT",
    "SORTS",
    "CatalogQuery",
    "Recognition",
    "VersionRange",
    "connector_summary",
    "graph_summary",
    "looks_like",
    "parse_content",
    "parse_range",
    "parse_version",
    "recognise",
    "repush_command",
    "search_terms",
    "search_text",
    "skip_token",
    "stripped_warning",
    "version_key",
]
