"""Dataflow profiles, dataflow graphs and Akri connector templates through the unmodified
azure-mgmt-iotoperations 1.2.0 client against a real ``iotops serve``: create, get, list with
paging, update, delete, and the ARM errors of what the service refuses."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.mgmt.iotoperations import IoTOperationsMgmtClient
from azure.mgmt.iotoperations import models as m

from tests.conftest import API_VERSION, Scope

CLOSED = "127.0.0.1:9"  # nothing listens: resolution fails at once, without the network


def _source(name: str = "source") -> m.DataflowGraphSourceNode:
    return m.DataflowGraphSourceNode(
        name=name,
        source_settings=m.DataflowGraphSourceSettings(endpoint_ref="default",
                                                      data_sources=["thermostats/#"]),
    )


def _destination(name: str = "sink") -> m.DataflowGraphDestinationNode:
    return m.DataflowGraphDestinationNode(
        name=name,
        destination_settings=m.DataflowGraphDestinationNodeSettings(
            endpoint_ref="default", data_destination="out/temps"
        ),
    )


def _graph_node(endpoint: str, artifact: str = "graph-simple:1.0.0",
                config: dict[str, str] | None = None) -> m.DataflowGraphGraphNode:
    return m.DataflowGraphGraphNode(
        name="transform",
        graph_settings=m.DataflowGraphNodeGraphSettings(
            registry_endpoint_ref=endpoint,
            artifact=artifact,
            configuration=[m.DataflowGraphGraphNodeConfiguration(key=k, value=v)
                           for k, v in (config or {}).items()],
        ),
    )


def _connect(a: str, b: str) -> m.DataflowGraphNodeConnection:
    return m.DataflowGraphNodeConnection(
        from_property=m.DataflowGraphConnectionInput(name=a),
        to=m.DataflowGraphConnectionOutput(name=b),
    )


def _graph(scope: Scope, nodes: list[Any], connections: list[Any],
           mode: str = "Enabled") -> m.DataflowGraphResource:
    return m.DataflowGraphResource(
        extended_location=scope.extended_location(),
        properties=m.DataflowGraphProperties(mode=mode, nodes=nodes, node_connections=connections),
    )


def _template(scope: Scope, registry: Any, replicas: int = 1) -> m.AkriConnectorTemplateResource:
    return m.AkriConnectorTemplateResource(
        extended_location=scope.extended_location(),
        properties=m.AkriConnectorTemplateProperties(
            device_inbound_endpoint_types=[
                m.AkriConnectorTemplateDeviceInboundEndpointType(endpoint_type="Microsoft.Rest",
                                                                 version="1.0.0")
            ],
            diagnostics=m.AkriConnectorTemplateDiagnostics(
                logs=m.AkriConnectorsDiagnosticsLogs(level="info")),
            runtime_configuration=m.AkriConnectorTemplateManagedConfiguration(
                managed_configuration_settings=m.AkriConnectorTemplateRuntimeImageConfiguration(
                    image_configuration_settings=m.AkriConnectorTemplateRuntimeImageConfigurationSettings(
                        image_name="akri-connectors/rest",
                        image_pull_policy="IfNotPresent",
                        replicas=replicas,
                        tag_digest_settings=m.AkriConnectorsTag(tag="1.0.6"),
                        registry_settings=registry,
                    ),
                ),
            ),
        ),
    )


MCR = m.AkriConnectorsContainerRegistry(
    container_registry_settings=m.AkriConnectorsContainerRegistrySettings(
        registry="mcr.microsoft.com"
    )
)


def _closed_endpoint(sdk: IoTOperationsMgmtClient, scope: Scope, name: str) -> None:
    sdk.registry_endpoint.begin_create_or_update(
        scope.rg, scope.instance, name,
        m.RegistryEndpointResource(
            extended_location=scope.extended_location(),
            properties=m.RegistryEndpointProperties(
                host=CLOSED,
                authentication=m.RegistryEndpointAnonymousAuthentication(
                    anonymous_settings=m.RegistryEndpointAnonymousSettings()),
            ),
        ),
    ).result()


def test_default_profile_and_profile_crud(sdk: IoTOperationsMgmtClient, scope: Scope) -> None:
    ops = sdk.dataflow_profile
    default = ops.get(scope.rg, scope.instance, "default")
    assert default.type == "Microsoft.IoTOperations/instances/dataflowProfiles"
    assert default.properties.provisioning_state == "Succeeded"
    assert default.properties.instance_count == 1
    created = ops.begin_create_or_update(
        scope.rg, scope.instance, "fast",
        m.DataflowProfileResource(
            extended_location=scope.extended_location(),
            properties=m.DataflowProfileProperties(
                instance_count=3,
                diagnostics=m.ProfileDiagnostics(logs=m.DiagnosticsLogs(level="debug"))),
        ),
    ).result()
    assert created.id == f"{scope.instance_path}/dataflowProfiles/fast"
    assert created.properties.instance_count == 3
    updated = ops.begin_create_or_update(
        scope.rg, scope.instance, "fast",
        m.DataflowProfileResource(extended_location=scope.extended_location(),
                                  properties=m.DataflowProfileProperties(instance_count=2)),
    ).result()
    assert updated.properties.instance_count == 2
    assert updated.system_data.created_at == created.system_data.created_at
    assert [p.name for p in ops.list_by_resource_group(scope.rg, scope.instance)] == [
        "default", "fast"]
    ops.begin_delete(scope.rg, scope.instance, "fast").result()
    with pytest.raises(ResourceNotFoundError):
        ops.get(scope.rg, scope.instance, "fast")


def test_graph_crud_and_paging(sdk: IoTOperationsMgmtClient, scope: Scope,
                               http: httpx.Client) -> None:
    ops = sdk.dataflow_graph
    for i in range(5):
        g = ops.begin_create_or_update(
            scope.rg, scope.instance, "default", f"graph-{i}",
            _graph(scope, [_source(), _destination()], [_connect("source", "sink")]),
        ).result()
        # Nothing pulls through a registry endpoint: nothing to resolve, and it says so.
        assert g.properties.provisioning_state == "Succeeded"
        assert g.properties.health_state == "Unknown"
        assert g.properties.status.health_state.reason_code == "NotChecked"
    got = ops.get(scope.rg, scope.instance, "default", "graph-0")
    assert got.type == "Microsoft.IoTOperations/instances/dataflowProfiles/dataflowGraphs"
    assert got.id == f"{scope.instance_path}/dataflowProfiles/default/dataflowGraphs/graph-0"
    assert [n.node_type for n in got.properties.nodes] == ["Source", "Destination"]
    assert got.properties.node_connections[0].from_property.name == "source"
    updated = ops.begin_create_or_update(
        scope.rg, scope.instance, "default", "graph-0",
        _graph(scope, [_source(), _destination()], [_connect("source", "sink")], "Disabled"),
    ).result()
    assert updated.properties.mode == "Disabled"
    path = f"{scope.instance_path}/dataflowProfiles/default/dataflowGraphs"
    first = http.get(path, params={"api-version": API_VERSION, "$top": 2}).json()
    assert len(first["value"]) == 2 and first["nextLink"]
    pages = ops.list_by_dataflow_profile(scope.rg, scope.instance, "default").by_page(
        continuation_token=first["nextLink"])
    rest = [g.name for page in pages for g in page]
    assert [g["name"] for g in first["value"]] + rest == [f"graph-{i}" for i in range(5)]
    ops.begin_delete(scope.rg, scope.instance, "default", "graph-1").result()
    ops.begin_delete(scope.rg, scope.instance, "default", "graph-1").result()  # 204 again
    with pytest.raises(ResourceNotFoundError):
        ops.get(scope.rg, scope.instance, "default", "graph-1")
    # A profile's graphs go with it.
    sdk.dataflow_profile.begin_delete(scope.rg, scope.instance, "default").result()
    with pytest.raises(ResourceNotFoundError) as err:
        list(ops.list_by_dataflow_profile(scope.rg, scope.instance, "default"))
    assert err.value.error.code == "ParentResourceNotFound"


def _error(call: Any) -> Any:
    with pytest.raises(HttpResponseError) as err:
        call()
    return err.value


def test_graph_validation_codes_and_targets(sdk: IoTOperationsMgmtClient, scope: Scope) -> None:
    ops = sdk.dataflow_graph

    def put(nodes: list[Any], connections: list[Any]) -> Any:
        return _error(lambda: ops.begin_create_or_update(
            scope.rg, scope.instance, "default", "bad", _graph(scope, nodes, connections)
        ).result())

    e = put([_source(), _graph_node("nope"), _destination()], [])
    assert (e.status_code, e.error.code, e.error.target) == (
        400, "RegistryEndpointNotFound", "properties.nodes[1].graphSettings.registryEndpointRef")
    e = put([_source(), _graph_node("default", "graph-simple"), _destination()], [])
    assert (e.error.code, e.error.target) == (
        "InvalidArtifactReference", "properties.nodes[1].graphSettings.artifact")
    e = put([_source("a"), _destination("a")], [])
    assert (e.error.code, e.error.target) == ("DuplicateNodeName", "properties.nodes[1].name")
    e = put([_source(), _destination()], [_connect("source", "missing")])
    assert (e.error.code, e.error.target) == ("UnknownNode",
                                              "properties.nodeConnections[0].to.name")
    e = put([], [])
    assert e.error.code == "InvalidPropertyValue" and e.error.target == "properties.nodes"
    e = _error(lambda: ops.begin_create_or_update(
        scope.rg, scope.instance, "no-such-profile", "graph-one",
        _graph(scope, [_source(), _destination()], [])).result())
    assert (e.status_code, e.error.code) == (404, "ParentResourceNotFound")


def test_graph_discriminator_errors(http: httpx.Client, scope: Scope) -> None:
    path = f"{scope.instance_path}/dataflowProfiles/default/dataflowGraphs/graph-one"
    body = {"properties": {"nodes": [{"name": "x", "nodeType": "Pipe"}], "nodeConnections": []}}
    r = http.put(path, params={"api-version": API_VERSION}, json=body)
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "InvalidNodeType"
    assert r.json()["error"]["target"] == "properties.nodes[0].nodeType"
    body = {"properties": {"nodes": [{"name": "x", "nodeType": "Graph", "graphSettings": {
        "registryEndpointRef": "default"}}], "nodeConnections": []}}
    r = http.put(path, params={"api-version": API_VERSION}, json=body)
    assert r.json()["error"]["target"] == "properties.nodes[0].graphSettings.artifact"
    body["properties"]["status"] = {}
    r = http.put(path, params={"api-version": API_VERSION}, json=body)
    assert "ReadOnlyProperty" in [r.json()["error"]["code"]] + [
        d["code"] for d in r.json()["error"].get("details", [])]


def test_template_crud(sdk: IoTOperationsMgmtClient, scope: Scope) -> None:
    ops = sdk.akri_connector_template
    for i in range(3):
        t = ops.begin_create_or_update(scope.rg, scope.instance, f"rest-{i}",
                                       _template(scope, MCR)).result()
        assert t.properties.provisioning_state == "Succeeded"  # nothing this side can check
        assert t.type == "Microsoft.IoTOperations/instances/akriConnectorTemplates"
    got = ops.get(scope.rg, scope.instance, "rest-0")
    image = got.properties.runtime_configuration.managed_configuration_settings
    assert image.image_configuration_settings.registry_settings.registry_settings_type == (
        "ContainerRegistry")
    assert image.image_configuration_settings.tag_digest_settings.tag == "1.0.6"
    updated = ops.begin_create_or_update(scope.rg, scope.instance, "rest-0",
                                         _template(scope, MCR, replicas=3)).result()
    assert updated.properties.runtime_configuration.managed_configuration_settings \
        .image_configuration_settings.replicas == 3
    assert [t.name for t in ops.list_by_instance_resource(scope.rg, scope.instance)] == [
        "rest-0", "rest-1", "rest-2"]
    ops.begin_delete(scope.rg, scope.instance, "rest-2").result()
    with pytest.raises(ResourceNotFoundError):
        ops.get(scope.rg, scope.instance, "rest-2")
    e = _error(lambda: ops.begin_create_or_update(
        scope.rg, scope.instance, "bad",
        _template(scope, m.AkriConnectorsRegistryEndpointRef(registry_endpoint_ref="nope")),
    ).result())
    assert (e.error.code, e.error.target) == (
        "RegistryEndpointNotFound",
        "properties.runtimeConfiguration.managedConfigurationSettings.imageConfigurationSettings"
        ".registrySettings.registryEndpointRef")


def test_endpoint_in_use(sdk: IoTOperationsMgmtClient, scope: Scope, http: httpx.Client) -> None:
    _closed_endpoint(sdk, scope, "closed")
    # The endpoint cannot be reached: the graph is saved (Accepted) and then Failed, so the
    # SDK's poller raises with the resolver's reason.
    e = _error(lambda: sdk.dataflow_graph.begin_create_or_update(
        scope.rg, scope.instance, "default", "uses-closed",
        _graph(scope, [_source(), _graph_node("closed"), _destination()],
               [_connect("source", "transform"), _connect("transform", "sink")]),
    ).result())
    assert "RegistryUnreachable" in str(e) or "Failed" in str(e)
    graph = sdk.dataflow_graph.get(scope.rg, scope.instance, "default", "uses-closed")
    assert graph.properties.provisioning_state == "Failed"
    assert graph.properties.status.health_state.reason_code == "RegistryUnreachable"
    with pytest.raises(ResourceExistsError) as err:
        sdk.registry_endpoint.begin_delete(scope.rg, scope.instance, "closed").result()
    assert err.value.error.code == "RegistryEndpointInUse"
    assert "dataflow graph 'default/uses-closed'" in err.value.error.message
    path = scope.endpoint_path("closed")
    r = http.delete(path, params={"api-version": API_VERSION, "force": "true"})
    assert r.status_code == 204
    with pytest.raises(ResourceNotFoundError):
        sdk.registry_endpoint.get(scope.rg, scope.instance, "closed")
