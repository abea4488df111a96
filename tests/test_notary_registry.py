"""Notary Project signatures through the real registry of ``iotops serve --dev``.

The notation e2e OCI layouts (VECTORS.md S1-S5) are loaded as they are with the project's
own client, signature manifests with their ``subject`` and the ``sha256-<hex>`` referrers
index (distribution 2.8 has no referrers API: discovery goes through the tag schema), then
verified with the vector's certificate as the CA. Signing goes the other way: a signature
made here is attached as a referrer and verified, by the library and by the CLI.
"""

from __future__ import annotations

import json
import os
import ssl
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from iotops_registry.authn import BasicCredential, StaticBasic
from iotops_registry.notary import (
    ARTIFACT_TYPE,
    COSE,
    JWS,
    Code,
    SigningIdentity,
    TrustStore,
    create_dev_ca,
    list_signatures,
    sign,
    verify,
)
from iotops_registry.oci import Descriptor, Digest, Manifest
from iotops_registry.oci import mediatypes as mt
from iotops_registry.remote import RegistryClient
from tests.support.cli import iotops
from tests.support.dev import dev_clients
from tests.support.notary import E2E_ARTIFACT, KEYS, LAYOUTS, blob, push_layout
from tests.support.server import ServerProcess

E2E_SIGNER = "CN=e2e,O=Notary,L=Seattle,ST=WA,C=US"


@pytest.fixture(scope="module")
def creds(dev_server: ServerProcess) -> tuple[str, str]:
    with dev_clients(dev_server) as dev:
        return dev.repository_token("notary/*", ["pull", "push"])


def _client(server: ServerProcess, creds: tuple[str, str], **kwargs: Any) -> RegistryClient:
    return RegistryClient(
        server.endpoints["registry"],
        authenticator=StaticBasic(BasicCredential(*creds)),
        verify=ssl.create_default_context(cafile=server.ca),
        **kwargs,
    )


@pytest.fixture
async def client(
    dev_server: ServerProcess, creds: tuple[str, str]
) -> AsyncIterator[RegistryClient]:
    async with _client(dev_server, creds) as c:
        yield c


def repo() -> str:
    return f"notary/{uuid.uuid4().hex[:10]}"


async def loaded(client: RegistryClient, layout: str) -> tuple[str, Descriptor]:
    """A fresh repository holding the layout; the artifact resolved from its tag."""
    repository = repo()
    await push_layout(client, repository, LAYOUTS / layout)
    return repository, await client.head_manifest(repository, "v1")


# --- S1-S5 ------------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("vector", "layout", "ca", "code", "step"),
    [
        ("S1", "e2e-valid-signature", "e2e.crt", Code.VERIFIED, None),
        ("S2", "e2e-valid-signature", "new_e2e.crt", Code.UNTRUSTED_SIGNER, "authenticity"),
        ("S3", "e2e-expired-signature", "e2e.crt", Code.SIGNATURE_EXPIRED, "expiry"),
        ("S4", "e2e-with-expired-cert", "expired_e2e.crt", Code.CERTIFICATE_EXPIRED,
         "authenticTimestamp"),
        ("S5", "e2e-invalid-signature", "e2e.crt", Code.ENVELOPE_INVALID, "integrity"),
    ],
)
async def test_vectors_through_the_registry(
    client: RegistryClient, vector: str, layout: str, ca: str, code: Code, step: str | None
) -> None:
    repository, artifact = await loaded(client, layout)
    assert artifact == E2E_ARTIFACT
    trust = TrustStore.from_files([KEYS / ca])
    verdict = await verify(client, repository, artifact, trust)
    assert verdict.code is code, f"{vector}: {verdict.message}"
    assert verdict.code.step == step
    assert len(verdict.attempts) == 1
    assert verdict.reference == f"{client.registry}/{repository}@{artifact.digest}"
    expected_ca = trust.subjects()[0]
    if code is Code.VERIFIED:
        assert verdict.signature is not None and verdict.signature.signer == E2E_SIGNER
        assert verdict.signature.trusted_by is not None
        assert verdict.signature.trusted_by.subject == expected_ca
    else:
        assert expected_ca in verdict.message
        if code is not Code.ENVELOPE_INVALID:
            assert verdict.signature is not None and verdict.signature.signer
            assert verdict.signature.signer in verdict.message
        with pytest.raises(Exception) as info:
            verdict.raise_for_failure()
        assert getattr(info.value, "code", None) == str(code)


@pytest.mark.anyio
async def test_s1_verified_by_bare_digest_and_json_verdict(client: RegistryClient) -> None:
    repository, artifact = await loaded(client, "e2e-valid-signature")
    verdict = await verify(client, repository, artifact.digest, TrustStore.from_files(
        [KEYS / "e2e.crt"]))
    doc = verdict.to_dict()
    assert doc["verified"] is True and doc["code"] == "Verified"
    assert doc["signature"]["chain"][0]["subject"] == E2E_SIGNER
    assert doc["signature"]["signingTime"] == "2023-06-27T05:30:33Z"
    assert doc["notChecked"] == ["revocation", "timestampCountersignature"]


@pytest.mark.anyio
async def test_an_unsigned_artifact_is_signature_missing(client: RegistryClient) -> None:
    repository = repo()
    config = await client.push_blob(repository, mt.OCI_EMPTY_JSON, media_type=mt.OCI_EMPTY)
    layer = await client.push_blob(repository, os.urandom(64), media_type=mt.WASM_MODULE)
    digest = await client.put_manifest(repository, "1.0.0", Manifest(config, (layer,)))
    trust = TrustStore.from_files([KEYS / "e2e.crt"])
    verdict = await verify(client, repository, digest, trust)
    assert verdict.code is Code.SIGNATURE_MISSING and verdict.attempts == ()
    assert E2E_SIGNER in verdict.message  # the CA that was expected


@pytest.mark.anyio
async def test_several_signatures_trusted_one_first(client: RegistryClient) -> None:
    """Two signatures, the untrusted one attached first: the one whose thumbprint names a
    trusted certificate is tried first, and verifies alone. With no trusted one, both are
    tried and the verdict says so."""
    layout = LAYOUTS / "e2e-valid-multiple-signatures"
    repository = repo()
    await push_layout(client, repository, LAYOUTS / "e2e-invalid-signature")  # artifact only
    for digest in ("c3ebe4a2", "90ceaff2"):  # testcert11's, then e2e's
        name = next(p.name for p in (layout / "blobs" / "sha256").iterdir()
                    if p.name.startswith(digest))
        manifest = json.loads(blob(layout, f"sha256:{name}"))
        for desc in (manifest["config"], *manifest["layers"]):
            await client.push_blob(repository, blob(layout, desc["digest"]),
                                   media_type=desc["mediaType"])
        await client.attach_referrer(repository, blob(layout, f"sha256:{name}"))
    listed = await list_signatures(client, repository, E2E_ARTIFACT.digest)
    assert [str(d.digest)[7:15] for d in listed][-2:] == ["c3ebe4a2", "90ceaff2"]
    trusted = await verify(client, repository, E2E_ARTIFACT, TrustStore.from_files(
        [KEYS / "e2e.crt"]))
    assert trusted.ok and len(trusted.attempts) == 1
    assert trusted.signature is not None and str(trusted.signature.manifest)[7:15] == "90ceaff2"
    stranger = await verify(client, repository, E2E_ARTIFACT, TrustStore.from_files(
        [KEYS / "new_e2e.crt"]))
    # The S5 layout's invalid signature is a referrer too: three tried, none verifies.
    assert stranger.code is Code.UNTRUSTED_SIGNER
    assert len(stranger.attempts) == 3 and "(3 signatures tried)" in stranger.message


# --- what verification costs -------------------------------------------------------------


class CountingTransport(httpx.AsyncBaseTransport):
    """Passes every request on to the network and notes what it was."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.seen: list[tuple[str, str, int]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        self.seen.append((request.method, request.url.path, response.status_code))
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()

    def kinds(self) -> Counter[str]:
        out: Counter[str] = Counter()
        for method, path, status in self.seen:
            if status == 401 or not path.startswith("/v2/"):
                out["auth"] += 1
            elif "/referrers/" in path:
                out["referrers-api"] += 1
            elif "/manifests/sha256-" in path:
                out["referrers-tag"] += 1
            elif "/manifests/" in path:
                out[f"manifest-{method}"] += 1
            elif "/blobs/" in path:
                out[f"blob-{method}"] += 1
            else:
                out["other"] += 1
        self.seen.clear()
        return out


@pytest.mark.anyio
async def test_requests_per_verification(
    dev_server: ServerProcess, creds: tuple[str, str], client: RegistryClient
) -> None:
    repository, artifact = await loaded(client, "e2e-valid-signature")
    trust = TrustStore.from_files([KEYS / "e2e.crt"])
    counting = CountingTransport(
        httpx.AsyncHTTPTransport(verify=ssl.create_default_context(cafile=dev_server.ca))
    )
    async with _client(dev_server, creds, transport=counting) as fresh:
        first = await verify(fresh, repository, artifact, trust)
        assert first.ok
        cold = counting.kinds()
        second = await verify(fresh, repository, artifact, trust)
        assert second.ok
        warm = counting.kinds()
    # A new client asks the referrers API once (distribution 2.8: 404) and remembers the
    # answer; from then on discovery is the one tag-schema request.
    assert cold["referrers-api"] == 1 and cold["referrers-tag"] == 1
    assert (cold["manifest-GET"], cold["blob-GET"]) == (1, 1)
    assert warm == Counter({"referrers-tag": 1, "manifest-GET": 1, "blob-GET": 1})


# --- signing and attaching ------------------------------------------------------------------


@pytest.mark.anyio
async def test_sign_attach_and_verify(client: RegistryClient) -> None:
    repository, artifact = await loaded(client, "e2e-valid-signature")
    made = create_dev_ca()
    identity = SigningIdentity.from_pem(made.leaf_key_pem(), made.chain_pem())
    ours = TrustStore.from_pem(made.ca_pem())
    assert (await verify(client, repository, artifact, ours)).code is Code.UNTRUSTED_SIGNER
    attached = [
        await sign(client, repository, artifact, identity, envelope=envelope)
        for envelope in (JWS, COSE)
    ]
    listed = await list_signatures(client, repository, artifact.digest)
    assert [d.digest for d in listed][1:] == [a.manifest.digest for a in attached]
    for entry, done in zip(listed[1:], attached, strict=True):
        assert entry.artifact_type == ARTIFACT_TYPE
        assert entry.annotations == done.manifest.annotations
        stored = await client.get_manifest(repository, entry.digest)
        assert stored.data == done.envelope.manifest(artifact)  # the bytes we built
        envelope = await client.get_blob(repository, done.envelope.descriptor().digest)
        assert envelope == done.envelope.data
    verdict = await verify(client, repository, artifact, ours)
    assert verdict.ok, verdict.message
    assert verdict.signature is not None and verdict.signature.manifest in {
        a.manifest.digest for a in attached}
    # The original notation signature still verifies with its own CA.
    assert (await verify(client, repository, artifact, TrustStore.from_files(
        [KEYS / "e2e.crt"]))).ok
    # Signing the same artifact again with the index present adds, never replaces.
    again = await sign(client, repository, artifact, identity, envelope=COSE)
    assert len(await list_signatures(client, repository, artifact.digest)) == 4
    assert again.manifest.digest not in {a.manifest.digest for a in attached}


# --- the CLI, as a user runs it --------------------------------------------------------------


@pytest.fixture(scope="module")
def dev_ca(dev_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("devca")
    made = iotops(dev_server, "dev", "ca", "create", "--out-dir", str(out), "-o", "json")
    assert made.code == 0, made.output
    doc = json.loads(made.stdout)
    assert doc["ca"]["isCa"] is True and doc["signer"]["isCa"] is False
    assert doc["signer"]["issuer"] == doc["ca"]["subject"]
    for name in ("ca.key", "signer.key"):
        assert (out / name).stat().st_mode & 0o777 == 0o600
    again = iotops(dev_server, "dev", "ca", "create", "--out-dir", str(out))
    assert again.code == 1 and "--force" in again.stderr
    return out


@pytest.fixture
def pushed(dev_server: ServerProcess, creds: tuple[str, str]) -> Iterator[str]:
    """A fresh unsigned artifact; yields its reference by tag."""
    import anyio

    repository = repo()

    async def push() -> None:
        async with _client(dev_server, creds) as c:
            config = await c.push_blob(repository, mt.OCI_EMPTY_JSON, media_type=mt.OCI_EMPTY)
            layer = await c.push_blob(repository, os.urandom(256), media_type=mt.WASM_MODULE)
            await c.put_manifest(repository, "1.0.0", Manifest(
                config, (layer,), artifact_type=mt.WASM_LAYER))

    anyio.run(push)
    yield f"{dev_server.endpoints['registry']}/{repository}:1.0.0"


def _signed(server: ServerProcess, creds: tuple[str, str], ref: str, ca: Path,
            *extra: str) -> dict[str, Any]:
    result = iotops(server, "artifact", "sign", ref, "--key", str(ca / "signer.key"),
                    "--cert", str(ca / "chain.pem"), "--username", creds[0],
                    "--password-stdin", *extra, stdin=creds[1] + "\n")
    assert result.code == 0, result.output
    assert creds[1] not in result.output
    return dict(json.loads(result.stdout))


def test_cli_sign_jws_and_cose_then_verify(
    dev_server: ServerProcess, creds: tuple[str, str], dev_ca: Path, pushed: str,
    tmp_path: Path,
) -> None:
    jws_sig = _signed(dev_server, creds, pushed, dev_ca)
    cose_sig = _signed(dev_server, creds, pushed, dev_ca, "--envelope", "cose",
                       "--expiry", "1d12h")
    assert jws_sig["envelope"]["mediaType"] == JWS and cose_sig["envelope"]["mediaType"] == COSE
    assert jws_sig["expiry"] is None and cose_sig["expiry"] is not None
    assert jws_sig["artifact"] == cose_sig["artifact"] and "@sha256:" in jws_sig["artifact"]

    auth = ("--username", creds[0], "--password-stdin")
    ok = iotops(dev_server, "artifact", "verify", pushed, "--ca-file", str(dev_ca / "ca.pem"),
                *auth, "-o", "json", stdin=creds[1])
    assert ok.code == 0, ok.output
    verdict = json.loads(ok.stdout)
    assert verdict["verified"] is True and verdict["code"] == "Verified"
    assert verdict["signature"]["signatureManifest"] == jws_sig["signatureManifest"]["digest"]
    assert [c["isCa"] for c in verdict["signature"]["chain"]] == [False, True]
    assert "Verified" in ok.stderr

    # By digest, as a table of the chain.
    by_digest = iotops(dev_server, "artifact", "verify", jws_sig["artifact"], "--ca-file",
                       str(dev_ca / "ca.pem"), *auth, "-o", "table", stdin=creds[1])
    assert by_digest.code == 0, by_digest.output
    assert "signer" in by_digest.stdout and "root" in by_digest.stdout
    assert "iotops development signer" in by_digest.stdout

    # Another CA: the verdict is printed, the exit code is 1.
    other = tmp_path / "other"
    assert iotops(dev_server, "dev", "ca", "create", "--out-dir", str(other)).code == 0
    bad = iotops(dev_server, "artifact", "verify", pushed, "--ca-file", str(other / "ca.pem"),
                 *auth, stdin=creds[1])
    assert bad.code == 1
    assert json.loads(bad.stdout)["code"] == "UntrustedSigner"
    assert "ERROR: (UntrustedSigner)" in bad.stderr
    assert "iotops development signer" in bad.stderr  # the signer, and the CA expected
    assert "iotops development code-signing CA" in bad.stderr
    assert "(2 signatures tried)" in bad.stderr

    # Both signatures are there, in notation's shape.
    async def manifests() -> list[Descriptor]:
        async with _client(dev_server, creds) as c:
            return await list_signatures(c, pushed.split("/", 1)[1].rsplit(":", 1)[0],
                                         Digest.parse(jws_sig["artifact"].split("@")[1]))

    import anyio

    listed = anyio.run(manifests)
    assert {str(d.digest) for d in listed} == {
        jws_sig["signatureManifest"]["digest"], cose_sig["signatureManifest"]["digest"]}


def test_cli_registry_access_options(
    dev_server: ServerProcess, creds: tuple[str, str], dev_ca: Path, pushed: str,
    tmp_path: Path,
) -> None:
    _signed(dev_server, creds, pushed, dev_ca)
    ca_file = str(dev_ca / "ca.pem")
    # Anonymous: refused while anonymous pull is off, verified once it is on.
    denied = iotops(dev_server, "artifact", "verify", pushed, "--ca-file", ca_file)
    assert denied.code == 1 and "ERROR:" in denied.stderr and not denied.stdout
    with dev_clients(dev_server) as dev:
        dev.anonymous_pull(True)
        try:
            anonymous = iotops(dev_server, "artifact", "verify", pushed, "--ca-file", ca_file)
        finally:
            dev.anonymous_pull(False)
    assert anonymous.code == 0, anonymous.output
    # Without the data directory's CA the registry's TLS certificate is not trusted;
    # --registry-ca-file makes it so.
    elsewhere = ("--data-dir", str(tmp_path / "empty"))
    auth = ("--username", creds[0], "--password-stdin")
    untrusted = iotops(dev_server, "artifact", "verify", pushed, "--ca-file", ca_file,
                       *elsewhere, *auth, stdin=creds[1])
    assert untrusted.code == 1 and "TLS handshake failed" in untrusted.stderr
    trusted = iotops(dev_server, "artifact", "verify", pushed, "--ca-file", ca_file, *elsewhere,
                     "--registry-ca-file", dev_server.ca, *auth, stdin=creds[1])
    assert trusted.code == 0, trusted.output
    # Mistakes are one-line errors.
    no_password = iotops(dev_server, "artifact", "verify", pushed, "--ca-file", ca_file,
                         "--username", creds[0])
    assert no_password.code == 2 and "--password-stdin" in no_password.stderr
    wrong_key = iotops(dev_server, "artifact", "sign", pushed, "--key",
                       str(tmp_path / "missing.key"), "--cert", str(dev_ca / "chain.pem"))
    assert wrong_key.code == 2
    mismatched = iotops(dev_server, "artifact", "sign", pushed, "--key", str(dev_ca / "ca.key"),
                        "--cert", str(dev_ca / "chain.pem"), *auth, stdin=creds[1])
    assert mismatched.code == 1 and "does not belong" in mismatched.stderr
    not_a_ca = iotops(dev_server, "artifact", "verify", pushed, "--ca-file",
                      str(dev_ca / "signer.pem"))
    assert not_a_ca.code == 1 and "neither a CA" in not_a_ca.stderr
    bad_expiry = iotops(dev_server, "artifact", "sign", pushed, "--key",
                        str(dev_ca / "signer.key"), "--cert", str(dev_ca / "chain.pem"),
                        "--expiry", "tomorrow")
    assert bad_expiry.code == 2 and "duration" in bad_expiry.stderr
