"""Wire the server: TLS material, store, issuer, vault, services, apps. No socket, no signal,
no child process: :func:`build` gives a :class:`Runtime` that a test can drive in-process
(``httpx.ASGITransport`` over ``runtime.app``) and that :func:`server.serve.serve` serves."""

from __future__ import annotations

import contextlib
import logging
import ssl
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from azure.core.credentials import TokenCredential

from ..access import (
    AuthenticatorFactory,
    CatalogSync,
    HealthMonitor,
    ReferenceResolver,
    RegistryAccess,
    SignatureChecker,
)
from ..api import ApiContext, create_app
from ..config import DataDir, Settings
from ..errors import ConfigurationError
from ..keyvault import KeyVaultSecrets
from ..security import (
    Authorizer,
    IssuerCredential,
    LocalCA,
    LocalIssuer,
    Principal,
    TokenVerifier,
    TrustedIssuer,
)
from ..services import (
    RESOURCE_KINDS,
    CodeSigningCaService,
    ConfigMapService,
    ConnectionSettingsService,
    ContainerRegistryService,
    HealthService,
    InstanceService,
    KeyVaultSecretService,
    PullSecretResolver,
    RegistryEndpointService,
    ResourceService,
    RoleAssignmentService,
    SyncedSecretService,
    UsageService,
)
from ..services.catalog import CatalogService
from ..services.linked_access import LinkedAccess
from ..store import Store, VaultStore
from ..store.roles_store import RoleAssignmentStore
from ..vault import (
    VAULT_AUDIENCE,
    VaultApp,
    VaultAuthenticator,
    VaultService,
    open_vault,
    vault_scope,
)
from ..web import Portal
from .options import Ports, ServeOptions
from .standins import Listener, StandIns

log = logging.getLogger("iotops_registry.server")

__all__ = ["ARM_AUDIENCES", "Runtime", "build", "url_host"]

ARM_AUDIENCES = (
    "https://management.azure.com",
    "https://management.core.windows.net",
)


def url_host(bind: str) -> str:
    if bind in ("0.0.0.0", ""):
        return "127.0.0.1"
    if bind == "::":
        return "[::1]"
    return f"[{bind}]" if ":" in bind else bind


@dataclass
class Runtime:
    """Everything one server runs, wired; nothing listens yet."""

    opts: ServeOptions
    data_dir: DataDir
    settings: Settings
    store: Store
    ca: LocalCA
    issuer: LocalIssuer
    verifier: TokenVerifier
    ctx: ApiContext
    portal: Portal
    app: Any  # the ARM origin: API, portal, discovery, /-/dev admin routes
    vault_service: VaultService
    vault_app: VaultApp
    origin: str
    vault_origin: str
    secrets: KeyVaultSecrets
    stand_ins: StandIns
    listeners: list[Listener]  # every origin to serve, the ARM origin first
    custom_tls: bool
    _closers: list[Any] = field(default_factory=list)

    @property
    def ca_file(self) -> str | None:
        """The CA our own origins' certificates chain to (None: the user's certificate)."""
        return None if self.custom_tls else str(self.data_dir.ca_path)

    def endpoints(self) -> dict[str, Any]:
        """What ``endpoints.json`` says about this server."""
        return {
            "arm": self.origin,
            "subscription": self.settings.subscription_id,
            "tenant": self.settings.tenant_id,
            "issuer": self.issuer.issuer_url,
            # With the user's own certificate, clients use their usual trust store.
            "ca": self.ca_file,
            "openapi": f"{self.origin}/openapi.json",
            "database": self.store.dialect,
            "vault": self.vault_origin,
            "keyvault": self.opts.keyvault_url or self.vault_origin,
            **self.stand_ins.endpoints,
        }

    async def start(self) -> None:
        """Start the background work (health checks) on the running loop."""
        monitor, access, exchange_http = _registry_access(self)
        assert self.ctx.catalog is not None
        signatures = SignatureChecker(access)
        catalog_sync = CatalogSync(self.ctx.endpoints, access, self.ctx.catalog,
                                   interval=self.opts.catalog_interval,
                                   signatures=signatures, code_signing=self.ctx.code_signing)
        resolver = ReferenceResolver(
            self.ctx.endpoints, self.ctx.resources, UsageService(self.store), access,
            signatures=signatures, code_signing=self.ctx.code_signing,
        )
        self._closers = [monitor, access, exchange_http, catalog_sync, resolver]
        self.ctx.monitor = monitor
        self.ctx.signatures = signatures
        self.ctx.catalog_sync = catalog_sync
        self.ctx.resolver = resolver
        monitor.start()
        catalog_sync.start()
        await resolver.start()

    async def stop(self) -> None:
        self.ctx.monitor = None
        self.ctx.signatures = None
        self.ctx.catalog_sync = None
        self.ctx.resolver = None
        if self._closers:
            monitor, access, exchange_http, catalog_sync, resolver = self._closers
            self._closers = []
            await resolver.stop()
            await catalog_sync.stop()
            await monitor.stop()
            await access.aclose()
            await exchange_http.aclose()
        await self.store.aclose()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Runtime]:
        await self.start()
        try:
            yield self
        finally:
            await self.stop()

    def close(self) -> None:
        self.stand_ins.close()
        self.data_dir.clear_endpoints()
        self.store.close()
        self.secrets.close()


def _secret_source(
    opts: ServeOptions, issuer: LocalIssuer, vault_origin: str, ca_file: str | None
) -> KeyVaultSecrets:
    """The vault the resource provider reads secrets from, always through the Azure SDK."""
    if opts.keyvault_url:
        from azure.identity import DefaultAzureCredential

        return KeyVaultSecrets(opts.keyvault_url, DefaultAzureCredential())
    # The embedded vault; the server calls it as its own (managed) identity.
    me = _server_identity(issuer)
    return KeyVaultSecrets(vault_origin, IssuerCredential(issuer, me), ca_file=ca_file)


def _server_identity(issuer: LocalIssuer) -> Principal:
    """The identity the server reads its embedded vault as (never one IMDS hands out)."""
    return Principal(
        str(uuid.uuid5(uuid.NAMESPACE_URL, f"iotops-registry:{issuer.tenant_id}")),
        issuer.tenant_id,
        "iotops-registry",
        "ManagedIdentity",
    )


def _bootstrap_roles(
    roles: RoleAssignmentService, issuer: LocalIssuer, me: Principal, vault: str
) -> None:
    """The local admin (``iotops token``'s and the portal's default principal) is Owner at
    ``/`` and, since Owner has no data actions, Key Vault Secrets Officer at ``/``; the
    server's own vault identity may use the vault's secrets. Nobody else has a role."""
    admin = issuer.default_user()
    roles.ensure("/", admin.object_id, "Owner", "User")
    roles.ensure("/", admin.object_id, "Key Vault Secrets Officer", "User")
    roles.ensure(vault, me.object_id, "Key Vault Secrets Officer", "ServicePrincipal")


def _registry_access(
    runtime: Runtime,
) -> tuple[HealthMonitor, RegistryAccess, httpx.AsyncClient]:
    """Registry clients for endpoints, and the monitor that keeps their health."""
    ctx, ca_file = runtime.ctx, runtime.ca_file
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
    monitor = HealthMonitor(
        ctx.endpoints,
        access,
        ctx.health,
        interval=runtime.opts.health_interval,
        code_signing=ctx.code_signing,
    )
    return monitor, access, exchange_http


def build(opts: ServeOptions, ports: Ports | None = None) -> Runtime:
    """Wire a server for ``opts``. ``ports``: where its listeners are (``run`` passes the
    ports it bound); by default the ones ``opts`` asks for (in-process: nothing listens)."""
    ports = ports or opts.ports()
    dd = DataDir(opts.data_dir)
    dd.ensure()
    fixed = dd.secure()
    if fixed:
        log.warning(
            "the data directory was readable by others; now owner-only: %s",
            "; ".join(fixed[:10]) + (f" (and {len(fixed) - 10} more)" if len(fixed) > 10 else ""),
        )
    settings = dd.settings()
    if (opts.tls_cert is None) != (opts.tls_key is None):
        raise ConfigurationError("--tls-cert and --tls-key must be given together")
    ca = LocalCA(dd.tls_dir)  # always made: later origins (vault, registry) use it
    stand_ins = StandIns(opts, dd, ca, ports)
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

    store = Store.open(opts.database_url or f"sqlite:///{dd.sqlite_path}")
    try:
        # The vault key is checked against the data before anything is served.
        vault_service = open_vault(VaultStore(store), dd.path)
        origin = f"https://{url_host(opts.bind)}:{ports.arm}"
        vault_origin = f"https://{url_host(opts.bind)}:{ports.vault}"
        issuer = LocalIssuer(dd.issuer_dir, settings.tenant_id)
        issuer.bind(origin)
        issuers = [
            TrustedIssuer.local(issuer),
            *(TrustedIssuer.openid(u) for u in opts.trusted_issuers),
        ]
        verifier = TokenVerifier(issuers, ARM_AUDIENCES, realm=issuer.issuer_url)
        ca_file = None if custom_tls else str(dd.ca_path)
        secrets = _secret_source(opts, issuer, vault_origin, ca_file)
    except BaseException:
        store.close()
        raise
    authorizer = Authorizer(RoleAssignmentStore(store), settings.tenant_id)
    roles = RoleAssignmentService(RoleAssignmentStore(store), authorizer)
    _bootstrap_roles(roles, issuer, _server_identity(issuer), vault_scope(settings.subscription_id))
    # Linked access is checked against our own vault's assignments; an external Key Vault
    # (--keyvault-url) has Azure's RBAC, which this server cannot evaluate for a caller.
    linked = None if opts.keyvault_url else LinkedAccess(
        authorizer, vault_scope(settings.subscription_id)
    )
    ctx = ApiContext(
        instances=InstanceService(store),
        endpoints=RegistryEndpointService(store, tenant=settings.tenant_id, linked=linked),
        arm_verifier=verifier,
        issuer=issuer,
        authorizer=authorizer,
        roles=roles,
        synced_secrets=SyncedSecretService(store, secrets, linked),
        kv_secrets=KeyVaultSecretService(store, secrets, linked),
        pull_secrets=PullSecretResolver(secrets, ttl=opts.secret_cache_ttl),
        health=HealthService(store),
        connection_settings=ConnectionSettingsService(store),
        registries=ContainerRegistryService(store, dev_registry=stand_ins.login_server),
        config_maps=ConfigMapService(store),
        code_signing=CodeSigningCaService(secrets),
        catalog=CatalogService(
            store, stale_after=2 * opts.catalog_interval if opts.catalog_interval else 86400.0
        ),
        resources={kind: ResourceService(store, kind) for kind in RESOURCE_KINDS},
        inline_reads=store.dialect == "sqlite",
    )
    portal = Portal(issuer, default_subscription=settings.subscription_id)
    app = create_app(ctx, baseline=opts.baseline_endpoint, portal=portal)
    app = stand_ins.build(app, store, issuer, issuers, verifier, authorizer)
    # The vault's challenge names the issuer's authority, ``<origin>/<tenant>``.
    vault_auth = VaultAuthenticator(
        TokenVerifier(issuers, [VAULT_AUDIENCE]), f"{origin}/{settings.tenant_id}"
    )
    vault_app = VaultApp(
        vault_service, vault_auth, authorizer, vault_scope(settings.subscription_id)
    )
    listeners = [
        Listener("arm", app, ports.arm, cert_file, key_file, bind=opts.bind),
        Listener("vault", vault_app, ports.vault, vault_cert_file, vault_key_file, bind=opts.bind),
        *stand_ins.listeners,
    ]
    return Runtime(
        opts=opts,
        data_dir=dd,
        settings=settings,
        store=store,
        ca=ca,
        issuer=issuer,
        verifier=verifier,
        ctx=ctx,
        portal=portal,
        app=app,
        vault_service=vault_service,
        vault_app=vault_app,
        origin=origin,
        vault_origin=vault_origin,
        secrets=secrets,
        stand_ins=stand_ins,
        listeners=listeners,
        custom_tls=custom_tls,
    )
