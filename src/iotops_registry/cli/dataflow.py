"""``iotops dataflow graph apply|show|list|delete``: dataflow graphs whose Graph nodes pull
graph artifacts (and their modules) through registry endpoints."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from .client import connect
from .errors import CliError
from .options import ConnectionOptions, OutputOptions, connection_options, output_options
from .output import emit
from .prompt import confirm_delete
from .pulling import GRAPH_COLUMNS, graph_path, graphs_path, wait_resolved

__all__ = ["dataflow"]

_READ_ONLY = ("provisioningState", "healthState", "status")


def _ref(f: Any) -> Any:
    f = click.option("-g", "--resource-group", required=True, help="Name of the resource group.")(f)
    f = click.option("-i", "--instance", required=True, help="Name of the instance.")(f)
    f = click.option("-p", "--profile", default="default", show_default=True,
                     help="The dataflow profile.")(f)
    return click.option("-n", "--name", required=True, help="Name of the dataflow graph.")(f)


def properties_of(text: str, source: str) -> dict[str, Any]:
    """The ``properties`` of a config file: the object itself, or a full resource (whose
    ``properties`` is taken, as ``az iot ops dataflowgraph apply`` does). JSON or YAML."""
    try:
        data = json.loads(text)
    except ValueError:
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise CliError(f"{source} is neither JSON nor YAML: {exc}") from None
    if not isinstance(data, dict):
        raise CliError(f"{source} must hold an object (the graph's properties).")
    if "properties" in data:
        if "extendedLocation" in data:
            click.echo("WARNING: extendedLocation is ignored: the graph lives where its "
                       "instance lives.", err=True)
        data = data["properties"]
        if not isinstance(data, dict):
            raise CliError(f"{source}: properties must be an object.")
    return {k: v for k, v in data.items() if k not in _READ_ONLY}


@click.group()
def dataflow() -> None:
    """Dataflow profiles and graphs."""


@dataflow.group()
def graph() -> None:
    """Dataflow graphs. A Graph node names a registry endpoint and an artifact
    (name:version); when a graph is saved the server pulls the artifact and its modules
    through that endpoint, checks the parameters and the runtime version, and says what
    it found in the graph's status."""


@graph.command()
@_ref
@click.option("--config-file", "config_file", required=True,
              type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="JSON or YAML: the graph's properties (mode, nodes, nodeConnections) or the "
                   "full resource.")
@click.option("--no-wait", is_flag=True, help="Answer when saved (Accepted).")
@click.option("--timeout", type=float, default=120.0, show_default=True,
              help="Seconds to wait for the resolution.")
@connection_options
@output_options
def apply(name: str, profile: str, instance: str, resource_group: str, config_file: Path,
          no_wait: bool, timeout: float, conn: ConnectionOptions, out: OutputOptions) -> None:
    """Create or replace a dataflow graph from a config file.

    \b
    Example:
      iotops dataflow graph apply -n temps -i myinstance -g myrg --config-file graph.json
    """
    props = properties_of(config_file.read_text("utf-8"), str(config_file))
    with connect(conn) as client:
        path = graph_path(client.subscription, resource_group, instance, profile, name)
        reply = client.put(path, {"properties": props})
        doc = reply.body if no_wait else wait_resolved(client, path, reply.body, timeout)
    emit(doc, out, GRAPH_COLUMNS)


@graph.command()
@_ref
@connection_options
@output_options
def show(name: str, profile: str, instance: str, resource_group: str, conn: ConnectionOptions,
         out: OutputOptions) -> None:
    """Show a dataflow graph, with its resolution status."""
    with connect(conn) as client:
        doc = client.get(graph_path(client.subscription, resource_group, instance, profile,
                                    name)).body
    emit(doc, out, GRAPH_COLUMNS)


@graph.command("list")
@click.option("-p", "--profile", default="default", show_default=True,
              help="The dataflow profile.")
@click.option("-i", "--instance", required=True, help="Name of the instance.")
@click.option("-g", "--resource-group", required=True, help="Name of the resource group.")
@connection_options
@output_options
def list_(profile: str, instance: str, resource_group: str, conn: ConnectionOptions,
          out: OutputOptions) -> None:
    """List the dataflow graphs of a profile."""
    with connect(conn) as client:
        items = client.list(graphs_path(client.subscription, resource_group, instance, profile))
    emit(items, out, GRAPH_COLUMNS)


@graph.command()
@_ref
@click.option("-y", "--yes", is_flag=True, help="Do not prompt for confirmation.")
@connection_options
def delete(name: str, profile: str, instance: str, resource_group: str, yes: bool,
           conn: ConnectionOptions) -> None:
    """Delete a dataflow graph."""
    confirm_delete(f"Delete dataflow graph '{profile}/{name}' of instance '{instance}'?", yes)
    with connect(conn) as client:
        client.delete(graph_path(client.subscription, resource_group, instance, profile, name))
