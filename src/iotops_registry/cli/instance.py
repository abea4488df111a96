"""``iotops instance``: the IoT Operations instances that hold registry endpoints."""

from __future__ import annotations

from typing import Any

import click

from .client import connect, instance_path, instances_path
from .errors import ArmError
from .options import ConnectionOptions, OutputOptions, connection_options, output_options
from .output import INSTANCE_COLUMNS, emit
from .prompt import confirm_delete

__all__ = ["instance"]

_name = click.option("-n", "--name", required=True, help="Name of the instance.")
_group = click.option("-g", "--resource-group", required=True, help="Name of the resource group.")


@click.group()
def instance() -> None:
    """Manage IoT Operations instances."""


@instance.command()
@_name
@_group
@click.option("--location", default="local", show_default=True,
              help="Azure region of the instance.")
@click.option("--custom-location", metavar="ID",
              help="Resource id of the custom location the instance runs on "
                   "[default: .../customLocations/<name>-cl in the resource group].")
@click.option("--description", help="Description of the instance.")
@connection_options
@output_options
def create(
    name: str,
    resource_group: str,
    location: str,
    custom_location: str | None,
    description: str | None,
    conn: ConnectionOptions,
    out: OutputOptions,
) -> None:
    """Create an instance. It starts with the default registry endpoint for MCR.

    \b
    Examples:
      iotops instance create -n myinstance -g myrg
      iotops instance create -n myinstance -g myrg --description "Line 1"
    """
    with connect(conn) as client:
        sub = client.subscription
        body: dict[str, Any] = {
            "location": location,
            "extendedLocation": {
                "name": custom_location or (
                    f"/subscriptions/{sub}/resourceGroups/{resource_group}/providers/"
                    f"Microsoft.ExtendedLocation/customLocations/{name}-cl"
                ),
                "type": "CustomLocation",
            },
        }
        if description is not None:
            body["properties"] = {"description": description}
        try:
            reply = client.put(instance_path(sub, resource_group, name), body, if_none_match="*")
        except ArmError as exc:
            if exc.status == 412:
                raise ArmError(
                    exc.status, exc.code,
                    f"Instance '{name}' already exists in resource group '{resource_group}'.",
                ) from None
            raise
    emit(reply.body, out, INSTANCE_COLUMNS)


@instance.command()
@_name
@_group
@connection_options
@output_options
def show(name: str, resource_group: str, conn: ConnectionOptions, out: OutputOptions) -> None:
    """Show an instance."""
    with connect(conn) as client:
        reply = client.get(instance_path(client.subscription, resource_group, name))
    emit(reply.body, out, INSTANCE_COLUMNS)


@instance.command(name="list")
@click.option("-g", "--resource-group", help="List only this resource group's instances.")
@connection_options
@output_options
def list_(resource_group: str | None, conn: ConnectionOptions, out: OutputOptions) -> None:
    """List the instances of the subscription or of one resource group."""
    with connect(conn) as client:
        items = client.list(instances_path(client.subscription, resource_group))
    emit(items, out, INSTANCE_COLUMNS)


@instance.command()
@_name
@_group
@click.option("-y", "--yes", is_flag=True, help="Do not prompt for confirmation.")
@connection_options
def delete(name: str, resource_group: str, yes: bool, conn: ConnectionOptions) -> None:
    """Delete an instance and all its registry endpoints."""
    confirm_delete(
        f"Delete instance '{name}' in resource group '{resource_group}' "
        "and all its registry endpoints?",
        yes,
    )
    with connect(conn) as client:
        client.delete(instance_path(client.subscription, resource_group, name))
