"""Shared fixtures. One real ``iotops serve`` per test session (per xdist worker).

Set ``IOTOPS_TEST_DATABASE=postgresql`` to run the whole suite against PostgreSQL
(127.0.0.1:5432, user postgres); the default is SQLite.
"""

from __future__ import annotations

import shutil
import ssl
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from azure.mgmt.iotoperations import IoTOperationsMgmtClient
from azure.mgmt.iotoperations import models as m

from iotops_registry import LocalIssuerCredential
from tests.support.inprocess import InProcess, in_process
from tests.support.server import (
    ServerProcess,
    create_pg_database,
    database_backend,
    drop_pg_database,
)

API_VERSION = "2026-07-01"


@pytest.fixture(scope="session")
def database_url() -> Iterator[str | None]:
    if database_backend() == "postgresql":
        url = create_pg_database()
        yield url
        drop_pg_database(url)
    else:
        yield None


@pytest.fixture(scope="session")
def server(
    tmp_path_factory: pytest.TempPathFactory, database_url: str | None
) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path_factory.mktemp("srv") / "data", database_url=database_url)
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def inproc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcess]:
    """The server built in this process (``server.build``): the ARM app over
    ``httpx.ASGITransport``, for API tests that a real process proves nothing more for. Its
    own data directory and database."""
    url = create_pg_database("iotops_inproc") if database_backend() == "postgresql" else None
    try:
        with in_process(tmp_path_factory.mktemp("inproc") / "data", url) as running:
            yield running
    finally:
        if url:
            drop_pg_database(url)


@pytest.fixture(scope="session")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One ``iotops serve --dev`` per session (per xdist worker): the identity endpoint, the
    CNCF Distribution registry child and its token service. Its own database, so that its
    vault key and stand-in state never meet the ``server`` fixture's."""
    for tool in ("docker-registry", "skopeo"):
        if shutil.which(tool) is None:
            pytest.fail(f"`{tool}` is missing: run scripts/test.sh (it installs it)")
    url = create_pg_database("iotops_dev") if database_backend() == "postgresql" else None
    proc = ServerProcess(
        tmp_path_factory.mktemp("devsrv") / "data", database_url=url, extra_args=["--dev"]
    )
    try:
        proc.start()
        yield proc
    finally:
        proc.stop()
        if url:
            drop_pg_database(url)


@pytest.fixture(scope="session")
def credential(server: ServerProcess) -> LocalIssuerCredential:
    return LocalIssuerCredential(server.data_dir)


@pytest.fixture(scope="session")
def sdk(
    server: ServerProcess, credential: LocalIssuerCredential
) -> Iterator[IoTOperationsMgmtClient]:
    client = IoTOperationsMgmtClient(
        credential,
        server.subscription,
        base_url=server.arm,
        connection_verify=server.ca,
        polling_interval=1,
        retry_total=0,
    )
    yield client
    client.close()


@pytest.fixture(scope="session")
def http(server: ServerProcess, credential: LocalIssuerCredential) -> Iterator[httpx.Client]:
    token = credential.mint("https://management.azure.com")
    with httpx.Client(
        base_url=server.arm,
        verify=ssl.create_default_context(cafile=server.ca),
        headers={"Authorization": f"Bearer {token}"},
    ) as client:
        yield client


def custom_location(subscription: str, rg: str) -> str:
    return (
        f"/subscriptions/{subscription}/resourceGroups/{rg}/providers/"
        "Microsoft.ExtendedLocation/customLocations/cl-local"
    )


class Scope:
    """A fresh resource group with one instance, so tests never see each other's data."""

    def __init__(self, sdk: IoTOperationsMgmtClient, subscription: str) -> None:
        self.rg = f"rg-{uuid.uuid4().hex[:8]}"
        self.instance = "inst-" + uuid.uuid4().hex[:6]
        self.subscription = subscription
        self.location = custom_location(subscription, self.rg)
        sdk.instance.begin_create_or_update(
            self.rg,
            self.instance,
            m.InstanceResource(
                location="eastus",
                extended_location=m.ExtendedLocation(name=self.location, type="CustomLocation"),
                properties=m.InstanceProperties(
                    description="test instance",
                    schema_registry_ref=m.SchemaRegistryRef(resource_id="/schemaRegistries/sr"),
                ),
            ),
        ).result()

    @property
    def instance_path(self) -> str:
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.rg}/providers/"
            f"Microsoft.IoTOperations/instances/{self.instance}"
        )

    def endpoint_path(self, name: str) -> str:
        return f"{self.instance_path}/registryEndpoints/{name}"

    def extended_location(self) -> m.ExtendedLocation:
        return m.ExtendedLocation(name=self.location, type="CustomLocation")


@pytest.fixture
def scope(sdk: IoTOperationsMgmtClient, server: ServerProcess) -> Scope:
    return Scope(sdk, server.subscription)


class EndpointCredentials:
    """``resolve(key)``: an endpoint's pull secret as the server resolves it, in this process:
    the endpoint loaded through the endpoint service, its credentials read from the vault."""

    def __init__(self, endpoints: Any, resolver: Any) -> None:
        self._endpoints = endpoints
        self._resolver = resolver

    def resolve(self, key: Any, *, fresh: bool = False) -> Any:
        return self._resolver.resolve(self._endpoints.target(key), fresh=fresh)


@pytest.fixture
def resolver(server: ServerProcess, database_url: str | None) -> Iterator[Any]:
    """A credential resolver in this process, reading the server's store and its vault."""
    from iotops_registry.keyvault import KeyVaultSecrets
    from iotops_registry.services import PullSecretResolver, RegistryEndpointService
    from iotops_registry.store import Store

    store = Store.open(database_url or f"sqlite:///{server.data_dir / 'registry.db'}")
    vault = KeyVaultSecrets(
        server.endpoints["vault"], LocalIssuerCredential(server.data_dir), ca_file=server.ca
    )
    endpoints = RegistryEndpointService(store, tenant=server.endpoints["tenant"])
    yield EndpointCredentials(endpoints, PullSecretResolver(vault, ttl=0))
    vault.close()
    store.close()


@pytest.fixture(scope="session")
def tmp_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("work")
