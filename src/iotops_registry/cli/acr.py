"""``iotops acr``: the container registries the server offers to pick from (the portal's
"Select a registry"), shaped like ``Microsoft.ContainerRegistry/registries``."""

from __future__ import annotations

from typing import Any

import click

from .client import connect
from .options import ConnectionOptions, OutputOptions, connection_options, output_options
from .output import Column, emit

__all__ = ["acr"]

API_VERSION = "2023-07-01"
_PARAMS = {"api-version": API_VERSION}


def _get(path: str) -> Any:
    def pick(doc: dict[str, Any]) -> Any:
        value: Any = doc
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return value

    return pick


def _group(doc: dict[str, Any]) -> str:
    parts = str(doc.get("id", "")).split("/")
    return parts[4] if len(parts) > 4 else ""


COLUMNS: list[Column] = [
    ("Name", _get("name")),
    ("LoginServer", _get("properties.loginServer")),
    ("ResourceGroup", _group),
    ("Source", _get("properties.source")),
    ("Location", _get("location")),
]


def _path(subscription: str, resource_group: str | None, name: str | None = None) -> str:
    base = f"/subscriptions/{subscription}"
    if resource_group:
        base += f"/resourceGroups/{resource_group}"
    base += "/providers/Microsoft.ContainerRegistry/registries"
    return f"{base}/{name}" if name else base


@click.group()
def acr() -> None:
    """Container registries to select in the portal: the dev registry, registered ones, and
    the hosts of existing endpoints."""


@acr.command()
@click.option("-n", "--name", required=True, help="Registry name: 5-50 letters and digits.")
@click.option("--login-server", required=True, metavar="HOST[:PORT]",
              help="Where its /v2/ API is, e.g. myacr.azurecr.io.")
@click.option("-g", "--resource-group", default="registries", show_default=True,
              help="Resource group to register it in.")
@click.option("--location", default="eastus", show_default=True, help="Azure region.")
@connection_options
@output_options
def register(name: str, login_server: str, resource_group: str, location: str,
             conn: ConnectionOptions, out: OutputOptions) -> None:
    """Register a container registry so the portal offers it.

    \b
    Example:
      iotops acr register --name contosoacr --login-server contosoacr.azurecr.io
    """
    body = {"location": location, "properties": {"loginServer": login_server}}
    with connect(conn) as client:
        reply = client.request("PUT", _path(client.subscription, resource_group, name),
                               body=body, params=_PARAMS)
    emit(reply.body, out, COLUMNS)


@acr.command(name="list")
@click.option("-g", "--resource-group", help="Only this resource group's registries.")
@connection_options
@output_options
def list_(resource_group: str | None, conn: ConnectionOptions, out: OutputOptions) -> None:
    """List the registries the server knows."""
    with connect(conn) as client:
        reply = client.request("GET", _path(client.subscription, resource_group),
                               params=_PARAMS)
    emit(reply.body.get("value", []), out, COLUMNS)


@acr.command()
@click.option("-n", "--name", required=True, help="Registry name.")
@click.option("-g", "--resource-group", default="registries", show_default=True,
              help="Its resource group.")
@connection_options
def delete(name: str, resource_group: str, conn: ConnectionOptions) -> None:
    """Forget a registered registry (the dev registry and endpoint hosts stay listed)."""
    with connect(conn) as client:
        client.request("DELETE", _path(client.subscription, resource_group, name),
                       params=_PARAMS)
