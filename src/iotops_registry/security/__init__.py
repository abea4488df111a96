"""TLS material and bearer tokens: the local CA, the embedded issuer, token verification."""

from __future__ import annotations

from .credential import IssuerCredential, LocalIssuerCredential
from .issuer import LocalIssuer, Principal
from .tls import LocalCA, ServerCertificate
from .verifier import TokenVerifier, TrustedIssuer

__all__ = [
    "IssuerCredential",
    "LocalCA",
    "LocalIssuer",
    "LocalIssuerCredential",
    "Principal",
    "ServerCertificate",
    "TokenVerifier",
    "TrustedIssuer",
]
