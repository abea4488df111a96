"""``iotops connector template`` and ``iotops dataflow graph`` against ``iotops serve --dev``:
templates made from three real connector metadata files (pushed to the dev registry) equal
the az iot ops mapping (aio-registry-endpoints §6.2) except that the image comes through the
registry endpoint; the update rules; graphs applied from a config file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from iotops_registry.cli.dataflow import properties_of
from iotops_registry.cli.template_body import image_name_of, update_problem
from iotops_registry.packaging.artifacts import metadata_bundle
from tests.support.cli import iotops
from tests.support.pulling import SAMPLE_MODULE, SIMPLE, World, graph_body, pulling_world
from tests.support.server import ServerProcess

META = Path(__file__).parent / "data" / "aio" / "connector_metadata"
# Three real metadata files, and what §6.2 prescribes for each: (file, connector type,
# tag, endpoint types, aioMetadata, replicas).
CASES = [
    ("iot-operations-sdks__doc__akri_connector__example-connector-metadata.json", "rest",
     "1.0.0", [{"endpointType": "Microsoft.Http", "version": "2.0"},
               {"endpointType": "Microsoft.TCP", "version": "2.0"}],
     {"aioMinVersion": "1.0.0", "aioMaxVersion": "2.0.0"}, 1),
    ("iot-operations-sdks__dotnet__samples__Connectors__PollingRestThermostatConnector__"
     "connector-metadata.json", "thermostat", "1.0.0",
     [{"endpointType": "Microsoft.Http", "version": "1.0"}], {"aioMinVersion": "1.2.37"}, None),
    ("azure-iot-ops-cli-extension__azext_edge__edge__providers__adr__schemas__"
     "opcua_connector_metadata@3408cfb.json", "opcua", "1.2.82",
     [{"endpointType": "Microsoft.OpcUa"}], None, None),
]


@pytest.fixture(scope="module")
def world(dev_server: ServerProcess) -> Iterator[World]:
    with pulling_world(dev_server, "cli") as w:
        yield w


def _cli(world: World, *args: str) -> Any:
    done = iotops(world.dev.server, *args, "-i", world.instance, "-g", world.rg)
    assert done.code == 0, done.output
    return json.loads(done.stdout) if done.stdout.strip() else None


def _expected(world: World, ref: str, kind: str, tag: str, types: list[dict[str, str]],
              aio: dict[str, str] | None, replicas: int | None) -> dict[str, Any]:
    """§6.2, written out: registry = the ref's first segment (here: the endpoint instead),
    imageName = the rest minus '-metadata', the metadata's tag, log level info."""
    image: dict[str, Any] = {
        "imageName": f"{world.team}/{kind}",
        "tagDigestSettings": {"tagDigestType": "Tag", "tag": tag},
        "registrySettings": {"registrySettingsType": "RegistryEndpointRef",
                             "registryEndpointRef": "dev"},
    }
    if replicas is not None:
        image["replicas"] = replicas
    props: dict[str, Any] = {
        "connectorMetadataRef": ref,
        "deviceInboundEndpointTypes": types,
        "diagnostics": {"logs": {"level": "info"}},
        "runtimeConfiguration": {"runtimeConfigurationType": "ManagedConfiguration",
                                 "managedConfigurationSettings": {
                                     "managedConfigurationType": "ImageConfiguration",
                                     "imageConfigurationSettings": image}},
    }
    if aio:
        props["aioMetadata"] = aio
    return props


@pytest.mark.parametrize("case", CASES, ids=[c[1] for c in CASES])
def test_template_from_real_metadata(world: World, case: tuple[Any, ...]) -> None:
    file, kind, tag, types, aio, replicas = case
    world.push(f"{world.team}/{kind}-metadata", tag,
               metadata_bundle((META / file).read_bytes(), "connector-metadata.json", {}))
    world.push_module(kind, tag, data=f"{kind} image stand-in".encode())
    ref = f"{world.dev.registry}/{world.team}/{kind}-metadata:{tag}"
    doc = _cli(world, "connector", "template", "create", "-n", f"tpl-{kind}",
               "--connector-metadata-ref", ref, "--registry-endpoint", "dev", "-o", "json")
    props = {k: v for k, v in doc["properties"].items()
             if k not in ("provisioningState", "healthState", "status")}
    assert props == _expected(world, ref, kind, tag, types, aio, replicas)
    assert doc["properties"]["provisioningState"] == "Succeeded", doc["properties"]["status"]


def test_template_update_rules(world: World) -> None:
    file, kind = CASES[0][0], "upd"
    data = json.loads((META / file).read_text())
    for version in ("1.0.0", "1.1.0", "2.0.0"):
        data["version"] = version
        data["imageConfigurationSettings"]["tag"] = version
        world.push(f"{world.team}/{kind}-metadata", version,
                   metadata_bundle(json.dumps(data).encode(), "connector-metadata.json", {}))
        world.push_module(kind, version, data=f"image {version}".encode())
    ref = f"{world.dev.registry}/{world.team}/{kind}-metadata"
    _cli(world, "connector", "template", "create", "-n", "tpl-upd",
         "--connector-metadata-ref", f"{ref}:1.1.0", "--registry-endpoint", "dev", "-o", "json")
    doc = _cli(world, "connector", "template", "update", "-n", "tpl-upd", "--replicas", "3",
               "--connector-config", "pollInterval=10", "-o", "json")
    settings = doc["properties"]["runtimeConfiguration"]["managedConfigurationSettings"]
    assert settings["imageConfigurationSettings"]["replicas"] == 3
    assert settings["additionalConfiguration"] == {"pollInterval": "10"}
    for bad, words in ((f"{ref}:1.0.0", "never downgraded"), (f"{ref}:2.0.0", "major")):
        done = iotops(world.dev.server, "connector", "template", "update", "-n", "tpl-upd",
                      "--connector-metadata-ref", bad, "-i", world.instance, "-g", world.rg)
        assert done.code != 0 and words in done.output, done.output
    listed = _cli(world, "connector", "template", "list", "-o", "json")
    assert "tpl-upd" in [t["name"] for t in listed]
    done = iotops(world.dev.server, "connector", "template", "delete", "-n", "tpl-upd", "-y",
                  "-i", world.instance, "-g", world.rg)
    assert done.code == 0, done.output


def test_update_problem_endpoint_types() -> None:
    old = {"connectorMetadataRef": "r/x-metadata:1.0.0",
           "deviceInboundEndpointTypes": [{"endpointType": "Microsoft.Http"}]}
    new = {**old, "deviceInboundEndpointTypes": [{"endpointType": "Microsoft.Rest"}]}
    assert "endpoint types" in (update_problem(old, new) or "")
    assert update_problem(old, old) is None
    assert image_name_of("mcr.microsoft.com/azureiotoperations/akri-connectors/rest-metadata:1.0.6"
                         ) == "azureiotoperations/akri-connectors/rest"


def test_graph_apply_show_list_delete(world: World, tmp_path: Path) -> None:
    world.push_graph("graph-cli", SIMPLE.replace(SAMPLE_MODULE, f"{world.team}/temperature:1.0.0"))
    body = graph_body("dev", f"{world.team}/graph-cli:1.0.0")
    # The full resource form (as a GET gives it) and the properties form are both accepted.
    full = tmp_path / "full.json"
    full.write_text(json.dumps({"name": "x", "extendedLocation": {}, **body}))
    doc = _cli(world, "dataflow", "graph", "apply", "-n", "cli-graph", "--config-file",
               str(full), "-o", "json")
    assert doc["properties"]["provisioningState"] == "Succeeded", doc["properties"]["status"]
    props = tmp_path / "props.yaml"
    props.write_text(json.dumps({**body["properties"], "mode": "Disabled"}))
    doc = _cli(world, "dataflow", "graph", "apply", "-n", "cli-graph", "--config-file",
               str(props), "-o", "json")
    assert doc["properties"]["mode"] == "Disabled"
    assert _cli(world, "dataflow", "graph", "show", "-n", "cli-graph", "-o", "json")["name"] == (
        "cli-graph")
    assert [g["name"] for g in _cli(world, "dataflow", "graph", "list", "-o", "json")] == [
        "cli-graph"]
    done = iotops(world.dev.server, "registry", "delete", "-n", "dev", "-y",
                  "-i", world.instance, "-g", world.rg)
    assert done.code != 0 and "RegistryEndpointInUse" in done.output, done.output
    assert _cli(world, "dataflow", "graph", "delete", "-n", "cli-graph", "-y") is None
    assert _cli(world, "dataflow", "graph", "list", "-o", "json") == []


def test_properties_of_refuses_non_objects() -> None:
    from iotops_registry.cli.errors import CliError

    with pytest.raises(CliError):
        properties_of("[1, 2]", "f.json")
    assert properties_of('{"properties": {"nodes": [], "status": {}}}', "f") == {"nodes": []}
