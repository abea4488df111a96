"""``iotops secretsync``: synced secrets, like ``az iot ops secretsync secret``.

A synced secret maps Key Vault secrets to the keys of one Kubernetes secret. An
ArtifactPullSecret registry endpoint names one in ``--secret-ref``; it needs the keys
``username`` and ``password`` (or ``.dockerconfigjson``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from .client import ArmClient, connect, instance_path
from .errors import ArmError
from .options import (
    ConnectionOptions,
    GreedyOption,
    OutputOptions,
    connection_options,
    output_options,
)
from .output import Column, emit
from .prompt import confirm_delete

__all__ = ["merge_mappings", "secretsync"]

F = TypeVar("F", bound=Callable[..., Any])

SYNC_COLUMNS: list[Column] = [
    ("Name", lambda d: d.get("name")),
    (
        "Keys",
        lambda d: ", ".join(
            m["targetKey"] for m in d.get("properties", {}).get("objectSecretMapping", [])
        ),
    ),
    (
        "Sources",
        lambda d: ", ".join(
            m["sourcePath"] for m in d.get("properties", {}).get("objectSecretMapping", [])
        ),
    ),
    ("ProvisioningState", lambda d: d.get("properties", {}).get("provisioningState")),
]


def _scope(f: F) -> F:
    f = click.option("-g", "--resource-group", required=True, help="Name of the resource group.")(f)
    return click.option("-i", "--instance", required=True, help="Name of the instance.")(f)


def _path(client: ArmClient, rg: str, instance: str, name: str | None = None) -> str:
    base = f"{instance_path(client.subscription, rg, instance)}/syncedSecrets"
    return f"{base}/{name}" if name else base


def parse_secret_map(values: tuple[str, ...]) -> list[dict[str, str]]:
    """``KVNAME[@VERSION]=TARGETKEY`` pairs, in order; a later pair for a key wins."""
    out: dict[str, str] = {}
    for item in values:
        source, sep, target = item.partition("=")
        if not sep or not source or not target:
            raise click.BadParameter(
                f"'{item}' is not KVNAME=TARGETKEY (e.g. acr-user=username).",
                param_hint="--secret-map",
            )
        out[target] = source
    return [{"sourcePath": s, "targetKey": t} for t, s in out.items()]


def merge_mappings(
    current: list[dict[str, str]], new: list[dict[str, str]]
) -> list[dict[str, str]]:
    """Keep existing target keys, replace the ones given again, append new ones."""
    merged = {m["targetKey"]: m["sourcePath"] for m in current}
    for m in new:
        merged[m["targetKey"]] = m["sourcePath"]
    return [{"sourcePath": s, "targetKey": t} for t, s in merged.items()]


@click.group()
def secretsync() -> None:
    """Manage synced secrets: Key Vault secrets mapped to Kubernetes secret keys."""


@secretsync.command("set")
@_scope
@click.option("--name", "-n", required=True, help="Name of the synced (Kubernetes) secret.")
@click.option(
    "--secret-map",
    "secret_map",
    cls=GreedyOption,
    required=True,
    metavar="KVNAME=TARGETKEY ...",
    help="Key Vault secret (optionally @version) to target key; space-separated or repeated.",
)
@connection_options
@output_options
def set_(
    instance: str,
    resource_group: str,
    name: str,
    secret_map: tuple[str, ...] | None,
    conn: ConnectionOptions,
    out: OutputOptions,
) -> None:
    """Create a synced secret, or merge mappings into an existing one.

    Every Key Vault secret named must already exist.

    \b
    Examples:
      iotops secretsync set -i myinstance -g myrg --name acr-pull \\
        --secret-map acr-user=username acr-password=password
      iotops secretsync set -i myinstance -g myrg --name ghcr-pull \\
        --secret-map ghcr-dockerconfig=.dockerconfigjson
    """
    new = parse_secret_map(secret_map or ())
    if not new:
        raise click.BadParameter("give at least one KVNAME=TARGETKEY", param_hint="--secret-map")
    with connect(conn) as client:
        path = _path(client, resource_group, instance, name)
        try:
            current = client.get(path)
        except ArmError as exc:
            if exc.status != 404 or exc.code != "ResourceNotFound":
                raise
            current = None
        mappings = new
        if current is not None and isinstance(current.body, dict):
            existing = current.body.get("properties", {}).get("objectSecretMapping", [])
            mappings = merge_mappings(existing, new)
        body = {"properties": {"kubernetesSecretType": "Opaque", "objectSecretMapping": mappings}}
        try:
            if current is None:
                reply = client.put(path, body, if_none_match="*")
            else:
                reply = client.put(path, body, if_match=current.etag or "*")
        except ArmError as exc:
            if exc.status == 412:
                raise ArmError(
                    exc.status,
                    exc.code,
                    f"Synced secret '{name}' was changed by someone else meanwhile; run the "
                    "command again.",
                ) from None
            raise
    emit(reply.body, out, SYNC_COLUMNS)


@secretsync.command("list")
@_scope
@connection_options
@output_options
def list_(instance: str, resource_group: str, conn: ConnectionOptions, out: OutputOptions) -> None:
    """List the synced secrets of an instance."""
    with connect(conn) as client:
        items = client.list(_path(client, resource_group, instance))
    emit(items, out, SYNC_COLUMNS)


@secretsync.command()
@_scope
@click.option("--name", "-n", required=True, help="Name of the synced secret.")
@connection_options
@output_options
def show(
    instance: str, resource_group: str, name: str, conn: ConnectionOptions, out: OutputOptions
) -> None:
    """Show a synced secret (its mappings; never values)."""
    with connect(conn) as client:
        reply = client.get(_path(client, resource_group, instance, name))
    emit(reply.body, out, SYNC_COLUMNS)


@secretsync.command()
@_scope
@click.option("--name", "-n", required=True, help="Name of the synced secret.")
@click.option(
    "--force",
    is_flag=True,
    help="Delete even if registry endpoints still use it (they will fail to pull).",
)
@click.option("-y", "--yes", is_flag=True, help="Do not prompt for confirmation.")
@connection_options
def delete(
    instance: str, resource_group: str, name: str, force: bool, yes: bool, conn: ConnectionOptions
) -> None:
    """Delete a synced secret. Refused while endpoints use it, unless --force."""
    confirm_delete(f"Delete synced secret '{name}' of instance '{instance}'?", yes)
    with connect(conn) as client:
        path = _path(client, resource_group, instance, name)
        client.request("DELETE", path, params={"force": "true"} if force else None)
