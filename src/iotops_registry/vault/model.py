"""What the vault hands out: secrets, their properties, deleted secrets and pages of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

__all__ = [
    "DeletedSecret",
    "Page",
    "Secret",
    "SecretProperties",
    "SecretUpdate",
]

T = TypeVar("T")


@dataclass(frozen=True)
class SecretProperties:
    """Everything about one version of a secret except its value. Times are unix seconds."""

    name: str
    version: str
    enabled: bool
    created: int
    updated: int
    not_before: int | None = None
    expires: int | None = None
    content_type: str | None = None
    tags: dict[str, str] | None = None


@dataclass(frozen=True)
class Secret:
    properties: SecretProperties
    # repr=False: a logged or printed Secret must not show its value.
    value: str = field(repr=False)


@dataclass(frozen=True)
class DeletedSecret:
    properties: SecretProperties
    deleted_date: int
    scheduled_purge_date: int


@dataclass(frozen=True)
class SecretUpdate:
    """New attributes for a version; ``None`` leaves an attribute as it is."""

    enabled: bool | None = None
    not_before: int | None = None
    expires: int | None = None
    content_type: str | None = None
    tags: dict[str, str] | None = None


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing; ``next_token`` is opaque and ``None`` on the last page."""

    items: list[T]
    next_token: str | None = None
