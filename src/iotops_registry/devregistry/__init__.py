"""A development registry: the real CNCF Distribution registry behind an ACR-like token service.

::

    docker-registry (child, HTTPS, loopback) ──verifies ES256 tokens──┐
        │ 401 Bearer realm=...                                        │
        ▼                                                             │
    TokenApp (own HTTPS origin) ──► DevRegistryService ──► TokenSigner ┘
        /oauth2/exchange              │ who may do what
        /oauth2/token                 ▼
                               RegistryAccounts ──► store.DevRegistryStore
    admin routes ({arm}/-/dev/...) ─► RegistryAccounts, Instruments (counters, faults)

``iotops serve --dev`` runs it. The token service accepts Entra-style tokens from the
server's trusted issuers (e.g. a managed identity's, from the identity endpoint), so the
whole ACR flow (IMDS → exchange → token → registry) runs locally with real clients.
"""

from __future__ import annotations

from .accounts import REFRESH_TOKEN_USERNAME, RegistryAccounts
from .admin import add_devregistry_routes
from .child import (
    ENV_REGISTRY_BINARY,
    ChildConfig,
    RegistryConfig,
    RegistryProcess,
    find_registry_binary,
    free_port,
)
from .instruments import FAULT_TARGETS, Instruments
from .service import ANONYMOUS, EXCHANGE_AUDIENCES, DevRegistryService
from .signing import ACCESS_LIFETIME, REFRESH_LIFETIME, TokenSigner, libtrust_kid
from .token_app import EXCHANGE_PATH, TOKEN_PATH, TokenApp

__all__ = [
    "ACCESS_LIFETIME",
    "ANONYMOUS",
    "ENV_REGISTRY_BINARY",
    "EXCHANGE_AUDIENCES",
    "EXCHANGE_PATH",
    "FAULT_TARGETS",
    "REFRESH_LIFETIME",
    "REFRESH_TOKEN_USERNAME",
    "TOKEN_PATH",
    "ChildConfig",
    "DevRegistryService",
    "Instruments",
    "RegistryAccounts",
    "RegistryConfig",
    "RegistryProcess",
    "TokenApp",
    "TokenSigner",
    "add_devregistry_routes",
    "find_registry_binary",
    "free_port",
    "libtrust_kid",
]
