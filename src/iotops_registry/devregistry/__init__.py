"""A development registry: the real CNCF Distribution registry on one ACR-like origin.

::

    RegistryFront (one HTTPS origin, the login server)
      /oauth2/exchange, /oauth2/token ─► TokenApp ─► DevRegistryService ─► TokenSigner ─┐
      /acr/v1/...                     ─► AcrMetadataApp (ACR's listing API)            │
      /v2/...  ─► Backend (streamed) ─► docker-registry (child, plain HTTP, private     │
                                        loopback port; verifies the ES256 tokens) ◄────┘
    DevRegistryService ─► RegistryAccounts (who may do what) ─► store.DevRegistryStore
    admin routes ({arm}/-/dev/...) ─► RegistryAccounts, Instruments (counters, faults)

``iotops serve --dev`` runs it. The token service accepts Entra-style tokens from the
server's trusted issuers (e.g. a managed identity's, from the identity endpoint), so the
whole ACR flow (IMDS → exchange → token → registry) runs locally with real clients.
"""

from __future__ import annotations

from .accounts import REFRESH_TOKEN_USERNAME, RegistryAccounts
from .acr_api import AcrMetadataApp
from .admin import add_devregistry_routes
from .backend import Backend
from .child import (
    ENV_REGISTRY_BINARY,
    ChildConfig,
    RegistryConfig,
    RegistryProcess,
    find_registry_binary,
    free_port,
)
from .front import RegistryFront, request_kind
from .instruments import COUNTED, FAULT_TARGETS, Instruments
from .service import ANONYMOUS, EXCHANGE_AUDIENCES, DevRegistryService
from .signing import ACCESS_LIFETIME, REFRESH_LIFETIME, TokenSigner, libtrust_kid
from .token_app import EXCHANGE_PATH, TOKEN_PATH, TokenApp

__all__ = [
    "ACCESS_LIFETIME",
    "ANONYMOUS",
    "COUNTED",
    "ENV_REGISTRY_BINARY",
    "EXCHANGE_AUDIENCES",
    "EXCHANGE_PATH",
    "FAULT_TARGETS",
    "REFRESH_LIFETIME",
    "REFRESH_TOKEN_USERNAME",
    "TOKEN_PATH",
    "AcrMetadataApp",
    "Backend",
    "ChildConfig",
    "DevRegistryService",
    "Instruments",
    "RegistryAccounts",
    "RegistryConfig",
    "RegistryFront",
    "RegistryProcess",
    "TokenApp",
    "TokenSigner",
    "add_devregistry_routes",
    "find_registry_binary",
    "free_port",
    "libtrust_kid",
    "request_kind",
]
