"""Local stand-ins for Azure services, built around the ARM app.

Always: the IMDS-compatible identity endpoint (plain HTTP, loopback) and the identity admin
routes. With ``--dev``: the development registry's one HTTPS origin (the front: ACR's token service,
ACR's listing API and ``/v2/`` relayed to the CNCF Distribution registry, a child process on
a private loopback port), the registry admin routes, counters and fault injection.
Everything here listens on loopback only.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from ..config import DataDir
from ..devregistry import (
    EXCHANGE_AUDIENCES,
    TOKEN_PATH,
    AcrMetadataApp,
    Backend,
    DevRegistryService,
    Instruments,
    RegistryAccounts,
    RegistryConfig,
    RegistryFront,
    RegistryProcess,
    TokenApp,
    TokenSigner,
    add_devregistry_routes,
    find_registry_binary,
    free_port,
)
from ..identity import AdminRouter, IdentityService, ImdsApp, add_identity_routes
from ..netutil import format_host_port
from ..security import Authorizer, LocalCA, LocalIssuer, TokenVerifier, TrustedIssuer
from ..store import Store
from ..store.devregistry_store import DevRegistryStore
from ..store.identity_store import IdentityStore
from .options import LOOPBACK, Ports, ServeOptions

__all__ = ["Listener", "StandIns"]

log = logging.getLogger("iotops_registry.server")


@dataclass(frozen=True)
class Listener:
    """One origin to serve: its app, TLS files (none: plain HTTP) and port."""

    name: str
    app: Any
    port: int
    cert_file: str | None = None
    key_file: str | None = None
    bind: str = LOOPBACK
    proxy_headers: bool = True


class StandIns:
    def __init__(self, opts: ServeOptions, dd: DataDir, ca: LocalCA, ports: Ports) -> None:
        self.opts = opts
        self.dd = dd
        self.ca = ca
        self.ports = ports
        # Checked first: a missing registry fails the start at once.
        self.registry_binary = find_registry_binary() if opts.dev else None
        self.listeners: list[Listener] = []
        self.endpoints: dict[str, Any] = {}
        self.lines: list[str] = []
        self.registry: RegistryProcess | None = None
        self._backend: Backend | None = None
        # The dev registry's login server (its one origin's host:port), None without --dev.
        self.login_server = (
            format_host_port(opts.registry_host, ports.registry) if opts.dev else None
        )
        self.failure: str | None = None

    def build(
        self,
        arm_app: Any,
        store: Store,
        issuer: LocalIssuer,
        issuers: list[TrustedIssuer],
        arm_verifier: TokenVerifier,
        authorizer: Authorizer,
    ) -> Any:
        """The ARM app with the admin routes in front; the stand-ins' own listeners."""
        identities = IdentityService(
            IdentityStore(store), issuer, issuer.tenant_id, self.dd.settings().subscription_id
        )
        identities.ensure_system()
        hint = "" if self.opts.dev else " Registry, counter and fault routes need --dev."
        router = AdminRouter(arm_verifier, authorizer, missing_hint=hint)
        add_identity_routes(router, identities)
        instruments = Instruments() if self.opts.dev else None
        # The identity endpoint decides by the connection's peer: no proxy may rewrite it.
        imds = ImdsApp(identities, gate=instruments)
        self.listeners.append(Listener("identity", imds, self.ports.identity, proxy_headers=False))
        self.endpoints["identity"] = self.identity_origin(self.ports.identity)
        if self.opts.dev:
            assert instruments is not None
            registry = self._build_registry(store, identities, issuers, instruments, router)
            self.lines.append(
                f"  Registry:      https://{registry} (login server {registry}: /v2/, "
                "/oauth2/exchange, /oauth2/token, /acr/v1/)"
            )
        return router.in_front_of(arm_app)

    @staticmethod
    def identity_origin(port: int) -> str:
        return f"http://{LOOPBACK}:{port}"

    def announce_lines(self) -> list[str]:
        return [f"  Identity:      {self.endpoints['identity']} (IMDS)", *self.lines]

    def _build_registry(
        self,
        store: Store,
        identities: IdentityService,
        issuers: list[TrustedIssuer],
        instruments: Instruments,
        router: AdminRouter,
    ) -> str:
        """One origin, as ACR has: the front serves the token service, ACR's listing API
        and ``/v2/`` (relayed to the registry child on a private loopback port)."""
        assert self.registry_binary is not None
        bind = self.opts.registry_host
        host = format_host_port(bind, self.ports.registry)  # the login server and "service"
        assert host == self.login_server
        origin = f"https://{host}"
        directory = self.dd.path / "devregistry"
        signer = TokenSigner(directory, issuer=origin, service=host)
        accounts = RegistryAccounts(DevRegistryStore(store), identities, host)
        exchange_verifier = TokenVerifier(issuers, EXCHANGE_AUDIENCES)
        service = DevRegistryService(accounts, signer, exchange_verifier, identities.tenant_id)
        realm = f"{origin}{TOKEN_PATH}"
        info = {"registry": host, "realm": realm, "tokenService": origin}
        add_devregistry_routes(router, accounts, instruments, info)
        private_port = free_port(bind)
        backend = Backend(bind, private_port)
        config = RegistryConfig(
            directory, private_port, realm, host, origin, signer.cert_path, bind
        )
        front = RegistryFront(
            login_server=host,
            backend=backend,
            token_app=TokenApp(service, gate=instruments),
            acr_app=AcrMetadataApp(signer, backend, config.storage, realm),
            instruments=instruments,
        )
        leaf = self.ca.server_certificate("registry", [LOOPBACK, "localhost", "::1"])
        self.listeners.append(
            Listener(
                "registry",
                front,
                self.ports.registry,
                str(leaf.cert_path),
                str(leaf.key_path),
                bind=bind,
                proxy_headers=False,
            )
        )
        self.registry = RegistryProcess(self.registry_binary, config, self.ca.cert_path)
        self._backend = backend
        # "token" names the same origin: the token service is the registry's, as on ACR.
        self.endpoints.update(registry=host, token=origin)
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
        if self._backend is not None:
            self._backend.close()
        if self.registry is not None:
            self.registry.stop()
