"""Run the server: TLS material, store, issuer, the HTTPS listeners and ``endpoints.json``.

Two uvicorn servers share one event loop: the ARM API and the embedded vault, each on its own
origin. Both start before ``endpoints.json`` is written, and both stop together.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import uuid
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

from .api import ApiContext, create_app
from .config import DataDir
from .errors import ConfigurationError
from .keyvault import KeyVaultSecrets
from .security import (
    IssuerCredential,
    LocalCA,
    LocalIssuer,
    Principal,
    TokenVerifier,
    TrustedIssuer,
)
from .services import (
    InstanceService,
    KeyVaultSecretService,
    PullSecretResolver,
    RegistryEndpointService,
    SyncedSecretService,
)
from .store import Store, VaultStore
from .vault import VAULT_AUDIENCE, VaultApp, VaultAuthenticator, VaultService, open_vault

__all__ = ["ARM_AUDIENCES", "DEFAULT_VAULT_PORT", "Runtime", "ServeOptions", "run"]

log = logging.getLogger("iotops_registry.server")

ARM_AUDIENCES = (
    "https://management.azure.com",
    "https://management.core.windows.net",
)
DEFAULT_VAULT_PORT = 8444


@dataclass
class ServeOptions:
    data_dir: Path
    bind: str = "127.0.0.1"
    port: int = 8443
    database_url: str | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    trusted_issuers: list[str] = field(default_factory=list)
    log_level: str = "info"
    baseline_endpoint: bool = False
    vault_port: int | None = None  # None: 8444, or a free port when ``port`` is 0
    keyvault_url: str | None = None  # a real Azure Key Vault instead of the embedded one
    secret_cache_ttl: float = 60.0

    def resolved_vault_port(self) -> int:
        if self.vault_port is not None:
            return self.vault_port
        return 0 if self.port == 0 else DEFAULT_VAULT_PORT


@dataclass(frozen=True)
class Runtime:
    """Services the server runs in-process, for other services to use directly."""

    vault_service: VaultService
    vault_origin: str


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signals to :func:`run`, which stops both servers."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def _uvicorn_config(app: Any, cert_file: str, key_file: str, log_level: str) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        ssl_certfile=cert_file,
        ssl_keyfile=key_file,
        log_level=log_level,
        access_log=False,
        lifespan="off",
        server_header=False,
        timeout_keep_alive=30,
        timeout_graceful_shutdown=3,
    )


def _secret_source(
    opts: ServeOptions, issuer: LocalIssuer, vault_origin: str, ca_file: str | None
) -> KeyVaultSecrets:
    """The vault the resource provider reads secrets from, always through the Azure SDK."""
    if opts.keyvault_url:
        from azure.identity import DefaultAzureCredential

        return KeyVaultSecrets(opts.keyvault_url, DefaultAzureCredential())
    # The embedded vault; the server calls it as its own (managed) identity.
    me = Principal(
        str(uuid.uuid5(uuid.NAMESPACE_URL, f"iotops-registry:{issuer.tenant_id}")),
        issuer.tenant_id,
        "iotops-registry",
        "ManagedIdentity",
    )
    return KeyVaultSecrets(vault_origin, IssuerCredential(issuer, me), ca_file=ca_file)


def _listen(bind: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in bind else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((bind, port))
    except OSError as exc:
        sock.close()
        raise ConfigurationError(f"cannot listen on {bind}:{port}: {exc.strerror}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _url_host(bind: str) -> str:
    if bind in ("0.0.0.0", ""):
        return "127.0.0.1"
    if bind == "::":
        return "[::1]"
    return f"[{bind}]" if ":" in bind else bind


def run(opts: ServeOptions, *, announce: Any = print) -> None:
    dd = DataDir(opts.data_dir)
    dd.ensure()
    settings = dd.settings()
    if (opts.tls_cert is None) != (opts.tls_key is None):
        raise ConfigurationError("--tls-cert and --tls-key must be given together")
    ca = LocalCA(dd.tls_dir)  # always made: later origins (vault, registry) use it
    custom_tls = bool(opts.tls_cert and opts.tls_key)
    if opts.tls_cert and opts.tls_key:
        cert_file, key_file = str(opts.tls_cert), str(opts.tls_key)
        vault_cert_file, vault_key_file = cert_file, key_file
    else:
        hosts = ["127.0.0.1", "localhost"]
        if opts.bind not in hosts and opts.bind not in ("0.0.0.0", "::", ""):
            hosts.append(opts.bind)
        leaf = ca.server_certificate("server", hosts)
        cert_file, key_file = str(leaf.cert_path), str(leaf.key_path)
        vault_leaf = ca.server_certificate("vault", hosts)
        vault_cert_file, vault_key_file = str(vault_leaf.cert_path), str(vault_leaf.key_path)

    database_url = opts.database_url or f"sqlite:///{dd.sqlite_path}"
    store = Store.open(database_url)
    sockets: list[socket.socket] = []
    try:
        # The vault key is checked against the data before anything listens.
        vault_service = open_vault(VaultStore(store), dd.path)
        sockets.append(_listen(opts.bind, opts.port))
        sockets.append(_listen(opts.bind, opts.resolved_vault_port()))
    except BaseException:
        for s in sockets:
            s.close()
        store.close()
        raise
    sock, vault_sock = sockets

    port = sock.getsockname()[1]
    origin = f"https://{_url_host(opts.bind)}:{port}"
    vault_origin = f"https://{_url_host(opts.bind)}:{vault_sock.getsockname()[1]}"
    issuer = LocalIssuer(dd.issuer_dir, settings.tenant_id)
    issuer.bind(origin)
    issuers = [
        TrustedIssuer.local(issuer),
        *(TrustedIssuer.openid(u) for u in opts.trusted_issuers),
    ]
    verifier = TokenVerifier(issuers, ARM_AUDIENCES, realm=issuer.issuer_url)
    runtime = Runtime(vault_service=vault_service, vault_origin=vault_origin)
    secrets = _secret_source(opts, issuer, vault_origin, None if custom_tls else str(dd.ca_path))
    ctx = ApiContext(
        instances=InstanceService(store),
        endpoints=RegistryEndpointService(store),
        arm_verifier=verifier,
        issuer=issuer,
        synced_secrets=SyncedSecretService(store, secrets),
        kv_secrets=KeyVaultSecretService(store, secrets),
        pull_secrets=PullSecretResolver(store, secrets, ttl=opts.secret_cache_ttl),
    )
    app = create_app(ctx, baseline=opts.baseline_endpoint)
    # The vault's challenge names the issuer's authority, ``<origin>/<tenant>``.
    vault_auth = VaultAuthenticator(
        TokenVerifier(issuers, [VAULT_AUDIENCE]), f"{origin}/{settings.tenant_id}"
    )
    vault_app = VaultApp(runtime.vault_service, vault_auth)
    server = _Server(_uvicorn_config(app, cert_file, key_file, opts.log_level))
    vault_server = _Server(
        _uvicorn_config(vault_app, vault_cert_file, vault_key_file, opts.log_level)
    )
    servers = (server, vault_server)
    endpoints = {
        "arm": origin,
        "subscription": settings.subscription_id,
        "tenant": settings.tenant_id,
        "issuer": issuer.issuer_url,
        # With the user's own certificate, clients use their usual trust store.
        "ca": None if custom_tls else str(dd.ca_path),
        "openapi": f"{origin}/openapi.json",
        "database": store.dialect,
        "vault": vault_origin,
        "keyvault": opts.keyvault_url or vault_origin,
    }

    def stop_all() -> None:
        for s in servers:
            if s.should_exit:
                s.force_exit = True  # a second signal: stop waiting for open connections
            s.should_exit = True

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop_all)
        tasks = [
            asyncio.create_task(server.serve(sockets=[sock])),
            asyncio.create_task(vault_server.serve(sockets=[vault_sock])),
        ]
        try:
            while not all(s.started for s in servers) and not any(t.done() for t in tasks):
                await asyncio.sleep(0.02)
            if all(s.started for s in servers):
                dd.write_endpoints(endpoints)
                announce(f"iotops-registry is serving on {origin}")
                announce(f"  ARM API:       {origin}/subscriptions/{settings.subscription_id}")
                announce(f"  OpenAPI:       {origin}/openapi.json")
                announce(f"  Vault:         {vault_origin}")
                announce(f"  Issuer:        {issuer.issuer_url}")
                announce(f"  CA bundle:     {dd.ca_path}")
                announce(f"  Data dir:      {dd.path}")
                announce("Get a token with: iotops token --data-dir " + str(dd.path))
            # When one server stops (a signal, or a failure), the other stops with it.
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            stop_all()
            await asyncio.gather(*tasks)
        finally:
            dd.clear_endpoints()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    def _terminate(_sig: int, _frame: Any) -> None:
        # Outside the event loop (start-up, clean-up) SIGTERM still ends the process through
        # every ``finally`` (endpoints.json, the store); inside it, ``stop_all`` handles it.
        raise SystemExit(0)

    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        asyncio.run(main())
    finally:
        signal.signal(signal.SIGTERM, previous)
        dd.clear_endpoints()
        store.close()
        sock.close()
        vault_sock.close()
        secrets.close()
