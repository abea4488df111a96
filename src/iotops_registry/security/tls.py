"""A local certificate authority and the server certificates it signs.

Every HTTPS origin the project serves uses a certificate from this one CA, so a client
needs exactly one file, ``DIR/tls/ca.pem``, to trust all of them.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ..config import write_private_file
from ..errors import ConfigurationError

__all__ = ["LocalCA", "ServerCertificate"]

_CA_LIFETIME = dt.timedelta(days=3650)
_LEAF_LIFETIME = dt.timedelta(days=365)
_RENEW_BEFORE = dt.timedelta(days=30)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _san_for(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


@dataclass(frozen=True)
class ServerCertificate:
    cert_path: Path
    key_path: Path


class LocalCA:
    """Load the CA in ``tls_dir``, or create it on first use."""

    def __init__(self, tls_dir: Path) -> None:
        self.tls_dir = tls_dir
        self.cert_path = tls_dir / "ca.pem"
        self.key_path = tls_dir / "ca-key.pem"
        if self.cert_path.exists() and self.key_path.exists():
            self._cert = x509.load_pem_x509_certificate(self.cert_path.read_bytes())
            key = serialization.load_pem_private_key(self.key_path.read_bytes(), password=None)
            if not isinstance(key, ec.EllipticCurvePrivateKey):
                raise ConfigurationError(f"{self.key_path} is not an EC private key")
            self._key = key
        else:
            self._key, self._cert = self._create()

    def _create(self) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "iotops-registry local CA")])
        now = _now()
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + _CA_LIFETIME)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        write_private_file(self.key_path, key_pem)
        write_private_file(
            self.cert_path, cert.public_bytes(serialization.Encoding.PEM), mode=0o644
        )
        return key, cert

    @property
    def certificate(self) -> x509.Certificate:
        return self._cert

    def server_certificate(self, name: str, hosts: list[str]) -> ServerCertificate:
        """A leaf certificate for ``hosts`` stored as ``tls/<name>.pem``; reissued when stale."""
        cert_path = self.tls_dir / f"{name}.pem"
        key_path = self.tls_dir / f"{name}-key.pem"
        wanted = {_san_for(h) for h in hosts}
        if cert_path.exists() and key_path.exists() and self._still_good(cert_path, wanted):
            return ServerCertificate(cert_path, key_path)
        key = ec.generate_private_key(ec.SECP256R1())
        now = _now()
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
            .issuer_name(self._cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + _LEAF_LIFETIME)
            .add_extension(x509.SubjectAlternativeName(sorted(wanted, key=str)), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()), False
            )
            .sign(self._key, hashes.SHA256())
        )
        # The chain (leaf + CA) lets clients that only trust the CA verify without AIA.
        chain = cert.public_bytes(serialization.Encoding.PEM) + self._cert.public_bytes(
            serialization.Encoding.PEM
        )
        write_private_file(
            key_path,
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
        write_private_file(cert_path, chain, mode=0o644)
        return ServerCertificate(cert_path, key_path)

    def _still_good(self, cert_path: Path, wanted: set[x509.GeneralName]) -> bool:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        if cert.issuer != self._cert.subject:
            return False
        if cert.not_valid_after_utc - _RENEW_BEFORE < _now():
            return False
        try:
            sans = set(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
        except x509.ExtensionNotFound:
            return False
        return wanted <= sans
