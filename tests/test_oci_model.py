"""The pure OCI model: digests, references, descriptors, manifests (no I/O)."""

from __future__ import annotations

import hashlib
import json

import pytest

from iotops_registry.errors import DigestMismatch, InvalidManifest, InvalidReference
from iotops_registry.oci import (
    Descriptor,
    Digest,
    Hasher,
    Index,
    Manifest,
    Reference,
    canonical_json,
    check_repository,
    parse_manifest,
)
from iotops_registry.oci import (
    mediatypes as mt,
)

HEX = "a" * 64


def test_digest_parse_and_format() -> None:
    digest = Digest.parse(f"sha256:{HEX}")
    assert (digest.algorithm, digest.hex, str(digest)) == ("sha256", HEX, f"sha256:{HEX}")
    assert digest.referrers_tag == f"sha256-{HEX}"
    assert Digest.of(b"abc") == Digest("sha256", hashlib.sha256(b"abc").hexdigest())
    assert Digest.of(b"abc", "sha512").hex == hashlib.sha512(b"abc").hexdigest()


@pytest.mark.parametrize(
    "text",
    [HEX, "sha256:" + "A" * 64, "sha256:" + "a" * 63, "md5:" + "a" * 32, "sha256:", "sha256:xyz"],
)
def test_digest_rejects(text: str) -> None:
    with pytest.raises(InvalidReference):
        Digest.parse(text)


def test_hasher_streams_and_verifies() -> None:
    hasher = Hasher()
    for part in (b"hello ", b"world"):
        hasher.update(part)
    assert hasher.size == 11
    assert hasher.verify(Digest.of(b"hello world")) == Digest.of(b"hello world")
    with pytest.raises(DigestMismatch) as info:
        hasher.verify(Digest.of(b"other"))
    assert info.value.actual == str(Digest.of(b"hello world"))


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "digest"),
    [
        ("myacr.azurecr.io/graph-simple:1.0.0", "myacr.azurecr.io", "graph-simple", "1.0.0", None),
        ("localhost:5000/a/b", "localhost:5000", "a/b", None, None),
        ("127.0.0.1:5000/a/b:v1@sha256:" + HEX, "127.0.0.1:5000", "a/b", "v1", HEX),
        (
            "ghcr.io/azure-samples/explore-iot-operations/temperature@sha256:" + HEX,
            "ghcr.io",
            "azure-samples/explore-iot-operations/temperature",
            None,
            HEX,
        ),
        ("[::1]:5000/x__y.z-w", "[::1]:5000", "x__y.z-w", None, None),
        ("MCR.Microsoft.com/a:Tag_1", "mcr.microsoft.com", "a", "Tag_1", None),
    ],
)
def test_reference_parse(
    text: str, registry: str, repository: str, tag: str | None, digest: str | None
) -> None:
    ref = Reference.parse(text)
    assert (ref.registry, ref.repository, ref.tag) == (registry, repository, tag)
    assert (ref.digest.hex if ref.digest else None) == digest
    assert ref.ref == (f"sha256:{digest}" if digest else tag or "latest")
    assert Reference.parse(str(ref)) == ref


@pytest.mark.parametrize(
    "text",
    [
        "alpine",  # no registry
        "library/alpine",  # "library" is not a host
        "host.io/UPPER",
        "host.io/a//b",
        "host.io/a:" + "t" * 129,
        "host.io/a:-tag",
        "host.io/a@sha256:short",
        "host.io/-a",
        "host .io/a",
    ],
)
def test_reference_rejects(text: str) -> None:
    with pytest.raises(InvalidReference):
        Reference.parse(text)


def test_repository_length_limit() -> None:
    with pytest.raises(InvalidReference):
        check_repository("a" * 256)


def _descriptor(data: bytes, media_type: str = mt.OCTET_STREAM) -> Descriptor:
    return Descriptor(media_type, Digest.of(data), len(data))


def test_manifest_round_trip_and_canonical_json() -> None:
    config = _descriptor(mt.OCI_EMPTY_JSON, mt.OCI_EMPTY)
    layer = Descriptor(
        mt.WASM_MODULE,
        Digest.of(b"wasm"),
        4,
        annotations={"org.opencontainers.image.title": "temperature.wasm"},
    )
    manifest = Manifest(config=config, layers=(layer,), artifact_type=mt.WASM_LAYER)
    data = manifest.to_json()
    assert data == canonical_json(json.loads(data))
    assert b" " not in data
    parsed = parse_manifest(data)
    assert parsed == manifest
    assert isinstance(parsed, Manifest) and parsed.effective_type == mt.WASM_LAYER
    assert manifest.descriptor().digest == Digest.of(data)


def test_graph_artifact_type_comes_from_config() -> None:
    manifest = Manifest(config=_descriptor(b"", mt.AIO_GRAPH), layers=())
    assert manifest.effective_type == mt.AIO_GRAPH
    image = Manifest(config=_descriptor(b"{}", mt.OCI_CONFIG), layers=())
    assert image.effective_type is None


def test_index_and_docker_types() -> None:
    child = _descriptor(b"m", mt.OCI_MANIFEST)
    index = Index(manifests=(child,), subject=child)
    assert parse_manifest(index.to_json()) == index
    docker = {
        "schemaVersion": 2,
        "mediaType": mt.DOCKER_MANIFEST_LIST,
        "manifests": [child.to_dict()],
    }
    parsed = parse_manifest(json.dumps(docker).encode())
    assert isinstance(parsed, Index) and parsed.media_type == mt.DOCKER_MANIFEST_LIST
    # no mediaType in the document: the Content-Type decides, then the shape
    bare = {"schemaVersion": 2, "config": child.to_dict(), "layers": []}
    assert parse_manifest(json.dumps(bare).encode(), mt.DOCKER_MANIFEST).media_type == (
        mt.DOCKER_MANIFEST
    )
    assert isinstance(parse_manifest(json.dumps(bare).encode()), Manifest)


@pytest.mark.parametrize(
    "doc",
    [
        b"not json",
        b"[]",
        b'{"schemaVersion": 1, "fsLayers": []}',
        b'{"schemaVersion": 2, "mediaType": "text/plain"}',
        b'{"schemaVersion": 2, "config": {"mediaType": "x", "digest": "sha256:1", "size": 1}}',
        b'{"schemaVersion": 2, "config": {"mediaType": "x", "digest": "sha256:'
        + HEX.encode()
        + b'", "size": "1"}}',
        b'{"schemaVersion": 2, "manifests": {}}',
        b'{"schemaVersion": 2, "manifests": [], "annotations": {"a": 1}}',
    ],
)
def test_parse_rejects(doc: bytes) -> None:
    with pytest.raises(InvalidManifest):
        parse_manifest(doc)
