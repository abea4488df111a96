"""What ``iotops serve`` is asked to do, and which ports that means."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "DEFAULT_IDENTITY_PORT",
    "DEFAULT_PORT",
    "DEFAULT_REGISTRY_PORT",
    "DEFAULT_VAULT_PORT",
    "LOOPBACK",
    "PORT_FLAGS",
    "Ports",
    "ServeOptions",
]

DEFAULT_PORT = 8443
# With the default --port, the other origins' nominal ports (each moves to the next free
# port when taken, unless given explicitly).
DEFAULT_VAULT_PORT = DEFAULT_PORT + 1
DEFAULT_IDENTITY_PORT = DEFAULT_PORT + 2
DEFAULT_REGISTRY_PORT = DEFAULT_PORT + 4
LOOPBACK = "127.0.0.1"


@dataclass
class ServeOptions:
    data_dir: Path
    bind: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    database_url: str | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    trusted_issuers: list[str] = field(default_factory=list)
    log_level: str = "info"
    baseline_endpoint: bool = False
    vault_port: int | None = None  # None: follows ``port`` (see :meth:`ports`)
    keyvault_url: str | None = None  # a real Azure Key Vault instead of the embedded one
    secret_cache_ttl: float = 60.0
    health_interval: float = 300.0  # seconds between health sweeps; 0 disables the sweep
    catalog_interval: float = 900.0  # seconds between catalog syncs; 0: on demand only
    header_timeout: float = 10.0  # seconds a client has to send a request's line and headers
    # Development stand-ins: the registry, its token service, counters and faults.
    dev: bool = False
    identity_port: int | None = None  # None: follows ``port``
    # The development registry's one origin (login server, token service, /v2/, /acr/v1/).
    registry_port: int | None = None  # None: follows ``port``
    # Its loopback address: 127.0.0.1, or ::1 (an IPv6 registry, login server [::1]:port).
    registry_host: str = LOOPBACK

    def ports(self) -> Ports:
        """The ports asked for; 0 means "any free port" (the listeners pick). A port not
        given follows ``port``: nominally ``port + 1`` (vault), ``+ 2`` (identity), ``+ 4``
        (the registry's origin), and at bind time the next free port from there (see
        :meth:`is_explicit`), so two servers that differ only in ``--port`` run side by
        side."""

        def resolved(port: int | None, offset: int) -> int:
            if port is not None:
                return port
            return 0 if self.port == 0 else min(self.port + offset, 65535)

        return Ports(
            arm=self.port,
            vault=resolved(self.vault_port, 1),
            identity=resolved(self.identity_port, 2),
            registry=resolved(self.registry_port, 4),
        )

    def is_explicit(self, origin: str) -> bool:
        """Whether ``origin``'s port was given (and must be used as is)."""
        if origin == "arm":
            return True
        return getattr(self, f"{origin}_port") is not None


# The flag that sets each origin's port, for error messages.
PORT_FLAGS = {
    "arm": "--port",
    "vault": "--vault-port",
    "identity": "--identity-port",
    "registry": "--registry-port",
}


@dataclass(frozen=True)
class Ports:
    """One port per origin. :func:`server.build` wires origins from these; ``run`` passes the
    ports its listeners got, an in-process test the nominal ones (nothing listens)."""

    arm: int
    vault: int
    identity: int
    registry: int  # the development registry's one origin (its login server)
