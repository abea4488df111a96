"""``iotops configmap``: non-secret configuration of an instance, as ``kubectl create
configmap`` makes it. A registry endpoint's code-signing CAs may live in one:

    iotops configmap set -i I -g RG --name signing-cas --from-file ca.crt=ca.pem
    iotops registry update -n EP -i I -g RG --cs-config-map-refs signing-cas
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from .client import ArmClient, connect, instance_path
from .errors import ArmError
from .options import ConnectionOptions, OutputOptions, connection_options, output_options
from .output import Column, emit
from .prompt import confirm_delete

__all__ = ["configmap"]

F = TypeVar("F", bound=Callable[..., Any])
_MAX_FILE = 1024 * 1024

COLUMNS: list[Column] = [
    ("Name", lambda d: d.get("name")),
    ("Keys", lambda d: ", ".join(sorted(d.get("properties", {}).get("data", {})))),
    ("ProvisioningState", lambda d: d.get("properties", {}).get("provisioningState")),
]


def _scope(f: F) -> F:
    f = click.option("-g", "--resource-group", required=True, help="Name of the resource group.")(f)
    return click.option("-i", "--instance", required=True, help="Name of the instance.")(f)


def _path(client: ArmClient, rg: str, instance: str, name: str | None = None) -> str:
    base = f"{instance_path(client.subscription, rg, instance)}/configMaps"
    return f"{base}/{name}" if name else base


def _read(spec: str) -> tuple[str, str]:
    """``KEY=PATH`` or ``PATH`` (the key is the file's name), as kubectl's --from-file."""
    key, sep, path = spec.partition("=")
    if not sep:
        key, path = Path(spec).name, spec
    file = Path(path)
    try:
        if file.stat().st_size > _MAX_FILE:
            raise click.BadParameter(f"{path} is larger than 1 MiB", param_hint="--from-file")
        return key, file.read_text(encoding="utf-8")
    except OSError as exc:
        raise click.BadParameter(f"cannot read {path}: {exc.strerror}",
                                 param_hint="--from-file") from None
    except UnicodeDecodeError:
        raise click.BadParameter(f"{path} is not UTF-8 text (PEM is)",
                                 param_hint="--from-file") from None


@click.group()
def configmap() -> None:
    """Manage ConfigMaps: non-secret configuration of an instance, such as the PEM
    certificates of the code-signing CAs that registry endpoints trust."""


@configmap.command("set")
@_scope
@click.option("--name", "-n", required=True, help="Name of the ConfigMap.")
@click.option("--from-file", "files", multiple=True, metavar="[KEY=]PATH",
              help="A file to store under KEY (default: the file's name). Repeatable.")
@click.option("--from-literal", "literals", multiple=True, metavar="KEY=VALUE",
              help="A literal value to store under KEY. Repeatable.")
@click.option("--replace", is_flag=True,
              help="Replace all keys (default: merge into an existing ConfigMap).")
@connection_options
@output_options
def set_(instance: str, resource_group: str, name: str, files: tuple[str, ...],
         literals: tuple[str, ...], replace: bool, conn: ConnectionOptions,
         out: OutputOptions) -> None:
    """Create a ConfigMap, or merge keys into an existing one.

    \b
    Examples:
      iotops configmap set -i myinstance -g myrg --name signing-cas --from-file ca.crt=ca.pem
      iotops configmap set -i myinstance -g myrg --name settings --from-literal level=debug
    """
    data: dict[str, str] = {}
    for spec in files:
        key, value = _read(spec)
        data[key] = value
    for item in literals:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"'{item[:80]}' is not KEY=VALUE",
                                     param_hint="--from-literal")
        data[key] = value
    if not data:
        raise click.UsageError("give at least one --from-file or --from-literal")
    with connect(conn) as client:
        path = _path(client, resource_group, instance, name)
        try:
            current = client.get(path)
        except ArmError as exc:
            if exc.status != 404 or exc.code != "ResourceNotFound":
                raise
            current = None
        merged = dict(data)
        if current is not None and not replace and isinstance(current.body, dict):
            merged = {**current.body.get("properties", {}).get("data", {}), **data}
        body = {"properties": {"data": merged}}
        try:
            if current is None:
                reply = client.put(path, body, if_none_match="*")
            else:
                reply = client.put(path, body, if_match=current.etag or "*")
        except ArmError as exc:
            if exc.status == 412:
                raise ArmError(exc.status, exc.code, f"ConfigMap '{name}' was changed by "
                               "someone else meanwhile; run the command again.") from None
            raise
    emit(reply.body, out, COLUMNS)


@configmap.command("list")
@_scope
@connection_options
@output_options
def list_(instance: str, resource_group: str, conn: ConnectionOptions, out: OutputOptions) -> None:
    """List the ConfigMaps of an instance."""
    with connect(conn) as client:
        items = client.list(_path(client, resource_group, instance))
    emit(items, out, COLUMNS)


@configmap.command()
@_scope
@click.option("--name", "-n", required=True, help="Name of the ConfigMap.")
@connection_options
@output_options
def show(instance: str, resource_group: str, name: str, conn: ConnectionOptions,
         out: OutputOptions) -> None:
    """Show a ConfigMap and its data."""
    with connect(conn) as client:
        reply = client.get(_path(client, resource_group, instance, name))
    emit(reply.body, out, COLUMNS)


@configmap.command()
@_scope
@click.option("--name", "-n", required=True, help="Name of the ConfigMap.")
@click.option("--force", is_flag=True,
              help="Delete even if registry endpoints name it in codeSigningCas.")
@click.option("-y", "--yes", is_flag=True, help="Do not prompt for confirmation.")
@connection_options
def delete(instance: str, resource_group: str, name: str, force: bool, yes: bool,
           conn: ConnectionOptions) -> None:
    """Delete a ConfigMap. Refused while endpoints name it, unless --force."""
    confirm_delete(f"Delete ConfigMap '{name}' of instance '{instance}'?", yes)
    with connect(conn) as client:
        client.request("DELETE", _path(client, resource_group, instance, name),
                       params={"force": "true"} if force else None)
