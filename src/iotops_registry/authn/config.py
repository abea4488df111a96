"""``AuthConfig``: the one value that crosses from ``authn`` into ``transport``.

An authenticator says *who* (a username and password, a refresh token, or a ready bearer
token); the transport decides *how* to use it in the registry's handshake. Keeping the two
apart means a new credential source never touches protocol code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["AuthConfig"]


@dataclass(frozen=True, slots=True, repr=False)
class AuthConfig:
    """Credentials for one registry handshake. Every field may be empty (anonymous).

    - ``username`` / ``password``: Basic, to the registry or to its token service;
    - ``identity_token``: an OAuth2 refresh token, exchanged at the token service with
      ``grant_type=refresh_token`` (ACR after ``/oauth2/exchange``);
    - ``registry_token``: a bearer token to send to the registry as is.

    ``repr`` and ``str`` show which fields are set, never their secret values; pickling is
    refused so credentials cannot slip into caches or queues by accident.
    """

    username: str | None = None
    password: str | None = None
    identity_token: str | None = None
    registry_token: str | None = None

    @property
    def is_anonymous(self) -> bool:
        return not (self.username or self.password or self.identity_token or self.registry_token)

    def __repr__(self) -> str:
        secret = {
            "password": self.password,
            "identity_token": self.identity_token,
            "registry_token": self.registry_token,
        }
        shown = [f"username={self.username!r}"] + [
            f"{name}=<redacted>" for name, value in secret.items() if value
        ]
        return f"AuthConfig({', '.join(shown)})"

    __str__ = __repr__

    def __reduce__(self) -> str | tuple[Any, ...]:
        raise TypeError("credentials cannot be pickled")
