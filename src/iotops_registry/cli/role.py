"""``iotops role``: role assignments and definitions, in the style of ``az role``.

``az role assignment create --assignee OID --role NAME --scope SCOPE`` becomes
``iotops role assignment create`` with the same options; the server answers over
``{scope}/providers/Microsoft.Authorization/roleAssignments``, as ARM does.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

import click

from .client import connect
from .errors import CliError
from .options import ConnectionOptions, OutputOptions, connection_options, output_options
from .output import Column, emit
from .prompt import confirm_delete

__all__ = ["role"]

API_VERSION = "2022-04-01"
_AUTHZ = "/providers/Microsoft.Authorization"

ASSIGNMENT_COLUMNS: list[Column] = [
    ("Principal", lambda d: d.get("principalId")),
    ("Role", lambda d: d.get("roleDefinitionName")),
    ("Scope", lambda d: d.get("scope")),
]
DEFINITION_COLUMNS: list[Column] = [
    ("Name", lambda d: d.get("roleName")),
    ("Id", lambda d: d.get("name")),
    ("Description", lambda d: d.get("description")),
]


def _base(scope: str) -> str:
    scope = "/" + scope.strip("/")
    return _AUTHZ if scope == "/" else f"{scope}{_AUTHZ}"


def _get(conn: ConnectionOptions, path: str, query: str = "") -> Any:
    with connect(conn) as client:
        url = f"{quote(path)}?api-version={API_VERSION}{query}"
        return client.request("GET", url, as_is=True).body


def _principal_filter(assignee: str) -> str:
    return "&$filter=" + quote(f"principalId eq '{assignee}'")


def _definitions(conn: ConnectionOptions) -> list[dict[str, Any]]:
    return list(_get(conn, f"{_AUTHZ}/roleDefinitions").get("value", []))


def _shown(doc: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    props = doc.get("properties", {})
    role_id = str(props.get("roleDefinitionId", "")).rsplit("/", 1)[-1]
    return {
        "id": doc.get("id"),
        "name": doc.get("name"),
        "principalId": props.get("principalId"),
        "principalType": props.get("principalType"),
        "roleDefinitionId": props.get("roleDefinitionId"),
        "roleDefinitionName": names.get(role_id, role_id),
        "scope": props.get("scope"),
    }


def _role_id(conn: ConnectionOptions, role_name: str) -> tuple[str, dict[str, str]]:
    defs = _definitions(conn)
    names = {d["name"]: d["properties"]["roleName"] for d in defs}
    for d in defs:
        if role_name.lower() in (d["name"].lower(), d["properties"]["roleName"].lower()):
            return d["id"], names
    raise CliError(
        f"No role named '{role_name}'. Built-in roles: {', '.join(sorted(names.values()))}."
    )


@click.group()
def role() -> None:
    """Manage who may do what: role assignments of the built-in roles."""


@role.group()
def assignment() -> None:
    """Assign, list and remove roles at a scope."""


@role.group()
def definition() -> None:
    """The built-in role definitions."""


_ASSIGNEE = click.option("--assignee", required=True, help="The principal's object id.")
_SCOPE = click.option("--scope", default="/", show_default=True,
                      help="Where the role applies: /, /subscriptions/S, a resource group or a "
                      "resource id.")


@assignment.command("create")
@_ASSIGNEE
@click.option("--role", "role_name", required=True, help="Role name (Reader, Contributor, ...).")
@_SCOPE
@click.option("--assignee-principal-type", default="User", show_default=True,
              type=click.Choice(["User", "Group", "ServicePrincipal"]),
              help="What kind of principal the assignee is (as az role assignment says it).")
@connection_options
@output_options
def create(assignee: str, role_name: str, scope: str, assignee_principal_type: str,
           conn: ConnectionOptions, out: OutputOptions) -> None:
    """Assign a role to a principal at a scope.

    \b
    Example:
      iotops role assignment create --assignee 0b4c... --role Reader \\
        --scope /subscriptions/S/resourceGroups/rg/providers/Microsoft.IoTOperations/instances/i
    """
    role_id, names = _role_id(conn, role_name)
    body = {"properties": {"roleDefinitionId": role_id, "principalId": assignee,
                           "principalType": assignee_principal_type}}
    path = f"{_base(scope)}/roleAssignments/{uuid.uuid4()}"
    with connect(conn) as client:
        doc = client.request(
            "PUT", f"{quote(path)}?api-version={API_VERSION}", body=body, as_is=True
        ).body
    emit(_shown(doc, names), out, ASSIGNMENT_COLUMNS)


@assignment.command("list")
@click.option("--assignee", help="Only this principal's assignments.")
@_SCOPE
@connection_options
@output_options
def list_(assignee: str | None, scope: str, conn: ConnectionOptions, out: OutputOptions) -> None:
    """Assignments that apply at a scope, and those below it."""
    names = {d["name"]: d["properties"]["roleName"] for d in _definitions(conn)}
    query = _principal_filter(assignee) if assignee else ""
    docs = _get(conn, f"{_base(scope)}/roleAssignments", query).get("value", [])
    emit([_shown(d, names) for d in docs], out, ASSIGNMENT_COLUMNS)


@assignment.command("delete")
@_ASSIGNEE
@click.option("--role", "role_name", required=True, help="Role name.")
@_SCOPE
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@connection_options
def delete(assignee: str, role_name: str, scope: str, yes: bool,
           conn: ConnectionOptions) -> None:
    """Remove a principal's role at exactly this scope."""
    role_id, _ = _role_id(conn, role_name)
    wanted_scope = "/" + scope.strip("/")
    query = _principal_filter(assignee)
    docs = _get(conn, f"{_base(scope)}/roleAssignments", query).get("value", [])
    found = [
        d for d in docs
        if d["properties"]["scope"].lower() == wanted_scope.lower()
        and d["properties"]["roleDefinitionId"].rsplit("/", 1)[-1] == role_id.rsplit("/", 1)[-1]
    ]
    if not found:
        raise CliError(f"No '{role_name}' assignment of {assignee} at {wanted_scope}.")
    confirm_delete(f"the {role_name} role of {assignee} at {wanted_scope}", yes)
    with connect(conn) as client:
        for d in found:
            path = f"{_base(scope)}/roleAssignments/{d['name']}"
            client.request("DELETE", f"{quote(path)}?api-version={API_VERSION}", as_is=True)


@definition.command("list")
@click.option("--name", help="Only the role with this name.")
@connection_options
@output_options
def definition_list(name: str | None, conn: ConnectionOptions, out: OutputOptions) -> None:
    """The built-in roles and their permissions."""
    shown = [
        {"name": d["name"], "roleName": d["properties"]["roleName"],
         "description": d["properties"]["description"],
         "permissions": d["properties"]["permissions"]}
        for d in _definitions(conn)
        if name is None or d["properties"]["roleName"].lower() == name.lower()
    ]
    emit(shown, out, DEFINITION_COLUMNS)
