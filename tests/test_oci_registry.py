"""Against the real CNCF Distribution registry (Debian's docker-registry 2.8), htpasswd auth.

One registry per test session (per xdist worker); every test uses its own repositories.
Content goes in both through skopeo (built as an OCI layout here) and through our client,
and comes out through both, so each side checks the other.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from iotops_registry.authn import BasicCredential, StaticBasic
from iotops_registry.errors import (
    DigestMismatch,
    RegistryAuthError,
    RegistryNotFound,
    RegistryUnreachable,
)
from iotops_registry.oci import Descriptor, Digest, Index, Manifest
from iotops_registry.oci import mediatypes as mt
from iotops_registry.remote import RegistryClient
from iotops_registry.transport import NO_RETRY

if TYPE_CHECKING:  # imported by pytest as a plugin (below), so not at run time here
    from tests.support.registry import RegistryProcess, Skopeo

pytest_plugins = ["tests.support.registry"]


def repo(prefix: str = "t") -> str:
    return f"{prefix}/{uuid.uuid4().hex[:10]}"


def client_for(registry: RegistryProcess, **kwargs: object) -> RegistryClient:
    auth = StaticBasic(BasicCredential(registry.username, registry.password))
    tls: dict[str, object] = (
        {"verify": registry.ssl_context()} if registry.tls else {"plain_http": True}
    )
    return RegistryClient(registry.host, authenticator=auth, **tls, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
async def client(registry: RegistryProcess) -> AsyncIterator[RegistryClient]:
    async with client_for(registry) as c:
        yield c


async def push_artifact(
    client: RegistryClient, repository: str, tag: str, files: list[bytes], **kwargs: object
) -> tuple[Digest, Manifest]:
    config = await client.push_blob(repository, mt.OCI_EMPTY_JSON, media_type=mt.OCI_EMPTY)
    layers = [await client.push_blob(repository, f, media_type=mt.WASM_MODULE) for f in files]
    manifest = Manifest(config=config, layers=tuple(layers), **kwargs)  # type: ignore[arg-type]
    return await client.put_manifest(repository, tag, manifest), manifest


@pytest.mark.anyio
async def test_ping_and_credentials(registry: RegistryProcess, client: RegistryClient) -> None:
    challenge = await client.ping()
    assert challenge is not None and challenge.scheme == "basic"
    wrong = StaticBasic(BasicCredential(registry.username, "wrong-password"))
    async with RegistryClient(registry.host, authenticator=wrong, plain_http=True) as bad:
        with pytest.raises(RegistryAuthError) as info:
            await bad.ping()
    assert info.value.status == 401 and info.value.step == "registry"
    assert "wrong-password" not in str(info.value)
    async with RegistryClient(registry.host, plain_http=True) as anonymous:
        with pytest.raises(RegistryAuthError):
            await anonymous.list_tags("t/anything")


@pytest.mark.anyio
async def test_pull_what_skopeo_pushed(
    skopeo: Skopeo, client: RegistryClient, tmp_path: Path
) -> None:
    graph = b"metadata:\n  name: graph-simple\n  version: 1.0.0\n"
    layout = tmp_path / "layout"
    digest = skopeo.write_layout(
        layout, "1.0.0", [(graph, mt.YAML)], config_media_type=mt.AIO_GRAPH
    )
    repository = repo("graphs")
    await asyncio.to_thread(skopeo.push, layout, "1.0.0", repository)

    fetched = await client.get_manifest(repository, "1.0.0")
    assert str(fetched.digest) == digest and fetched.media_type == mt.OCI_MANIFEST
    manifest = fetched.parse()
    assert isinstance(manifest, Manifest) and manifest.effective_type == mt.AIO_GRAPH
    layer = manifest.layers[0]
    assert await client.get_blob(repository, layer.digest, size=layer.size) == graph
    target = tmp_path / "out" / "graph.yaml"
    target.parent.mkdir()
    assert await client.download_blob(repository, layer.digest, target) == len(graph)
    assert target.read_bytes() == graph
    by_digest = await client.get_manifest(repository, fetched.digest)
    assert by_digest.data == fetched.data
    head = await client.head_manifest(repository, "1.0.0")
    assert head == Descriptor(mt.OCI_MANIFEST, fetched.digest, len(fetched.data))


@pytest.mark.anyio
async def test_skopeo_pulls_what_we_pushed(
    skopeo: Skopeo, client: RegistryClient, tmp_path: Path
) -> None:
    repository = repo("modules")
    small = os.urandom(4096)
    big_file = tmp_path / "module.wasm"
    big_file.write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    config = await client.push_blob(repository, mt.OCI_EMPTY_JSON, media_type=mt.OCI_EMPTY)
    one = await client.push_blob(repository, small, media_type=mt.WASM_MODULE)
    chunked = await client.push_blob(
        repository, big_file, media_type=mt.WASM_MODULE, chunk_size=1024 * 1024
    )
    manifest = Manifest(config=config, layers=(one, chunked), artifact_type=mt.WASM_LAYER)
    digest = await client.put_manifest(repository, "1.0.0", manifest)

    layout = tmp_path / "pulled"
    await asyncio.to_thread(skopeo.pull, repository, "1.0.0", layout)
    index = json.loads((layout / "index.json").read_text())
    assert index["manifests"][0]["digest"] == str(digest)
    blobs = layout / "blobs" / "sha256"
    assert (blobs / one.digest.hex).read_bytes() == small
    assert (blobs / chunked.digest.hex).read_bytes() == big_file.read_bytes()


@pytest.mark.anyio
async def test_uploads_monolithic_chunked_from_file_and_skip_existing(
    client: RegistryClient, tmp_path: Path
) -> None:
    repository = repo()
    path = tmp_path / "blob.bin"
    data = os.urandom(2 * 1024 * 1024 + 5)
    path.write_bytes(data)
    cases = [
        (data, None),
        (data[:1000], 256),  # chunked bytes
        (path, None),  # monolithic from a file
    ]
    for source, chunk_size in cases:
        expected = source.read_bytes() if isinstance(source, Path) else source
        descriptor = await client.push_blob(repository, source, chunk_size=chunk_size)
        assert descriptor.digest == Digest.of(expected) and descriptor.size == len(expected)
        assert await client.blob_exists(repository, descriptor.digest)
        assert await client.get_blob(repository, descriptor.digest) == expected
    # a second push of the same content is a HEAD, not an upload
    again = await client.push_blob(repository, path, chunk_size=1 << 20)
    assert again.digest == Digest.of(data)
    empty = await client.push_blob(repository, b"")
    assert await client.get_blob(repository, empty.digest) == b""
    assert not await client.blob_exists(repository, Digest.of(b"never pushed"))


@pytest.mark.anyio
async def test_large_blob_round_trip_through_a_file(client: RegistryClient, tmp_path: Path) -> None:
    """Above the bulk threshold, with and without the size known beforehand."""
    repository = repo()
    data = os.urandom(24 * 1024 * 1024 + 3)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    descriptor = await client.push_blob(repository, source)
    for size in (None, descriptor.size):  # pooled connection; bulk path (size known, large)
        target = tmp_path / f"copy-{size}.bin"
        written = await client.download_blob(
            repository, descriptor.digest, target, size=size, fsync=True
        )
        assert written == len(data) and target.read_bytes() == data
        assert await client.get_blob(repository, descriptor.digest, size=size) == data


@pytest.mark.anyio
async def test_tags_and_catalog_follow_link_paging(client: RegistryClient) -> None:
    repository = repo("paging")
    tags = [f"v{i}" for i in range(5)]
    _, manifest = await push_artifact(client, repository, tags[0], [b"x"])
    for tag in tags[1:]:
        await client.put_manifest(repository, tag, manifest)
    assert sorted(await client.list_tags(repository, page_size=2)) == tags
    assert sorted(await client.list_tags(repository)) == tags
    others = [repo("paging") for _ in range(3)]
    for other in others:
        await push_artifact(client, other, "v", [b"y"])
    paged = await client.catalog(page_size=2)
    assert paged == await client.catalog()
    assert {repository, *others} <= set(paged)
    with pytest.raises(RegistryNotFound) as info:
        await client.list_tags(repo("missing"))
    assert info.value.codes == ("NAME_UNKNOWN",)


@pytest.mark.anyio
async def test_mount_between_repositories(client: RegistryClient) -> None:
    source, target = repo(), repo()
    blob = await client.push_blob(source, os.urandom(10_000))
    assert await client.mount_blob(target, blob.digest, source) is True
    assert await client.get_blob(target, blob.digest) == await client.get_blob(source, blob.digest)


@pytest.mark.anyio
async def test_referrers_fall_back_to_the_tag_schema(client: RegistryClient) -> None:
    """Distribution 2.8 has no referrers API (404): the sha256-<hex> index answers."""
    repository = repo("refs")
    subject_digest, subject = await push_artifact(client, repository, "1.0.0", [b"module"])
    subject_descriptor = Descriptor(mt.OCI_MANIFEST, subject_digest, len(subject.to_json()))
    assert await client.referrers(repository, subject_digest) == []
    signature_digest, _ = await push_artifact(
        client,
        repository,
        "sig",
        [b"signature"],
        artifact_type="application/vnd.example.signature",
        subject=subject_descriptor,
    )
    sbom_digest, _ = await push_artifact(
        client,
        repository,
        "sbom",
        [b"sbom"],
        artifact_type="application/spdx+json",
        subject=subject_descriptor,
    )
    referrers = Index(
        manifests=(
            Descriptor(
                mt.OCI_MANIFEST,
                signature_digest,
                1,
                artifact_type="application/vnd.example.signature",
            ),
            Descriptor(mt.OCI_MANIFEST, sbom_digest, 1, artifact_type="application/spdx+json"),
        )
    )
    await client.put_manifest(repository, subject_digest.referrers_tag, referrers)
    found = await client.referrers(repository, subject_digest)
    assert [d.digest for d in found] == [signature_digest, sbom_digest]
    only = await client.referrers(repository, subject_digest, "application/spdx+json")
    assert [d.digest for d in only] == [sbom_digest]


@pytest.mark.anyio
async def test_corrupt_blob_raises_and_leaves_nothing_behind(
    registry: RegistryProcess, client: RegistryClient, tmp_path: Path
) -> None:
    repository = repo()
    for size in (5_000, 12 * 1024 * 1024):  # pooled connection; bulk path
        data = os.urandom(size)
        descriptor = await client.push_blob(repository, data)
        stored = registry.blob_data(str(descriptor.digest))
        corrupt = bytearray(stored.read_bytes())
        corrupt[size // 2] ^= 0xFF
        stored.write_bytes(bytes(corrupt))  # same size: only the hash can tell

        out = tmp_path / f"out-{size}"
        out.mkdir()
        with pytest.raises(DigestMismatch) as info:
            await client.download_blob(repository, descriptor.digest, out / "blob", size=size)
        assert info.value.expected == str(descriptor.digest)
        assert list(out.iterdir()) == []
        with pytest.raises(DigestMismatch):
            await client.get_blob(repository, descriptor.digest)
        # an existing file is left as it was
        (out / "blob").write_bytes(b"previous")
        with pytest.raises(DigestMismatch):
            await client.download_blob(repository, descriptor.digest, out / "blob")
        assert [p.name for p in out.iterdir()] == ["blob"]
        assert (out / "blob").read_bytes() == b"previous"


@pytest.mark.anyio
async def test_wrong_size_and_unknown_content(client: RegistryClient, tmp_path: Path) -> None:
    repository = repo()
    blob = await client.push_blob(repository, b"0123456789")
    with pytest.raises(DigestMismatch, match="bytes"):
        await client.get_blob(repository, blob.digest, size=5)
    with pytest.raises(RegistryNotFound) as info:
        await client.get_manifest(repository, "nope")
    assert info.value.codes == ("MANIFEST_UNKNOWN",)
    with pytest.raises(RegistryNotFound):
        await client.download_blob(repository, Digest.of(b"absent"), tmp_path / "absent")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.anyio
async def test_many_concurrent_pulls_share_one_client(client: RegistryClient) -> None:
    repository = repo()
    blobs = [await client.push_blob(repository, os.urandom(2048)) for _ in range(8)]
    results = await asyncio.gather(
        *(client.get_blob(repository, b.digest) for b in blobs for _ in range(10))
    )
    assert len(results) == 80


@pytest.mark.anyio
async def test_tls_registry(tls_registry: RegistryProcess, tmp_path: Path) -> None:
    async with client_for(tls_registry) as client:
        repository = repo()
        digest, manifest = await push_artifact(client, repository, "v1", [b"over tls"])
        assert (await client.get_manifest(repository, "v1")).digest == digest
        target = tmp_path / "layer"
        await client.download_blob(repository, manifest.layers[0].digest, target)
        assert target.read_bytes() == b"over tls"
        big = await client.push_blob(repository, os.urandom(9 << 20))
        await client.download_blob(repository, big.digest, target, size=big.size)  # bulk + TLS
        assert Digest.of(target.read_bytes()) == big.digest
    # the default trust store does not know the self-signed certificate
    async with RegistryClient(tls_registry.host, retry=NO_RETRY) as untrusting:
        with pytest.raises(RegistryUnreachable) as info:
            await untrusting.get_manifest(repository, "v1")
    assert info.value.kind == "tls"
