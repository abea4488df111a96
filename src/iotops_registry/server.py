"""Run the server: TLS material, store, issuer, the listeners and ``endpoints.json``.

Several uvicorn servers share one event loop, each on its own origin: the ARM API (with the
``/-/dev`` admin routes), the embedded vault, the IMDS-compatible identity endpoint (plain
HTTP, loopback) and, with ``--dev``, the registry token service. ``--dev`` also runs the
CNCF Distribution registry as a child process. All start before ``endpoints.json`` is
written, and all stop together (the registry child with them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import ssl
import uuid
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from azure.core.credentials import TokenCredential

from .access import AuthenticatorFactory, HealthMonitor, RegistryAccess
from .api import ApiContext, create_app
from .config import DataDir
from .devregistry import (
    EXCHANGE_AUDIENCES,
    TOKEN_PATH,
    DevRegistryService,
    Instruments,
    RegistryAccounts,
    RegistryConfig,
    RegistryProcess,
    TokenApp,
    TokenSigner,
    add_devregistry_routes,
    find_registry_binary,
    free_port,
)
from .errors import ConfigurationError
from .identity import AdminRouter, IdentityService, ImdsApp, add_identity_routes
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
from .services.connection_settings import ConnectionSettingsService
from .services.health import HealthService
from .store import Store, VaultStore
from .store.devregistry_store import DevRegistryStore
from .store.identity_store import IdentityStore
from .vault import VAULT_AUDIENCE, VaultApp, VaultAuthenticator, VaultService, open_vault
from .web import Portal

__all__ = [
    "ARM_AUDIENCES",
    "DEFAULT_IDENTITY_PORT",
    "DEFAULT_REGISTRY_PORT",
    "DEFAULT_TOKEN_PORT",
    "DEFAULT_VAULT_PORT",
    "Runtime",
    "ServeOptions",
    "run",
]

log = logging.getLogger("iotops_registry.server")

ARM_AUDIENCES = (
    "https://management.azure.com",
    "https://management.core.windows.net",
)
DEFAULT_VAULT_PORT = 8444
DEFAULT_IDENTITY_PORT = 8445
DEFAULT_TOKEN_PORT = 8446
DEFAULT_REGISTRY_PORT = 8447
LOOPBACK = "127.0.0.1"


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
    health_interval: float = 300.0  # seconds between health sweeps; 0 disables the sweep
    # Development stand-ins: the registry, its token service, counters and faults.
    dev: bool = False
    identity_port: int | None = None  # None: 8445, or a free port when ``port`` is 0
    token_port: int | None = None  # None: 8446, or a free port when ``port`` is 0
    registry_port: int | None = None  # None: 8447, or a free port when ``port`` is 0

    def _resolved(self, port: int | None, default: int) -> int:
        if port is not None:
            return port
        return 0 if self.port == 0 else default

    def resolved_vault_port(self) -> int:
        return self._resolved(self.vault_port, DEFAULT_VAULT_PORT)

    def resolved_identity_port(self) -> int:
        return self._resolved(self.identity_port, DEFAULT_IDENTITY_PORT)

    def resolved_token_port(self) -> int:
        return self._resolved(self.token_port, DEFAULT_TOKEN_PORT)

    def resolved_registry_port(self) -> int:
        return self._resolved(self.registry_port, DEFAULT_REGISTRY_PORT)


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


def _uvicorn_config(
    app: Any,
    cert_file: str | None,
    key_file: str | None,
    log_level: str,
    *,
    proxy_headers: bool = True,
) -> uvicorn.Config:
    """A listener's settings; without a certificate it serves plain HTTP (the IMDS).
    ``proxy_headers=False``: the peer address is the socket's, never X-Forwarded-For."""
    return uvicorn.Config(
        app,
        proxy_headers=proxy_headers,
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


def _registry_access(
    opts: ServeOptions, store: Store, ctx: ApiContext, tenant: str, ca_file: str | None
) -> tuple[RegistryAccess, HealthMonitor, httpx.AsyncClient]:
    """Registry clients for endpoints, and the monitor that keeps their health."""
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=ca_file)  # our own token service and registry
    exchange_http = httpx.AsyncClient(verify=context, timeout=30.0, trust_env=False)

    def identity(client_id: str | None) -> TokenCredential:
        from azure.identity import ManagedIdentityCredential

        if client_id:
            return ManagedIdentityCredential(client_id=client_id, retry_total=1)
        return ManagedIdentityCredential(retry_total=1)

    factory = AuthenticatorFactory(ctx.pull_secrets, identity, exchange_http)
    access = RegistryAccess(factory, extra_ca_file=ca_file)
    assert ctx.health is not None
    monitor = HealthMonitor(ctx.endpoints, access, ctx.health, interval=opts.health_interval)
    return access, monitor, exchange_http


def _run_loop(coro: Any) -> None:
    """uvloop when it is installed (it comes with uvicorn[standard]), else asyncio's loop."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        asyncio.run(coro)
        return
    uvloop.run(coro)


def _listen(bind: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in bind else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted sockets only when the
    # listener says so, and without it Nagle + delayed ACK stall every response ~40 ms.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
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


class _StandIns:
    """Local stand-ins for Azure services, built around the ARM app.

    Always: the IMDS-compatible identity endpoint (plain HTTP, loopback) and the identity
    admin routes. With ``--dev``: the CNCF Distribution registry (a child process), its
    ACR-compatible token service (own HTTPS origin), the registry admin routes, counters
    and fault injection. Everything here listens on loopback only.
    """

    def __init__(self, opts: ServeOptions, dd: DataDir, ca: LocalCA) -> None:
        self.opts = opts
        self.dd = dd
        self.ca = ca
        # Checked before anything listens: a missing registry fails the start at once.
        self.registry_binary = find_registry_binary() if opts.dev else None
        self.sockets: list[socket.socket] = []
        self.listeners: list[tuple[_Server, socket.socket]] = []
        self.endpoints: dict[str, Any] = {}
        self.lines: list[str] = []
        self.registry: RegistryProcess | None = None
        self.failure: str | None = None

    @property
    def servers(self) -> list[_Server]:
        return [server for server, _ in self.listeners]

    def listen(self) -> list[socket.socket]:
        self.sockets.append(_listen(LOOPBACK, self.opts.resolved_identity_port()))
        if self.opts.dev:
            self.sockets.append(_listen(LOOPBACK, self.opts.resolved_token_port()))
        return self.sockets

    def build(
        self,
        arm_app: Any,
        store: Store,
        issuer: LocalIssuer,
        issuers: list[TrustedIssuer],
        arm_verifier: TokenVerifier,
    ) -> Any:
        """The ARM app with the admin routes in front; makes the listeners."""
        tenant = issuer.tenant_id
        identities = IdentityService(
            IdentityStore(store), issuer, tenant, self.dd.settings().subscription_id
        )
        identities.ensure_system()
        hint = "" if self.opts.dev else " Registry, counter and fault routes need --dev."
        router = AdminRouter(arm_verifier, missing_hint=hint)
        add_identity_routes(router, identities)
        instruments = Instruments() if self.opts.dev else None
        imds = ImdsApp(identities, gate=instruments)
        self._add(imds, None, None, self.sockets[0])
        identity_origin = f"http://{LOOPBACK}:{self.sockets[0].getsockname()[1]}"
        self.endpoints["identity"] = identity_origin
        self.lines.append(f"  Identity:      {identity_origin} (IMDS)")
        if self.opts.dev:
            assert instruments is not None
            registry = self._build_registry(store, identities, issuers, instruments, router)
            token = self.endpoints["token"]
            self.lines.append(f"  Registry:      {registry} (token service {token})")
        return router.in_front_of(arm_app)

    def _add(self, app: Any, cert: str | None, key: str | None, sock: socket.socket) -> None:
        # The identity endpoint decides by the connection's peer: no proxy may rewrite it.
        config = _uvicorn_config(app, cert, key, self.opts.log_level, proxy_headers=False)
        server = _Server(config)
        self.listeners.append((server, sock))

    def _build_registry(
        self,
        store: Store,
        identities: IdentityService,
        issuers: list[TrustedIssuer],
        instruments: Instruments,
        router: AdminRouter,
    ) -> str:
        assert self.registry_binary is not None
        token_sock = self.sockets[1]
        token_origin = f"https://{LOOPBACK}:{token_sock.getsockname()[1]}"
        port = self.opts.resolved_registry_port() or free_port(LOOPBACK)
        host = f"{LOOPBACK}:{port}"  # the registry's login server and token "service"
        directory = self.dd.path / "devregistry"
        signer = TokenSigner(directory, issuer=token_origin, service=host)
        accounts = RegistryAccounts(DevRegistryStore(store), identities, host)
        exchange_verifier = TokenVerifier(issuers, EXCHANGE_AUDIENCES)
        service = DevRegistryService(accounts, signer, exchange_verifier, identities.tenant_id)
        realm = f"{token_origin}{TOKEN_PATH}"
        info = {"registry": host, "realm": realm, "tokenService": token_origin}
        add_devregistry_routes(router, accounts, instruments, info)
        hosts = [LOOPBACK, "localhost"]
        token_leaf = self.ca.server_certificate("token", hosts)
        self._add(
            TokenApp(service, gate=instruments),
            str(token_leaf.cert_path),
            str(token_leaf.key_path),
            token_sock,
        )
        leaf = self.ca.server_certificate("registry", hosts)
        config = RegistryConfig(
            directory, port, leaf.cert_path, leaf.key_path, realm, host, token_origin,
            signer.cert_path,
        )
        self.registry = RegistryProcess(self.registry_binary, config, self.ca.cert_path)
        self.endpoints.update(registry=host, token=token_origin)
        return host

    def start_registry(self) -> None:
        """Start the registry child: from the main thread, which outlives it."""
        if self.registry is not None:
            self.registry.start()

    async def watch(self) -> None:
        """Return if the registry child dies under the server (which then stops too)."""
        while self.registry is not None:
            code = self.registry.exited()
            if code is not None:
                self.failure = (
                    f"the development registry exited unexpectedly (code {code}); "
                    f"see {self.registry.log_path}"
                )
                log.error("%s", self.failure)
                return
            await asyncio.sleep(0.25)
        await asyncio.Event().wait()  # nothing to watch: wait to be cancelled

    def close(self) -> None:
        if self.registry is not None:
            self.registry.stop()
        for sock in self.sockets:
            sock.close()


def run(opts: ServeOptions, *, announce: Any = print) -> None:
    dd = DataDir(opts.data_dir)
    dd.ensure()
    settings = dd.settings()
    if (opts.tls_cert is None) != (opts.tls_key is None):
        raise ConfigurationError("--tls-cert and --tls-key must be given together")
    ca = LocalCA(dd.tls_dir)  # always made: later origins (vault, registry) use it
    stand_ins = _StandIns(opts, dd, ca)
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
        sockets += stand_ins.listen()
    except BaseException:
        for s in sockets:
            s.close()
        store.close()
        raise
    sock, vault_sock = sockets[:2]

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
        endpoints=RegistryEndpointService(store, tenant=settings.tenant_id),
        arm_verifier=verifier,
        issuer=issuer,
        synced_secrets=SyncedSecretService(store, secrets),
        kv_secrets=KeyVaultSecretService(store, secrets),
        pull_secrets=PullSecretResolver(secrets, ttl=opts.secret_cache_ttl),
        health=HealthService(store),
        connection_settings=ConnectionSettingsService(store),
        inline_reads=store.dialect == "sqlite",
    )
    portal = Portal(issuer, default_subscription=settings.subscription_id)
    app = create_app(ctx, baseline=opts.baseline_endpoint, portal=portal)
    app = stand_ins.build(app, store, issuer, issuers, verifier)
    # The runtime reaches managed identities through azure-identity's ManagedIdentityCredential,
    # unchanged; unless the environment already names one, that is our IMDS stand-in.
    os.environ.setdefault("AZURE_POD_IDENTITY_AUTHORITY_HOST", stand_ins.endpoints["identity"])
    # The vault's challenge names the issuer's authority, ``<origin>/<tenant>``.
    vault_auth = VaultAuthenticator(
        TokenVerifier(issuers, [VAULT_AUDIENCE]), f"{origin}/{settings.tenant_id}"
    )
    vault_app = VaultApp(runtime.vault_service, vault_auth)
    server = _Server(_uvicorn_config(app, cert_file, key_file, opts.log_level))
    vault_server = _Server(
        _uvicorn_config(vault_app, vault_cert_file, vault_key_file, opts.log_level)
    )
    servers = (server, vault_server, *stand_ins.servers)
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
        **stand_ins.endpoints,
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
            *(asyncio.create_task(s.serve(sockets=[k])) for s, k in stand_ins.listeners),
        ]
        watcher = asyncio.create_task(stand_ins.watch())
        access, monitor, exchange_http = _registry_access(
            opts, store, ctx, settings.tenant_id, None if custom_tls else str(dd.ca_path)
        )
        ctx.monitor = monitor
        monitor.start()
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
                for line in stand_ins.lines:
                    announce(line)
                announce(f"  CA bundle:     {dd.ca_path}")
                announce(f"  Data dir:      {dd.path}")
                announce("Get a token with: iotops token --data-dir " + str(dd.path))
                announce("Portal sign-in (single use, valid 15 minutes):")
                announce(f"  {portal.signin_url(origin)}")
                announce("Another sign-in URL: iotops portal-url --data-dir " + str(dd.path))
            # When one server stops (a signal, or a failure), the other stops with it.
            await asyncio.wait([*tasks, watcher], return_when=asyncio.FIRST_COMPLETED)
            stop_all()
            await asyncio.gather(*tasks)
        finally:
            watcher.cancel()
            ctx.monitor = None
            await monitor.stop()
            await access.aclose()
            await exchange_http.aclose()
            dd.clear_endpoints()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    def _terminate(_sig: int, _frame: Any) -> None:
        # Outside the event loop (start-up, clean-up) SIGTERM still ends the process through
        # every ``finally`` (endpoints.json, the store); inside it, ``stop_all`` handles it.
        raise SystemExit(0)

    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        stand_ins.start_registry()
        _run_loop(main())
        if stand_ins.failure:
            raise ConfigurationError(stand_ins.failure)
    finally:
        stand_ins.close()
        signal.signal(signal.SIGTERM, previous)
        dd.clear_endpoints()
        store.close()
        sock.close()
        vault_sock.close()
        secrets.close()
