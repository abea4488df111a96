"""Signing for publishers: a descriptor, a key and its chain → an envelope. Pure.

What comes out is what notation makes (``notary.x509``, the algorithm the key dictates,
the chain in the envelope, crit listing the signing scheme and the expiry when set), so
notation and this package's verifier both accept it. The signing identity is checked with
the verifier's own rules before anything is signed: a signature that could never verify is
refused here with the reason, not discovered later by its consumers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from .._version import __version__
from ..errors import SignatureVerificationFailed, SigningError
from ..oci import Descriptor, Digest
from . import algorithms, cose, jws, payload, sigmanifest
from .certificates import check_chain, check_validity, fingerprint, subject
from .envelope import Headers
from .media import COSE, JWS, SCHEME_X509

__all__ = ["SignedEnvelope", "SigningIdentity", "envelope_type", "sign_descriptor"]

SIGNING_AGENT = f"iotops-registry/{__version__}"


def envelope_type(name: str) -> str:
    """``jws`` / ``cose`` (or a media type) → the envelope media type."""
    value = {"jws": JWS, "cose": COSE}.get(name.lower(), name)
    if value not in (JWS, COSE):
        raise SigningError(f"envelope {name!r} is not jws or cose")
    return value


def _spki(key: CertificatePublicKeyTypes) -> bytes:
    return key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


@dataclass(frozen=True, slots=True)
class SigningIdentity:
    """A private key and its certificate chain (leaf first, ending with the root)."""

    key: algorithms.PrivateKey
    chain: tuple[x509.Certificate, ...]
    algorithm: algorithms.Algorithm

    @classmethod
    def from_pem(
        cls, key_pem: bytes, chain_pem: bytes, *, password: bytes | None = None
    ) -> SigningIdentity:
        try:
            key = serialization.load_pem_private_key(key_pem, password=password)
        except (ValueError, TypeError) as exc:
            raise SigningError(f"the signing key cannot be read: {exc}") from None
        try:
            chain = tuple(x509.load_pem_x509_certificates(chain_pem))
        except ValueError:
            raise SigningError("the certificate file holds no PEM certificate") from None
        return cls.of(key, chain)

    @classmethod
    def of(cls, key: object, chain: tuple[x509.Certificate, ...]) -> SigningIdentity:
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise SigningError("the signing key is neither RSA nor EC")
        algorithm = algorithms.algorithm_for_key(key)
        if algorithm is None:
            raise SigningError(
                "the signing key must be RSA 2048/3072/4096 or EC P-256/P-384/P-521"
            )
        if not chain:
            raise SigningError("no certificate given")
        if _spki(chain[0].public_key()) != _spki(key.public_key()):
            raise SigningError(
                f"the key does not belong to the first certificate, {subject(chain[0])!r}: "
                "give the signing certificate first, then its CAs up to the root"
            )
        try:
            check_chain(chain)
        except SignatureVerificationFailed as exc:
            raise SigningError(f"the certificate chain cannot sign: {exc.message}") from None
        return cls(key, chain, algorithm)

    @property
    def subject(self) -> str:
        return subject(self.chain[0])

    def fingerprints(self) -> list[str]:
        return [fingerprint(c) for c in self.chain]


@dataclass(frozen=True, slots=True)
class SignedEnvelope:
    media_type: str
    data: bytes
    signing_time: dt.datetime
    expiry: dt.datetime | None
    fingerprints: tuple[str, ...]

    def descriptor(self) -> Descriptor:
        return Descriptor(self.media_type, Digest.of(self.data), len(self.data))

    def manifest(self, subject: Descriptor) -> bytes:
        """The signature manifest that stores this envelope as a referrer of ``subject``."""
        return sigmanifest.build(subject, self.descriptor(), self.fingerprints, self.signing_time)


def sign_descriptor(
    target: Descriptor,
    identity: SigningIdentity,
    *,
    envelope: str = JWS,
    expiry: dt.timedelta | None = None,
    now: dt.datetime | None = None,
    signing_agent: str = SIGNING_AGENT,
) -> SignedEnvelope:
    """Sign ``target`` (digest, size, media type) with ``identity``."""
    media_type = envelope_type(envelope)
    signing_time = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    try:
        check_validity(identity.chain, signing_time, "at the signing time")
    except SignatureVerificationFailed as exc:
        raise SigningError(exc.message) from None
    if expiry is not None and expiry.total_seconds() < 1:
        raise SigningError("the expiry must be at least a second after signing")
    until = signing_time + expiry if expiry is not None else None
    headers = Headers(identity.algorithm, SCHEME_X509, signing_time=signing_time, expiry=until)
    ders = [c.public_bytes(Encoding.DER) for c in identity.chain]

    def sign(alg: algorithms.Algorithm, data: bytes) -> bytes:
        return algorithms.sign(alg, identity.key, data)

    codec = jws if media_type == JWS else cose
    signed = payload.build(target, sorted_keys=media_type == JWS)
    body = codec.build(headers, signed, ders, sign, signing_agent)
    return SignedEnvelope(media_type, body, signing_time, until, tuple(identity.fingerprints()))
