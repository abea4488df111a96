"""``iotops registry``: registry endpoints of an instance, like ``az iot ops registry``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from ..domain import auth_methods
from .client import ArmClient, connect, endpoint_path, endpoints_path, instance_path
from .endpoint_body import (
    AUTH_TYPES,
    AuthParams,
    EndpointChange,
    apply_update,
    build_authentication,
    code_signing_cas,
)
from .errors import ArmError, CliError
from .options import (
    CanonicalChoice,
    ConnectionOptions,
    GreedyOption,
    OutputOptions,
    bundle,
    connection_options,
    output_options,
)
from .output import REGISTRY_COLUMNS, Column, emit
from .prompt import confirm_delete

__all__ = ["registry", "update_endpoint"]

F = TypeVar("F", bound=Callable[..., Any])


def _endpoint_ref(f: F) -> F:
    f = click.option("-g", "--resource-group", required=True, help="Name of the resource group.")(f)
    f = click.option("-i", "--instance", required=True, help="Name of the instance.")(f)
    return click.option("-n", "--name", required=True, help="Name of the registry endpoint.")(f)


def _auth_options(f: F) -> F:
    """The authentication flags of az, bundled into ``auth: AuthParams``: one per setting of
    the methods in ``domain.auth_methods`` (a flag two methods share appears once)."""
    fields: dict[str, auth_methods.SettingField] = {}
    for m in auth_methods.METHODS:
        for setting in m.fields:
            fields.setdefault(setting.param, setting)
    f = bundle(f, ("auth_type", "no_auth", *fields), AuthParams, "auth")
    for param, setting in reversed(fields.items()):
        f = click.option(*setting.flags, param, metavar=setting.metavar,
                         help=setting.cli_help)(f)
    default = auth_methods.DEFAULT_METHOD.name
    f = click.option("--auth-type", metavar="METHOD",
                     type=CanonicalChoice(AUTH_TYPES),
                     help=f"Authentication method: {', '.join(AUTH_TYPES)} [default: inferred "
                          f"from the flags below, else {default}].")(f)
    return click.option("--no-auth", is_flag=True,
                        help=f"{auth_methods.NO_AUTH_METHOD.name} access; cannot be combined "
                             "with other authentication flags.")(f)


def _cs_options(f: F) -> F:
    f = click.option(
        "--cs-secret-refs", "cs_secret_refs", cls=GreedyOption,
        help="Secrets holding code signing CAs, space-separated. On update, replaces the "
             "secret references; with no names, removes them.",
    )(f)
    return click.option(
        "--cs-config-map-refs", "cs_config_map_refs", cls=GreedyOption,
        help="Config maps holding code signing CAs, space-separated. On update, replaces "
             "the config map references; with no names, removes them.",
    )(f)


@click.group()
def registry() -> None:
    """Manage the container registry endpoints of an instance."""


@registry.command()
@_endpoint_ref
@click.option("--host", required=True,
              help="Registry host, with an optional path prefix, e.g. myacr.azurecr.io.")
@_auth_options
@_cs_options
@connection_options
@output_options
def create(
    name: str,
    instance: str,
    resource_group: str,
    host: str,
    auth: AuthParams,
    cs_config_map_refs: tuple[str, ...] | None,
    cs_secret_refs: tuple[str, ...] | None,
    conn: ConnectionOptions,
    out: OutputOptions,
) -> None:
    """Create a container registry endpoint for an instance.

    By default the endpoint uses SystemAssignedManagedIdentity authentication; other flags
    select the method (see --auth-type). Use --no-auth for anonymous access. An existing
    endpoint is never replaced: use `iotops registry update` to change it.

    \b
    Examples:
      Anonymous access to a public registry:
        iotops registry create -n mcr -i myinstance -g myrg --host mcr.microsoft.com --no-auth
    \b
      An ACR with the system-assigned managed identity and a custom audience:
        iotops registry create -n myacr -i myinstance -g myrg --host myacr.azurecr.io \\
          --aud https://management.azure.com/
    \b
      A user-assigned managed identity:
        iotops registry create -n myacr -i myinstance -g myrg --host myacr.azurecr.io \\
          --cid 00000000-0000-0000-0000-000000000000 \\
          --tid 00000000-0000-0000-0000-000000000000 \\
          --scope https://containerregistry.azure.net/.default
    \b
      An artifact pull secret, with code signing CAs:
        iotops registry create -n ghcr -i myinstance -g myrg --host ghcr.io/myorg \\
          --secret-ref ghcr-pull --cs-config-map-refs ca-a ca-b --cs-secret-refs ca-c
    """
    authentication = build_authentication(auth)  # flag errors before any request
    properties: dict[str, Any] = {"host": host, "authentication": authentication}
    cas = code_signing_cas(cs_config_map_refs or (), cs_secret_refs or ())
    if cas:
        properties["codeSigningCas"] = cas
    with connect(conn) as client:
        sub = client.subscription
        parent = client.get(instance_path(sub, resource_group, instance)).body
        body: dict[str, Any] = {"properties": properties}
        location = parent.get("extendedLocation") if isinstance(parent, dict) else None
        if location is not None:
            body["extendedLocation"] = location  # endpoints live where their instance does
        try:
            reply = client.put(
                endpoint_path(sub, resource_group, instance, name), body, if_none_match="*"
            )
        except ArmError as exc:
            if exc.status == 412:
                raise ArmError(
                    exc.status, exc.code,
                    f"Registry endpoint '{name}' already exists in instance '{instance}'. "
                    "Use `iotops registry update` to change it.",
                ) from None
            raise
    emit(reply.body, out, REGISTRY_COLUMNS)


def update_endpoint(
    client: ArmClient,
    resource_group: str,
    instance: str,
    name: str,
    change: EndpointChange,
    *,
    before_put: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Read, change and write back one endpoint; never overwrite a concurrent change.

    ``before_put`` runs between the read and the write (tests use it to interleave a
    concurrent writer).
    """
    path = endpoint_path(client.subscription, resource_group, instance, name)
    current = client.get(path)
    if not isinstance(current.body, dict):
        raise CliError(f"The server sent an unexpected document for {path}.")
    body = apply_update(current.body, change)
    if_match = current.etag
    if if_match is None:
        click.echo("WARNING: the server sent no ETag; a concurrent change could be lost.",
                   err=True)
        if_match = "*"
    if before_put is not None:
        before_put()
    try:
        reply = client.put(path, body, if_match=if_match)
    except ArmError as exc:
        if exc.status == 412:
            raise ArmError(
                exc.status, exc.code,
                f"Registry endpoint '{name}' was changed by someone else since it was read; "
                "run the command again.",
            ) from None
        raise
    result: dict[str, Any] = reply.body
    return result


@registry.command()
@_endpoint_ref
@click.option("--host", help="New registry host, with an optional path prefix.")
@_auth_options
@_cs_options
@connection_options
@output_options
def update(
    name: str,
    instance: str,
    resource_group: str,
    host: str | None,
    auth: AuthParams,
    cs_config_map_refs: tuple[str, ...] | None,
    cs_secret_refs: tuple[str, ...] | None,
    conn: ConnectionOptions,
    out: OutputOptions,
) -> None:
    """Update a registry endpoint; only what the flags name changes.

    Authentication flags for the endpoint's current method change only what they name
    (`--client-id` alone keeps the stored tenant id and scope); flags that select another
    method (inferred as in `create`), and --auth-type, replace the whole authentication.
    A code signing flag replaces the references of its kind; given without names, it
    removes them. The update fails, rather than overwrite, if someone else changed the
    endpoint meanwhile.

    \b
    Examples:
      iotops registry update -n myacr -i myinstance -g myrg --host myacr2.azurecr.io
      iotops registry update -n myacr -i myinstance -g myrg --secret-ref acr-pull
      iotops registry update -n uami -i myinstance -g myrg \\
        --client-id 00000000-0000-0000-0000-000000000000
      iotops registry update -n myacr -i myinstance -g myrg --cs-secret-refs
    """
    change = EndpointChange(host, auth, cs_config_map_refs, cs_secret_refs)
    if change.empty():
        raise CliError(
            "Nothing to update: pass --host, authentication flags or code signing flags."
        )
    if auth.given():
        # Flag errors before any request; what the flags leave out may be stored already.
        build_authentication(auth, require=False)
    with connect(conn) as client:
        result = update_endpoint(client, resource_group, instance, name, change)
    emit(result, out, REGISTRY_COLUMNS)


@registry.command()
@_endpoint_ref
@connection_options
@output_options
def show(
    name: str, instance: str, resource_group: str, conn: ConnectionOptions, out: OutputOptions
) -> None:
    """Show a registry endpoint."""
    with connect(conn) as client:
        reply = client.get(endpoint_path(client.subscription, resource_group, instance, name))
    emit(reply.body, out, REGISTRY_COLUMNS)


@registry.command(name="list")
@click.option("-i", "--instance", required=True, help="Name of the instance.")
@click.option("-g", "--resource-group", required=True, help="Name of the resource group.")
@connection_options
@output_options
def list_(instance: str, resource_group: str, conn: ConnectionOptions, out: OutputOptions) -> None:
    """List the registry endpoints of an instance."""
    with connect(conn) as client:
        items = client.list(endpoints_path(client.subscription, resource_group, instance))
    emit(items, out, REGISTRY_COLUMNS)


@registry.command()
@_endpoint_ref
@click.option("-y", "--yes", is_flag=True, help="Do not prompt for confirmation.")
@click.option("--force", is_flag=True, help="Delete even while dataflow graphs or connector "
              "templates name it (they then fail to resolve, and say so).")
@connection_options
def delete(name: str, instance: str, resource_group: str, yes: bool, force: bool,
           conn: ConnectionOptions) -> None:
    """Delete a registry endpoint. Refused (RegistryEndpointInUse) while dataflow graphs or
    connector templates pull through it, unless --force."""
    confirm_delete(f"Delete registry endpoint '{name}' of instance '{instance}'?", yes)
    with connect(conn) as client:
        path = endpoint_path(client.subscription, resource_group, instance, name)
        client.request("DELETE", path, params={"force": "true"} if force else None)


TEST_COLUMNS: list[Column] = [
    ("Step", lambda d: d.get("name")),
    ("Status", lambda d: d.get("status")),
    ("Code", lambda d: d.get("code")),
    # The hint joins the message: a narrow column of its own would wrap every few words.
    ("Message", lambda d: " ".join(
        part for part in (d.get("message"), f"Hint: {d['hint']}" if d.get("hint") else "")
        if part
    )),
    ("Ms", lambda d: d.get("durationMs")),
]


@registry.command("test")
@_endpoint_ref
@click.option("--repository", "-r", help="A repository to check pull permission on "
              "[default: the host's path prefix, the endpoint's probe repository, then the "
              "first ones the catalog lists under the host].")
@connection_options
@output_options
def test_(name: str, instance: str, resource_group: str, repository: str | None,
          conn: ConnectionOptions, out: OutputOptions) -> None:
    """Test the connection through a registry endpoint, step by step.

    Checks DNS, TCP, TLS, the registry's /v2/ challenge, the credential (identity token or
    vault secret), the token exchange, pull permission and catalog permission, and names the
    first failing step with a hint. The status is Succeeded only after a real pull;
    PartiallyVerified when nothing failed but no repository could prove pull permission
    (name one with --repository, or set a probe repository with `registry connection set`).
    Exits 1 unless the status is Succeeded.

    \b
    Examples:
      iotops registry test -n myacr -i myinstance -g myrg --repository graphs/simple
      iotops registry test -n myacr -i myinstance -g myrg -o table
    """
    with connect(conn) as client:
        path = endpoint_path(client.subscription, resource_group, instance, name) + "/test"
        reply = client.request("POST", path, body={"repository": repository} if repository
                               else {})
    report = reply.body
    if out.format == "table" and not out.query:
        emit(report.get("steps", []), out, TEST_COLUMNS)
        click.echo(f"Status: {report.get('status')}")
    else:
        emit(report, out, None)
    if report.get("status") != "Succeeded":
        raise SystemExit(1)


@registry.group()
def connection() -> None:
    """Connection settings of an endpoint (this project's extension): a private registry's
    CA bundle, plain HTTP for loopback registries, extra token-realm hosts."""


@connection.command("show")
@_endpoint_ref
@connection_options
@output_options
def connection_show(name: str, instance: str, resource_group: str, conn: ConnectionOptions,
                    out: OutputOptions) -> None:
    """Show an endpoint's connection settings."""
    with connect(conn) as client:
        path = endpoint_path(client.subscription, resource_group, instance, name)
        reply = client.get(path + "/connectionSettings")
    emit(reply.body, out, None)


@connection.command("set")
@_endpoint_ref
@click.option("--registry-ca-file", type=click.Path(exists=True, dir_okay=False),
              help="PEM bundle of the CA that signed the registry's certificate.")
@click.option("--plain-http/--no-plain-http", default=False,
              help="Talk plain HTTP to the registry (loopback registries only).")
@click.option("--allow-realm-host", "realm_hosts", multiple=True, metavar="HOST",
              help="A token-realm host, other than the registry's, that may receive the "
                   "endpoint's credentials. Repeatable.")
@click.option("--probe-repository", metavar="REPO",
              help="The repository connection tests and health checks pull from when none "
                   "is named (else the host's path prefix or the catalog's first).")
@click.option("--signature-policy", type=click.Choice(["enforce", "audit", "off"]),
              help="Notary signatures of artifacts pulled through the endpoint: enforce "
                   "(refuse what does not verify against its code-signing CAs), audit (pull, "
                   "record the verdict) or off [default: enforce when code-signing CAs are "
                   "set, else off].")
@click.option("--catalog-repository", "catalog_repositories", multiple=True, metavar="REPO",
              help="A repository the catalog syncs when the registry will not list its "
                   "catalog (repository-scoped credentials). Repeatable.")
@connection_options
@output_options
def connection_set(name: str, instance: str, resource_group: str,
                   registry_ca_file: str | None, plain_http: bool,
                   realm_hosts: tuple[str, ...], probe_repository: str | None,
                   signature_policy: str | None, catalog_repositories: tuple[str, ...],
                   conn: ConnectionOptions, out: OutputOptions) -> None:
    """Replace an endpoint's connection settings. TLS verification is never turned off:
    give the registry's CA instead."""
    ca = None
    if registry_ca_file:
        with open(registry_ca_file, encoding="utf-8") as fh:
            ca = fh.read()
    body = {"properties": {"caBundle": ca, "plainHttp": plain_http,
                           "allowedRealmHosts": list(realm_hosts),
                           "probeRepository": probe_repository,
                           "signaturePolicy": signature_policy,
                           "catalogRepositories": list(catalog_repositories)}}
    with connect(conn) as client:
        path = endpoint_path(client.subscription, resource_group, instance, name)
        reply = client.put(path + "/connectionSettings", body)
    emit(reply.body, out, None)
