"""What ``iotops serve`` is asked to do, and which ports that means."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "DEFAULT_IDENTITY_PORT",
    "DEFAULT_PORT",
    "DEFAULT_REGISTRY_PORT",
    "DEFAULT_TOKEN_PORT",
    "DEFAULT_VAULT_PORT",
    "LOOPBACK",
    "Ports",
    "ServeOptions",
]

DEFAULT_PORT = 8443
DEFAULT_VAULT_PORT = 8444
DEFAULT_IDENTITY_PORT = 8445
DEFAULT_TOKEN_PORT = 8446
DEFAULT_REGISTRY_PORT = 8447
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
    vault_port: int | None = None  # None: 8444, or a free port when ``port`` is 0
    keyvault_url: str | None = None  # a real Azure Key Vault instead of the embedded one
    secret_cache_ttl: float = 60.0
    health_interval: float = 300.0  # seconds between health sweeps; 0 disables the sweep
    # Development stand-ins: the registry, its token service, counters and faults.
    dev: bool = False
    identity_port: int | None = None  # None: 8445, or a free port when ``port`` is 0
    token_port: int | None = None  # None: 8446, or a free port when ``port`` is 0
    registry_port: int | None = None  # None: 8447, or a free port when ``port`` is 0
    # The loopback address of the development registry and its token service: 127.0.0.1,
    # or ::1 (an IPv6 registry, login server [::1]:port).
    registry_host: str = LOOPBACK

    def ports(self) -> Ports:
        """The ports asked for; 0 means "any free port" (the listeners pick)."""

        def resolved(port: int | None, default: int) -> int:
            if port is not None:
                return port
            return 0 if self.port == 0 else default

        return Ports(
            arm=self.port,
            vault=resolved(self.vault_port, DEFAULT_VAULT_PORT),
            identity=resolved(self.identity_port, DEFAULT_IDENTITY_PORT),
            token=resolved(self.token_port, DEFAULT_TOKEN_PORT),
            registry=resolved(self.registry_port, DEFAULT_REGISTRY_PORT),
        )


@dataclass(frozen=True)
class Ports:
    """One port per origin. :func:`server.build` wires origins from these; ``run`` passes the
    ports its listeners got, an in-process test the nominal ones (nothing listens)."""

    arm: int
    vault: int
    identity: int
    token: int
    registry: int  # 0: a free port, picked when the registry child starts
