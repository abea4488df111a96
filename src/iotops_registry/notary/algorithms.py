"""Signature algorithms: which one a key dictates, and the primitive sign/verify. Pure.

The specification pins the algorithm to the signing certificate's key ("Algorithm
Selection"): RSA 2048/3072/4096 → RSASSA-PSS with SHA-256/384/512 (salt length = hash
length), EC P-256/P-384/P-521 → ECDSA with SHA-256/384/512. No other key, size or pairing
is allowed, so a header's ``alg`` is never trusted on its own: it must equal the key's.
ECDSA signatures in both envelopes are the raw ``r || s`` of RFC 7518, not DER.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from ..errors import SignatureVerificationFailed, SigningError

__all__ = [
    "ALGORITHMS",
    "Algorithm",
    "PrivateKey",
    "PublicKey",
    "algorithm_for_key",
    "by_cose_id",
    "by_jws_name",
    "sign",
    "verify",
]

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True, slots=True)
class Algorithm:
    jws: str  # JWS "alg"
    cose: int  # COSE label 1
    hash_name: str
    family: str  # "rsa" | "ec"
    key_size: int  # RSA modulus bits, or EC curve bits

    def hash(self) -> hashes.SHA256 | hashes.SHA384 | hashes.SHA512:
        if self.hash_name == "sha256":
            return hashes.SHA256()
        return hashes.SHA384() if self.hash_name == "sha384" else hashes.SHA512()


ALGORITHMS: tuple[Algorithm, ...] = (
    Algorithm("PS256", -37, "sha256", "rsa", 2048),
    Algorithm("PS384", -38, "sha384", "rsa", 3072),
    Algorithm("PS512", -39, "sha512", "rsa", 4096),
    Algorithm("ES256", -7, "sha256", "ec", 256),
    Algorithm("ES384", -35, "sha384", "ec", 384),
    Algorithm("ES512", -36, "sha512", "ec", 521),
)
_CURVES = {"secp256r1": 256, "secp384r1": 384, "secp521r1": 521}


def by_jws_name(name: object) -> Algorithm | None:
    return next((a for a in ALGORITHMS if a.jws == name), None)


def by_cose_id(value: object) -> Algorithm | None:
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    return next((a for a in ALGORITHMS if a.cose == value), None)


def algorithm_for_key(key: object) -> Algorithm | None:
    """The one algorithm the specification allows for ``key`` (a public or private key)."""
    if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        family, size = "rsa", key.key_size
    elif isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
        family, size = "ec", _CURVES.get(key.curve.name, 0)
    else:
        return None
    return next((a for a in ALGORITHMS if (a.family, a.key_size) == (family, size)), None)


def _pss(alg: Algorithm) -> padding.PSS:
    # Salt length = hash length: the specification's (and RFC 7518's) rule, not MAX_LENGTH.
    return padding.PSS(mgf=padding.MGF1(alg.hash()), salt_length=alg.hash().digest_size)


def _coordinate_bytes(alg: Algorithm) -> int:
    return (alg.key_size + 7) // 8


def verify(alg: Algorithm, key: PublicKey, signature: bytes, data: bytes) -> None:
    """Raise ``SignatureVerificationFailed`` (SignatureIntegrity) unless it verifies."""
    try:
        if alg.family == "rsa" and isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, _pss(alg), alg.hash())
            return
        if alg.family == "ec" and isinstance(key, ec.EllipticCurvePublicKey):
            half = _coordinate_bytes(alg)
            if len(signature) != 2 * half:
                raise InvalidSignature
            r = int.from_bytes(signature[:half], "big")
            s = int.from_bytes(signature[half:], "big")
            key.verify(encode_dss_signature(r, s), data, ec.ECDSA(alg.hash()))
            return
    except InvalidSignature:
        raise SignatureVerificationFailed(
            f"the {alg.jws} signature does not verify with the signing certificate's key",
            code="SignatureIntegrity",
        ) from None
    raise SignatureVerificationFailed(
        f"{alg.jws} does not fit the signing certificate's key", code="SignatureIntegrity"
    )


def sign(alg: Algorithm, key: PrivateKey, data: bytes) -> bytes:
    if alg.family == "rsa" and isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, _pss(alg), alg.hash())
    if alg.family == "ec" and isinstance(key, ec.EllipticCurvePrivateKey):
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(alg.hash())))
        half = _coordinate_bytes(alg)
        return r.to_bytes(half, "big") + s.to_bytes(half, "big")
    raise SigningError(f"{alg.jws} does not fit the signing key")
