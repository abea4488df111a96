"""Where a command's registry credentials come from: an ordered list of sources, first wins.

``iotops`` asks, in order: credentials given on the command line (``--username`` with
``--password-stdin``), the user's Docker configuration, and for ``*.azurecr.io`` an Entra
identity (``authn.azure.EntraSource``); none answering means anonymous. Each source is a
small object with one method, so another (a registry endpoint's own method, resolved by the
server) slots into the list without touching the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from .authenticator import ANONYMOUS, Authenticator

__all__ = ["CredentialSource", "StaticSource", "resolve_credentials"]


@runtime_checkable
class CredentialSource(Protocol):
    @property
    def name(self) -> str:
        """Shown to the user ("docker config", "--username"), never a secret."""

    def lookup(self, registry: str) -> Authenticator | None:
        """Credentials for ``registry`` (``host[:port]``), or None to let the next source try."""


class StaticSource:
    """One authenticator for every registry (``--username/--password-stdin``)."""

    def __init__(self, name: str, authenticator: Authenticator) -> None:
        self._name = name
        self._authenticator = authenticator

    @property
    def name(self) -> str:
        return self._name

    def lookup(self, registry: str) -> Authenticator | None:
        return self._authenticator


def resolve_credentials(
    registry: str, sources: Sequence[CredentialSource]
) -> tuple[Authenticator, str]:
    """The first source's answer for ``registry`` and its name; anonymous if none answers."""
    for source in sources:
        found = source.lookup(registry.lower())
        if found is not None:
            return found, source.name
    return ANONYMOUS, "anonymous"
