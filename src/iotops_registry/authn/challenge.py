"""``Challenge``: what a registry asked for in ``WWW-Authenticate``.

The value lives here because authenticators receive it (the ACR exchange needs the realm's
host and the service name); parsing the header is ``transport``'s job.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Challenge"]


@dataclass(frozen=True, slots=True)
class Challenge:
    """One authentication challenge.

    ``scheme`` is lowercase (``"bearer"`` or ``"basic"``); ``realm`` is the token service URL
    for Bearer and a display name for Basic; ``scope`` holds the space-separated entries of
    the ``scope`` parameter (``repository:name:pull,push``); ``error`` is RFC 6750's, e.g.
    ``insufficient_scope``.
    """

    scheme: str
    realm: str = ""
    service: str | None = None
    scope: tuple[str, ...] = ()
    error: str | None = None

    @property
    def is_bearer(self) -> bool:
        return self.scheme == "bearer"

    @property
    def is_basic(self) -> bool:
        return self.scheme == "basic"
