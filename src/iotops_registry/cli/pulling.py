"""What the resource commands of graphs and templates share: paths, waiting for resolution,
columns."""

from __future__ import annotations

import time
from typing import Any

import click

from .client import ArmClient, _seg, endpoint_path, instance_path
from .errors import CliError
from .output import Column, _get, _resource_group

__all__ = [
    "GRAPH_COLUMNS",
    "TEMPLATE_COLUMNS",
    "graph_path",
    "graphs_path",
    "template_path",
    "templates_path",
    "wait_resolved",
]


def graphs_path(sub: str, rg: str, instance: str, profile: str) -> str:
    return f"{instance_path(sub, rg, instance)}/dataflowProfiles/{_seg(profile)}/dataflowGraphs"


def graph_path(sub: str, rg: str, instance: str, profile: str, name: str) -> str:
    return f"{graphs_path(sub, rg, instance, profile)}/{_seg(name)}"


def templates_path(sub: str, rg: str, instance: str) -> str:
    return f"{instance_path(sub, rg, instance)}/akriConnectorTemplates"


def template_path(sub: str, rg: str, instance: str, name: str) -> str:
    return f"{templates_path(sub, rg, instance)}/{_seg(name)}"


def metadata_action(sub: str, rg: str, instance: str, endpoint: str) -> str:
    return f"{endpoint_path(sub, rg, instance, endpoint)}/pullConnectorMetadata"


def wait_resolved(client: ArmClient, path: str, doc: dict[str, Any], timeout: float
                  ) -> dict[str, Any]:
    """GET until ``provisioningState`` leaves ``Accepted`` (the server's resolver is done)."""
    deadline = time.monotonic() + timeout
    while doc.get("properties", {}).get("provisioningState") == "Accepted":
        if time.monotonic() > deadline:
            raise CliError(f"Still resolving after {timeout:.0f} s; see it later with show.")
        time.sleep(0.3)
        doc = client.get(path).body
    state = doc.get("properties", {}).get("provisioningState")
    if state == "Failed":
        health = (doc["properties"].get("status") or {}).get("healthState") or {}
        click.echo(f"WARNING: resolution failed ({health.get('reasonCode')}): "
                   f"{health.get('message')}", err=True)
    return doc


def _reason(doc: dict[str, Any]) -> Any:
    return ((doc.get("properties", {}).get("status") or {}).get("healthState") or {}).get(
        "reasonCode")


def _graph_artifacts(doc: dict[str, Any]) -> str:
    return ", ".join(
        f"{n['graphSettings']['registryEndpointRef']}:{n['graphSettings']['artifact']}"
        for n in doc.get("properties", {}).get("nodes", []) if n.get("nodeType") == "Graph")


def _image(doc: dict[str, Any]) -> Any:
    settings = doc["properties"]["runtimeConfiguration"]["managedConfigurationSettings"]
    return (settings.get("imageConfigurationSettings") or {}).get("imageName")


GRAPH_COLUMNS: list[Column] = [
    ("Name", _get("name")),
    ("Mode", _get("properties.mode")),
    ("Artifacts", _graph_artifacts),
    ("ProvisioningState", _get("properties.provisioningState")),
    ("HealthState", _get("properties.healthState")),
    ("Reason", _reason),
    ("ResourceGroup", _resource_group),
]

TEMPLATE_COLUMNS: list[Column] = [
    ("Name", _get("name")),
    ("ConnectorType", lambda d: ", ".join(
        t["endpointType"] for t in d["properties"].get("deviceInboundEndpointTypes", []))),
    ("Version", lambda d: str(d["properties"].get("connectorMetadataRef") or "").rpartition(
        ":")[2] or None),
    ("Image", _image),
    ("Replicas", lambda d: (d["properties"]["runtimeConfiguration"][
        "managedConfigurationSettings"].get("imageConfigurationSettings") or {}).get("replicas")),
    ("ProvisioningState", _get("properties.provisioningState")),
    ("HealthState", _get("properties.healthState")),
    ("Reason", _reason),
]
