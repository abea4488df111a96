"""``iotops artifact``: OCI artifacts in any registry."""

from __future__ import annotations

import click

from .signing import sign, verify

__all__ = ["artifact"]


@click.group()
def artifact() -> None:
    """Work with artifacts in an OCI registry: sign and verify Notary Project signatures."""


artifact.add_command(sign)
artifact.add_command(verify)
