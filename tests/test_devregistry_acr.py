"""The unmodified ``azure-containerregistry`` client against ``iotops serve --dev``.

ACR clients post the exchange to the registry's own host and list through ``/acr/v1/``; the
dev registry's one origin serves both, as ACR does. Identities come from the IMDS stand-in
through the unmodified ``ManagedIdentityCredential``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from azure.containerregistry import ContainerRegistryClient
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.identity import ManagedIdentityCredential

from tests.support.dev import Dev, dev_clients, unique, use_imds
from tests.support.server import ServerProcess

AUDIENCES = ("https://management.azure.com", "https://containerregistry.azure.net")
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


@pytest.fixture(scope="module")
def dev(dev_server: ServerProcess) -> Iterator[Dev]:
    with dev_clients(dev_server) as clients:
        yield clients


@pytest.fixture(autouse=True)
def _imds(monkeypatch: pytest.MonkeyPatch, dev_server: ServerProcess) -> None:
    use_imds(monkeypatch, dev_server)


def acr(dev: Dev, client_id: str | None, audience: str = AUDIENCES[0]) -> ContainerRegistryClient:
    credential = (
        ManagedIdentityCredential(client_id=client_id, retry_total=0) if client_id else None
    )
    return ContainerRegistryClient(
        endpoint=f"https://{dev.registry}",
        credential=credential,
        audience=audience,
        connection_verify=dev.server.ca,
        retry_total=0,
    )


def identity_with(dev: Dev, role: str | None) -> str:
    mi = dev.identity(unique("acr"))
    if role:
        dev.assign(mi["clientId"], role)
    return str(mi["clientId"])


@pytest.fixture(scope="module")
def artifact(dev: Dev, dev_server: ServerProcess) -> dict[str, Any]:
    """One artifact, pushed with the ACR client itself by an AcrPush identity: blobs in
    4 MiB chunks (PATCHes to the relative Locations the front hands out), then the manifest."""
    mp = pytest.MonkeyPatch()
    try:
        use_imds(mp, dev_server)
        pusher = identity_with(dev, "AcrPush")
        repo = f"{unique('acr')}/module"
        layer = os.urandom(9 * 1024 * 1024 + 17)  # three chunks
        with acr(dev, pusher) as client:
            layer_digest, size = client.upload_blob(repo, io.BytesIO(layer))
            config_digest, _ = client.upload_blob(repo, io.BytesIO(b"{}"))
            manifest = {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "artifactType": "application/vnd.module.wasm.content.layer.v1+wasm",
                "config": {"mediaType": "application/vnd.oci.empty.v1+json",
                           "digest": config_digest, "size": 2},
                "layers": [{"mediaType": "application/wasm", "digest": layer_digest,
                            "size": size}],
            }
            digest = client.set_manifest(repo, manifest, tag="1.0.0",
                                         media_type=OCI_MANIFEST)
            client.set_manifest(repo, manifest, tag="latest", media_type=OCI_MANIFEST)
    finally:
        mp.undo()
    raw = json.dumps(manifest, indent=4).encode()  # what the client serialises
    return {"repo": repo, "layer": layer, "layer_digest": layer_digest, "digest": digest,
            "raw": raw}


@pytest.mark.parametrize("audience", AUDIENCES)
def test_acrpull_identity_lists_reads_and_downloads(
    dev: Dev, artifact: dict[str, Any], audience: str
) -> None:
    repo = artifact["repo"]
    exchanges = dev.count("exchange", reader := identity_with(dev, "AcrPull"))
    with acr(dev, reader, audience) as client:
        assert repo in list(client.list_repository_names())
        tags = {t.name: t for t in client.list_tag_properties(repo)}
        assert set(tags) == {"1.0.0", "latest"}
        assert tags["1.0.0"].digest == artifact["digest"]
        assert tags["1.0.0"].created_on is not None
        assert tags["1.0.0"].last_updated_on >= tags["1.0.0"].created_on
        one = client.get_tag_properties(repo, "latest")
        assert one.digest == artifact["digest"]

        got = client.get_manifest(repo, "1.0.0")  # the client checks the digest itself
        assert got.digest == artifact["digest"] and got.media_type == OCI_MANIFEST
        assert got.manifest["layers"][0]["digest"] == artifact["layer_digest"]
        assert client.get_manifest(repo, artifact["digest"]).digest == artifact["digest"]

        stream = client.download_blob(repo, artifact["layer_digest"])  # 4 MiB ranges
        data = b"".join(stream)
        assert data == artifact["layer"]
        assert "sha256:" + hashlib.sha256(data).hexdigest() == artifact["layer_digest"]
    # The client posted its exchanges to the registry's own host (it knows no other; and
    # azure-containerregistry 1.2.0 exchanges again on every challenge, so: at least one).
    assert dev.count("exchange", reader) > exchanges
    assert dev.server.endpoints["token"] == f"https://{dev.registry}"


def test_identity_without_a_role_is_refused_not_404(
    dev: Dev, artifact: dict[str, Any]
) -> None:
    stranger = identity_with(dev, None)
    with acr(dev, stranger, AUDIENCES[1]) as client:
        with pytest.raises(ClientAuthenticationError) as listing:
            list(client.list_repository_names())
        assert listing.value.status_code in (401, 403)
        with pytest.raises(HttpResponseError) as reading:
            client.get_manifest(artifact["repo"], "1.0.0")
        assert reading.value.status_code in (401, 403)
        assert "AcrPull" in str(reading.value)  # the exchange says what is missing


def test_anonymous_access_follows_the_switch(dev: Dev, artifact: dict[str, Any]) -> None:
    repo = artifact["repo"]
    with acr(dev, None) as client:
        with pytest.raises(ClientAuthenticationError):
            client.get_manifest(repo, "1.0.0")
        dev.anonymous_pull(True)
        try:
            assert client.get_manifest(repo, "1.0.0").digest == artifact["digest"]
            data = b"".join(client.download_blob(repo, artifact["layer_digest"]))
            assert hashlib.sha256(data).hexdigest() == artifact["layer_digest"][7:]
            # Anonymous pull is pull only: no catalog, as on ACR.
            with pytest.raises(ClientAuthenticationError):
                list(client.list_repository_names())
        finally:
            dev.anonymous_pull(False)
        with pytest.raises(ClientAuthenticationError):
            client.get_manifest(repo, "latest")


def test_acr_listing_api_challenges_with_the_scope(dev: Dev, artifact: dict[str, Any]) -> None:
    """Without a token, /acr/v1/ answers as ACR: 401 with realm, service and scope."""
    repo = artifact["repo"]
    bare = dev.tls.get(f"https://{dev.registry}/acr/v1/{repo}/_tags")
    assert bare.status_code == 401
    challenge = bare.headers["www-authenticate"]
    assert f'realm="https://{dev.registry}/oauth2/token"' in challenge
    assert f'scope="repository:{repo}:metadata_read"' in challenge
    user, password = dev.repository_token(repo, ["pull"])
    token = dev.token_by_get(f"repository:{repo}:metadata_read", basic=(user, password))
    auth = {"Authorization": f"Bearer {token.json()['token']}"}
    page = dev.tls.get(f"https://{dev.registry}/acr/v1/{repo}/_tags", params={"n": 1},
                       headers=auth)
    assert page.status_code == 200, page.text
    assert [t["name"] for t in page.json()["tags"]] == ["1.0.0"]
    assert page.headers["link"] == f'</acr/v1/{repo}/_tags?last=1.0.0&n=1>; rel="next"'
    # A repository token cannot list the catalog (ACR's scope maps cannot either).
    catalog = dev.tls.get(f"https://{dev.registry}/acr/v1/_catalog", headers=auth)
    assert catalog.status_code == 401 and "insufficient_scope" in catalog.headers[
        "www-authenticate"]
    other = dev.tls.get(f"https://{dev.registry}/acr/v1/{unique('x')}/_tags", headers=auth)
    assert other.status_code == 401
