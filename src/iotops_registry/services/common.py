"""Shared pieces of the resource services: preconditions, paging tokens, timestamps."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..errors import InvalidRequestError, PreconditionFailedError
from ..security import Principal
from ..store import StoreConflict

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "Page",
    "Preconditions",
    "WriteResult",
    "decode_skip_token",
    "encode_skip_token",
    "new_etag",
    "now_iso",
    "retry_on_conflict",
    "system_data",
]

DEFAULT_PAGE_SIZE = 200
MAX_PAGE_SIZE = 1000
T = TypeVar("T")


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_etag() -> str:
    return f'"{secrets.token_hex(12)}"'


def _bare(tag: str) -> str:
    tag = tag.strip()
    if tag.startswith("W/"):
        tag = tag[2:]
    return tag.strip('"')


@dataclass(frozen=True)
class Preconditions:
    """``If-Match`` and ``If-None-Match`` as sent by the client (``None`` when absent)."""

    if_match: str | None = None
    if_none_match: str | None = None

    def check(self, current_etag: str | None) -> None:
        if self.if_match is not None:
            wanted = {_bare(t) for t in self.if_match.split(",")}
            if current_etag is None:
                raise PreconditionFailedError(
                    "The resource does not exist, so the If-Match condition cannot hold.",
                    code="PreconditionFailed",
                )
            if "*" not in wanted and _bare(current_etag) not in wanted:
                raise PreconditionFailedError(
                    "The resource was changed by someone else (its ETag no longer matches "
                    "If-Match). Read it again and retry.",
                    code="PreconditionFailed",
                )
        if self.if_none_match is not None and current_etag is not None:
            wanted = {_bare(t) for t in self.if_none_match.split(",")}
            if "*" in wanted or _bare(current_etag) in wanted:
                raise PreconditionFailedError(
                    "The resource already exists (If-None-Match).", code="PreconditionFailed"
                )


@dataclass(frozen=True)
class WriteResult:
    document: str
    etag: str
    created: bool
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Page:
    documents: list[str]
    next_token: str | None


def encode_skip_token(position: Any) -> str:
    raw = json.dumps(position, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_skip_token(token: str | None) -> Any:
    if token is None:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        return json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidRequestError(
            "The $skipToken is not valid. Use the nextLink returned by the previous page.",
            code="InvalidSkipToken",
            target="$skipToken",
        ) from None


def system_data(principal: Principal, now: str, previous: dict[str, Any] | None) -> dict[str, Any]:
    created = previous or {
        "createdBy": principal.display_name,
        "createdByType": principal.principal_type,
        "createdAt": now,
    }
    return {
        "createdBy": created["createdBy"],
        "createdByType": created["createdByType"],
        "createdAt": created["createdAt"],
        "lastModifiedBy": principal.display_name,
        "lastModifiedByType": principal.principal_type,
        "lastModifiedAt": now,
    }


def retry_on_conflict(fn: Callable[[], T], attempts: int = 3) -> T:
    """Run a write transaction again when a concurrent writer created the same row first."""
    for attempt in range(attempts):
        try:
            return fn()
        except StoreConflict:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")
