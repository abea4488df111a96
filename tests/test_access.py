"""Registry access end to end: endpoints created through the API, the real CNCF Distribution
registry of `iotops serve --dev` (content pushed by skopeo), all four authentication
methods, the connection test's named failing steps, health, request counts and faults."""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from iotops_registry import LocalIssuerCredential
from iotops_registry.access import AuthenticatorFactory, RegistryAccess
from iotops_registry.domain import InstanceKey, RegistryEndpointKey
from iotops_registry.keyvault import KeyVaultSecrets
from iotops_registry.oci.digest import Digest
from iotops_registry.services import PullSecretResolver, RegistryEndpointService
from iotops_registry.store import Store
from tests.conftest import API_VERSION
from tests.support.dev import Dev, cert_dir, dev_clients, oci_layout, skopeo, unique
from tests.support.server import ServerProcess

Q = {"api-version": API_VERSION}
ARM = "https://management.azure.com"


@dataclass
class World:
    dev: Dev
    arm: httpx.Client
    rg: str
    instance: str
    repo: str
    tag: str
    layer: bytes
    layer_digest: str

    def path(self, name: str = "") -> str:
        base = (
            f"/subscriptions/{self.dev.server.subscription}/resourceGroups/{self.rg}"
            f"/providers/Microsoft.IoTOperations/instances/{self.instance}"
        )
        return f"{base}/registryEndpoints/{name}" if name else base

    def key(self, name: str) -> RegistryEndpointKey:
        return RegistryEndpointKey(
            InstanceKey(self.dev.server.subscription, self.rg, self.instance), name
        )

    def put_endpoint(self, name: str, auth: dict[str, Any], host: str | None = None) -> None:
        body = {"properties": {"host": host or self.dev.registry, "authentication": auth}}
        r = self.arm.put(self.path(name), params=Q, json=body)
        assert r.status_code in (200, 201), r.text
        assert r.json()["properties"]["healthState"] in (
            "Unknown",
            "Available",
            "Unavailable",
            "Degraded",
        )

    def test(self, name: str, repository: str | None = None) -> dict[str, Any]:
        body = {"repository": repository} if repository else {}
        r = self.arm.post(f"{self.path(name)}/test", params=Q, json=body, timeout=120)
        assert r.status_code == 200, r.text
        report: dict[str, Any] = r.json()
        return report

    def pull_secret(self, name: str, username: str, password: str) -> dict[str, Any]:
        kv = f"{self.path()}/keyVaultSecrets"
        for secret, value in ((f"{name}-user", username), (f"{name}-pass", password)):
            r = self.arm.put(f"{kv}/{secret}", params=Q, json={"properties": {"value": value}})
            assert r.status_code in (200, 201), r.text
        mapping = [
            {"sourcePath": f"{name}-user", "targetKey": "username"},
            {"sourcePath": f"{name}-pass", "targetKey": "password"},
        ]
        r = self.arm.put(
            f"{self.path()}/syncedSecrets/{name}",
            params=Q,
            json={"properties": {"objectSecretMapping": mapping}},
        )
        assert r.status_code in (200, 201), r.text
        return {"method": "ArtifactPullSecret", "artifactPullSecretSettings": {"secretRef": name}}


def _step(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in report["steps"] if s["name"] == name)


def _failed(report: dict[str, Any]) -> dict[str, Any]:
    assert report["status"] == "Failed", json.dumps(report, indent=1)
    return next(s for s in report["steps"] if s["status"] == "Failed")


@pytest.fixture(scope="module")
def world(dev_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with world_on(dev_server, tmp_path_factory.mktemp("access")) as w:
        yield w


@contextmanager
def world_on(dev_server: ServerProcess, tmp: Path, *, push: str = "skopeo") -> Iterator[World]:
    """A repository with one artifact on the dev server's registry, and an instance.
    ``push="client"``: pushed with the project's own OCI client, not skopeo (which has no
    syntax for an IPv6 registry)."""
    with dev_clients(dev_server) as dev:
        team = unique("acc")
        repo = f"{team}/graph"
        user, password = dev.repository_token(f"{team}/*", ["pull", "push"])
        layout = oci_layout(tmp / "src", "1.0.0", b"\0asm" + os.urandom(4096))
        if push == "client":
            asyncio.run(_push_with_client(dev_server, dev.registry, user, password, layout, repo))
        else:
            pushed = skopeo(
                "copy",
                "--dest-creds",
                f"{user}:{password}",
                "--dest-cert-dir",
                str(cert_dir(dev_server, tmp / "certs")),
                f"oci:{layout.path}:1.0.0",
                f"docker://{dev.registry}/{repo}:1.0.0",
            )
            assert pushed.returncode == 0, pushed.stderr
        manifest = json.loads(
            (layout.path / "blobs" / "sha256" / layout.manifest_digest.split(":")[1]).read_bytes()
        )
        token = LocalIssuerCredential(dev_server.data_dir).mint(ARM)
        with httpx.Client(
            base_url=dev_server.arm,
            verify=ssl.create_default_context(cafile=dev_server.ca),
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        ) as arm:
            rg, instance = unique("rg"), unique("inst")
            loc = (
                f"/subscriptions/{dev_server.subscription}/resourceGroups/{rg}/providers/"
                f"Microsoft.ExtendedLocation/customLocations/{instance}"
            )
            r = arm.put(
                f"/subscriptions/{dev_server.subscription}/resourceGroups/{rg}/providers/"
                f"Microsoft.IoTOperations/instances/{instance}",
                params=Q,
                json={
                    "location": "local",
                    "extendedLocation": {"name": loc, "type": "CustomLocation"},
                },
            )
            assert r.status_code == 201, r.text
            yield World(
                dev, arm, rg, instance, repo, "1.0.0", layout.layer, manifest["layers"][0]["digest"]
            )


@pytest.fixture
async def access(
    world: World,
    dev_server: ServerProcess,
    database_url: str | None,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[RegistryAccess]:
    """The product's registry access, in this process, over the dev server's store, vault and
    identity endpoint (ManagedIdentityCredential, unmodified)."""
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", dev_server.endpoints["identity"])
    from azure.identity import ManagedIdentityCredential

    url = dev_server.database_url or f"sqlite:///{dev_server.data_dir / 'registry.db'}"
    store = Store.open(url)
    vault = KeyVaultSecrets(
        dev_server.endpoints["vault"],
        LocalIssuerCredential(dev_server.data_dir),
        ca_file=dev_server.ca,
    )
    context = ssl.create_default_context(cafile=dev_server.ca)
    async with httpx.AsyncClient(verify=context, trust_env=False) as http:
        factory = AuthenticatorFactory(
            PullSecretResolver(vault, ttl=60),
            lambda cid: (
                ManagedIdentityCredential(client_id=cid) if cid else ManagedIdentityCredential()
            ),
            http,
        )
        access = RegistryAccess(factory, extra_ca_file=dev_server.ca)
        access.endpoints = RegistryEndpointService(  # type: ignore[attr-defined]
            store, tenant=dev_server.endpoints["tenant"]
        )
        yield access
        await access.aclose()
    vault.close()
    store.close()


async def _push_with_client(
    server: ServerProcess, registry: str, user: str, password: str, layout: Any, repo: str
) -> None:
    from iotops_registry.authn import BasicCredential, StaticBasic
    from iotops_registry.remote import RegistryClient

    blobs = layout.path / "blobs" / "sha256"
    raw = (blobs / layout.manifest_digest.split(":")[1]).read_bytes()
    manifest = json.loads(raw)
    async with RegistryClient(
        registry,
        authenticator=StaticBasic(BasicCredential(user, password)),
        verify=ssl.create_default_context(cafile=server.ca),
    ) as client:
        for part in (manifest["config"], *manifest["layers"]):
            data = (blobs / part["digest"].split(":")[1]).read_bytes()
            await client.push_blob(repo, data, media_type=part["mediaType"])
        await client.put_manifest(repo, layout.tag, raw, manifest["mediaType"])


async def _pull(access: RegistryAccess, world: World, name: str) -> None:
    endpoints = access.endpoints  # type: ignore[attr-defined]
    client = await access.client(await asyncio.to_thread(endpoints.target, world.key(name)))
    fetched = await client.get_manifest(world.repo, world.tag)
    assert json.loads(fetched.data)["layers"][0]["digest"] == world.layer_digest
    blob = await client.get_blob(world.repo, Digest.parse(world.layer_digest))
    assert blob == world.layer


def _ok(report: dict[str, Any]) -> None:
    assert report["status"] == "Succeeded", json.dumps(report, indent=1)
    assert _step(report, "PullPermission")["status"] == "Succeeded"
    assert [s["name"] for s in report["steps"]] == [
        "DnsResolution",
        "TcpConnect",
        "TlsHandshake",
        "RegistryPing",
        "CredentialAcquisition",
        "TokenExchange",
        "PullPermission",
        "CatalogPermission",
    ]
    for step in report["steps"]:
        assert {"name", "status", "code", "message", "hint", "durationMs"} <= set(step)


@pytest.mark.anyio
async def test_anonymous(world: World, access: RegistryAccess) -> None:
    world.dev.anonymous_pull(True)
    try:
        world.put_endpoint("anon", {"method": "Anonymous", "anonymousSettings": {}})
        _ok(world.test("anon", world.repo))
        await _pull(access, world, "anon")
    finally:
        world.dev.anonymous_pull(False)
    step = _failed(world.test("anon", world.repo))
    assert (step["name"], step["code"]) == ("PullPermission", "PullDenied")
    assert "anonymous" in step["hint"]


@pytest.mark.anyio
async def test_system_assigned_identity(world: World, access: RegistryAccess) -> None:
    world.dev.assign(world.dev.system_identity()["clientId"], "AcrPull")
    world.put_endpoint(
        "sami",
        {"method": "SystemAssignedManagedIdentity", "systemAssignedManagedIdentitySettings": {}},
    )
    report = world.test("sami", world.repo)
    _ok(report)
    assert _step(report, "TokenExchange")["code"] == "TokenIssued"
    await _pull(access, world, "sami")


@pytest.mark.anyio
async def test_user_assigned_identity_and_missing_role(
    world: World, access: RegistryAccess
) -> None:
    mi = world.dev.identity()
    auth = {
        "method": "UserAssignedManagedIdentity",
        "userAssignedManagedIdentitySettings": {
            "clientId": mi["clientId"],
            "tenantId": world.dev.tenant,
            "scope": "https://containerregistry.azure.net/.default",
        },
    }
    world.put_endpoint("uami", auth)
    step = _failed(world.test("uami", world.repo))
    assert step["name"] == "TokenExchange" and step["code"] == "IdentityNotAuthorized"
    assert mi["clientId"][:8] in step["message"] and world.dev.registry in step["message"]
    assert "AcrPull" in step["hint"]
    world.dev.assign(mi["clientId"], "AcrPull")
    _ok(world.test("uami", world.repo))
    await _pull(access, world, "uami")


@pytest.mark.anyio
async def test_artifact_pull_secret_and_wrong_password(
    world: World, access: RegistryAccess
) -> None:
    user, password = world.dev.repository_token(world.repo, ["pull"])
    world.put_endpoint("aps", world.pull_secret("aps-good", user, password))
    report = world.test("aps", world.repo)
    _ok(report)
    assert _step(report, "CatalogPermission")["status"] == "Warning"  # repository tokens
    await _pull(access, world, "aps")

    world.put_endpoint("aps-bad", world.pull_secret("aps-bad", user, password + "x"))
    step = _failed(world.test("aps-bad", world.repo))
    assert (step["name"], step["code"]) == ("TokenExchange", "CredentialsRejected")
    # A missing synced secret is named as the failing step.
    world.put_endpoint(
        "aps-none",
        {"method": "ArtifactPullSecret", "artifactPullSecretSettings": {"secretRef": "not-there"}},
    )
    step = _failed(world.test("aps-none"))
    assert (step["name"], step["code"]) == ("CredentialAcquisition", "SyncedSecretNotFound")
    assert "not-there" in step["message"]


def test_repository_without_permission(world: World) -> None:
    user, password = world.dev.repository_token(f"{world.repo}-other", ["pull"])
    world.put_endpoint("aps-narrow", world.pull_secret("aps-narrow", user, password))
    step = _failed(world.test("aps-narrow", world.repo))
    assert (step["name"], step["code"]) == ("PullPermission", "PullDenied")


def test_unknown_host_down_registry_untrusted_tls(world: World, server: ServerProcess) -> None:
    anon = {"method": "Anonymous", "anonymousSettings": {}}
    world.put_endpoint("nohost", anon, host="no-such-registry.invalid")
    assert _failed(world.test("nohost"))["code"] == "DnsResolutionFailed"
    world.put_endpoint("down", anon, host="127.0.0.1:1")
    step = _failed(world.test("down"))
    assert (step["name"], step["code"]) == ("TcpConnect", "TcpConnectionRefused")
    # Another deployment's origin: its certificate comes from a CA this one does not trust.
    foreign = server.endpoints["vault"].removeprefix("https://")
    world.put_endpoint("foreign", anon, host=foreign)
    step = _failed(world.test("foreign"))
    assert (step["name"], step["code"]) == ("TlsHandshake", "TlsUntrustedCertificate")
    assert "connection set" in step["hint"] or "CA bundle" in step["hint"]


def test_health_follows_in_the_background(world: World) -> None:
    world.put_endpoint(
        "health-down", {"method": "Anonymous", "anonymousSettings": {}}, host="127.0.0.1:1"
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        health = world.arm.get(f"{world.path('health-down')}/health", params=Q).json()
        if health["state"] != "Unknown":
            break
        time.sleep(0.2)
    assert health["state"] == "Unavailable"
    assert "TcpConnect" in health["message"] and health["lastTransitionTime"]
    doc = world.arm.get(world.path("health-down"), params={**Q, "$expand": "healthStatus"}).json()
    assert doc["properties"]["healthState"] == "Unavailable"
    assert doc["properties"]["healthStatus"]["message"] == health["message"]
    plain = world.arm.get(world.path("health-down"), params=Q).json()
    assert "healthStatus" not in plain["properties"]  # ARM's shape unless asked


@pytest.mark.anyio
async def test_request_counts_and_token_faults(world: World, access: RegistryAccess) -> None:
    mi = world.dev.identity()
    world.dev.assign(mi["clientId"], "AcrPull")
    auth = {
        "method": "UserAssignedManagedIdentity",
        "userAssignedManagedIdentitySettings": {
            "clientId": mi["clientId"],
            "tenantId": world.dev.tenant,
        },
    }
    world.put_endpoint("counted", auth)
    # Let the server's own health check of the new endpoint finish first.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if world.arm.get(f"{world.path('counted')}/health", params=Q).json()["lastCheckedTime"]:
            break
        await asyncio.sleep(0.2)
    before = world.dev.counters()
    # Faults on every token endpoint: retried, then the pulls succeed.
    world.dev.fault("identity", 429, 1, retry_after=1)
    world.dev.fault("exchange", 503, 1)
    world.dev.fault("token", 429, 1, retry_after=1)
    await asyncio.gather(*(_pull(access, world, "counted") for _ in range(100)))
    after = world.dev.counters()

    def delta(target: str) -> int:
        return int(after[target]["total"]) - int(before[target]["total"])

    # One real request each (plus one faulted attempt that was retried).
    assert delta("identity") == 2
    assert delta("exchange") == 2
    assert delta("token") == 2  # one scope set: repository:<repo>:pull


def test_cli_registry_test_and_connection_settings(
    world: World, dev_server: ServerProcess, server: ServerProcess
) -> None:
    from tests.support.cli import iotops

    world.put_endpoint(
        "cli-down", {"method": "Anonymous", "anonymousSettings": {}}, host="127.0.0.1:1"
    )
    ref = ["-n", "cli-down", "-i", world.instance, "-g", world.rg]
    r = iotops(dev_server, "registry", "test", *ref, "-o", "table")
    assert r.code == 1 and "TcpConnectionRefused" in r.stdout and "TcpConnect" in r.stdout
    r = iotops(
        dev_server,
        "registry",
        "test",
        *ref,
        "--query",
        "steps[?status=='Failed'].name",
        "-o",
        "tsv",
    )
    assert r.stdout.strip() == "TcpConnect"

    # A registry whose certificate comes from another CA passes TLS once that CA is given.
    foreign = server.endpoints["vault"].removeprefix("https://")
    world.put_endpoint("cli-ca", {"method": "Anonymous", "anonymousSettings": {}}, host=foreign)
    ref = ["-n", "cli-ca", "-i", world.instance, "-g", world.rg]
    r = iotops(dev_server, "registry", "connection", "set", *ref, "--registry-ca-file", server.ca)
    assert r.code == 0, r.stderr
    r = iotops(dev_server, "registry", "test", *ref)
    report = json.loads(r.stdout)
    assert next(s for s in report["steps"] if s["name"] == "TlsHandshake")["status"] == "Succeeded"
    # It is a vault, not a registry: the next step says so.
    assert next(s for s in report["steps"] if s["status"] == "Failed")["name"] == "RegistryPing"
    world.put_endpoint(
        "cli-remote", {"method": "Anonymous", "anonymousSettings": {}}, host="myacr.azurecr.io"
    )
    r = iotops(
        dev_server,
        "registry",
        "connection",
        "set",
        "-n",
        "cli-remote",
        "-i",
        world.instance,
        "-g",
        world.rg,
        "--plain-http",
    )
    assert r.code == 1 and "(PlainHttpNotAllowed)" in r.stderr and "loopback" in r.stderr
