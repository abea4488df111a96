"""Signing: envelopes and manifests in notation's exact shape (compared field by field with
the vectors S1 and S6), every allowed key, expiry, and the certificate-chain rules both
the signer and the verifier apply. In-process: signing and verifying are pure."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import cbor2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from iotops_registry.errors import SigningError, TrustStoreInvalid
from iotops_registry.notary import (
    COSE,
    JWS,
    Code,
    SigningIdentity,
    TrustStore,
    algorithms,
    cose,
    create_dev_ca,
    jws,
    payload,
    sigmanifest,
    sign_descriptor,
    verify_envelope,
)
from iotops_registry.notary.envelope import Headers
from iotops_registry.notary.jws import b64url
from iotops_registry.oci import Descriptor, Digest
from iotops_registry.oci import mediatypes as mt
from tests.support.notary import (
    DATA,
    E2E_ARTIFACT,
    LAYOUTS,
    NOTATION_GO,
    NOW,
    S6_ARTIFACT,
    certificate,
    der,
    ec_key,
    key_usage,
    name,
    pem,
    signature_entries,
)

S6_JWS = json.loads((NOTATION_GO / "jws_signature.sig").read_bytes())
S6_COSE = cbor2.loads((NOTATION_GO / "cose_signature.sig").read_bytes())
SIGNED_AT = NOW - dt.timedelta(hours=1)


def _b64url_json(text: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


@pytest.fixture(scope="module")
def rsa_identity() -> SigningIdentity:
    made = create_dev_ca(key_type="rsa-2048", now=NOW - dt.timedelta(days=1))
    return SigningIdentity.of(made.leaf_key, (made.leaf, made.ca))


# --- the shape of what we make, against notation's --------------------------------------


def test_signature_manifest_is_notations_byte_for_byte() -> None:
    """Given S6's JWS, our manifest is the one notation-go's registry test expects."""
    envelope = (NOTATION_GO / "jws_signature.sig").read_bytes()
    built = sigmanifest.build(
        S6_ARTIFACT,
        Descriptor(JWS, Digest.of(envelope), len(envelope)),
        ["9f5f5aecee24b5cfdc7a91f6d5ac5c3a5348feb17c934d403f59ac251549ea0d"],
        dt.datetime(2023, 3, 14, 8, 10, 2, tzinfo=dt.UTC),
    )
    expected = (DATA / "derived" / "expectedSignatureManifest.json").read_bytes()
    assert built == expected
    assert str(Digest.of(built)) == (
        "sha256:64300ad03f1dcd18136787363f3069c9598623221cbe76e3233d35266b7973d6"
    )


def test_our_signature_manifest_has_s1s_fields(rsa_identity: SigningIdentity) -> None:
    s1, _ = signature_entries(LAYOUTS / "e2e-valid-signature")[0]
    theirs = json.loads(s1)
    signed = sign_descriptor(E2E_ARTIFACT, rsa_identity, now=SIGNED_AT)
    ours = json.loads(signed.manifest(E2E_ARTIFACT))
    # The same fields, save the form: S1 is the legacy one (config media type), ours the
    # current one (artifactType + empty config), which is what notation writes today.
    assert set(ours) == set(theirs) | {"artifactType"}
    assert ours["schemaVersion"] == theirs["schemaVersion"] == 2
    assert ours["mediaType"] == theirs["mediaType"] == mt.OCI_MANIFEST
    assert theirs["config"]["mediaType"] == "application/vnd.cncf.notary.signature"
    assert ours["artifactType"] == "application/vnd.cncf.notary.signature"
    assert ours["config"] == {
        "mediaType": mt.OCI_EMPTY, "digest": theirs["config"]["digest"], "size": 2,
        "data": "e30=",
    }
    assert ours["subject"] == theirs["subject"] == E2E_ARTIFACT.to_dict()
    assert [list(layer) for layer in ours["layers"]] == [list(layer) for layer in
                                                         theirs["layers"]]
    assert ours["layers"][0]["mediaType"] == theirs["layers"][0]["mediaType"] == JWS
    assert set(ours["annotations"]) == set(theirs["annotations"])
    thumbprints = ours["annotations"]["io.cncf.notary.x509chain.thumbprint#S256"]
    assert thumbprints == json.dumps(rsa_identity.fingerprints(), separators=(",", ":"))
    assert thumbprints.startswith('["') and " " not in thumbprints and thumbprints.islower()
    assert ours["annotations"]["org.opencontainers.image.created"] == (
        SIGNED_AT.strftime("%Y-%m-%dT%H:%M:%SZ")
    )


def test_our_jws_has_s6s_fields(rsa_identity: SigningIdentity) -> None:
    signed = sign_descriptor(S6_ARTIFACT, rsa_identity, envelope="jws", now=SIGNED_AT)
    ours = json.loads(signed.data)
    assert list(ours) == list(S6_JWS) == ["payload", "protected", "header", "signature"]
    assert list(ours["header"]) == list(S6_JWS["header"]) == [
        "x5c", "io.cncf.notary.signingAgent"]
    assert len(ours["header"]["x5c"]) == 2
    # The payload is the same bytes: same target, same (sorted) key order.
    assert ours["payload"] == S6_JWS["payload"]
    theirs_protected = _b64url_json(S6_JWS["protected"])
    ours_protected = _b64url_json(ours["protected"])
    assert list(ours_protected) == list(theirs_protected)  # sorted keys, as notation
    for key in ("alg", "crit", "cty", "io.cncf.notary.signingScheme"):
        assert ours_protected[key] == theirs_protected[key], key
    assert ours_protected["io.cncf.notary.signingTime"] == "2026-11-29T23:00:00Z"
    assert verify_envelope(signed.data, JWS, S6_ARTIFACT, _store(rsa_identity), NOW).ok


def test_with_expiry_crit_lists_it_after_the_scheme(rsa_identity: SigningIdentity) -> None:
    signed = sign_descriptor(S6_ARTIFACT, rsa_identity, expiry=dt.timedelta(days=2),
                             now=SIGNED_AT)
    protected = _b64url_json(json.loads(signed.data)["protected"])
    mock = _b64url_json(json.loads((NOTATION_GO / "mock" / "ca_valid_sig_env.json")
                                   .read_bytes())["protected"])
    assert protected["crit"] == mock["crit"] == [
        "io.cncf.notary.signingScheme", "io.cncf.notary.expiry"]
    assert list(protected) == list(mock)
    assert protected["io.cncf.notary.expiry"] == "2026-12-01T23:00:00Z"


def test_our_cose_has_s6s_fields(rsa_identity: SigningIdentity) -> None:
    signed = sign_descriptor(S6_ARTIFACT, rsa_identity, envelope="cose", now=SIGNED_AT)
    ours = cbor2.loads(signed.data)
    assert ours.tag == S6_COSE.tag == 18
    protected, unprotected, payload, _ = ours.value
    theirs_protected, theirs_unprotected, theirs_payload, _ = S6_COSE.value
    assert payload == theirs_payload  # same bytes: Go's descriptor field order
    ours_map, theirs_map = cbor2.loads(protected), cbor2.loads(theirs_protected)
    assert list(ours_map) == list(theirs_map)  # canonical, length-first order
    for label in (1, 2, 3, "io.cncf.notary.signingScheme"):
        assert ours_map[label] == theirs_map[label], label
    assert list(unprotected) == list(theirs_unprotected) == [33, "io.cncf.notary.signingAgent"]
    assert len(unprotected[33]) == 2
    assert verify_envelope(signed.data, COSE, S6_ARTIFACT, _store(rsa_identity), NOW).ok


def test_cose_protected_header_encodes_exactly_as_notation() -> None:
    """S6's headers, encoded by us, are S6's protected bytes: the same canonical CBOR."""
    theirs = S6_COSE.value[0]
    when = cbor2.loads(theirs)["io.cncf.notary.signingTime"]
    alg = algorithms.by_jws_name("PS256")
    assert alg is not None
    ours = cbor2.dumps(
        cose.protected_header(Headers(alg, "notary.x509", signing_time=when)), canonical=True
    )
    assert ours == theirs


def _store(identity: SigningIdentity) -> TrustStore:
    return TrustStore.from_pem(pem(identity.chain[-1]))


# --- every key the specification allows -----------------------------------------------------


@pytest.mark.parametrize(
    ("key_type", "alg"),
    [("ec-p256", "ES256"), ("ec-p384", "ES384"), ("ec-p521", "ES512"),
     ("rsa-2048", "PS256"), ("rsa-3072", "PS384"), ("rsa-4096", "PS512")],
)
def test_sign_and_verify_with_each_allowed_key(key_type: str, alg: str) -> None:
    made = create_dev_ca(key_type=key_type, now=NOW - dt.timedelta(days=1))
    identity = SigningIdentity.of(made.leaf_key, (made.leaf, made.ca))
    trust = TrustStore.from_pem(made.ca_pem())
    for envelope in (JWS, COSE):
        signed = sign_descriptor(E2E_ARTIFACT, identity, envelope=envelope, now=SIGNED_AT)
        result = verify_envelope(signed.data, envelope, E2E_ARTIFACT, trust, NOW)
        assert result.code is Code.VERIFIED, result.message
        if envelope == JWS:
            assert _b64url_json(json.loads(signed.data)["protected"])["alg"] == alg


def test_expiry_is_enforced(rsa_identity: SigningIdentity) -> None:
    signed = sign_descriptor(E2E_ARTIFACT, rsa_identity, expiry=dt.timedelta(hours=1),
                             now=SIGNED_AT, envelope="cose")
    trust = _store(rsa_identity)
    assert verify_envelope(signed.data, COSE, E2E_ARTIFACT, trust,
                           SIGNED_AT + dt.timedelta(minutes=59)).ok
    late = verify_envelope(signed.data, COSE, E2E_ARTIFACT, trust,
                           SIGNED_AT + dt.timedelta(hours=1))
    assert late.code is Code.SIGNATURE_EXPIRED and late.code.step == "expiry"


# --- the signer refuses what could never verify ---------------------------------------------


def test_signer_refusals() -> None:
    made = create_dev_ca(now=NOW - dt.timedelta(days=1))
    other = ec_key()
    with pytest.raises(SigningError, match="does not belong"):
        SigningIdentity.of(other, (made.leaf, made.ca))
    with pytest.raises(SigningError, match="root"):
        SigningIdentity.of(made.leaf_key, (made.leaf,))
    with pytest.raises(SigningError, match="not issued by"):
        SigningIdentity.of(made.leaf_key, (made.leaf, create_dev_ca().ca))
    with pytest.raises(SigningError, match="RSA 2048"):
        SigningIdentity.of(ec_key(ec.SECP256K1()), (made.leaf, made.ca))
    tls_key = ec_key()
    tls = certificate("tls", tls_key, eku=[ExtendedKeyUsageOID.SERVER_AUTH])
    with pytest.raises(SigningError, match="serverAuth"):
        SigningIdentity.of(tls_key, (tls,))
    with pytest.raises(SigningError, match="cannot be read"):
        SigningIdentity.from_pem(b"not a key", made.chain_pem())
    identity = SigningIdentity.of(made.leaf_key, (made.leaf, made.ca))
    with pytest.raises(SigningError, match="expired"):
        sign_descriptor(E2E_ARTIFACT, identity, now=NOW + dt.timedelta(days=400))
    with pytest.raises(SigningError, match="jws or cose"):
        sign_descriptor(E2E_ARTIFACT, identity, envelope="pgp")


# --- chain rules, through the verifier ---------------------------------------------------


def _sign_anyway(key: Any, chain: tuple[x509.Certificate, ...]) -> bytes:
    """Sign without the signer's checks, to hand the verifier a bad chain."""
    alg = algorithms.algorithm_for_key(key)
    assert alg is not None
    return jws.build(
        Headers(alg, "notary.x509", signing_time=SIGNED_AT),
        payload.build(E2E_ARTIFACT, sorted_keys=True),
        [der(c) for c in chain],
        lambda a, data: algorithms.sign(a, key, data),
        "tests",
    )


def _verdict(key: Any, chain: tuple[x509.Certificate, ...], *anchors: x509.Certificate,
             now: dt.datetime = NOW) -> Any:
    data = _sign_anyway(key, chain)
    trust = TrustStore.from_pem(pem(*(anchors or chain[-1:])))
    return verify_envelope(data, JWS, E2E_ARTIFACT, trust, now)


def _ca(cn: str, **kwargs: Any) -> tuple[Any, x509.Certificate]:
    key = ec_key()
    return key, certificate(cn, key, ca=True, **kwargs)


def _leaf(issuer: tuple[Any, x509.Certificate], **kwargs: Any) -> tuple[Any, x509.Certificate]:
    key = ec_key()
    return key, certificate("leaf", key, issuer=(issuer[1].subject, issuer[0]), **kwargs)


def test_a_three_level_chain_verifies_and_any_chain_certificate_can_anchor() -> None:
    root = _ca("root", path_length=1)
    inter_key = ec_key()
    inter = certificate("intermediate", inter_key, ca=True, path_length=0,
                        issuer=(root[1].subject, root[0]))
    key, leaf = _leaf((inter_key, inter))
    chain = (leaf, inter, root[1])
    assert _verdict(key, chain).code is Code.VERIFIED
    assert _verdict(key, chain, inter).code is Code.VERIFIED  # anchored at the intermediate
    assert _verdict(key, chain, create_dev_ca().ca).code is Code.UNTRUSTED_SIGNER


@pytest.mark.parametrize(
    ("leaf_kwargs", "words"),
    [
        ({"usage": key_usage(content_commitment=True)}, "digitalSignature"),
        ({"usage_critical": False}, "not critical"),
        ({"usage": key_usage(digital_signature=True, key_encipherment=True)},
         "keyEncipherment"),
        ({"eku": [ExtendedKeyUsageOID.CODE_SIGNING, ExtendedKeyUsageOID.CLIENT_AUTH]},
         "clientAuth"),
        ({"eku": [ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE]}, "anyExtendedKeyUsage"),
        ({"eku": [ExtendedKeyUsageOID.TIME_STAMPING]}, "timeStamping"),
        ({"ca": True, "usage": key_usage(digital_signature=True)}, "is a CA"),
    ],
)
def test_leaf_rules(leaf_kwargs: dict[str, Any], words: str) -> None:
    root = _ca("root")
    key, leaf = _leaf(root, **leaf_kwargs)
    result = _verdict(key, (leaf, root[1]))
    assert result.code is Code.CERTIFICATE_INVALID, result.message
    assert words in result.message
    assert result.code.step == "integrity"


def test_a_leaf_without_eku_or_basic_constraints_is_allowed() -> None:
    root = _ca("root")
    key, leaf = _leaf(root, eku=None, ca=None)  # like the e2e expired-cert vector
    assert _verdict(key, (leaf, root[1])).code is Code.VERIFIED


@pytest.mark.parametrize(
    ("ca_kwargs", "words"),
    [
        ({"usage": key_usage(crl_sign=True)}, "keyCertSign"),
        ({"usage_critical": False}, "not critical"),
    ],
)
def test_ca_rules(ca_kwargs: dict[str, Any], words: str) -> None:
    root = _ca("root", **ca_kwargs)
    key, leaf = _leaf(root)
    result = _verdict(key, (leaf, root[1]))
    assert result.code is Code.CERTIFICATE_INVALID and words in result.message, result.message


def test_a_root_without_ca_true_cannot_issue() -> None:
    root_key = ec_key()
    root = certificate("root", root_key, ca=False, usage=key_usage(key_cert_sign=True))
    key, leaf = _leaf((root_key, root))
    result = _verdict(key, (leaf, root))
    assert result.code is Code.CERTIFICATE_INVALID and "CA:TRUE" in result.message


def test_path_length_is_honoured() -> None:
    root = _ca("root", path_length=0)
    inter_key = ec_key()
    inter = certificate("intermediate", inter_key, ca=True, issuer=(root[1].subject, root[0]))
    key, leaf = _leaf((inter_key, inter))
    result = _verdict(key, (leaf, inter, root[1]))
    assert result.code is Code.CERTIFICATE_INVALID and "path length" in result.message


def test_chain_order_and_completeness() -> None:
    root = _ca("root")
    key, leaf = _leaf(root)
    missing_root = _verdict(key, (leaf,), root[1])
    assert missing_root.code is Code.CERTIFICATE_INVALID and "self-signed" in missing_root.message
    reversed_chain = _verdict(key, (root[1], leaf), root[1])
    assert reversed_chain.code is Code.CERTIFICATE_INVALID
    extra = _verdict(key, (leaf, root[1], create_dev_ca().ca), root[1])
    assert extra.code is Code.CERTIFICATE_INVALID


def test_certificate_validity_at_signing_time_and_now() -> None:
    root = _ca("root", not_before=NOW - dt.timedelta(days=10), not_after=NOW + dt.timedelta(
        days=10))
    key, leaf = _leaf(root, not_before=NOW - dt.timedelta(days=5),
                      not_after=NOW - dt.timedelta(minutes=30))
    # Signed an hour ago, while the leaf was valid; it expired half an hour ago.
    expired = _verdict(key, (leaf, root[1]))
    assert expired.code is Code.CERTIFICATE_EXPIRED, expired.message
    assert expired.code.step == "authenticTimestamp" and "is not valid now" in expired.message
    key2, young = _leaf(root, not_before=NOW - dt.timedelta(minutes=30))
    early = _verdict(key2, (young, root[1]))
    assert early.code is Code.CERTIFICATE_EXPIRED and "at the signing time" in early.message


# --- trust stores ---------------------------------------------------------------------------


def test_trust_store_loading() -> None:
    made = create_dev_ca()
    assert len(TrustStore.from_pem(made.ca_pem())) == 1
    assert len(TrustStore.from_pem(der(made.ca))) == 1  # DER
    assert len(TrustStore.from_pem(made.ca_pem() + made.ca_pem())) == 1  # deduplicated
    self_signed = TrustStore.from_files([DATA / "localkeys" / "e2e.crt"])  # a self-signed leaf
    assert self_signed.subjects() == ("CN=e2e,O=Notary,L=Seattle,ST=WA,C=US",)
    with pytest.raises(TrustStoreInvalid, match="neither a CA"):
        TrustStore.from_pem(made.leaf_pem())
    with pytest.raises(TrustStoreInvalid):
        TrustStore.from_pem(b"-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n")
    with pytest.raises(TrustStoreInvalid):
        TrustStore.from_pem(b"garbage")
    with pytest.raises(TrustStoreInvalid, match="no certificate"):
        TrustStore.from_pem()
    merged = TrustStore.from_pem(made.ca_pem()).merged(
        TrustStore.from_pem(create_dev_ca().ca_pem(), signing_authority=True))
    assert len(merged.ca) == 1 and len(merged.signing_authority) == 1
    assert name("x") != name("y")
    assert b64url(b"\xff") == "_w"


def test_pss_salt_must_be_the_hash_length_and_ecdsa_raw(rsa_identity: SigningIdentity) -> None:
    """A PSS signature with the maximum salt, or an ECDSA one in DER, is a valid signature
    by the key, but not the encoding the specification (RFC 7518) prescribes."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    def max_salt(alg: algorithms.Algorithm, data: bytes) -> bytes:
        key = rsa_identity.key
        assert isinstance(key, rsa.RSAPrivateKey)
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.MAX_LENGTH)
        return key.sign(data, pss, hashes.SHA256())

    headers = Headers(rsa_identity.algorithm, "notary.x509", signing_time=SIGNED_AT)
    ders = [der(c) for c in rsa_identity.chain]
    body = jws.build(headers, payload.build(E2E_ARTIFACT, sorted_keys=True), ders, max_salt, "t")
    result = verify_envelope(body, JWS, E2E_ARTIFACT, _store(rsa_identity), NOW)
    assert result.code is Code.INTEGRITY, result.message

    made = create_dev_ca(now=NOW - dt.timedelta(days=1))
    key = made.leaf_key
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    alg = algorithms.by_jws_name("ES256")
    assert alg is not None

    def der_ecdsa(_: algorithms.Algorithm, data: bytes) -> bytes:
        return key.sign(data, ec.ECDSA(hashes.SHA256()))

    body = jws.build(Headers(alg, "notary.x509", signing_time=SIGNED_AT),
                     payload.build(E2E_ARTIFACT, sorted_keys=True),
                     [der(made.leaf), der(made.ca)], der_ecdsa, "t")
    result = verify_envelope(body, JWS, E2E_ARTIFACT, TrustStore.from_pem(made.ca_pem()), NOW)
    assert result.code is Code.INTEGRITY, result.message
