"""Run the server: ``build`` wires it, ``serve`` listens.

``build(opts) -> Runtime`` makes TLS material, the store, the issuer, the vault, the services
and every app, and opens no socket: tests drive ``runtime.app`` in-process. ``serve`` binds
the listeners (the ARM API with the ``/-/dev`` admin routes, the embedded vault, the
IMDS-compatible identity endpoint and, with ``--dev``, the registry token service and the
CNCF Distribution registry child), handles signals and writes ``endpoints.json``.
"""

from __future__ import annotations

from .build import ARM_AUDIENCES, Runtime, build
from .options import (
    DEFAULT_IDENTITY_PORT,
    DEFAULT_PORT,
    DEFAULT_REGISTRY_PORT,
    DEFAULT_VAULT_PORT,
    Ports,
    ServeOptions,
)
from .serve import bind, run, serve

__all__ = [
    "ARM_AUDIENCES",
    "DEFAULT_IDENTITY_PORT",
    "DEFAULT_PORT",
    "DEFAULT_REGISTRY_PORT",
    "DEFAULT_VAULT_PORT",
    "Ports",
    "Runtime",
    "ServeOptions",
    "bind",
    "build",
    "run",
    "serve",
]
