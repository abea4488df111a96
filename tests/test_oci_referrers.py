"""Referrers edge cases the real registry (distribution 2.8, no referrers API) cannot show:
a registry with the API, one that says the repository is unknown, the remembered bare
404. httpx.MockTransport stands in for the registry; the client is the real one."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from iotops_registry.oci import Descriptor, Digest, Index, Manifest
from iotops_registry.oci import mediatypes as mt
from iotops_registry.remote import RegistryClient
from iotops_registry.transport import NO_RETRY

REGISTRY = "registry.test"
SUBJECT = Descriptor(mt.OCI_MANIFEST, Digest.of(b"subject"), 7)
SIGNATURE = "application/vnd.cncf.notary.signature"


def _client(handler: Callable[[httpx.Request], httpx.Response]) -> RegistryClient:
    return RegistryClient(REGISTRY, transport=httpx.MockTransport(handler), retry=NO_RETRY)


def _referrer_manifest() -> bytes:
    config = Descriptor(mt.OCI_EMPTY, Digest.of(b"{}"), 2)
    layer = Descriptor("application/jose+json", Digest.of(b"envelope"), 8)
    return Manifest(config, (layer,), artifact_type=SIGNATURE, subject=SUBJECT,
                    annotations={"a": "b"}).to_json()


@pytest.mark.anyio
async def test_a_registry_with_the_referrers_api() -> None:
    seen: list[str] = []
    data = _referrer_manifest()

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        if request.method == "PUT":
            return httpx.Response(201, headers={"OCI-Subject": str(SUBJECT.digest)})
        index = Index(manifests=(Descriptor(mt.OCI_MANIFEST, Digest.of(data), len(data),
                                            artifact_type=SIGNATURE),))
        return httpx.Response(200, content=index.to_json(),
                              headers={"Content-Type": mt.OCI_INDEX,
                                       "OCI-Filters-Applied": "artifactType"})

    async with _client(handler) as client:
        entry = await client.attach_referrer("r", data)
        found = await client.referrers("r", SUBJECT.digest, SIGNATURE)
    assert entry.artifact_type == SIGNATURE and entry.annotations == {"a": "b"}
    assert [d.digest for d in found] == [entry.digest]
    # The registry indexed the subject itself: no tag-schema index was written.
    assert seen == [f"PUT /v2/r/manifests/{entry.digest}", f"GET /v2/r/referrers/{SUBJECT.digest}"]


@pytest.mark.anyio
async def test_a_bare_404_is_remembered_an_unknown_repository_is_not() -> None:
    seen: list[str] = []
    name_unknown = {"errors": [{"code": "NAME_UNKNOWN", "message": "repository unknown"}]}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if "/referrers/" in request.url.path:
            if request.url.path.startswith("/v2/unknown/"):
                return httpx.Response(404, json=name_unknown)
            return httpx.Response(404, text="404 page not found")
        return httpx.Response(404, json={"errors": [{"code": "MANIFEST_UNKNOWN",
                                                     "message": "unknown"}]})

    async with _client(handler) as client:
        for _ in range(2):
            assert await client.referrers("unknown", SUBJECT.digest) == []
        assert sum("/referrers/" in p for p in seen) == 2  # asked both times
        seen.clear()
        for _ in range(2):
            assert await client.referrers("r", SUBJECT.digest) == []
        assert sum("/referrers/" in p for p in seen) == 1  # then straight to the tag
        assert sum(p.endswith(f"/manifests/{SUBJECT.digest.referrers_tag}") for p in seen) == 2


@pytest.mark.anyio
async def test_attach_refuses_a_manifest_without_subject() -> None:
    from iotops_registry.errors import InvalidManifest

    config = Descriptor(mt.OCI_EMPTY, Digest.of(b"{}"), 2)
    async with _client(lambda r: httpx.Response(500)) as client:
        with pytest.raises(InvalidManifest):
            await client.attach_referrer("r", Manifest(config).to_json())
    assert json.loads(Manifest(config).to_json())["config"]["size"] == 2
