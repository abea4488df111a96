"""Helpers for the Notary Project signature tests: the vectors, certificates made to order,
hand-made envelopes, and loading an OCI image layout into a registry with our own client."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from iotops_registry.notary import TrustStore, algorithms
from iotops_registry.notary.jws import b64url
from iotops_registry.oci import Descriptor, Digest, Index, Manifest, parse_manifest
from iotops_registry.oci import mediatypes as mt
from iotops_registry.remote import RegistryClient

DATA = Path(__file__).resolve().parents[1] / "data" / "notary"
LAYOUTS = DATA / "oci_layout"
KEYS = DATA / "localkeys"
NOTATION_GO = DATA / "notation-go"
NOW = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
"""The time VECTORS.md evaluated the vectors at."""

# The artifact every notation e2e layout signs (tag v1).
E2E_ARTIFACT = Descriptor(
    mt.OCI_MANIFEST,
    Digest.parse("sha256:b8479de3f88fb259a0a9ea82a5b2a052a1ef3c4ebbcfc61482d5ae4c831f8af9"),
    517,
)
# S6: the alpine manifest both notation-go signatures sign.
S6_ARTIFACT = Descriptor(
    mt.OCI_MANIFEST,
    Digest.of((NOTATION_GO / "alpine-v2-manifest.json").read_bytes()),
    len((NOTATION_GO / "alpine-v2-manifest.json").read_bytes()),
)
# S7/S8 and the other notation-go mock envelopes (no artifact bytes exist).
MOCK_ARTIFACT = Descriptor(
    mt.DOCKER_MANIFEST,
    Digest.parse("sha256:60043cf45eaebc4c0867fea485a039b598f52fd09fd5b07b0b2d2f88fad9d74e"),
    528,
)


def store(*paths: Path, signing_authority: bool = False) -> TrustStore:
    return TrustStore.from_files(paths, signing_authority=signing_authority)


def s6_store() -> TrustStore:
    return store(NOTATION_GO / "exampleX509Certificate.pem")


def mock_store(*, signing_authority: bool = False) -> TrustStore:
    return store(
        NOTATION_GO / "truststore" / "NotationTestRoot.pem", signing_authority=signing_authority
    )


def blob(layout: Path, digest: str) -> bytes:
    return (layout / "blobs" / "sha256" / digest.split(":", 1)[1]).read_bytes()


def signature_entries(layout: Path) -> list[tuple[bytes, bytes]]:
    """(signature manifest, envelope) pairs of a layout, as stored."""
    out = []
    for entry in json.loads((layout / "index.json").read_text())["manifests"]:
        data = blob(layout, entry["digest"])
        doc = json.loads(data)
        if doc.get("subject") and doc.get("layers"):
            out.append((data, blob(layout, doc["layers"][0]["digest"])))
    return out


async def push_layout(client: RegistryClient, repository: str, layout: Path) -> None:
    """Load an OCI image layout into ``repository`` as it is: every blob, the manifests
    (tagged ones by tag, the rest by digest, signature manifests with their ``subject``),
    indexes last (a referrers-tag index names manifests that must already exist)."""
    entries = json.loads((layout / "index.json").read_text())["manifests"]

    def ordered(entry: dict[str, Any]) -> int:
        parsed = parse_manifest(blob(layout, entry["digest"]), entry["mediaType"])
        if isinstance(parsed, Index):
            return 2
        return 1 if isinstance(parsed, Manifest) and parsed.subject is not None else 0

    for entry in sorted(entries, key=ordered):
        data = blob(layout, entry["digest"])
        parsed = parse_manifest(data, entry["mediaType"])
        if isinstance(parsed, Manifest):
            for desc in (parsed.config, *parsed.layers):
                await client.push_blob(
                    repository, blob(layout, str(desc.digest)), media_type=desc.media_type
                )
        tag = (entry.get("annotations") or {}).get("org.opencontainers.image.ref.name")
        await client.put_manifest(
            repository, tag or Digest.parse(entry["digest"]), data, entry["mediaType"]
        )


# --- certificates made to order ----------------------------------------------------------


def name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "WA"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "iotops tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def key_usage(**set_: bool) -> x509.KeyUsage:
    fields = dict.fromkeys(
        (
            "digital_signature",
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "key_cert_sign",
            "crl_sign",
            "encipher_only",
            "decipher_only",
        ),
        False,
    )
    fields.update(set_)
    return x509.KeyUsage(**fields)


def certificate(
    cn: str,
    key: Any,
    *,
    issuer: tuple[x509.Name, Any] | None = None,
    ca: bool | None = False,
    path_length: int | None = None,
    usage: x509.KeyUsage | None = None,
    usage_critical: bool = True,
    eku: Sequence[x509.ObjectIdentifier] | None = (ExtendedKeyUsageOID.CODE_SIGNING,),
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    digest: Any = None,
) -> x509.Certificate:
    """A certificate; ``issuer`` = (name, key) or self-signed. ``ca=None``: no basic
    constraints; ``usage=None``: digitalSignature (leaf) or keyCertSign (CA)."""
    start = not_before or NOW - dt.timedelta(days=2)
    end = not_after or start + dt.timedelta(days=30)
    issuer_name, issuer_key = issuer or (name(cn), key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name(cn))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
    )
    if ca is not None:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=ca, path_length=path_length if ca else None), critical=True
        )
    if usage is None:
        usage = key_usage(key_cert_sign=True, crl_sign=True) if ca else key_usage(
            digital_signature=True
        )
    builder = builder.add_extension(usage, critical=usage_critical)
    if eku is not None and not ca:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
    return builder.sign(issuer_key, digest or hashes.SHA256())


def rsa_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def ec_key(curve: ec.EllipticCurve | None = None) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(curve or ec.SECP256R1())


def pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def hand_made_jws(
    protected: dict[str, Any],
    payload: bytes,
    key: Any,
    chain: Sequence[x509.Certificate],
    *,
    algorithm: str | None = None,
) -> bytes:
    """A JWS signed with ``key`` over any protected header (for headers the signer never
    writes: unknown critical names, missing times, a lying ``alg``)."""
    protected_text = b64url(json.dumps(protected).encode())
    payload_text = b64url(payload)
    alg = algorithms.by_jws_name(algorithm or protected.get("alg"))
    assert alg is not None
    signature = algorithms.sign(alg, key, f"{protected_text}.{payload_text}".encode())
    return json.dumps(
        {
            "payload": payload_text,
            "protected": protected_text,
            "header": {"x5c": [base64.b64encode(der(c)).decode() for c in chain]},
            "signature": b64url(signature),
        }
    ).encode()
