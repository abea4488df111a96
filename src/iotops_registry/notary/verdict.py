"""Verdicts: what verifying an artifact's signatures found, with stable codes. Pure values.

One :class:`SignatureResult` per signature tried; the :class:`Verdict` for the artifact is
the first signature that verified (notation accepts any one), or else the failure that got
furthest through the checks, since that one tells the user the most (an expired signature
by a trusted signer says more than an unrelated signature by a stranger).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ..errors import SignatureVerificationFailed
from ..oci import Descriptor, Digest

__all__ = ["CertificateInfo", "Code", "SignatureResult", "Verdict", "select"]


class Code(StrEnum):
    """Stable verdict codes. Each maps to one step of the specification's verification."""

    VERIFIED = "Verified"
    SIGNATURE_MISSING = "SignatureMissing"
    """No Notary Project signature refers to the artifact (or its envelope is gone)."""
    ENVELOPE_INVALID = "SignatureEnvelopeInvalid"
    """Integrity: not a JWS/COSE envelope of the specification (shape, encoding, headers,
    unknown critical headers such as verification plugins)."""
    INTEGRITY = "SignatureIntegrity"
    """Integrity: the cryptographic signature does not verify, or does not use the
    algorithm the signing key dictates."""
    CERTIFICATE_INVALID = "CertificateInvalid"
    """Integrity: the certificate chain breaks the code-signing rules (order, key usage,
    extended key usage, basic constraints, key type and size, SHA-1)."""
    UNTRUSTED_SIGNER = "UntrustedSigner"
    """Authenticity: no certificate of the chain is one of the trusted CAs."""
    TARGET_MISMATCH = "TargetMismatch"
    """The signed descriptor is not the artifact's (digest, size or media type)."""
    SIGNATURE_EXPIRED = "SignatureExpired"
    """Expiry: ``io.cncf.notary.expiry`` has passed."""
    CERTIFICATE_EXPIRED = "CertificateExpired"
    """Authentic timestamp: a chain certificate is not valid now (``notary.x509``; no
    timestamp authority is consulted) or was not valid at the signing time."""

    @property
    def step(self) -> str | None:
        """The specification's verification step that failed (trust-store-trust-policy.md,
        "Steps"), or None when verified."""
        return _STEPS[self]


_STEPS: dict[Code, str | None] = {
    Code.VERIFIED: None,
    Code.SIGNATURE_MISSING: "discovery",
    Code.ENVELOPE_INVALID: "integrity",
    Code.INTEGRITY: "integrity",
    Code.CERTIFICATE_INVALID: "integrity",
    Code.UNTRUSTED_SIGNER: "authenticity",
    Code.TARGET_MISMATCH: "artifactMatch",
    Code.SIGNATURE_EXPIRED: "expiry",
    Code.CERTIFICATE_EXPIRED: "authenticTimestamp",
}


# How far through the checks a failure got: the verdict reports the furthest one.
_STAGE = {
    Code.SIGNATURE_MISSING: 0,
    Code.ENVELOPE_INVALID: 1,
    Code.INTEGRITY: 2,
    Code.CERTIFICATE_INVALID: 2,
    Code.UNTRUSTED_SIGNER: 3,
    Code.TARGET_MISMATCH: 4,
    Code.SIGNATURE_EXPIRED: 5,
    Code.CERTIFICATE_EXPIRED: 6,
    Code.VERIFIED: 7,
}

NOT_CHECKED = ("revocation", "timestampCountersignature")
"""What this verifier never checks (docs/trust.md): said in every verdict."""


def _time(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


@dataclass(frozen=True, slots=True)
class CertificateInfo:
    """What a person needs to recognise a certificate: names, validity, fingerprint."""

    subject: str
    issuer: str
    serial: str
    not_before: dt.datetime
    not_after: dt.datetime
    sha256: str
    is_ca: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "issuer": self.issuer,
            "serialNumber": self.serial,
            "notBefore": _time(self.not_before),
            "notAfter": _time(self.not_after),
            "sha256Fingerprint": self.sha256,
            "isCa": self.is_ca,
        }


@dataclass(frozen=True, slots=True)
class SignatureResult:
    """The outcome for one signature manifest."""

    code: Code
    message: str
    manifest: Digest | None = None
    envelope_type: str | None = None
    scheme: str | None = None
    signing_time: dt.datetime | None = None
    expiry: dt.datetime | None = None
    chain: tuple[CertificateInfo, ...] = ()
    trusted_by: CertificateInfo | None = None
    timestamped: bool = False
    """The envelope carries an RFC 3161 countersignature, which was *not* checked."""
    signing_agent: str | None = None

    @property
    def ok(self) -> bool:
        return self.code is Code.VERIFIED

    @property
    def signer(self) -> str | None:
        return self.chain[0].subject if self.chain else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": str(self.code),
            "failedStep": self.code.step,
            "message": self.message,
            "signatureManifest": str(self.manifest) if self.manifest else None,
            "envelopeType": self.envelope_type,
            "signingScheme": self.scheme,
            "signer": self.signer,
            "signingTime": _time(self.signing_time),
            "expiry": _time(self.expiry),
            "timestamped": self.timestamped,
            "signingAgent": self.signing_agent,
            "trustedBy": self.trusted_by.to_dict() if self.trusted_by else None,
            "chain": [c.to_dict() for c in self.chain],
        }


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether an artifact carries a signature that verifies against the trust store."""

    artifact: Descriptor
    code: Code
    message: str
    checked_at: dt.datetime
    trusted_cas: tuple[str, ...] = ()
    signature: SignatureResult | None = None
    """The signature that verified, or the failure reported."""
    attempts: tuple[SignatureResult, ...] = ()
    reference: str | None = None
    """``registry/repository@digest`` when the artifact came from a registry."""
    not_checked: tuple[str, ...] = field(default=NOT_CHECKED)

    @property
    def ok(self) -> bool:
        return self.code is Code.VERIFIED

    def raise_for_failure(self) -> None:
        """Raise :class:`SignatureVerificationFailed` (carrying this verdict) unless ok."""
        if not self.ok:
            raise SignatureVerificationFailed(self.message, code=str(self.code), verdict=self)

    def to_dict(self) -> dict[str, Any]:
        return {
            "verified": self.ok,
            "code": str(self.code),
            "failedStep": self.code.step,
            "message": self.message,
            "artifact": self.reference,
            "artifactDescriptor": self.artifact.to_dict(),
            "checkedAt": _time(self.checked_at),
            "trustedCas": list(self.trusted_cas),
            "signature": self.signature.to_dict() if self.signature else None,
            "signaturesTried": len(self.attempts),
            "attempts": [a.to_dict() for a in self.attempts],
            "notChecked": list(self.not_checked),
        }


def select(
    artifact: Descriptor,
    attempts: Sequence[SignatureResult],
    *,
    now: dt.datetime,
    trusted_cas: Sequence[str],
    reference: str | None = None,
) -> Verdict:
    """The artifact's verdict from its signatures' results (tried in order)."""
    what = reference or str(artifact.digest)
    cas = tuple(trusted_cas)
    if not attempts:
        return Verdict(
            artifact,
            Code.SIGNATURE_MISSING,
            f"{what} has no Notary Project signature (expected one by a signer chaining to "
            f"{_names(cas)})",
            now,
            cas,
            reference=reference,
        )
    chosen = next((a for a in attempts if a.ok), None)
    if chosen is None:
        chosen = max(attempts, key=lambda a: _STAGE[a.code])  # the first of the furthest
    message = chosen.message
    if chosen.signer is None and not chosen.ok:  # failed before a chain was read
        message += f" ({trusted_list(cas)})"
    if len(attempts) > 1:
        message += f" ({len(attempts)} signatures tried)"
    return Verdict(
        artifact, chosen.code, message, now, cas, chosen, tuple(attempts), reference=reference
    )


def _names(cas: Sequence[str]) -> str:
    if not cas:
        return "a trusted CA (the trust store is empty)"
    if len(cas) == 1:
        return f"the CA {cas[0]!r}"
    return "one of the CAs " + ", ".join(repr(c) for c in cas)


def expected_cas(cas: Sequence[str]) -> str:
    """How messages name what was expected: ``the CA 'CN=...'``."""
    return _names(cas)


def trusted_list(cas: Sequence[str]) -> str:
    """``trusted CA 'A'`` / ``trusted CAs 'A', 'B'`` / ``no trusted CA``."""
    if not cas:
        return "no trusted CA"
    return ("trusted CA " if len(cas) == 1 else "trusted CAs ") + ", ".join(map(repr, cas))
