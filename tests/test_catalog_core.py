"""The catalog's pure core: every media-type variant of FACTS §2 classified, stripped
content recognised by its shape, graph and connector summaries of real files, semantic
version ranges and the query model's refusals."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path

import pytest

from iotops_registry.catalog import (
    CatalogQuery,
    connector_summary,
    graph_summary,
    looks_like,
    parse_content,
    parse_range,
    recognise,
    search_text,
    version_key,
)
from iotops_registry.errors import InvalidRequestError
from iotops_registry.oci import Descriptor, Digest, Index, Manifest, mediatypes

DATA = Path(__file__).parent / "data" / "aio"
COMPLEX = DATA / "graphs" / "explore-iot-operations__samples__wasm__graph-complex.yaml"
OPCUA = DATA / "connector_metadata" / (
    "azure-iot-ops-cli-extension__azext_edge__edge__providers__adr__schemas__"
    "opcua_connector_metadata@3408cfb.json")
AKRI = mediatypes.AKRI_CONNECTOR


def _d(media_type: str, content: bytes = b"x", **kw: object) -> Descriptor:
    return Descriptor(media_type, Digest.of(content), len(content), **kw)  # type: ignore[arg-type]


def _m(config: str, *layers: str, artifact_type: str | None = None,
       config_content: bytes = b"") -> Manifest:
    return Manifest(_d(config, config_content), tuple(_d(t) for t in layers),
                    artifact_type=artifact_type)


@pytest.mark.parametrize(("manifest", "kind", "warned"), [
    # graph: docs/edge-ai/explore CI; the old CLI picker's type; the wild artifactType variant
    (_m(mediatypes.AIO_GRAPH, mediatypes.YAML), "graph", False),
    (_m(mediatypes.DATAFLOW_GRAPH, mediatypes.YAML), "graph", False),
    (_m(mediatypes.OCI_EMPTY, mediatypes.AIO_GRAPH, artifact_type=mediatypes.AIO_GRAPH),
     "graph", False),
    # WASM module: docs (ORAS >= 1.1) and public GHCR (no artifact type, wasm-to-oci layer)
    (_m(mediatypes.OCI_EMPTY, mediatypes.WASM_MODULE, artifact_type=mediatypes.WASM_LAYER),
     "module", False),
    (_m("application/vnd.unknown.config.v1+json", "application/vnd.wasm.content.layer.v1+wasm",
        artifact_type="application/vnd.unknown.artifact.v1"), "module", False),
    # connector metadata: SDK/docs (JSON or tar layer), edge-ai (the config is the document),
    # the unmerged SDK draft (a referrer with the akri layer), an image config + akri layer
    (_m(AKRI, "application/json"), "connector", False),
    (_m(AKRI, mediatypes.OCI_LAYER), "connector", False),
    (_m(AKRI, artifact_type=AKRI, config_content=b'{"name": "x"}'), "connector", False),
    (_m(mediatypes.OCI_EMPTY, AKRI, artifact_type="application/json"), "connector", True),
    (_m(mediatypes.OCI_CONFIG, AKRI), "connector", True),
])
def test_every_variant_is_recognised(manifest: Manifest, kind: str, warned: bool) -> None:
    found = recognise(manifest)
    assert found.kind == kind and found.typed
    assert (found.warning is not None) == warned
    if kind in ("graph", "connector"):
        assert found.content is not None


def test_edge_ai_metadata_is_read_from_the_config() -> None:
    manifest = _m(AKRI, artifact_type=AKRI, config_content=b'{"name": "x"}')
    assert recognise(manifest).content == manifest.config


@pytest.mark.parametrize("manifest", [
    _m(mediatypes.OCI_EMPTY, mediatypes.YAML),  # a copy that kept only the layer
    _m("application/vnd.unknown.config.v1+json", mediatypes.YAML),  # oras' default config
    _m(mediatypes.OCI_CONFIG, mediatypes.YAML),  # the docs' claimed image config
    _m(mediatypes.OCI_EMPTY, "application/json"),
])
def test_generic_types_are_sniffed(manifest: Manifest) -> None:
    found = recognise(manifest)
    assert found.kind is None and not found.typed and found.content is not None


def test_not_catalogued() -> None:
    assert recognise(_m(mediatypes.OCI_CONFIG, mediatypes.OCI_LAYER_GZIP)).kind is None
    assert recognise(_m(mediatypes.OCI_CONFIG, mediatypes.OCI_LAYER_GZIP)).content is None
    assert recognise(Index(())).kind is None


def test_shapes() -> None:
    graph = parse_content(COMPLEX.read_bytes())
    assert looks_like(graph) == "graph"
    assert looks_like(json.loads(OPCUA.read_text())) == "connector"
    assert looks_like({"apiVersion": "v1", "kind": "ConfigMap"}) is None
    assert looks_like("text") is None


def test_graph_summary_of_graph_complex() -> None:
    text = COMPLEX.read_text()
    summary = graph_summary(parse_content(text.encode()), text)
    assert len(summary["operations"]) == 15 and len(summary["connections"]) == 16
    assert summary["valid"] is True and summary["runtimeVersion"] == "1.1.0"
    assert set(summary["operationTypes"]) == {"source", "map", "filter", "branch",
                                              "concatenate", "accumulate", "delay", "sink"}
    arms = {c["arm"] for c in summary["connections"] if c["arm"]}
    assert arms == {"True", "False"}
    concat = next(op for op in summary["operations"] if op["operationType"] == "concatenate")
    assert concat["module"] is None
    assert "azure-samples/explore-iot-operations/temperature:1.0.0" in summary["modules"]
    assert summary["parameters"] and all("required" in p for p in summary["parameters"])


def test_preview_graph_is_summarised_as_invalid() -> None:
    path = DATA / "graphs" / "explore-iot-operations__samples__wasm__graph-simple@51c5aa1.yaml"
    text = path.read_text()
    summary = graph_summary(parse_content(text.encode()), text)
    assert summary["valid"] is False and "preview" in summary["problems"][0]


def test_connector_metadata_in_a_tar_gz() -> None:
    raw = OPCUA.read_bytes()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("connector-metadata.json")
        info.size = len(raw)
        tar.addfile(info, io.BytesIO(raw))
    value = parse_content(gzip.compress(buf.getvalue()))
    summary = connector_summary(value, raw)
    assert summary["name"] == "AzureIoTOperationsOPCUAConnector"
    assert summary["vendor"] == "Microsoft" and summary["architectures"] == ["linux/amd64"]
    assert summary["endpointTypes"] == [{"endpointType": "Microsoft.OpcUa", "version": None}]


@pytest.mark.parametrize(("spec", "inside", "outside"), [
    (">=1.0.0 <2.0.0", ["1.0.0", "1.9.9"], ["0.9.0", "2.0.0", "2.0.0-rc.1", "1.0.0-rc.1"]),
    ("^1.2", ["1.2.0", "1.9.0"], ["1.1.9", "2.0.0"]),
    ("^0.9", ["0.9.0", "0.9.5"], ["0.10.0", "1.0.0"]),
    ("~1.2.3", ["1.2.3", "1.2.9"], ["1.3.0", "1.2.2"]),
    ("1.x", ["1.0.0", "1.99.0"], ["2.0.0", "0.1.0"]),
    ("1.2.3", ["1.2.3"], ["1.2.4", "1.2.2"]),
    (">1.0.0", ["1.0.1"], ["1.0.0"]),
    ("<=1.2", ["1.2.9", "0.1.0"], ["1.3.0"]),
])
def test_version_ranges(spec: str, inside: list[str], outside: list[str]) -> None:
    r = parse_range(spec)
    assert [v for v in inside if not r.contains(version_key(v))] == []
    assert [v for v in outside if r.contains(version_key(v))] == []


def test_version_keys_sort_like_semver() -> None:
    versions = ["0.9.0", "1.0.0-rc.1", "1.0.0", "1.2.0", "1.10.0", "10.0.0"]
    assert sorted(versions, key=version_key) == versions
    assert version_key("not-a-version") < version_key("0.0.1")


@pytest.mark.parametrize(("params", "code"), [
    ({"versionRange": "1..x"}, "InvalidVersionRange"),
    ({"orderBy": "size"}, "InvalidOrderBy"),
    ({"$top": "0"}, "InvalidTop"),
    ({"$skipToken": "%%"}, "InvalidSkipToken"),
    ({"runtimeVersion": "new"}, "InvalidRuntimeVersion"),
])
def test_query_refusals(params: dict[str, str], code: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        CatalogQuery.parse("graph", params)
    assert caught.value.code == code


def test_query_and_search_text() -> None:
    q = CatalogQuery.parse("graph", {"endpoint": "Sami", "orderBy": "semver desc",
                                     "compatible": "true"}, instance_version="1.2.0")
    assert q.filters == {"endpoint": "sami"} and q.sort == "semver" and q.descending
    assert q.runtime == version_key("1.2.0")
    assert search_text("graph-simple", "Temperature:1.0.0") == "graph simple temperature 1 0 0"
