"""``iotops portal-url``: a fresh single-use sign-in URL for the web portal."""

from __future__ import annotations

from pathlib import Path

import click

from ..config import DataDir
from ..errors import ConfigurationError
from .options import data_dir_option

__all__ = ["portal_url"]


@click.command("portal-url")
@data_dir_option
@click.option("--lifetime", default=900, show_default=True, type=click.IntRange(30, 3600),
              help="Seconds until the sign-in URL expires (it also stops working once used).")
def portal_url(data_dir: Path, lifetime: int) -> None:
    """Print a single-use sign-in URL for the portal of the running server (fails when
    no server answers).

    The URL is minted offline with the server's signing key, like `iotops token`, so anyone
    who can read the data directory can sign in.
    """
    from ..security import LocalIssuer
    from ..web import mint_signin_code, signin_url

    dd = DataDir(data_dir)
    try:
        endpoints = dd.read_endpoints()
        settings = dd.settings(create=False)
        issuer = LocalIssuer(dd.issuer_dir, settings.tenant_id, endpoints["issuer"])
    except (ConfigurationError, KeyError) as exc:
        raise click.ClickException(str(exc)) from None
    origin = str(endpoints["arm"])
    # endpoints.json outlives a server that was killed: a URL to nobody would only fail in the
    # browser, so ask the server first.
    problem = _not_serving(origin, endpoints.get("ca"))
    if problem:
        raise click.ClickException(
            f"no running server found: {problem} ({dd.endpoints_path} was left by a server "
            f"that stopped). Start one with `iotops serve --data-dir {dd.path}`."
        )
    click.echo(signin_url(origin, mint_signin_code(issuer, lifetime=lifetime)))


def _not_serving(origin: str, ca_file: str | None) -> str | None:
    """Why the server at ``origin`` does not answer ``/healthz``, or None if it does."""
    import ssl

    import httpx

    try:
        verify = ssl.create_default_context(cafile=ca_file)
        response = httpx.get(f"{origin}/healthz", verify=verify, timeout=5.0, trust_env=False)
    except (httpx.HTTPError, OSError, ssl.SSLError) as exc:
        return f"nothing answers at {origin} ({type(exc).__name__})"
    if response.status_code != 200:
        return f"{origin}/healthz answered {response.status_code}"
    return None
