"""The ``Authenticator`` protocol and the two authenticators that need no outside service.

An authenticator answers one question, asynchronously: "for this challenge, which
credentials?". It never speaks the registry protocol. Authenticators that fetch credentials
(managed identity, Key Vault) cache them themselves; the transport caches the registry's
bearer tokens, keyed by :attr:`Authenticator.cache_key`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Protocol, runtime_checkable

from .basic import BasicCredential
from .challenge import Challenge
from .config import AuthConfig

__all__ = ["ANONYMOUS", "Anonymous", "Authenticator", "StaticBasic", "StaticIdentityToken"]

# Keys cache identities of secrets without revealing them: an HMAC under a key that lives
# only in this process, so equal credentials share tokens and a cache key cannot be
# brute-forced back into a password from a log.
_PROCESS_KEY = secrets.token_bytes(32)


def _fingerprint(*parts: str) -> str:
    """A short, process-local, non-reversible identity of secret ``parts``."""
    mac = hmac.new(_PROCESS_KEY, "\0".join(parts).encode(), hashlib.sha256)
    return mac.hexdigest()[:24]


@runtime_checkable
class Authenticator(Protocol):
    """Where credentials come from.

    ``cache_key`` identifies the credential (not the registry) for token caches: two
    authenticators with the same key must be interchangeable. It never contains a secret.
    """

    @property
    def cache_key(self) -> str: ...

    async def authorization(self, challenge: Challenge) -> AuthConfig: ...


class Anonymous:
    """No credentials. Use the :data:`ANONYMOUS` sentinel rather than new instances."""

    __slots__ = ()

    @property
    def cache_key(self) -> str:
        return "anonymous"

    async def authorization(self, challenge: Challenge) -> AuthConfig:
        return AuthConfig()

    def __repr__(self) -> str:
        return "ANONYMOUS"


ANONYMOUS = Anonymous()


class StaticBasic:
    """A fixed username and password (an artifact pull secret, an ACR token, a test user)."""

    __slots__ = ("_config", "_credential", "_key")

    def __init__(self, credential: BasicCredential) -> None:
        self._credential = credential
        self._config = AuthConfig(username=credential.username, password=credential.password)
        self._key = f"basic:{credential.username}:{_fingerprint(credential.password)}"

    @property
    def cache_key(self) -> str:
        return self._key

    async def authorization(self, challenge: Challenge) -> AuthConfig:
        return self._config

    def __repr__(self) -> str:
        return f"StaticBasic(username={self._credential.username!r})"


class StaticIdentityToken:
    """An OAuth2 refresh token (Docker's ``identitytoken``, ACR's after ``az acr login``),
    exchanged by the transport for access tokens with ``grant_type=refresh_token``."""

    __slots__ = ("_config", "_key")

    USERNAME = "00000000-0000-0000-0000-000000000000"

    def __init__(self, token: str) -> None:
        self._config = AuthConfig(username=self.USERNAME, identity_token=token)
        self._key = f"identity-token:{_fingerprint(token)}"

    @property
    def cache_key(self) -> str:
        return self._key

    async def authorization(self, challenge: Challenge) -> AuthConfig:
        return self._config

    def __repr__(self) -> str:
        return "StaticIdentityToken(<redacted>)"
