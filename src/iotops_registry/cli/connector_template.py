"""``iotops connector template create|show|list|update|delete``: Akri connector templates
made from connector metadata, their image pulled through a registry endpoint."""

from __future__ import annotations

from typing import Any

import click

from .client import connect
from .errors import ArmError, CliError
from .options import ConnectionOptions, OutputOptions, connection_options, output_options
from .output import emit
from .prompt import confirm_delete
from .pulling import (
    TEMPLATE_COLUMNS,
    metadata_action,
    template_path,
    templates_path,
    wait_resolved,
)
from .template_body import METADATA_REF, template_from_metadata, update_problem

__all__ = ["template"]

_POLICIES = click.Choice(["Always", "IfNotPresent", "Never"])
_LEVELS = click.Choice(["trace", "debug", "info", "warn", "error"], case_sensitive=False)


def _ref(f: Any) -> Any:
    f = click.option("-g", "--resource-group", required=True, help="Name of the resource group.")(f)
    f = click.option("-i", "--instance", required=True, help="Name of the instance.")(f)
    return click.option("-n", "--name", required=True, help="Name of the connector template.")(f)


def _settings(f: Any) -> Any:
    f = click.option("--connector-config", "config", multiple=True, metavar="KEY=VALUE",
                     help="additionalConfiguration entry (repeatable).")(f)
    f = click.option("--image-pull-policy", type=_POLICIES, help="The image pull policy.")(f)
    f = click.option("--log-level", type=_LEVELS, help="diagnostics.logs.level [default: info].")(f)
    f = click.option("--replicas", type=click.IntRange(1, 100),
                     help="Replicas [default: the metadata's recommendedReplicas].")(f)
    f = click.option("--no-wait", is_flag=True, help="Answer when saved (Accepted); do not wait "
                     "for the server to resolve the metadata and image.")(f)
    return click.option("--timeout", type=float, default=120.0, show_default=True,
                        help="Seconds to wait for the resolution.")(f)


def _pairs(values: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values:
        key, sep, val = value.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{value!r} is not KEY=VALUE", param_hint="--connector-config")
        out[key] = val
    return out


def _check_ref(ref: str) -> None:
    if not METADATA_REF.fullmatch(ref):
        raise click.BadParameter(
            f"{ref!r} is not a connector metadata reference: use "
            "<registry>/<path>/<type>-metadata:<version>", param_hint="--connector-metadata-ref")


def _metadata(client: Any, sub: str, rg: str, instance: str, endpoint: str, ref: str
              ) -> dict[str, Any]:
    reply = client.request("POST", metadata_action(sub, rg, instance, endpoint),
                           body={"reference": ref})
    return dict(reply.body["metadata"])


@click.group()
def template() -> None:
    """Akri connector templates, made from connector metadata.

    The server pulls the metadata through a registry endpoint (with that endpoint's
    authentication method), fills the template as `az iot ops connector template create`
    does, and points the connector image at the same endpoint (registrySettings of type
    RegistryEndpointRef) instead of ContainerRegistry settings. When saved, the server
    resolves the metadata and the image; the template's status says what it found.
    """


@template.command()
@_ref
@click.option("--connector-metadata-ref", "ref", required=True, metavar="REF",
              help="<registry>/<path>/<type>-metadata:<version>.")
@click.option("--registry-endpoint", "endpoint", required=True, metavar="NAME",
              help="The registry endpoint the metadata and the image are pulled through.")
@_settings
@connection_options
@output_options
def create(name: str, instance: str, resource_group: str, ref: str, endpoint: str,
           replicas: int | None, log_level: str | None, image_pull_policy: str | None,
           config: tuple[str, ...], no_wait: bool, timeout: float, conn: ConnectionOptions,
           out: OutputOptions) -> None:
    """Create a connector template from connector metadata.

    \b
    Examples:
      iotops connector template create -n rest -i myinstance -g myrg \\
          --connector-metadata-ref myacr.azurecr.io/connectors/rest-metadata:1.0.0 \\
          --registry-endpoint myacr --replicas 2 --connector-config pollInterval=10
    """
    _check_ref(ref)
    with connect(conn) as client:
        sub = client.subscription
        meta = _metadata(client, sub, resource_group, instance, endpoint, ref)
        props = template_from_metadata(ref, meta, endpoint, replicas=replicas,
                                       log_level=log_level, image_pull_policy=image_pull_policy,
                                       connector_config=_pairs(config))
        path = template_path(sub, resource_group, instance, name)
        try:
            reply = client.put(path, {"properties": props}, if_none_match="*")
        except ArmError as exc:
            if exc.status == 412:
                raise CliError(f"Connector template '{name}' already exists; use update.") from None
            raise
        doc = reply.body if no_wait else wait_resolved(client, path, reply.body, timeout)
    emit(doc, out, TEMPLATE_COLUMNS)


@template.command()
@_ref
@click.option("--connector-metadata-ref", "ref", metavar="REF",
              help="Newer metadata of the same major version (the rules of az iot ops).")
@click.option("--registry-endpoint", "endpoint", metavar="NAME",
              help="Pull the image through another registry endpoint.")
@_settings
@connection_options
@output_options
def update(name: str, instance: str, resource_group: str, ref: str | None, endpoint: str | None,
           replicas: int | None, log_level: str | None, image_pull_policy: str | None,
           config: tuple[str, ...], no_wait: bool, timeout: float, conn: ConnectionOptions,
           out: OutputOptions) -> None:
    """Update a connector template: newer metadata (same major version, no downgrade, same
    endpoint types), replicas, log level, pull policy, configuration. '' clears the
    configuration (--connector-config '')."""
    with connect(conn) as client:
        sub = client.subscription
        path = template_path(sub, resource_group, instance, name)
        current = client.get(path)
        old = current.body["properties"]
        managed = old["runtimeConfiguration"]["managedConfigurationSettings"]
        image = managed.get("imageConfigurationSettings") or {}
        registry = image.get("registrySettings") or {}
        via = endpoint or registry.get("registryEndpointRef")
        if ref or endpoint:
            if not via:
                raise CliError("The template's image does not come through a registry endpoint; "
                               "give --registry-endpoint.")
            ref = ref or old.get("connectorMetadataRef")
            if not ref:
                raise CliError("The template has no connectorMetadataRef; give one.")
            _check_ref(ref)
            meta = _metadata(client, sub, resource_group, instance, via, ref)
            props = template_from_metadata(
                ref, meta, via,
                replicas=replicas if replicas is not None else image.get("replicas"),
                log_level=log_level or ((old.get("diagnostics") or {}).get("logs") or {}).get(
                    "level"),
                image_pull_policy=image_pull_policy or image.get("imagePullPolicy"),
                connector_config=_pairs(config) if config else managed.get(
                    "additionalConfiguration"),
            )
            problem = update_problem(old, props)
            if problem:
                raise CliError(problem)
        else:
            props = {k: v for k, v in old.items()
                     if k not in ("provisioningState", "healthState", "status")}
            settings = props["runtimeConfiguration"]["managedConfigurationSettings"]
            img = settings.get("imageConfigurationSettings")
            if img is not None:
                if replicas is not None:
                    img["replicas"] = replicas
                if image_pull_policy:
                    img["imagePullPolicy"] = image_pull_policy
            if log_level:
                props["diagnostics"] = {"logs": {"level": log_level}}
            if config:
                pairs = {} if config == ("",) else _pairs(config)
                if pairs:
                    settings["additionalConfiguration"] = pairs
                else:
                    settings.pop("additionalConfiguration", None)
        reply = client.put(path, {"properties": props}, if_match=current.etag)
        doc = reply.body if no_wait else wait_resolved(client, path, reply.body, timeout)
    emit(doc, out, TEMPLATE_COLUMNS)


@template.command()
@_ref
@connection_options
@output_options
def show(name: str, instance: str, resource_group: str, conn: ConnectionOptions,
         out: OutputOptions) -> None:
    """Show a connector template, with its resolution status."""
    with connect(conn) as client:
        doc = client.get(template_path(client.subscription, resource_group, instance, name)).body
    emit(doc, out, TEMPLATE_COLUMNS)


@template.command("list")
@click.option("-i", "--instance", required=True, help="Name of the instance.")
@click.option("-g", "--resource-group", required=True, help="Name of the resource group.")
@connection_options
@output_options
def list_(instance: str, resource_group: str, conn: ConnectionOptions, out: OutputOptions) -> None:
    """List the connector templates of an instance."""
    with connect(conn) as client:
        items = client.list(templates_path(client.subscription, resource_group, instance))
    emit(items, out, TEMPLATE_COLUMNS)


@template.command()
@_ref
@click.option("-y", "--yes", is_flag=True, help="Do not prompt for confirmation.")
@connection_options
def delete(name: str, instance: str, resource_group: str, yes: bool,
           conn: ConnectionOptions) -> None:
    """Delete a connector template."""
    confirm_delete(f"Delete connector template '{name}' of instance '{instance}'?", yes)
    with connect(conn) as client:
        client.delete(template_path(client.subscription, resource_group, instance, name))
