"""A username and password for a registry, as an artifact pull secret provides them."""

from __future__ import annotations

from typing import Any

__all__ = ["BasicCredential"]


class BasicCredential:
    """Username and password. The password never appears in ``repr``, ``str`` or pickles."""

    __slots__ = ("_password", "username")

    def __init__(self, username: str, password: str) -> None:
        self.username = username
        self._password = password

    @property
    def password(self) -> str:
        return self._password

    def __repr__(self) -> str:
        return f"BasicCredential(username={self.username!r}, password=<redacted>)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BasicCredential):
            return NotImplemented
        return (self.username, self._password) == (other.username, other._password)

    def __hash__(self) -> int:
        return hash((self.username, self._password))

    def __reduce__(self) -> str | tuple[Any, ...]:
        raise TypeError("credentials cannot be pickled")
