"""The ``iotops`` command line, in the style of ``az iot ops``."""

from __future__ import annotations

import sys

import click

from .._version import __version__
from .serve import serve, token

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="iotops")
def cli() -> None:
    """Manage Azure IoT Operations registry endpoints.

    Start a local resource provider with `iotops serve`, then manage instances and
    registry endpoints with `iotops instance` and `iotops registry`.
    """


cli.add_command(serve)
cli.add_command(token)


def _register_optional() -> None:
    # Command groups written as separate modules register themselves here.
    from . import instance, registry

    cli.add_command(instance.instance)
    cli.add_command(registry.registry)


def main() -> None:
    _register_optional()
    sys.exit(cli.main(prog_name="iotops", standalone_mode=True))
