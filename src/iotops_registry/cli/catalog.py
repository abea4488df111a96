"""``iotops catalog sync|status``, ``iotops graph list|show``, ``iotops module list`` and
``iotops connector list|show``: the catalog the server keeps of every registry endpoint of an
instance (``…/instances/{i}/catalog/…``). Lists take ``--search`` and the filters of the API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from .client import connect, instance_path
from .errors import CliError
from .options import ConnectionOptions, OutputOptions, connection_options, output_options
from .output import Column, emit

__all__ = ["catalog", "connector_list", "connector_show", "graph_list", "graph_show", "module"]

F = Callable[..., Any]


def _get(key: str) -> Callable[[dict[str, Any]], Any]:
    return lambda row: row.get(key)


GRAPH_COLUMNS: list[Column] = [
    ("Artifact", _get("artifact")), ("Name", _get("name")), ("Version", _get("version")),
    ("Endpoint", _get("endpoint")), ("Operations", lambda r: " ".join(r.get("operationTypes")
                                                                     or [])),
    ("Runtime", _get("runtimeVersion")), ("Latest", _get("latest")),
    ("Warning", lambda r: "stripped" if r.get("stripped") else ("" if r.get("valid") else
                                                                "invalid")),
]
MODULE_COLUMNS: list[Column] = [
    ("Artifact", _get("artifact")), ("Endpoint", _get("endpoint")),
    ("Digest", lambda r: str(r.get("digest", ""))[:19]), ("UsedBy", lambda r: " ".join(
        r.get("usedBy") or [])),
]
CONNECTOR_COLUMNS: list[Column] = [
    ("Artifact", _get("artifact")), ("Name", _get("name")), ("Version", _get("version")),
    ("Endpoint", _get("endpoint")),
    ("EndpointTypes", lambda r: " ".join(e["endpointType"] for e in r.get("endpointTypes")
                                         or [])),
    ("Architectures", lambda r: " ".join(r.get("architectures") or [])),
    ("Preview", _get("isPreview")),
]
STATUS_COLUMNS: list[Column] = [
    ("Endpoint", _get("endpoint")), ("State", _get("state")),
    ("Source", _get("repositorySource")), ("Repositories", _get("repositories")),
    ("Tags", _get("tags")), ("LastSync", _get("lastSyncTime")), ("Stale", _get("stale")),
    ("Error", lambda r: (r.get("error") or {}).get("message")),
]


def _instance(f: F) -> F:
    f = click.option("-g", "--resource-group", required=True, help="The resource group.")(f)
    return click.option("-i", "--instance", required=True, help="The instance.")(f)


def _filters(kind: str) -> Callable[[F], F]:
    def wrap(f: F) -> F:
        options: list[tuple[str, str, str]] = [
            ("--search", "search", "Free text: every word must match (prefixes too)."),
            ("--endpoint", "endpoint", "Only this registry endpoint's artifacts."),
            ("--vendor", "vendor", "Only this vendor's."),
            ("--version-range", "versionRange", "A semver range: '>=1.0.0 <2.0.0', '^1.2'."),
            ("--repository", "repository", "Only this repository (full path)."),
            ("--order-by", "orderBy", "name | semver | lastPushed, optionally ' desc'."),
        ]
        if kind == "graph":
            options += [
                ("--operation-type", "operationType", "map, filter, branch, concatenate, "
                 "accumulate, delay, source or sink."),
                ("--module", "module", "Graphs using this module (repo:tag or repo)."),
                ("--runtime-version", "runtimeVersion", "Graphs this runtime version can run."),
            ]
        if kind == "connector":
            options += [
                ("--endpoint-type", "endpointType", "e.g. Microsoft.OpcUa."),
                ("--architecture", "architecture", "e.g. linux/arm64."),
            ]
        for flag, param, text in reversed(options):
            f = click.option(flag, param, metavar="TEXT", help=text)(f)
        f = click.option("--latest", "latest", is_flag=True,
                         help="Only the latest version of each repository.")(f)
        if kind == "graph":
            f = click.option("--compatible", "compatible", is_flag=True,
                             help="Only graphs the instance's runtime version can run.")(f)
        return f
    return wrap


def _query(params: dict[str, Any]) -> dict[str, str]:
    return {k: ("true" if v is True else str(v)) for k, v in params.items()
            if v not in (None, False, "")}


def _entries(collection: str, instance: str, resource_group: str, conn: ConnectionOptions,
             params: dict[str, Any]) -> list[dict[str, Any]]:
    with connect(conn) as client:
        path = instance_path(client.subscription, resource_group, instance)
        items = client.list(f"{path}/catalog/{collection}", params=_query(params))
    return [{"entryName": item["name"], **item["properties"]} for item in items]


def _show(collection: str, ref: str, instance: str, resource_group: str,
          conn: ConnectionOptions, endpoint: str | None) -> dict[str, Any]:
    """One entry by ``repo:tag`` (repository relative to the endpoint's prefix, as in a
    DataflowGraph's ``artifact``), or by its entry name."""
    found = [e for e in _entries(collection, instance, resource_group, conn,
                                 {"endpoint": endpoint})
             if ref in (e["artifact"], e["entryName"], f"{e['repository']}:{e['tag']}")]
    if not found:
        raise CliError(f"'{ref}' is not in the catalog of instance '{instance}'"
                       + (f" through endpoint '{endpoint}'" if endpoint else "")
                       + ": run `iotops catalog sync` if it was pushed since the last sync.")
    if len(found) > 1:
        raise CliError(f"'{ref}' is in more than one endpoint ("
                       + ", ".join(sorted(e["endpoint"] for e in found))
                       + "): give --endpoint.")
    with connect(conn) as client:
        path = instance_path(client.subscription, resource_group, instance)
        reply = client.get(f"{path}/catalog/{collection}/{found[0]['entryName']}")
    body: dict[str, Any] = reply.body
    return {"entryName": body["name"], **body["properties"]}


@click.group()
def catalog() -> None:
    """The catalog of the graphs, modules and connector metadata behind every registry
    endpoint of an instance: sync it, see each endpoint's sync state.

    Browse it with `iotops graph list|show`, `iotops module list` and
    `iotops connector list|show`.
    """


@catalog.command("sync")
@_instance
@click.option("--no-wait", is_flag=True, help="Start the sync and return at once.")
@connection_options
@output_options
def sync(instance: str, resource_group: str, no_wait: bool, conn: ConnectionOptions,
         out: OutputOptions) -> None:
    """Sync the catalog from every endpoint now; print each endpoint's state.

    \b
    Example:
      iotops catalog sync -i myinstance -g myrg -o table
    """
    with connect(conn) as client:
        path = instance_path(client.subscription, resource_group, instance)
        params = {"wait": "false"} if no_wait else None
        reply = client.request("POST", f"{path}/catalog/sync", params=params)
    emit(reply.body["value"], out, STATUS_COLUMNS)


@catalog.command("status")
@_instance
@connection_options
@output_options
def status(instance: str, resource_group: str, conn: ConnectionOptions,
           out: OutputOptions) -> None:
    """Each endpoint's last sync, error, staleness and what it found."""
    with connect(conn) as client:
        path = instance_path(client.subscription, resource_group, instance)
        reply = client.get(f"{path}/catalog/endpoints")
    emit(reply.body["value"], out, STATUS_COLUMNS)


@click.command("list")
@_instance
@_filters("graph")
@connection_options
@output_options
def graph_list(instance: str, resource_group: str, conn: ConnectionOptions,
               out: OutputOptions, **params: Any) -> None:
    """List the dataflow graphs in the instance's registries (from the last sync).

    \b
    Examples:
      iotops graph list -i myinstance -g myrg --search temperature -o table
      iotops graph list -i myinstance -g myrg --operation-type branch --latest
    """
    emit(_entries("graphs", instance, resource_group, conn, params), out, GRAPH_COLUMNS)


@click.command("show")
@click.argument("artifact", metavar="NAME:VERSION")
@_instance
@click.option("--endpoint", help="The registry endpoint, when more than one has it.")
@connection_options
@output_options
def graph_show(artifact: str, instance: str, resource_group: str, endpoint: str | None,
               conn: ConnectionOptions, out: OutputOptions) -> None:
    """Show one graph: operations, connections, parameters, versions, digest, and the
    DataflowGraph node that runs it (dataflowGraphNode)."""
    emit(_show("graphs", artifact, instance, resource_group, conn, endpoint), out)


@click.group()
def module() -> None:
    """WASM operator modules in the instance's registries, and the graphs that use them."""


@module.command("list")
@_instance
@_filters("module")
@connection_options
@output_options
def module_list(instance: str, resource_group: str, conn: ConnectionOptions,
                out: OutputOptions, **params: Any) -> None:
    """List the WASM modules (from the last sync)."""
    emit(_entries("modules", instance, resource_group, conn, params), out, MODULE_COLUMNS)


@click.command("list")
@_instance
@_filters("connector")
@connection_options
@output_options
def connector_list(instance: str, resource_group: str, conn: ConnectionOptions,
                   out: OutputOptions, **params: Any) -> None:
    """List the connector metadata in the instance's registries (from the last sync).

    \b
    Example:
      iotops connector list -i myinstance -g myrg --endpoint-type Microsoft.OpcUa
    """
    emit(_entries("connectors", instance, resource_group, conn, params), out,
         CONNECTOR_COLUMNS)


@click.command("show")
@click.argument("artifact", metavar="NAME:VERSION")
@_instance
@click.option("--endpoint", help="The registry endpoint, when more than one has it.")
@connection_options
@output_options
def connector_show(artifact: str, instance: str, resource_group: str, endpoint: str | None,
                   conn: ConnectionOptions, out: OutputOptions) -> None:
    """Show one connector's metadata: endpoint types, architectures, image, versions."""
    emit(_show("connectors", artifact, instance, resource_group, conn, endpoint), out)
