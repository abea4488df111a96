"""The server in this process: ``server.build`` wires it, tests call ``runtime.app`` through
``httpx.ASGITransport`` (or Starlette's ``TestClient``, its synchronous form), with no TLS,
no subprocess and no port for the ARM API.

Only the embedded vault gets a real listener (uvicorn in a thread, HTTPS on a free loopback
port), because the services reach it as they reach any Key Vault: through the unmodified
``azure-keyvault-secrets`` client. The identity endpoint and the token service are not
served: tests that need managed identities or the development registry use ``iotops serve``.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio.from_thread
import httpx
import uvicorn

from iotops_registry.server import Ports, Runtime, ServeOptions, build

ARM = "https://management.azure.com"
CLOSED_PORT = 9  # discard: nothing listens, so a call to an unserved origin fails at once


@dataclass
class InProcess:
    runtime: Runtime
    token: str

    @property
    def subscription(self) -> str:
        return self.runtime.settings.subscription_id

    @property
    def origin(self) -> str:
        return self.runtime.origin

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def client(self, **kwargs: Any) -> httpx.Client:
        """A synchronous client of the ARM origin: the app runs on an event loop in a
        thread of its own (``SyncASGITransport``)."""
        return httpx.Client(
            transport=SyncASGITransport(self.runtime.app),
            base_url=self.origin,
            headers=kwargs.pop("headers", self.headers()),
            **kwargs,
        )

    def async_client(self, **kwargs: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.runtime.app),
            base_url=self.origin,
            headers=kwargs.pop("headers", self.headers()),
            **kwargs,
        )


class SyncASGITransport(httpx.BaseTransport):
    """``httpx.ASGITransport`` for a synchronous ``httpx.Client``: each request runs on an
    event loop in a worker thread (one per transport, started on first use)."""

    def __init__(self, app: Any) -> None:
        self._inner = httpx.ASGITransport(app=app)
        self._portal_cm: Any = None
        self._portal: Any = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self._portal is None:
            self._portal_cm = anyio.from_thread.start_blocking_portal()
            self._portal = self._portal_cm.__enter__()
        body = request.read()

        async def send() -> httpx.Response:
            forwarded = httpx.Request(
                request.method, request.url, headers=request.headers, content=body
            )
            response = await self._inner.handle_async_request(forwarded)
            content = await response.aread()
            return httpx.Response(
                response.status_code, headers=response.headers, content=content
            )

        response: httpx.Response = self._portal.call(send)
        return response

    def close(self) -> None:
        if self._portal_cm is not None:
            self._portal_cm.__exit__(None, None, None)
            self._portal_cm = self._portal = None


class _VaultListener:
    """The runtime's vault app on a real HTTPS socket, served from a thread."""

    def __init__(self, sock: socket.socket, runtime: Runtime) -> None:
        listener = next(x for x in runtime.listeners if x.name == "vault")
        config = uvicorn.Config(
            listener.app,
            ssl_certfile=listener.cert_file,
            ssl_keyfile=listener.key_file,
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=lambda: asyncio.run(self.server.serve(sockets=[sock])), daemon=True
        )

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the in-process vault listener did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@contextmanager
def in_process(data_dir: Path, database_url: str | None) -> Iterator[InProcess]:
    vault_sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    vault_sock.bind(("127.0.0.1", 0))
    vault_sock.listen(128)
    ports = Ports(
        arm=8443,  # nominal: the ARM origin is never bound, the issuer URL names it
        vault=int(vault_sock.getsockname()[1]),
        identity=CLOSED_PORT,
        registry=0,
    )
    opts = ServeOptions(data_dir=data_dir, database_url=database_url, health_interval=0)
    runtime = build(opts, ports)
    vault = _VaultListener(vault_sock, runtime)
    try:
        vault.start()
        yield InProcess(runtime, runtime.issuer.mint(ARM))
    finally:
        vault.stop()
        runtime.close()
        vault_sock.close()


class InProcessScope:
    """A fresh resource group with one instance on the in-process server (like
    ``tests.conftest.Scope``, without the SDK)."""

    def __init__(self, client: httpx.Client, subscription: str) -> None:
        import uuid

        self.rg = f"rg-{uuid.uuid4().hex[:8]}"
        self.instance = "inst-" + uuid.uuid4().hex[:6]
        self.subscription = subscription
        self.location = (
            f"/subscriptions/{subscription}/resourceGroups/{self.rg}/providers/"
            "Microsoft.ExtendedLocation/customLocations/cl-local"
        )
        r = client.put(
            self.instance_path,
            params={"api-version": "2026-07-01"},
            json={
                "location": "eastus",
                "extendedLocation": {"name": self.location, "type": "CustomLocation"},
                "properties": {
                    "description": "test instance",
                    "schemaRegistryRef": {"resourceId": "/schemaRegistries/sr"},
                },
            },
        )
        assert r.status_code == 201, r.text

    @property
    def instance_path(self) -> str:
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.rg}/providers/"
            f"Microsoft.IoTOperations/instances/{self.instance}"
        )

    def endpoint_path(self, name: str) -> str:
        return f"{self.instance_path}/registryEndpoints/{name}"
