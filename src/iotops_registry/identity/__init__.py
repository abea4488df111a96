"""Managed identities and an IMDS-compatible token endpoint: a local stand-in for Azure's.

::

    ImdsApp (plain HTTP, loopback) ──► IdentityService ──► store.IdentityStore
                                          │ mint
                                          ▼
                                     security.LocalIssuer (the server's issuer)

The deployment has one system-assigned identity (made on first start) and any number of
user-assigned ones. The unmodified ``azure.identity.ManagedIdentityCredential`` gets tokens
from :class:`ImdsApp` when ``AZURE_POD_IDENTITY_AUTHORITY_HOST`` points at it; the admin
routes (:func:`add_identity_routes`, on the ARM origin) back ``iotops identity``.
"""

from __future__ import annotations

from .admin import add_identity_routes
from .gate import InjectedFault, RequestGate
from .imds import TOKEN_PATH, ImdsApp
from .model import SYSTEM_ASSIGNED, USER_ASSIGNED, ManagedIdentity
from .service import TOKEN_LIFETIME, IdentityService
from .web import ADMIN_PREFIX, AdminRouter, Call, json_response

__all__ = [
    "ADMIN_PREFIX",
    "SYSTEM_ASSIGNED",
    "TOKEN_LIFETIME",
    "TOKEN_PATH",
    "USER_ASSIGNED",
    "AdminRouter",
    "Call",
    "IdentityService",
    "ImdsApp",
    "InjectedFault",
    "ManagedIdentity",
    "RequestGate",
    "add_identity_routes",
    "json_response",
]
