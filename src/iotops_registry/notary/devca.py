"""A code-signing CA and a signing certificate for trying signatures locally. Pure.

What ``iotops dev ca create`` writes: a root CA (basic constraints CA:TRUE pathlen 0,
keyCertSign) and a leaf issued by it (digitalSignature, EKU codeSigning, CA:FALSE), both
following the specification's certificate requirements, so that a chain of the two signs
and verifies here and with notation. Not for production: the CA key is a file.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ..errors import SigningError
from .algorithms import PrivateKey

__all__ = ["KEY_TYPES", "DevCertificates", "create_dev_ca", "new_key"]

KEY_TYPES = ("ec-p256", "ec-p384", "ec-p521", "rsa-2048", "rsa-3072", "rsa-4096")
_CURVES: dict[str, ec.EllipticCurve] = {
    "ec-p256": ec.SECP256R1(),
    "ec-p384": ec.SECP384R1(),
    "ec-p521": ec.SECP521R1(),
}


def _hash(key_type: str) -> hashes.SHA256 | hashes.SHA384 | hashes.SHA512:
    if key_type in ("ec-p256", "rsa-2048"):
        return hashes.SHA256()
    return hashes.SHA384() if key_type in ("ec-p384", "rsa-3072") else hashes.SHA512()


def new_key(key_type: str) -> PrivateKey:
    if key_type in _CURVES:
        return ec.generate_private_key(_CURVES[key_type])
    if key_type.startswith("rsa-") and key_type in KEY_TYPES:
        return rsa.generate_private_key(public_exponent=65537, key_size=int(key_type[4:]))
    raise SigningError(f"key type {key_type!r} is not one of {', '.join(KEY_TYPES)}")


def _pem_key(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _name(common_name: str, organization: str) -> x509.Name:
    # C, ST and O: what trust policies' x509.subject identities require.
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "WA"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


@dataclass(frozen=True)
class DevCertificates:
    ca_key: PrivateKey
    ca: x509.Certificate
    leaf_key: PrivateKey
    leaf: x509.Certificate

    def ca_pem(self) -> bytes:
        return self.ca.public_bytes(serialization.Encoding.PEM)

    def leaf_pem(self) -> bytes:
        return self.leaf.public_bytes(serialization.Encoding.PEM)

    def chain_pem(self) -> bytes:
        """Leaf then CA: what ``iotops artifact sign --cert`` takes."""
        return self.leaf_pem() + self.ca_pem()

    def ca_key_pem(self) -> bytes:
        return _pem_key(self.ca_key)

    def leaf_key_pem(self) -> bytes:
        return _pem_key(self.leaf_key)


def create_dev_ca(
    *,
    organization: str = "iotops-registry development",
    ca_name: str = "iotops development code-signing CA",
    signer_name: str = "iotops development signer",
    key_type: str = "ec-p256",
    days: int = 365,
    now: dt.datetime | None = None,
) -> DevCertificates:
    if days < 1:
        raise SigningError("a certificate must be valid for at least a day")
    start = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(minutes=5)
    ca_key, leaf_key = new_key(key_type), new_key(key_type)
    digest = _hash(key_type)
    ca_subject = _name(ca_name, organization)
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_subject)
        .issuer_name(ca_subject)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days + 1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, digest)
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name(signer_name, organization))
        .issuer_name(ca_subject)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
        .sign(ca_key, digest)
    )
    return DevCertificates(ca_key, ca, leaf_key, leaf)
