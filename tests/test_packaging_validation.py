"""Validation of graphs and connector metadata against real files and broken ones.

Real files (tests/data/aio, see SOURCES.md there): every GA graph validates, every preview
one is refused with the migration message, every connector metadata file either validates
or is refused with a located error. Broken files (tests/data/broken_graphs and
broken_metadata, ours, each one edit away from a valid file) each get an error naming the
file, the line, the path and the problem.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from iotops_registry.errors import InvalidArtifact
from iotops_registry.packaging import check_wasm, validate_graph, validate_metadata
from iotops_registry.packaging.graph import MIGRATION

DATA = Path(__file__).parent / "data"
GRAPHS = sorted((DATA / "aio" / "graphs").glob("*.yaml"))
PREVIEW = [g for g in GRAPHS if "hostlibVersion" in g.read_text()]
GA = [g for g in GRAPHS if g not in PREVIEW]
BROKEN_GRAPHS = sorted((DATA / "broken_graphs").glob("*.yaml"))
BROKEN_METADATA = json.loads((DATA / "broken_metadata" / "expectations.json").read_text())["cases"]


def _settings(text: str) -> dict[str, str]:
    return {"VERSION": "1.0.0"} if "${VERSION}" in text else {}


def test_the_corpus_is_all_there() -> None:
    assert len(GA) == 29 and len(PREVIEW) == 4
    assert len(BROKEN_GRAPHS) >= 25 and len(BROKEN_METADATA) >= 10


@pytest.mark.parametrize("path", GA, ids=lambda p: p.name[:60])
def test_every_ga_graph_validates(path: Path) -> None:
    text = path.read_text()
    graph = validate_graph(text, path.name, _settings(text))
    assert graph.name and graph.version and graph.schema_version in ("1.0.0", "1.1.0")
    assert all(w.severity == "warning" for w in graph.warnings)


@pytest.mark.parametrize("path", PREVIEW, ids=lambda p: p.name[:60])
def test_every_preview_graph_is_refused_with_the_migration(path: Path) -> None:
    with pytest.raises(InvalidArtifact) as info:
        validate_graph(path.read_text(), path.name)
    (problem,) = info.value.problems
    assert problem.file == path.name and problem.line is not None
    assert problem.path == "moduleRequirements.hostlibVersion"
    assert MIGRATION in problem.message
    assert "metadata" in problem.fix and "runtimeVersion" in problem.fix


def test_templates_need_their_placeholders() -> None:
    path = next(g for g in GA if "${VERSION}" in g.read_text())
    with pytest.raises(InvalidArtifact) as info:
        validate_graph(path.read_text(), path.name)
    problem = info.value.problems[0]
    assert "${VERSION}" in problem.message and problem.fix == "pass --set VERSION=VALUE"
    graph = validate_graph(path.read_text(), path.name, {"VERSION": "2.3.4"})
    assert "${" not in graph.text and any(r.tag == "2.3.4" for r in graph.module_refs)


def test_a_non_graph_yaml_is_refused() -> None:
    path = DATA / "aio" / (
        "edge-ai__src__500-application__514-wasm-msg-to-dss__resources__graphs__"
        "lowcode-pallet-correlation-enrichment@ee233b5.yaml"
    )
    with pytest.raises(InvalidArtifact) as info:
        validate_graph(path.read_text(), path.name)
    assert "not a graph definition" in str(info.value)


def test_the_base_of_the_broken_graphs_is_valid() -> None:
    validate_graph((DATA / "broken_graphs" / "base.yaml.txt").read_text(), "base.yaml")


@pytest.mark.parametrize("path", BROKEN_GRAPHS, ids=lambda p: p.stem)
def test_each_broken_graph_names_file_line_path_and_problem(path: Path) -> None:
    text = path.read_text()
    want_path = re.search(r"^# expect-path: ?(.*)$", text, re.M).group(1).strip()  # type: ignore[union-attr]
    want = re.search(r"^# expect: (.*)$", text, re.M).group(1).strip()  # type: ignore[union-attr]
    with pytest.raises(InvalidArtifact) as info:
        validate_graph(text, path.name)
    matching = [p for p in info.value.problems if p.path == want_path and want in p.message]
    assert matching, [str(p) for p in info.value.problems]
    problem = matching[0]
    assert problem.file == path.name and problem.line is not None and problem.fix
    # The line is where the thing is: the rendered message names it.
    assert str(problem).startswith(f"{path.name}:{problem.line}: ")


def test_unquoted_arm_gets_the_runtime_error_and_the_fix() -> None:
    path = next(p for p in BROKEN_GRAPHS if "unquoted-arm-false" in p.name)
    with pytest.raises(InvalidArtifact) as info:
        validate_graph(path.read_text(), path.name)
    problem = next(p for p in info.value.problems if p.path.endswith("arm"))
    assert 'Unsupported value: false: supported values: "False", "True"' in problem.message
    assert problem.fix == 'quote it: arm: "False"'
    line = path.read_text().splitlines()[problem.line - 1]  # type: ignore[operator]
    assert line.strip() == "arm: false"


CONNECTOR_FILES = sorted((DATA / "aio" / "connector_metadata").glob("*.json"))


@pytest.mark.parametrize("path", CONNECTOR_FILES, ids=lambda p: p.name[:60])
def test_real_connector_metadata(path: Path) -> None:
    """Each real file validates, or is refused with located errors (some real files are
    invalid: FACTS §4 and §8)."""
    try:
        meta = validate_metadata(path.read_text(), path.name)
    except InvalidArtifact as exc:
        assert all(p.file == path.name and p.message for p in exc.problems)
        assert any(p.line for p in exc.problems)
        return
    assert meta.name and meta.schema_version in ("5.0", "6.0", "7.0", "8.0", "9.0", "10.0", "11.0")


def test_metadata_schema_is_chosen_by_dollar_schema() -> None:
    by_name = {p.name: p for p in CONNECTOR_FILES}
    sdk = by_name["iot-operations-sdks__doc__akri_connector__example-connector-metadata.json"]
    assert validate_metadata(sdk.read_text(), sdk.name).schema_version == "11.0"
    management = by_name[
        "iot-operations-sdks__dotnet__samples__Connectors__ManagementActionConnector__"
        "connector-metadata.json"]
    assert validate_metadata(management.read_text(), management.name).schema_version == "11.0"
    # The CLI's first-party OPC UA metadata names the SDK's unversioned schema URL: checked
    # against the newest version it satisfies, with a warning saying so.
    opcua = by_name["azure-iot-ops-cli-extension__azext_edge__edge__providers__adr__schemas__"
                    "opcua_connector_metadata@3408cfb.json"]
    meta = validate_metadata(opcua.read_text(), opcua.name)
    assert meta.schema_version == "9.0"
    assert meta.warnings and "validated against 9.0-preview" in meta.warnings[0].message
    incomplete = by_name["edge-ai__src__500-application__517-akri-http-post-connector__"
                         "connector-metadata__connector-metadata@6953485.json"]
    with pytest.raises(InvalidArtifact):
        validate_metadata(incomplete.read_text(), incomplete.name)


def test_the_base_of_the_broken_metadata_is_valid() -> None:
    meta = validate_metadata((DATA / "broken_metadata" / "valid.json").read_text(), "valid.json")
    assert meta.schema_version == "11.0" and not meta.warnings


@pytest.mark.parametrize("name", sorted(BROKEN_METADATA))
def test_each_broken_metadata_names_file_line_path_and_problem(name: str) -> None:
    expected = BROKEN_METADATA[name]
    with pytest.raises(InvalidArtifact) as info:
        validate_metadata((DATA / "broken_metadata" / name).read_text(), name)
    matching = [p for p in info.value.problems
                if p.path == expected["path"] and expected["message"] in p.message]
    assert matching, [str(p) for p in info.value.problems]
    assert matching[0].file == name and matching[0].line is not None and matching[0].fix


@pytest.mark.parametrize(
    ("data", "kind"),
    [(b"\0asm\x01\x00\x00\x00", "module"),
     (b"\0asm\x01\x00\x00\x00\x01\x04\x01\x60\x00\x00", "module"),
     (b"\0asm\x0d\x00\x01\x00\x00\x02ab", "component")],
)
def test_wasm_binaries_are_recognised(data: bytes, kind: str) -> None:
    assert check_wasm(data, "m.wasm").kind == kind


@pytest.mark.parametrize(
    ("data", "problem"),
    [(b"not wasm at all", "not a WebAssembly binary"),
     (b"\0asm\x01\x00", "truncated"),
     (b"\0asm\x01\x00\x00\x00\x01\x09\x01\x60", "truncated"),
     (b"\0asm\x02\x00\x00\x00", "unsupported WebAssembly version")],
)
def test_bad_wasm_is_refused(data: bytes, problem: str) -> None:
    with pytest.raises(InvalidArtifact) as info:
        check_wasm(data, "m.wasm")
    assert problem in str(info.value) and info.value.problems[0].file == "m.wasm"
