"""Verifying one signature, from bytes to a :class:`SignatureResult`. Pure: no I/O.

The order follows the specification's steps, each with its code:

1. integrity: the envelope parses (``SignatureEnvelopeInvalid``), the chain follows the
   code-signing rules (``CertificateInvalid``), ``alg`` is the key's and the signature
   verifies (``SignatureIntegrity``), every certificate was valid at the signing time
   (``CertificateExpired``);
2. authenticity: a chain certificate is a trust-store one for the signing scheme
   (``UntrustedSigner``);
3. the signed descriptor is the artifact's (``TargetMismatch``); nothing in the payload is
   looked at before 1 and 2 passed;
4. expiry (``SignatureExpired``);
5. authentic timestamp: for ``notary.x509`` every certificate must be valid now, since no
   timestamp authority is consulted; for ``signingAuthority`` the authentic signing time
   (checked in 1) is enough (``CertificateExpired``).

Revocation is not checked (docs/trust.md).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from cryptography import x509

from ..errors import SignatureVerificationFailed
from ..oci import Descriptor, Digest
from . import algorithms, cose, jws, payload, sigmanifest
from .certificates import check_chain, check_validity, describe, load_der_chain, subject
from .envelope import Envelope, invalid
from .media import COSE, ENVELOPE_LIMIT, JWS, SCHEME_X509
from .truststore import TrustStore
from .verdict import Code, SignatureResult, expected_cas, trusted_list

__all__ = ["parse_envelope", "verify_envelope", "verify_signature"]


def parse_envelope(data: bytes, media_type: str) -> Envelope:
    if len(data) > ENVELOPE_LIMIT:
        raise invalid(f"the envelope is larger than {ENVELOPE_LIMIT} bytes")
    if media_type == JWS:
        return jws.parse(data)
    if media_type == COSE:
        return cose.parse(data)
    raise invalid(f"{media_type!r} is not a JWS or COSE envelope")


def _failure(exc: SignatureVerificationFailed, **fields: Any) -> SignatureResult:
    return SignatureResult(code=Code(exc.code), message=exc.message, **fields)


def verify_envelope(
    data: bytes,
    media_type: str,
    artifact: Descriptor,
    trust_store: TrustStore,
    now: dt.datetime,
    *,
    manifest: Digest | None = None,
) -> SignatureResult:
    """Verify an envelope (bytes as stored) for ``artifact`` against ``trust_store``."""
    fields: dict[str, Any] = {"manifest": manifest, "envelope_type": media_type}
    try:
        envelope = parse_envelope(data, media_type)
        chain = load_der_chain(envelope.certificates)
    except SignatureVerificationFailed as exc:
        return _failure(exc, **fields)
    headers = envelope.headers
    fields.update(
        scheme=headers.scheme,
        signing_time=headers.effective_signing_time,
        expiry=headers.expiry,
        chain=tuple(describe(c) for c in chain),
        timestamped=envelope.timestamp is not None,
        signing_agent=envelope.signing_agent,
    )
    cas = trust_store.subjects(headers.scheme)
    expected = expected_cas(cas)
    who = f"signer {subject(chain[0])!r}"
    try:
        anchor = _verify(envelope, chain, artifact, trust_store, now, who, expected)
    except SignatureVerificationFailed as exc:
        message = exc.message
        if exc.code != Code.UNTRUSTED_SIGNER:
            message += f" ({who}; {trusted_list(cas)})"
        if exc.code == Code.CERTIFICATE_EXPIRED and envelope.timestamp is not None:
            message += (
                "; the envelope carries an RFC 3161 timestamp, which this verifier does not "
                "check"
            )
        return SignatureResult(code=Code(exc.code), message=message, **fields)
    trusted_by = describe(anchor)
    how = "the CA" if trusted_by.is_ca else "the trusted certificate"
    return SignatureResult(
        code=Code.VERIFIED,
        message=f"signed by {subject(chain[0])!r}, trusted through {how} {subject(anchor)!r}",
        trusted_by=trusted_by,
        **fields,
    )


def _verify(
    envelope: Envelope,
    chain: list[x509.Certificate],
    artifact: Descriptor,
    trust_store: TrustStore,
    now: dt.datetime,
    who: str,
    expected: str,
) -> x509.Certificate:
    headers = envelope.headers
    check_chain(chain)
    leaf_key = chain[0].public_key()
    required = algorithms.algorithm_for_key(leaf_key)
    if required is None or not isinstance(leaf_key, algorithms.PublicKey):
        raise SignatureVerificationFailed(
            "the signing certificate's key is not RSA 2048/3072/4096 or EC P-256/384/521",
            code=Code.CERTIFICATE_INVALID,
        )
    if required != headers.algorithm:
        raise SignatureVerificationFailed(
            f"the envelope says {headers.algorithm.jws}, but the signing key requires "
            f"{required.jws}",
            code=Code.INTEGRITY,
        )
    algorithms.verify(headers.algorithm, leaf_key, envelope.signature, envelope.signing_input)
    signed_at = headers.effective_signing_time
    if signed_at is not None:
        check_validity(chain, signed_at, "at the signing time")
    anchor = trust_store.anchor_for(chain, headers.scheme)
    if anchor is None:
        store = "signingAuthority" if headers.scheme != SCHEME_X509 else "ca"
        raise SignatureVerificationFailed(
            f"{who} is not trusted: no certificate of its chain "
            f"({' -> '.join(subject(c) for c in chain)}) is {expected} ({store} trust store "
            f"for {headers.scheme})",
            code=Code.UNTRUSTED_SIGNER,
        )
    wrong = payload.mismatch(payload.parse(envelope.payload), artifact)
    if wrong is not None:
        raise wrong
    if headers.expiry is not None and now >= headers.expiry:
        raise SignatureVerificationFailed(
            f"the signature expired at {headers.expiry.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%SZ}",
            code=Code.SIGNATURE_EXPIRED,
        )
    if headers.scheme == SCHEME_X509:
        check_validity(chain, now, "now")
    return anchor


def verify_signature(
    manifest: bytes,
    envelope: bytes,
    artifact: Descriptor,
    trust_store: TrustStore,
    now: dt.datetime,
) -> SignatureResult:
    """Verify a signature manifest and its envelope blob, both as stored."""
    digest = Digest.of(manifest)
    try:
        layer = sigmanifest.envelope_layer(manifest, artifact)
    except SignatureVerificationFailed as exc:
        return _failure(exc, manifest=digest)
    if Digest.of(envelope, layer.digest.algorithm) != layer.digest or len(envelope) != layer.size:
        return SignatureResult(
            Code.INTEGRITY,
            "the envelope does not match the digest its signature manifest gives",
            manifest=digest,
            envelope_type=layer.media_type,
        )
    return verify_envelope(envelope, layer.media_type, artifact, trust_store, now, manifest=digest)
