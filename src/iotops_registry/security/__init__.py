"""TLS material and bearer tokens: the local CA, the embedded issuer, token verification."""

from __future__ import annotations

from .authorization import AssignmentSource, Authorizer
from .credential import IssuerCredential, LocalIssuerCredential
from .issuer import LocalIssuer, Principal
from .rbac import BUILTIN_ROLES, RoleDefinition, find_role, normalize_scope, scope_covers
from .tls import LocalCA, ServerCertificate
from .verifier import TokenVerifier, TrustedIssuer

__all__ = [
    "BUILTIN_ROLES",
    "AssignmentSource",
    "Authorizer",
    "IssuerCredential",
    "LocalCA",
    "LocalIssuer",
    "LocalIssuerCredential",
    "Principal",
    "RoleDefinition",
    "ServerCertificate",
    "TokenVerifier",
    "TrustedIssuer",
    "find_role",
    "normalize_scope",
    "scope_covers",
]
