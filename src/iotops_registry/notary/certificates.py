"""Certificate chains of signatures: the specification's code-signing rules. Pure.

A chain is ordered leaf → intermediates → self-signed root, or is a single self-signed
signing certificate. Only basic constraints, key usage and extended key usage are judged
(other extensions fail open, as in the specification); validity is judged by the verifier
against the signing time and now. Certificates are compared by their bytes, never by name:
a real vector's leaf carries its root's exact subject and issuer names.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

from ..errors import SignatureVerificationFailed
from .verdict import CertificateInfo

__all__ = [
    "check_chain",
    "check_validity",
    "describe",
    "fingerprint",
    "is_self_signed",
    "issued_by",
    "load_der_chain",
    "subject",
]

_CODE = "CertificateInvalid"
# A signing certificate's EKU may not name these uses (anyExtendedKeyUsage included: it
# would make a TLS or e-mail certificate a code-signing one).
_EXCLUDED_EKU = {
    ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE: "anyExtendedKeyUsage",
    ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth",
    ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth",
    ExtendedKeyUsageOID.EMAIL_PROTECTION: "emailProtection",
    ExtendedKeyUsageOID.TIME_STAMPING: "timeStamping",
    ExtendedKeyUsageOID.OCSP_SIGNING: "OCSPSigning",
}
_WEAK_HASHES = (hashes.SHA1, hashes.MD5)


def _fail(message: str, code: str = _CODE) -> SignatureVerificationFailed:
    return SignatureVerificationFailed(message, code=code)


def subject(cert: x509.Certificate) -> str:
    return cert.subject.rfc4514_string()


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the DER, lowercase hex: what the thumbprint annotation lists."""
    return hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()


def describe(cert: x509.Certificate) -> CertificateInfo:
    constraints = _basic_constraints(cert)
    return CertificateInfo(
        subject=subject(cert),
        issuer=cert.issuer.rfc4514_string(),
        serial=format(cert.serial_number, "x"),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        sha256=fingerprint(cert),
        is_ca=bool(constraints and constraints.ca),
    )


def load_der_chain(ders: Sequence[bytes]) -> list[x509.Certificate]:
    """Parse the envelope's chain; an unparseable certificate is an envelope error."""
    if not ders:
        raise _fail("the envelope carries no certificate chain", "SignatureEnvelopeInvalid")
    chain = []
    for i, der in enumerate(ders):
        try:
            chain.append(x509.load_der_x509_certificate(der))
        except ValueError:
            raise _fail(
                f"certificate {i} of the envelope's chain is not a DER X.509 certificate",
                "SignatureEnvelopeInvalid",
            ) from None
    return chain


def _basic_constraints(cert: x509.Certificate) -> x509.BasicConstraints | None:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return None


def _key_usage(cert: x509.Certificate) -> x509.Extension[x509.KeyUsage]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.KeyUsage)
    except x509.ExtensionNotFound:
        raise _fail(f"certificate {subject(cert)!r} has no key usage extension") from None
    if not ext.critical:
        raise _fail(f"the key usage extension of {subject(cert)!r} is not critical")
    return ext


def issued_by(child: x509.Certificate, parent: x509.Certificate) -> bool:
    """``parent``'s key signed ``child`` and the names link (RFC 5280 name chaining)."""
    try:
        child.verify_directly_issued_by(parent)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def is_self_signed(cert: x509.Certificate) -> bool:
    return issued_by(cert, cert)


def _check_hash(cert: x509.Certificate) -> None:
    try:
        algorithm = cert.signature_hash_algorithm
    except UnsupportedAlgorithm:
        raise _fail(f"certificate {subject(cert)!r} uses an unsupported signature") from None
    if isinstance(algorithm, _WEAK_HASHES):
        raise _fail(f"certificate {subject(cert)!r} is signed with {algorithm.name}")


def _check_leaf(cert: x509.Certificate) -> None:
    name = subject(cert)
    constraints = _basic_constraints(cert)
    if constraints is not None and constraints.ca:
        raise _fail(f"signing certificate {name!r} is a CA (basic constraints CA:TRUE)")
    usage = _key_usage(cert).value
    if not usage.digital_signature:
        raise _fail(f"signing certificate {name!r} lacks the digitalSignature key usage")
    extra = [
        label
        for label, present in (
            ("keyEncipherment", usage.key_encipherment),
            ("dataEncipherment", usage.data_encipherment),
            ("keyAgreement", usage.key_agreement),  # encipherOnly/decipherOnly need it
            ("keyCertSign", usage.key_cert_sign),
            ("cRLSign", usage.crl_sign),
        )
        if present
    ]
    if extra:
        raise _fail(f"signing certificate {name!r} has key usages {', '.join(extra)}")
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        eku = None
    for oid in eku or ():
        if oid in _EXCLUDED_EKU:
            raise _fail(
                f"signing certificate {name!r} has the extended key usage {_EXCLUDED_EKU[oid]}"
            )
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < 2048:
            raise _fail(f"signing certificate {name!r} has an RSA key of {key.key_size} bits")
    elif isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.key_size < 256:
            raise _fail(f"signing certificate {name!r} has a {key.curve.name} key")
    else:
        raise _fail(f"signing certificate {name!r} has a key that is neither RSA nor EC")


def _check_ca(cert: x509.Certificate, below: int) -> None:
    """``below``: how many CA certificates sit between this one and the leaf."""
    name = subject(cert)
    try:
        ext = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    except x509.ExtensionNotFound:
        raise _fail(f"CA certificate {name!r} has no basic constraints") from None
    if not ext.critical or not ext.value.ca:
        raise _fail(f"CA certificate {name!r} needs critical basic constraints with CA:TRUE")
    if ext.value.path_length is not None and ext.value.path_length < below:
        raise _fail(
            f"CA certificate {name!r} allows a path length of {ext.value.path_length}, "
            f"the chain needs {below}"
        )
    if not _key_usage(cert).value.key_cert_sign:
        raise _fail(f"CA certificate {name!r} lacks the keyCertSign key usage")


def check_chain(chain: Sequence[x509.Certificate]) -> None:
    """Raise ``SignatureVerificationFailed`` (CertificateInvalid) unless ``chain`` follows
    the specification's certificate requirements."""
    for cert in chain:
        _check_hash(cert)
    leaf = chain[0]
    _check_leaf(leaf)
    if len(chain) == 1:
        if not is_self_signed(leaf):
            raise _fail(
                f"the chain is the single certificate {subject(leaf)!r}, which is not "
                "self-signed: the chain must end with its root"
            )
        return
    for i in range(len(chain) - 1):
        child, parent = chain[i], chain[i + 1]
        if is_self_signed(child):
            what = "signing" if i == 0 else "intermediate"
            raise _fail(f"the {what} certificate {subject(child)!r} is self-signed")
        if not issued_by(child, parent):
            raise _fail(
                f"certificate {subject(child)!r} is not issued by the next one in the chain, "
                f"{subject(parent)!r}"
            )
        _check_ca(parent, i)
    if not is_self_signed(chain[-1]):
        raise _fail(f"the chain ends with {subject(chain[-1])!r}, which is not a self-signed root")


def check_validity(
    chain: Sequence[x509.Certificate], at: dt.datetime, what: str
) -> None:
    """Raise ``SignatureVerificationFailed`` (CertificateExpired) unless every certificate
    is valid at ``at``; ``what`` says which time that is ("now", "at the signing time")."""
    for cert in chain:
        start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
        if at < start:
            raise _fail(
                f"certificate {subject(cert)!r} is not valid {what} ({_fmt(at)}): "
                f"valid from {_fmt(start)}",
                "CertificateExpired",
            )
        if at > end:
            raise _fail(
                f"certificate {subject(cert)!r} is not valid {what} ({_fmt(at)}): "
                f"it expired at {_fmt(end)}",
                "CertificateExpired",
            )


def _fmt(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
