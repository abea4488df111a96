"""Dataflow profiles and dataflow graphs: wire models of the request bodies (ARM 2025-10-01
and later) and the rules a schema cannot state (unique node names, connections between nodes
that exist, ``artifact`` as ``name:version``).

A graph node of type ``Graph`` pulls a graph artifact through a registry endpoint of the same
instance (``graphSettings.registryEndpointRef``); the service checks that the endpoint exists.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from ..errors import ValidationError
from .models import ExtendedLocation, _Wire

__all__ = [
    "NODE_TYPES",
    "DataflowGraphBody",
    "DataflowProfileBody",
    "check_artifact",
    "check_graph",
    "graph_endpoint_refs",
]

NODE_TYPES = ("Source", "Graph", "Destination")
_ENABLED = Literal["Enabled", "Disabled"]


class _Logs(_Wire):
    level: str | None = Field(default=None, max_length=64)


class _Metrics(_Wire):
    prometheusPort: int | None = Field(default=None, ge=0, le=65535)


class ProfileDiagnostics(_Wire):
    logs: _Logs | None = None
    metrics: _Metrics | None = None


class DataflowProfileProperties(_Wire):
    diagnostics: ProfileDiagnostics | None = None
    instanceCount: int | None = Field(default=None, ge=1, le=20)


class DataflowProfileBody(_Wire):
    extendedLocation: ExtendedLocation | None = None
    properties: DataflowProfileProperties | None = None


class SourceSettings(_Wire):
    endpointRef: str = Field(min_length=1, max_length=253)
    dataSources: list[str] = Field(min_length=1, max_length=128)
    assetRef: str | None = Field(default=None, max_length=1024)


class SourceNode(_Wire):
    nodeType: Literal["Source"]
    name: str = Field(min_length=1, max_length=253)
    sourceSettings: SourceSettings


class ConfigurationEntry(_Wire):
    key: str = Field(min_length=1, max_length=253)
    value: str = Field(max_length=64 * 1024)


class GraphSettings(_Wire):
    registryEndpointRef: str = Field(min_length=1, max_length=63)
    artifact: str = Field(min_length=1, max_length=512)
    configuration: list[ConfigurationEntry] | None = Field(default=None, max_length=256)


class GraphNode(_Wire):
    nodeType: Literal["Graph"]
    name: str = Field(min_length=1, max_length=253)
    graphSettings: GraphSettings


class HeaderAction(_Wire):
    actionType: Literal["AddIfNotPresent", "AddOrReplace", "Remove"]
    key: str = Field(min_length=1, max_length=253)
    value: str | None = Field(default=None, max_length=4096)


class DestinationSettings(_Wire):
    endpointRef: str = Field(min_length=1, max_length=253)
    dataDestination: str = Field(min_length=1, max_length=1024)
    headers: list[HeaderAction] | None = Field(default=None, max_length=64)


class DestinationNode(_Wire):
    nodeType: Literal["Destination"]
    name: str = Field(min_length=1, max_length=253)
    destinationSettings: DestinationSettings


Node = Annotated[SourceNode | GraphNode | DestinationNode, Field(discriminator="nodeType")]


class SchemaSettings(_Wire):
    schemaRef: str | None = Field(default=None, max_length=1024)
    serializationFormat: Literal["Avro", "Delta", "Json", "Parquet"] | None = None


class ConnectionInput(_Wire):
    name: str = Field(min_length=1, max_length=253)
    schema_: SchemaSettings | None = Field(default=None, alias="schema")


class ConnectionOutput(_Wire):
    name: str = Field(min_length=1, max_length=253)


class NodeConnection(_Wire):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)
    from_: ConnectionInput = Field(alias="from")
    to: ConnectionOutput


class DataflowGraphProperties(_Wire):
    mode: _ENABLED | None = None
    requestDiskPersistence: _ENABLED | None = None
    nodes: list[Node] = Field(min_length=1, max_length=128)
    nodeConnections: list[NodeConnection] = Field(max_length=512)


class DataflowGraphBody(_Wire):
    extendedLocation: ExtendedLocation | None = None
    properties: DataflowGraphProperties


def check_artifact(artifact: str) -> str | None:
    """``<name>:<version>``, as the CLI and the runtime take it; None when fine."""
    name, colon, version = artifact.rpartition(":")
    if not colon or not name or not version or "/" in version or artifact != artifact.strip():
        return (
            f"'{artifact[:200]}' is not an artifact reference: use the format "
            "'<artifact-name>:<version>', e.g. 'graph-simple:1.0.0'."
        )
    if "@" in artifact or "://" in artifact:
        return (
            f"'{artifact[:200]}' must be '<artifact-name>:<version>', without a scheme or "
            "digest."
        )
    return None


def check_graph(properties: DataflowGraphProperties) -> None:
    """What the schema cannot say: unique node names, connections between existing nodes,
    artifacts as ``name:version``. Raises the first problem with its ARM target."""
    names: set[str] = set()
    for i, node in enumerate(properties.nodes):
        if node.name in names:
            raise ValidationError(
                f"The node name '{node.name}' is used more than once; node names must be "
                "unique in a graph.",
                code="DuplicateNodeName",
                target=f"properties.nodes[{i}].name",
            )
        names.add(node.name)
        if isinstance(node, GraphNode):
            problem = check_artifact(node.graphSettings.artifact)
            if problem:
                raise ValidationError(
                    problem,
                    code="InvalidArtifactReference",
                    target=f"properties.nodes[{i}].graphSettings.artifact",
                )
            keys: set[str] = set()
            for j, entry in enumerate(node.graphSettings.configuration or []):
                if entry.key in keys:
                    raise ValidationError(
                        f"The configuration key '{entry.key}' is given more than once.",
                        code="DuplicateConfigurationKey",
                        target=f"properties.nodes[{i}].graphSettings.configuration[{j}].key",
                    )
                keys.add(entry.key)
    for i, conn in enumerate(properties.nodeConnections):
        for end, name in (("from", conn.from_.name), ("to", conn.to.name)):
            if name not in names:
                raise ValidationError(
                    f"The connection's '{end}' names the node '{name}', which is not in "
                    f"nodes (nodes: {', '.join(sorted(names))}).",
                    code="UnknownNode",
                    target=f"properties.nodeConnections[{i}].{end}.name",
                )


def graph_endpoint_refs(properties: dict[str, Any]) -> list[tuple[int, str]]:
    """(node index, registry endpoint name) of every Graph node of a stored document."""
    return [
        (i, str(node["graphSettings"]["registryEndpointRef"]))
        for i, node in enumerate(properties.get("nodes") or [])
        if node.get("nodeType") == "Graph"
    ]
