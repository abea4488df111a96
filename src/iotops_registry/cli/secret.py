"""``iotops secret``: Key Vault secrets, through ``azure-keyvault-secrets`` like everything else.

The embedded vault of ``--data-dir`` is used by default; ``--keyvault-url`` points at any
Azure Key Vault, with a token from DefaultAzureCredential.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ..config import DataDir, default_data_dir
from ..errors import ApiError, ConfigurationError
from .errors import CliError
from .options import OutputOptions, output_options
from .output import Column, emit
from .prompt import confirm_delete

if TYPE_CHECKING:
    from ..keyvault import KeyVaultSecrets

__all__ = ["secret"]

F = TypeVar("F", bound=Callable[..., Any])

def _iso_time(epoch: Any) -> str | None:
    """Seconds since 1970 as ISO 8601 UTC, as az shows Key Vault times."""
    if isinstance(epoch, bool) or not isinstance(epoch, int | float):
        return None if epoch is None else str(epoch)
    import datetime as dt

    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


SECRET_COLUMNS: list[Column] = [
    ("Name", lambda d: d.get("name")),
    ("ContentType", lambda d: d.get("properties", {}).get("contentType")),
    ("Enabled", lambda d: d.get("properties", {}).get("enabled")),
    ("Updated", lambda d: _iso_time(d.get("properties", {}).get("updated"))),
]


def _vault_options(f: F) -> F:
    f = click.option(
        "--ca-file",
        envvar="IOTOPS_CA_FILE",
        type=click.Path(dir_okay=False, path_type=Path),
        help="PEM bundle to verify the vault's certificate [default: the data directory's CA].",
    )(f)
    f = click.option(
        "--keyvault-url",
        envvar="IOTOPS_KEYVAULT_URL",
        metavar="URL",
        help="An Azure Key Vault, e.g. https://myvault.vault.azure.net (token from "
        "DefaultAzureCredential) [default: the embedded vault of --data-dir].",
    )(f)
    return click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=default_data_dir,
        show_default="$IOTOPS_DATA_DIR or ~/.local/share/iotops",
        help="Data directory of the embedded server.",
    )(f)


def _open(data_dir: Path, keyvault_url: str | None, ca_file: Path | None) -> KeyVaultSecrets:
    from ..keyvault import KeyVaultSecrets

    if keyvault_url:
        if not keyvault_url.lower().startswith("https://"):
            raise CliError("--keyvault-url must be an https:// URL.")
        from azure.identity import DefaultAzureCredential

        return KeyVaultSecrets(
            keyvault_url, DefaultAzureCredential(), ca_file=str(ca_file) if ca_file else None
        )
    from ..security import LocalIssuerCredential

    dd = DataDir(data_dir)
    try:
        endpoints = dd.read_endpoints()
        credential = LocalIssuerCredential(dd.path)
    except ConfigurationError as exc:
        raise CliError(str(exc)) from None
    if "vault" not in endpoints:
        raise CliError(f"The server of {dd.path} has no embedded vault; pass --keyvault-url.")
    ca = str(ca_file) if ca_file else endpoints.get("ca")
    return KeyVaultSecrets(str(endpoints["vault"]), credential, ca_file=ca)


def _run(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except ApiError as exc:
        raise CliError(f"({exc.code}) {exc.message}") from None


@click.group()
def secret() -> None:
    """Manage Key Vault secrets (values are never printed unless --reveal is given)."""


@secret.command("list")
@_vault_options
@output_options
def list_(
    data_dir: Path, keyvault_url: str | None, ca_file: Path | None, out: OutputOptions
) -> None:
    """List the vault's secrets: names, content types, tags and update times."""
    vault = _open(data_dir, keyvault_url, ca_file)
    try:
        infos = _run(vault.list)
    finally:
        vault.close()
    emit([i.to_dict() for i in infos], out, SECRET_COLUMNS)


@secret.command("set")
@click.option("--name", "-n", required=True, help="Name of the Key Vault secret.")
@click.option(
    "--value-stdin",
    is_flag=True,
    help="Read the value from standard input (one trailing newline is dropped).",
)
@click.option(
    "--value-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read the value from this file, byte for byte.",
)
@click.option("--content-type", help="Content type, e.g. text/plain.")
@_vault_options
@output_options
def set_(
    name: str,
    value_stdin: bool,
    value_file: Path | None,
    content_type: str | None,
    data_dir: Path,
    keyvault_url: str | None,
    ca_file: Path | None,
    out: OutputOptions,
) -> None:
    """Create a secret, or a new version of it. The value is never echoed.

    \b
    Examples:
      printf %s "$PASSWORD" | iotops secret set -n acr-password --value-stdin
      iotops secret set -n acr-dockerconfig --value-file ~/.docker/config.json \\
        --content-type application/json
    """
    if value_stdin == (value_file is not None):
        raise click.UsageError("Give exactly one of --value-stdin and --value-file.")
    if value_file is not None:
        value = value_file.read_text()
    else:
        value = sys.stdin.read()
        value = value[:-2] if value.endswith("\r\n") else value.removesuffix("\n")
    if not value:
        raise CliError("The secret value is empty.")
    vault = _open(data_dir, keyvault_url, ca_file)
    try:
        info = _run(lambda: vault.set(name, value, content_type=content_type))
    finally:
        vault.close()
    emit(info.to_dict(), out, SECRET_COLUMNS)


@secret.command()
@click.option("--name", "-n", required=True, help="Name of the Key Vault secret.")
@click.option("--version", help="A specific version [default: the current one].")
@click.option("--reveal", is_flag=True, help="Also print the secret's value.")
@_vault_options
@output_options
def show(
    name: str,
    version: str | None,
    reveal: bool,
    data_dir: Path,
    keyvault_url: str | None,
    ca_file: Path | None,
    out: OutputOptions,
) -> None:
    """Show a secret's properties; with --reveal, its value too."""
    vault = _open(data_dir, keyvault_url, ca_file)
    try:
        info = _run(lambda: vault.info(name, version))
        if info is None:
            raise CliError(f"(SecretNotFound) The Key Vault secret '{name}' was not found.")
        data = info.to_dict()
        if reveal:
            value, _ = _run(lambda: vault.value(name, version or info.version))
            data["value"] = value
    finally:
        vault.close()
    emit(data, out, SECRET_COLUMNS)


@secret.command()
@click.option("--name", "-n", required=True, help="Name of the Key Vault secret.")
@click.option("--purge", is_flag=True, help="Also purge it, so it cannot be recovered.")
@click.option("-y", "--yes", is_flag=True, help="Do not prompt for confirmation.")
@_vault_options
def delete(
    name: str,
    purge: bool,
    yes: bool,
    data_dir: Path,
    keyvault_url: str | None,
    ca_file: Path | None,
) -> None:
    """Delete a secret (soft delete: it can be recovered unless --purge is given)."""
    confirm_delete(f"Delete the Key Vault secret '{name}'?", yes)
    vault = _open(data_dir, keyvault_url, ca_file)
    try:
        if not _run(lambda: vault.delete(name, purge=purge)):
            raise CliError(f"(SecretNotFound) The Key Vault secret '{name}' was not found.")
    finally:
        vault.close()
