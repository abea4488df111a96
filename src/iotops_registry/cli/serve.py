"""``iotops serve`` and ``iotops token``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..config import DataDir
from ..errors import ConfigurationError
from .options import data_dir_option

__all__ = ["serve", "token"]


@click.command()
@data_dir_option
@click.option("--bind", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8443, show_default=True, type=click.IntRange(0, 65535),
              help="HTTPS port (0 picks a free one).")
@click.option("--vault-port", default=None, type=click.IntRange(0, 65535),
              help="HTTPS port of the embedded vault (0 picks a free one) "
                   "[default: the next free port after --port; 0 when --port is 0].")
@click.option("--database-url", envvar="IOTOPS_DATABASE_URL", default=None,
              help="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db "
                   "[default: SQLite in the data directory].")
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Your own server certificate (PEM, with chain).")
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The private key of --tls-cert.")
@click.option("--trusted-issuer", "trusted_issuers", multiple=True, metavar="URL",
              help="Also accept tokens from this OpenID issuer, e.g. "
                   "https://login.microsoftonline.com/<tenant>/v2.0. Repeatable.")
@click.option("--keyvault-url", envvar="IOTOPS_KEYVAULT_URL", metavar="URL",
              help="Keep artifact secrets in this Azure Key Vault "
                   "(https://<name>.vault.azure.net, token from DefaultAzureCredential) "
                   "instead of the embedded vault.")
@click.option("--secret-cache-ttl", default=60.0, show_default=True, type=click.FloatRange(0),
              help="Seconds a Key Vault secret value is cached before it is read again.")
@click.option("--health-interval", default=300.0, show_default=True, type=click.FloatRange(0),
              help="Seconds between health checks of every endpoint (0: only after changes "
                   "and on demand).")
@click.option("--catalog-interval", default=900.0, show_default=True,
              type=click.FloatRange(0),
              help="Seconds between background catalog syncs of every instance (0: only on "
                   "demand, POST .../catalog/sync or `iotops catalog sync`). A sync older "
                   "than twice this is shown as stale.")
@click.option("--header-timeout", default=10.0, show_default=True,
              type=click.FloatRange(0.1, 600),
              help="Seconds a client has to send a request's line and headers (64 KiB at "
                   "most) before its connection is closed.")
@click.option("--log-level", default="info", show_default=True,
              type=click.Choice(["critical", "error", "warning", "info", "debug"]),
              help="Console logging: info shows one line per request served and warnings; "
                   "debug adds the libraries' own logs (every outgoing request). No level "
                   "ever logs a secret value.")
@click.option("--baseline-endpoint", is_flag=True, hidden=True,
              help="Serve /-/baseline, a fixed JSON body, for benchmarks.")
@click.option("--identity-port", default=None, type=click.IntRange(0, 65535),
              help="Loopback HTTP port of the IMDS-compatible managed identity endpoint "
                   "[default: the next free port after --port; 0 when --port is 0].")
@click.option("--dev", is_flag=True,
              help="Also run a development registry: the CNCF Distribution registry "
                   "(docker-registry) behind an ACR-compatible token service, plus request "
                   "counters and fault injection.")
@click.option("--registry-host", default="127.0.0.1", show_default=True,
              type=click.Choice(["127.0.0.1", "::1"]),
              help="With --dev: the loopback address of the registry "
                   "(::1: an IPv6 registry, login server [::1]:PORT).")
@click.option("--registry-port", default=None, type=click.IntRange(0, 65535),
              help="With --dev: HTTPS port of the registry's one origin, as ACR has: "
                   "/v2/, /oauth2/exchange, /oauth2/token and /acr/v1/ "
                   "[default: the next free port after --port; 0 when --port is 0].")
def serve(
    data_dir: Path,
    bind: str,
    port: int,
    vault_port: int | None,
    database_url: str | None,
    tls_cert: Path | None,
    tls_key: Path | None,
    trusted_issuers: tuple[str, ...],
    keyvault_url: str | None,
    secret_cache_ttl: float,
    health_interval: float,
    catalog_interval: float,
    header_timeout: float,
    log_level: str,
    baseline_endpoint: bool,
    identity_port: int | None,
    dev: bool,
    registry_port: int | None,
    registry_host: str,
) -> None:
    """Serve the registry endpoint API over HTTPS.

    On first start this creates a local CA (DIR/tls/ca.pem), a server certificate and a
    token signing key. When the server is ready it writes DIR/endpoints.json.
    """
    from ..console import configure_logging
    from ..server import ServeOptions, run

    configure_logging(log_level)
    opts = ServeOptions(
        data_dir=data_dir,
        bind=bind,
        port=port,
        vault_port=vault_port,
        database_url=database_url,
        tls_cert=tls_cert,
        tls_key=tls_key,
        trusted_issuers=list(trusted_issuers),
        log_level=log_level,
        baseline_endpoint=baseline_endpoint,
        keyvault_url=keyvault_url,
        secret_cache_ttl=secret_cache_ttl,
        health_interval=health_interval,
        catalog_interval=catalog_interval,
        header_timeout=header_timeout,
        identity_port=identity_port,
        dev=dev,
        registry_port=registry_port,
        registry_host=registry_host,
    )
    try:
        run(opts, announce=lambda line: click.echo(line, file=sys.stdout))
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from None


@click.command()
@data_dir_option
@click.option("--resource", default="https://management.azure.com", show_default=True,
              help="Audience of the token.")
@click.option("--lifetime", default=3600, show_default=True, type=click.IntRange(60, 86400),
              help="Seconds until the token expires.")
@click.option("--object-id", help="Mint for this principal (an object id) instead of the local "
              "admin: another local user, for tests and multi-user setups.")
@click.option("--tenant-id", help="The principal's tenant (default: the server's).")
@click.option("--principal-type", default="User", show_default=True,
              type=click.Choice(["User", "Application"]), help="With --object-id.")
def token(
    data_dir: Path, resource: str, lifetime: int, object_id: str | None,
    tenant_id: str | None, principal_type: str,
) -> None:
    """Print a bearer token from the embedded server's issuer (the local admin's, who is
    Owner at /, unless --object-id names another principal)."""
    from ..security import LocalIssuerCredential, Principal

    if tenant_id and not object_id:
        raise click.UsageError("--tenant-id needs --object-id.")
    try:
        dd = DataDir(data_dir)
        principal = None
        if object_id:
            tenant = tenant_id or dd.settings(create=False).tenant_id
            principal = Principal(object_id, tenant, f"{object_id}@local", principal_type)
        cred = LocalIssuerCredential(dd.path, principal=principal, lifetime=lifetime)
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(cred.mint(resource))
