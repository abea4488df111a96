"""Notary Project signatures: verify an artifact's against trusted CAs, and sign artifacts.

Written from the Notary Project specification (signature format, JWS and COSE envelopes,
trust store rules). Layers inside the package::

    registry        discovery and attaching through remote.RegistryClient   (the only I/O)
       │
    verifier, signer                                   one signature, bytes → result
       │
    jws, cose, sigmanifest, payload, envelope          encodings
    certificates, truststore, algorithms, verdict      X.509 rules, crypto, results

Everything below ``registry`` imports only ``oci``, ``errors``, cryptography and cbor2.
The entry points: :func:`verify` → :class:`Verdict`; :class:`TrustStore`;
:func:`sign` / :func:`sign_descriptor` with a :class:`SigningIdentity`.
"""

from __future__ import annotations

from .devca import KEY_TYPES, DevCertificates, create_dev_ca
from .media import ARTIFACT_TYPE, COSE, JWS
from .registry import AttachedSignature, list_signatures, sign, verify
from .signer import SignedEnvelope, SigningIdentity, envelope_type, sign_descriptor
from .truststore import TrustStore
from .verdict import CertificateInfo, Code, SignatureResult, Verdict
from .verifier import verify_envelope, verify_signature

__all__ = [
    "ARTIFACT_TYPE",
    "COSE",
    "JWS",
    "KEY_TYPES",
    "AttachedSignature",
    "CertificateInfo",
    "Code",
    "DevCertificates",
    "SignatureResult",
    "SignedEnvelope",
    "SigningIdentity",
    "TrustStore",
    "Verdict",
    "create_dev_ca",
    "envelope_type",
    "list_signatures",
    "sign",
    "sign_descriptor",
    "verify",
    "verify_envelope",
    "verify_signature",
]
