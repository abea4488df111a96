"""The ``iotops`` command line, in the style of ``az iot ops``."""

from __future__ import annotations

import sys

import click

from .._version import __version__
from .acr import acr
from .artifact import artifact
from .connector import connector
from .dev import dev
from .graph import graph
from .identity import identity
from .instance import instance
from .portal import portal_url
from .registry import registry
from .role import role
from .secret import secret
from .secretsync import secretsync
from .serve import serve, token
from .signing import ca

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="iotops")
def cli() -> None:
    """Manage Azure IoT Operations registry endpoints.

    Start a local resource provider with `iotops serve`, then manage instances and
    registry endpoints with `iotops instance` and `iotops registry`, and artifact pull
    secrets with `iotops secret` and `iotops secretsync`. Local stand-ins for Azure:
    managed identities with `iotops identity`, and the development registry of
    `iotops serve --dev` with `iotops dev`. Publish graphs, WASM modules and connectors
    with `iotops graph`, `iotops connector` and `iotops artifact`; sign and verify them
    with `iotops artifact sign|verify`. Who may do what: `iotops role assignment`.
    """


for command in (serve, token, instance, registry, secret, secretsync, portal_url, identity, dev,
                graph, connector, artifact, acr, role):
    cli.add_command(command)
dev.add_command(ca)


def main() -> None:
    sys.exit(cli.main(prog_name="iotops", standalone_mode=True))
