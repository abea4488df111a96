"""Trust stores: the CA certificates a signature must chain to. Pure (no file or network I/O
beyond what the caller hands in).

The specification's two store types are kept apart, as notation does: ``ca`` stores trust
``notary.x509`` signatures, ``signingAuthority`` stores trust
``notary.x509.signingAuthority`` ones. A store holds only CA certificates or self-signed
signing certificates. A signature is trusted when a certificate of its (already
integrity-checked) chain is byte-for-byte one of the store's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from ..errors import TrustStoreInvalid
from .certificates import fingerprint, is_self_signed, subject
from .media import SCHEME_SIGNING_AUTHORITY

__all__ = ["TrustStore", "load_certificates"]


def load_certificates(
    data: bytes | str, what: str = "the CA certificates"
) -> list[x509.Certificate]:
    """Every certificate in a PEM bundle, or the one DER certificate ``data`` is."""
    raw = data.encode() if isinstance(data, str) else data
    if b"-----BEGIN" in raw:
        try:
            certs = x509.load_pem_x509_certificates(raw)
        except ValueError:
            raise TrustStoreInvalid(f"{what} hold no readable PEM certificate") from None
    else:
        try:
            certs = [x509.load_der_x509_certificate(raw)]
        except ValueError:
            raise TrustStoreInvalid(f"{what} are neither PEM nor a DER certificate") from None
    return certs


def _check_anchor(cert: x509.Certificate, what: str) -> None:
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        is_ca = constraints.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if not is_ca and not is_self_signed(cert):
        raise TrustStoreInvalid(
            f"{what}: {subject(cert)!r} is neither a CA certificate nor self-signed, so it "
            "cannot anchor trust"
        )


def _union(*groups: Sequence[x509.Certificate]) -> tuple[x509.Certificate, ...]:
    return tuple({fingerprint(c): c for group in groups for c in group}.values())


@dataclass(frozen=True, slots=True)
class TrustStore:
    """CA certificates for each signing scheme. Build with :meth:`from_pem`."""

    ca: tuple[x509.Certificate, ...] = ()
    signing_authority: tuple[x509.Certificate, ...] = ()

    @classmethod
    def from_pem(
        cls, *bundles: bytes | str, signing_authority: bool = False, what: str = "CA bundle"
    ) -> TrustStore:
        """A store from PEM bundles (or DER certificates). ``signing_authority=True`` makes
        it a ``signingAuthority`` store instead of a ``ca`` one. Raises
        :class:`TrustStoreInvalid` for unreadable input, a certificate that is neither a CA
        nor self-signed, or no certificate at all."""
        certs: list[x509.Certificate] = []
        for bundle in bundles:
            for cert in load_certificates(bundle, what):
                _check_anchor(cert, what)
                certs.append(cert)
        if not certs:
            raise TrustStoreInvalid(f"{what}: no certificate given")
        unique = _union(certs)
        return cls(signing_authority=unique) if signing_authority else cls(ca=unique)

    @classmethod
    def from_files(
        cls, paths: Iterable[str | Path], *, signing_authority: bool = False
    ) -> TrustStore:
        paths = list(paths)
        bundles = []
        for path in paths:
            try:
                bundles.append(Path(path).read_bytes())
            except OSError as exc:
                raise TrustStoreInvalid(f"cannot read {path}: {exc.strerror}") from None
        what = ", ".join(map(str, paths))
        return cls.from_pem(*bundles, signing_authority=signing_authority, what=what)

    def merged(self, other: TrustStore) -> TrustStore:
        return TrustStore(
            _union(self.ca, other.ca), _union(self.signing_authority, other.signing_authority)
        )

    def anchors(self, scheme: str) -> tuple[x509.Certificate, ...]:
        """The certificates that may anchor a signature of ``scheme``."""
        return self.signing_authority if scheme == SCHEME_SIGNING_AUTHORITY else self.ca

    def subjects(self, scheme: str | None = None) -> tuple[str, ...]:
        certs = self.anchors(scheme) if scheme else (*self.ca, *self.signing_authority)
        return tuple(subject(c) for c in certs)

    def anchor_for(self, chain: Sequence[x509.Certificate], scheme: str) -> x509.Certificate | None:
        """The first certificate of ``chain`` that is one of this store's for ``scheme``."""
        trusted = {fingerprint(c) for c in self.anchors(scheme)}
        return next((c for c in chain if fingerprint(c) in trusted), None)

    def fingerprints(self) -> frozenset[str]:
        return frozenset(fingerprint(c) for c in (*self.ca, *self.signing_authority))

    def __len__(self) -> int:
        return len(self.ca) + len(self.signing_authority)
