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
    """Print a single-use sign-in URL for the portal of the running server.

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
    click.echo(signin_url(str(endpoints["arm"]), mint_signin_code(issuer, lifetime=lifetime)))
