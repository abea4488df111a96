"""Registry credentials: *who* a pull authenticates as. No registry protocol, no transport.

An :class:`Authenticator` turns a :class:`Challenge` into an :class:`AuthConfig`;
``transport`` does the rest. :data:`ANONYMOUS` and :class:`StaticBasic` need nothing else;
``authn.azure`` (import it explicitly; it needs azure-identity and httpx) exchanges an Entra
identity for an ACR refresh token; ``authn.docker_config`` reads ``docker login``'s
credentials; :func:`resolve_credentials` walks an ordered list of sources.
:class:`ExpiringCache` is how any of them, and the transport's token cache, reuse a
credential until it nears expiry and fetch it only once.
"""

from __future__ import annotations

from .authenticator import ANONYMOUS, Anonymous, Authenticator, StaticBasic, StaticIdentityToken
from .basic import BasicCredential
from .challenge import Challenge
from .claims import unverified_expiry
from .config import AuthConfig
from .reuse import ExpiringCache
from .sources import CredentialSource, StaticSource, resolve_credentials

__all__ = [
    "ANONYMOUS",
    "Anonymous",
    "AuthConfig",
    "Authenticator",
    "BasicCredential",
    "Challenge",
    "CredentialSource",
    "ExpiringCache",
    "StaticBasic",
    "StaticIdentityToken",
    "StaticSource",
    "resolve_credentials",
    "unverified_expiry",
]
