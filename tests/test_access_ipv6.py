"""An IPv6 loopback registry: ``iotops serve --dev --registry-host ::1`` runs the real CNCF
Distribution registry and its token service on ``[::1]``; an endpoint whose host is
``[::1]:PORT`` passes the connection test with every method the dev registry supports."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.support.server import (
    ServerProcess,
    create_pg_database,
    database_backend,
    drop_pg_database,
)
from tests.test_access import World, _ok, world_on


@pytest.fixture(scope="module")
def ipv6_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    for tool in ("docker-registry", "skopeo"):
        if shutil.which(tool) is None:
            pytest.fail(f"`{tool}` is missing: run scripts/test.sh (it installs it)")
    url = create_pg_database("iotops_v6") if database_backend() == "postgresql" else None
    proc = ServerProcess(
        tmp_path_factory.mktemp("v6srv") / "data",
        database_url=url,
        extra_args=["--dev", "--registry-host", "::1"],
    )
    try:
        proc.start()
        yield proc
    finally:
        proc.stop()
        if url:
            drop_pg_database(url)


@pytest.fixture(scope="module")
def world(ipv6_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with world_on(ipv6_server, tmp_path_factory.mktemp("v6"), push="client") as w:
        yield w


def test_the_registry_is_on_ipv6_loopback(world: World) -> None:
    assert world.dev.registry.startswith("[::1]:")
    assert world.dev.token_url.startswith("https://[::1]:")


def test_anonymous(world: World) -> None:
    world.dev.anonymous_pull(True)
    try:
        world.put_endpoint("v6-anon", {"method": "Anonymous", "anonymousSettings": {}})
        _ok(world.test("v6-anon", world.repo))
    finally:
        world.dev.anonymous_pull(False)


def test_system_assigned_identity(world: World) -> None:
    world.dev.assign(world.dev.system_identity()["clientId"], "AcrPull")
    world.put_endpoint(
        "v6-sami",
        {"method": "SystemAssignedManagedIdentity", "systemAssignedManagedIdentitySettings": {}},
    )
    _ok(world.test("v6-sami", world.repo))


def test_user_assigned_identity(world: World) -> None:
    mi = world.dev.identity()
    world.dev.assign(mi["clientId"], "AcrPull")
    world.put_endpoint("v6-uami", {
        "method": "UserAssignedManagedIdentity",
        "userAssignedManagedIdentitySettings": {
            "clientId": mi["clientId"], "tenantId": world.dev.tenant,
        },
    })
    _ok(world.test("v6-uami", world.repo))


def test_artifact_pull_secret(world: World) -> None:
    user, password = world.dev.repository_token(world.repo, ["pull"])
    world.put_endpoint("v6-aps", world.pull_secret("v6-aps", user, password))
    _ok(world.test("v6-aps", world.repo))
