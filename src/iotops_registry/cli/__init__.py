"""The ``iotops`` command line, in the style of ``az iot ops``."""

from __future__ import annotations

import sys

import click

from .._version import __version__
from .lazy import LazyGroup

__all__ = ["cli", "main"]


# Each command's module is imported only when that command runs (start-up: see lazy.py).
COMMANDS = {
    "serve": "serve:serve", "token": "serve:token", "instance": "instance:instance",
    "registry": "registry:registry", "secret": "secret:secret",
    "secretsync": "secretsync:secretsync", "configmap": "configmap:configmap",
    "portal-url": "portal:portal_url",
    "identity": "identity:identity", "dev": "dev:dev", "graph": "graph:graph",
    "connector": "connector:connector", "artifact": "artifact:artifact", "acr": "acr:acr",
    "catalog": "catalog:catalog", "module": "catalog:module",
    "dataflow": "dataflow:dataflow", "role": "role:role",
}


@click.group(cls=LazyGroup, lazy=COMMANDS,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="iotops")
def cli() -> None:
    """Manage Azure IoT Operations registry endpoints.

    Start a local resource provider with `iotops serve`, then manage instances and
    registry endpoints with `iotops instance` and `iotops registry`, and artifact pull
    secrets with `iotops secret` and `iotops secretsync` (code-signing CAs in
    `iotops configmap`). Local stand-ins for Azure:
    managed identities with `iotops identity`, and the development registry of
    `iotops serve --dev` with `iotops dev`. Publish graphs, WASM modules and connectors
    with `iotops graph`, `iotops connector` and `iotops artifact`; sign and verify them
    with `iotops artifact sign|verify`. Browse what the endpoints hold with
    `iotops catalog`, `iotops graph list|show`, `iotops module list` and
    `iotops connector list|show`. Who may do what: `iotops role assignment`.
    """


def main() -> None:
    sys.exit(cli.main(prog_name="iotops", standalone_mode=True))
