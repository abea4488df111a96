"""Run the server: TLS material, store, issuer, the HTTPS listener and ``endpoints.json``."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

from .api import ApiContext, create_app
from .config import DataDir
from .errors import ConfigurationError
from .security import LocalCA, LocalIssuer, TokenVerifier, TrustedIssuer
from .services import InstanceService, RegistryEndpointService
from .store import Store

__all__ = ["ARM_AUDIENCES", "ServeOptions", "run"]

log = logging.getLogger("iotops_registry.server")

ARM_AUDIENCES = (
    "https://management.azure.com",
    "https://management.core.windows.net",
)


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
    if opts.tls_cert and opts.tls_key:
        cert_file, key_file = str(opts.tls_cert), str(opts.tls_key)
    else:
        hosts = ["127.0.0.1", "localhost"]
        if opts.bind not in hosts and opts.bind not in ("0.0.0.0", "::", ""):
            hosts.append(opts.bind)
        leaf = ca.server_certificate("server", hosts)
        cert_file, key_file = str(leaf.cert_path), str(leaf.key_path)

    database_url = opts.database_url or f"sqlite:///{dd.sqlite_path}"
    store = Store.open(database_url)

    sock = _listen(opts.bind, opts.port)
    port = sock.getsockname()[1]
    origin = f"https://{_url_host(opts.bind)}:{port}"
    issuer = LocalIssuer(dd.issuer_dir, settings.tenant_id)
    issuer.bind(origin)
    verifier = TokenVerifier(
        [TrustedIssuer.local(issuer), *(TrustedIssuer.openid(u) for u in opts.trusted_issuers)],
        ARM_AUDIENCES,
        realm=issuer.issuer_url,
    )
    ctx = ApiContext(
        instances=InstanceService(store),
        endpoints=RegistryEndpointService(store),
        arm_verifier=verifier,
        issuer=issuer,
    )
    app = create_app(ctx, baseline=opts.baseline_endpoint)
    config = uvicorn.Config(
        app,
        ssl_certfile=cert_file,
        ssl_keyfile=key_file,
        log_level=opts.log_level,
        access_log=False,
        lifespan="off",
        server_header=False,
        timeout_keep_alive=30,
        timeout_graceful_shutdown=3,
    )
    server = uvicorn.Server(config)
    endpoints = {
        "arm": origin,
        "subscription": settings.subscription_id,
        "tenant": settings.tenant_id,
        "issuer": issuer.issuer_url,
        "ca": str(dd.ca_path),
        "openapi": f"{origin}/openapi.json",
        "database": store.dialect,
    }

    async def main() -> None:
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not serving.done():
            await asyncio.sleep(0.02)
        if server.started:
            dd.write_endpoints(endpoints)
            announce(f"iotops-registry is serving on {origin}")
            announce(f"  ARM API:       {origin}/subscriptions/{settings.subscription_id}")
            announce(f"  OpenAPI:       {origin}/openapi.json")
            announce(f"  Issuer:        {issuer.issuer_url}")
            announce(f"  CA bundle:     {dd.ca_path}")
            announce(f"  Data dir:      {dd.path}")
            announce("Get a token with: iotops token --data-dir " + str(dd.path))
        try:
            await serving
        finally:
            # uvicorn re-raises SIGTERM/SIGINT once serve() returns, so clean up here.
            dd.clear_endpoints()

    def _terminate(_sig: int, _frame: Any) -> None:
        # uvicorn shuts down gracefully, then re-raises the signal; turn that into a normal
        # exit so every ``finally`` (endpoints.json, the store) still runs.
        raise SystemExit(0)

    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        asyncio.run(main())
    finally:
        signal.signal(signal.SIGTERM, previous)
        dd.clear_endpoints()
        store.close()
        sock.close()
