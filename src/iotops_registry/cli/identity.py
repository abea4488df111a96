"""``iotops identity``: the managed identities of the local IMDS-compatible endpoint.

In the style of ``az identity create``; the server keeps the identities and hands out their
tokens to ``azure.identity.ManagedIdentityCredential`` (see ``iotops serve``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import click

from .client import connect
from .options import ConnectionOptions, OutputOptions, connection_options, output_options
from .output import Column, emit
from .prompt import confirm_delete

__all__ = ["admin_get", "admin_send", "identity"]

IDENTITY_COLUMNS: list[Column] = [
    ("Name", lambda d: d.get("name")),
    ("Type", lambda d: d.get("type")),
    ("ClientId", lambda d: d.get("clientId")),
    ("PrincipalId", lambda d: d.get("principalId")),
]
_SHOWN = ("name", "clientId", "tenantId", "principalId")


def admin_get(conn: ConnectionOptions, path: str) -> Any:
    """GET an admin route (``/-/dev/...``) of the server, with the ARM bearer token."""
    with connect(conn) as client:
        return client.request("GET", path, as_is=True).body


def admin_send(conn: ConnectionOptions, method: str, path: str, body: Any = None) -> Any:
    with connect(conn) as client:
        return client.request(method, path, body=body, as_is=True).body


def _shown(doc: dict[str, Any], *, with_name: bool = True) -> dict[str, Any]:
    keys = _SHOWN if with_name else _SHOWN[1:]
    return {k: doc.get(k) for k in keys}


@click.group()
def identity() -> None:
    """Manage the managed identities served to ManagedIdentityCredential.

    \b
    Point the Azure SDK at the server's identity endpoint with
      export AZURE_POD_IDENTITY_AUTHORITY_HOST=<"identity" in DIR/endpoints.json>
    """


@identity.command()
@click.option("-n", "--name", required=True, help="Name of the user-assigned identity.")
@connection_options
@output_options
def create(name: str, conn: ConnectionOptions, out: OutputOptions) -> None:
    """Create a user-assigned identity (or show it, if it exists).

    \b
    Example:
      iotops identity create --name acr-reader
    """
    doc = admin_send(conn, "POST", "/-/dev/identities", {"name": name})
    emit(_shown(doc), out)


@identity.command()
@click.option("-n", "--name", help="Name of a user-assigned identity.")
@click.option("--system", is_flag=True, help="The system-assigned identity.")
@connection_options
@output_options
def show(name: str | None, system: bool, conn: ConnectionOptions, out: OutputOptions) -> None:
    """Show an identity's client id, tenant id and principal id."""
    if bool(name) == system:
        raise click.UsageError("Give exactly one of --name and --system.")
    if system:
        emit(_shown(admin_get(conn, "/-/dev/system-identity"), with_name=False), out)
    else:
        emit(_shown(admin_get(conn, f"/-/dev/identities/{quote(str(name), safe='')}")), out)


@identity.command("list")
@connection_options
@output_options
def list_(conn: ConnectionOptions, out: OutputOptions) -> None:
    """List the system-assigned and user-assigned identities."""
    emit(admin_get(conn, "/-/dev/identities")["value"], out, IDENTITY_COLUMNS)


@identity.command()
@click.option("-n", "--name", required=True, help="Name of the user-assigned identity.")
@click.option("-y", "--yes", is_flag=True, help="Do not prompt for confirmation.")
@connection_options
def delete(name: str, yes: bool, conn: ConnectionOptions) -> None:
    """Delete a user-assigned identity; its tokens stop being issued."""
    confirm_delete(f"Delete the identity '{name}'?", yes)
    admin_send(conn, "DELETE", f"/-/dev/identities/{quote(name, safe='')}")
