"""Verifying the real notation-go envelopes (VECTORS.md S6-S8, section 3), tampered copies
and hand-made envelopes that break one rule each. In-process: the verifier core is pure.

S1-S5 (complete registries) are verified through the real registry in
tests/test_notary_registry.py.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, NamedTuple

import cbor2
import pytest
from cryptography import x509

from iotops_registry.notary import (
    COSE,
    JWS,
    Code,
    SignatureResult,
    TrustStore,
    create_dev_ca,
    verify_envelope,
)
from iotops_registry.notary.jws import b64url
from iotops_registry.notary.payload import build as build_payload
from iotops_registry.oci import Descriptor, Digest
from tests.support.notary import (
    MOCK_ARTIFACT,
    NOTATION_GO,
    NOW,
    S6_ARTIFACT,
    hand_made_jws,
    mock_store,
    s6_store,
)

MOCK = NOTATION_GO / "mock"
S6_JWS = (NOTATION_GO / "jws_signature.sig").read_bytes()
S6_COSE = (NOTATION_GO / "cose_signature.sig").read_bytes()


# --- S6: JWS and COSE over one manifest -----------------------------------------------------


@pytest.mark.parametrize(("data", "media_type"), [(S6_JWS, JWS), (S6_COSE, COSE)])
def test_s6_jws_and_cose_verify(data: bytes, media_type: str) -> None:
    result = verify_envelope(data, media_type, S6_ARTIFACT, s6_store(), NOW)
    assert result.code is Code.VERIFIED, result.message
    assert result.signer == "CN=alpine,O=Notary,L=Seattle,ST=WA,C=US"
    assert result.trusted_by is not None
    assert result.trusted_by.sha256.startswith("9f5f5aec")
    assert result.scheme == "notary.x509"
    assert result.envelope_type == media_type


def test_s6_under_the_wrong_media_type_is_not_an_envelope() -> None:
    result = verify_envelope(S6_JWS, COSE, S6_ARTIFACT, s6_store(), NOW)
    assert result.code is Code.ENVELOPE_INVALID


def test_s6_for_another_artifact_is_a_target_mismatch() -> None:
    for other in (
        Descriptor(S6_ARTIFACT.media_type, S6_ARTIFACT.digest, S6_ARTIFACT.size + 1),
        Descriptor("application/vnd.docker.distribution.manifest.v2+json", S6_ARTIFACT.digest,
                   S6_ARTIFACT.size),
        Descriptor(S6_ARTIFACT.media_type, Digest.of(b"other"), S6_ARTIFACT.size),
    ):
        result = verify_envelope(S6_JWS, JWS, other, s6_store(), NOW)
        assert result.code is Code.TARGET_MISMATCH, result.message
        assert str(S6_ARTIFACT.digest) in result.message


def test_s6_signed_by_a_stranger_is_untrusted_and_names_both_sides() -> None:
    other = mock_store()
    result = verify_envelope(S6_COSE, COSE, S6_ARTIFACT, other, NOW)
    assert result.code is Code.UNTRUSTED_SIGNER
    assert "CN=alpine,O=Notary,L=Seattle,ST=WA,C=US" in result.message
    assert "CN=Notation Test Root" in result.message
    assert Code.UNTRUSTED_SIGNER.step == "authenticity"


# --- tampering ------------------------------------------------------------------------------


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def test_a_flipped_byte_in_the_cose_payload_fails_integrity() -> None:
    # Inside the digest's hex, so the result is still well-formed CBOR and JSON: only the
    # signature can tell.
    at = S6_COSE.index(S6_ARTIFACT.digest.hex.encode()) + 10
    tampered = _flip(S6_COSE, at)
    assert cbor2.loads(tampered).value[2] != cbor2.loads(S6_COSE).value[2]
    result = verify_envelope(tampered, COSE, S6_ARTIFACT, s6_store(), NOW)
    assert result.code is Code.INTEGRITY, result.message
    assert Code.INTEGRITY.step == "integrity"


def test_a_flipped_byte_in_the_cose_signature_or_protected_time_fails_integrity() -> None:
    signature = cbor2.loads(S6_COSE).value[3]
    at_signature = S6_COSE.index(signature) + 100
    protected = cbor2.loads(S6_COSE).value[0]
    at_time = S6_COSE.index(protected) + protected.index(bytes.fromhex("c11a")) + 5
    for at in (at_signature, at_time):
        result = verify_envelope(_flip(S6_COSE, at), COSE, S6_ARTIFACT, s6_store(), NOW)
        assert result.code is Code.INTEGRITY, result.message


def test_a_changed_character_in_the_jws_payload_fails_integrity() -> None:
    doc = json.loads(S6_JWS)
    payload = bytearray(doc["payload"].encode())
    payload[40] = ord("A") if payload[40] != ord("A") else ord("B")
    doc["payload"] = payload.decode()
    result = verify_envelope(json.dumps(doc).encode(), JWS, S6_ARTIFACT, s6_store(), NOW)
    assert result.code is Code.INTEGRITY, result.message  # still canonical base64url


def test_trailing_bytes_after_the_cose_message_are_refused() -> None:
    result = verify_envelope(S6_COSE + b"\x00", COSE, S6_ARTIFACT, s6_store(), NOW)
    assert result.code is Code.ENVELOPE_INVALID


# --- S7, S8 and the other mock envelopes (2-certificate chain, RSA-3072, PS384) -----------


def test_s7_ca_issued_chain_verifies() -> None:
    data = (MOCK / "ca_valid_sig_env.json").read_bytes()
    result = verify_envelope(data, JWS, MOCK_ARTIFACT, mock_store(), NOW)
    assert result.code is Code.VERIFIED, result.message
    assert len(result.chain) == 2 and result.chain[1].is_ca
    assert result.expiry == dt.datetime(2120, 11, 9, 7, tzinfo=dt.UTC)


def test_s8_padded_payload_fails_integrity() -> None:
    data = (MOCK / "ca_invalid_sig_env.json").read_bytes()
    result = verify_envelope(data, JWS, MOCK_ARTIFACT, mock_store(), NOW)
    assert result.code is Code.ENVELOPE_INVALID
    assert result.code.step == "integrity"  # upstream: "integrity validation failed"
    assert "base64url" in result.message


def test_expired_mock_signature() -> None:
    data = (MOCK / "ca_expired_sig_env.json").read_bytes()
    result = verify_envelope(data, JWS, MOCK_ARTIFACT, mock_store(), NOW)
    assert result.code is Code.SIGNATURE_EXPIRED
    assert "2022-07-29T23:59:00Z" in result.message
    # Before it expired, it verified.
    before = dt.datetime(2022, 7, 29, 12, tzinfo=dt.UTC)
    assert verify_envelope(data, JWS, MOCK_ARTIFACT, mock_store(), before).ok


def test_signing_authority_scheme_needs_a_signing_authority_store() -> None:
    data = (MOCK / "sa_valid_sig_env.json").read_bytes()
    trusted = verify_envelope(data, JWS, MOCK_ARTIFACT, mock_store(signing_authority=True), NOW)
    assert trusted.code is Code.VERIFIED and trusted.scheme == "notary.x509.signingAuthority"
    as_ca = verify_envelope(data, JWS, MOCK_ARTIFACT, mock_store(), NOW)
    assert as_ca.code is Code.UNTRUSTED_SIGNER
    # and the other way round: a notary.x509 signature is not trusted by a signingAuthority
    ca_sig = (MOCK / "ca_valid_sig_env.json").read_bytes()
    result = verify_envelope(ca_sig, JWS, MOCK_ARTIFACT, mock_store(signing_authority=True), NOW)
    assert result.code is Code.UNTRUSTED_SIGNER


def test_a_signature_needing_a_verification_plugin_is_refused() -> None:
    data = (MOCK / "ca_plugin_sig_env.json").read_bytes()
    result = verify_envelope(data, JWS, MOCK_ARTIFACT, mock_store(), NOW)
    assert result.code is Code.ENVELOPE_INVALID
    assert "plugin-name" in result.message


# --- hand-made envelopes: one rule broken each -----------------------------------------------


class Hand(NamedTuple):
    key: Any
    chain: list[x509.Certificate]
    trust: TrustStore


@pytest.fixture(scope="module")
def identity() -> Hand:
    made = create_dev_ca(key_type="ec-p256", now=NOW - dt.timedelta(days=1))
    return Hand(made.leaf_key, [made.leaf, made.ca], TrustStore.from_pem(made.ca_pem()))


def _header(**extra: object) -> dict[str, object]:
    header: dict[str, object] = {
        "alg": "ES256",
        "crit": ["io.cncf.notary.signingScheme"],
        "cty": "application/vnd.cncf.notary.payload.v1+json",
        "io.cncf.notary.signingScheme": "notary.x509",
        "io.cncf.notary.signingTime": (NOW - dt.timedelta(hours=1)).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        ),
    }
    header.update(extra)
    return {k: v for k, v in header.items() if v is not None}


def _verify_hand_made(identity: Hand, **header: object) -> SignatureResult:
    data = hand_made_jws(_header(**header), build_payload(S6_ARTIFACT, sorted_keys=True),
                         identity.key, identity.chain, algorithm="ES256")
    return verify_envelope(data, JWS, S6_ARTIFACT, identity.trust, NOW)


def test_the_hand_made_baseline_verifies(identity: Hand) -> None:
    result = _verify_hand_made(identity)
    assert result.code is Code.VERIFIED, result.message


@pytest.mark.parametrize(
    ("header", "words"),
    [
        ({"crit": ["io.cncf.notary.signingScheme", "com.example.mustUnderstand"],
          "com.example.mustUnderstand": "x"}, "not supported"),
        ({"crit": []}, "crit"),
        ({"crit": ["io.cncf.notary.expiry"]}, "not in the protected header"),
        ({"io.cncf.notary.signingScheme": "notary.other"}, "signing scheme"),
        ({"cty": "application/json"}, "content type"),
        ({"alg": "none"}, "algorithm"),
        ({"alg": "HS256"}, "algorithm"),
        ({"io.cncf.notary.signingTime": None}, "signingTime"),
        ({"io.cncf.notary.signingTime": "2026-11-29 12:00:00"}, "RFC 3339"),
        ({"io.cncf.notary.expiry": "2030-01-01T00:00:00Z"}, "not critical"),
        ({"crit": ["io.cncf.notary.signingScheme", "io.cncf.notary.expiry"],
          "io.cncf.notary.expiry": "2020-01-01T00:00:00Z"}, "later than the signing time"),
        ({"io.cncf.notary.verificationPlugin": "com.example.plugin"}, "plugin"),
    ],
)
def test_header_rules(identity: Hand, header: dict[str, object], words: str) -> None:
    result = _verify_hand_made(identity, **header)
    assert result.code is Code.ENVELOPE_INVALID, result.message
    assert words in result.message


def test_alg_must_be_the_keys(identity: Hand) -> None:
    payload = build_payload(S6_ARTIFACT, sorted_keys=True)
    # Signed correctly with the EC key, but labelled ES384: the label must follow the key.
    data = hand_made_jws(_header(alg="ES384"), payload, identity.key, identity.chain,
                         algorithm="ES256")
    result = verify_envelope(data, JWS, S6_ARTIFACT, identity.trust, NOW)
    assert result.code is Code.INTEGRITY
    assert "requires ES256" in result.message


def test_jws_shape_rules(identity: Hand) -> None:
    good = json.loads(hand_made_jws(_header(), build_payload(S6_ARTIFACT, sorted_keys=True),
                                    identity.key, identity.chain, algorithm="ES256"))

    def check(doc: object, words: str) -> None:
        raw = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
        result = verify_envelope(raw, JWS, S6_ARTIFACT, identity.trust, NOW)
        assert result.code is Code.ENVELOPE_INVALID, result.message
        assert words in result.message, result.message

    check({**good, "signatures": []}, "flattened")
    check({k: v for k, v in good.items() if k != "header"}, "flattened")
    check({**good, "header": {}}, "x5c")
    check({**good, "protected": good["protected"] + "=="}, "base64url")
    check({**good, "header": {**good["header"], "alg": "ES256"}}, "both protected")
    duplicated = json.dumps(good)[:-1] + ', "payload": "e30"}'
    check(duplicated.encode(), "twice")
    check(b"not json", "not JSON")
    check({**good, "protected": b64url(b'{"alg":"ES256","alg":"ES384"}')}, "twice")
