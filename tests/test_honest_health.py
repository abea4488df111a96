"""A connection test says Succeeded, and health Available, only after a real pull.

Against the real registry of ``iotops serve --dev``: for each of the four methods, a
credential that authenticates but cannot pull is never Succeeded or Available, whether the
test runs through the API or the CLI without a repository, or the background monitor checks
the endpoint after it is created. The test picks a repository by itself (the host's path
prefix, the probe repository of the connection settings, the catalog), and a credential
that can pull is still Succeeded and Available (the positive control).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.cli import iotops
from tests.support.server import ServerProcess
from tests.test_access import Q, World, world_on

CATALOG_SCOPE = "https://containerregistry.azure.net/.default"


@pytest.fixture(scope="module")
def world(dev_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with world_on(dev_server, tmp_path_factory.mktemp("honest")) as w:
        w.dev.anonymous_pull(False)
        yield w


def _step(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in report["steps"] if s["name"] == name)


def _unverified(report: dict[str, Any]) -> None:
    """Authenticated, nothing failed, but no pull proven: PartiallyVerified."""
    assert report["status"] == "PartiallyVerified", json.dumps(report, indent=1)
    pull = _step(report, "PullPermission")
    assert (pull["status"], pull["code"]) == ("Skipped", "PullNotVerified")
    assert "not verified" in pull["message"] and "--probe-repository" in pull["hint"]
    assert not any(s["status"] == "Failed" for s in report["steps"])


def background_health(world: World, name: str, timeout: float = 60) -> dict[str, Any]:
    """The health the monitor recorded after the endpoint's PUT (no test run by us)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = world.arm.get(f"{world.path(name)}/health", params=Q)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        if body["state"] != "Unknown":
            return body
        time.sleep(0.3)
    raise AssertionError(f"the monitor never checked {name}")


def _uami(world: World, client_id: str) -> dict[str, Any]:
    return {
        "method": "UserAssignedManagedIdentity",
        "userAssignedManagedIdentitySettings": {
            "clientId": client_id,
            "tenantId": world.dev.tenant,
            "scope": CATALOG_SCOPE,
        },
    }


SAMI = {"method": "SystemAssignedManagedIdentity", "systemAssignedManagedIdentitySettings": {}}
ANON = {"method": "Anonymous", "anonymousSettings": {}}


def _cannot_pull(world: World, method: str) -> dict[str, Any]:
    """An endpoint whose credential authenticates but may not pull or list."""
    if method == "Anonymous":
        return ANON  # anonymous pull is disabled on the registry
    if method == "SystemAssigned":
        system = world.dev.system_identity()["clientId"]
        world.dev.unassign(system, "AcrPull")  # another test may have granted it
        world.dev.assign(system, "AcrDelete")
        return SAMI
    if method == "UserAssigned":
        mi = world.dev.identity()
        world.dev.assign(mi["clientId"], "AcrDelete")  # authenticates, cannot pull
        return _uami(world, mi["clientId"])
    user, password = world.dev.repository_token("elsewhere/*", ["pull"])
    return world.pull_secret(f"narrow-{method.lower()}", user, password)


@pytest.mark.parametrize(
    "method", ["Anonymous", "SystemAssigned", "UserAssigned", "ArtifactPullSecret"]
)
def test_authenticates_but_cannot_pull_is_never_succeeded(world: World, method: str) -> None:
    name = f"nopull-{method.lower()}"
    world.put_endpoint(name, _cannot_pull(world, method))
    try:
        # The background monitor checks it after the PUT: never Available.
        health = background_health(world, name)
        assert health["state"] == "Degraded", health
        assert "pull permission is not verified" in health["message"], health
        # The API without a repository: the catalog is denied, nothing proves a pull.
        report = world.test(name)
        _unverified(report)
        catalog = _step(report, "CatalogPermission")
        assert (catalog["status"], catalog["code"]) == ("Warning", "CatalogDenied")
        if method == "Anonymous":
            assert catalog["message"].startswith("Requests without credentials cannot list")
        # The CLI without --repository: the same verdict, and a failing exit code.
        cli = iotops(world.dev.server, "registry", "test", "-n", name, "-i", world.instance,
                     "-g", world.rg, "-o", "json")
        assert cli.code == 1, cli.output
        assert json.loads(cli.stdout)["status"] == "PartiallyVerified"
        # With a repository to pull from (the probe repository), the denial is named.
        settings = {"properties": {"probeRepository": world.repo}}
        r = world.arm.put(f"{world.path(name)}/connectionSettings", params=Q, json=settings)
        assert r.status_code == 200, r.text
        report = world.test(name)
        assert report["status"] == "Failed", json.dumps(report, indent=1)
        pull = _step(report, "PullPermission")
        assert (pull["status"], pull["code"]) == ("Failed", "PullDenied")
        assert report["repository"] == world.repo
        r = world.arm.get(f"{world.path(name)}/health", params=Q)
        assert r.json()["state"] == "Degraded"
    finally:
        if method == "SystemAssigned":
            world.dev.unassign(world.dev.system_identity()["clientId"], "AcrDelete")


def test_a_real_pull_is_succeeded_and_available(world: World) -> None:
    """The positive control: an identity with AcrPull, no repository named. The test picks
    one from the catalog, pulls, and only then says Succeeded; health is Available."""
    mi = world.dev.identity()
    world.dev.assign(mi["clientId"], "AcrPull")
    world.put_endpoint("canpull", _uami(world, mi["clientId"]))
    health = background_health(world, "canpull")
    assert health["state"] == "Available", health
    assert "including a pull from" in health["message"]
    assert "(" not in health["message"], "no nested brackets in the health note"
    report = world.test("canpull")
    assert report["status"] == "Succeeded", json.dumps(report, indent=1)
    pull = _step(report, "PullPermission")
    assert pull["code"] == "PullAllowed" and "chosen from the catalog" in pull["message"]
    assert report["repository"] is not None
    catalog = _step(report, "CatalogPermission")
    assert catalog["status"] == "Succeeded" and catalog["hint"] == ""


def test_path_prefix_and_probe_repository_are_tried_first(world: World) -> None:
    user, password = world.dev.repository_token(world.repo, ["pull"])
    prefix_host = f"{world.dev.registry}/{world.repo}"
    world.put_endpoint("by-prefix", world.pull_secret("by-prefix", user, password),
                       host=prefix_host)
    report = world.test("by-prefix")
    assert report["status"] == "Succeeded", json.dumps(report, indent=1)
    assert report["repository"] == world.repo
    assert "the host's path prefix" in _step(report, "PullPermission")["message"]
    assert "1 tag seen" in _step(report, "PullPermission")["message"]
    # A probe repository the credential may pull but that does not exist proves nothing:
    # it is named, not passed.
    user, password = world.dev.repository_token("no/*", ["pull"])
    world.put_endpoint("ghost", world.pull_secret("ghost", user, password))
    r = world.arm.put(f"{world.path('ghost')}/connectionSettings", params=Q,
                      json={"properties": {"probeRepository": "no/such-repo"}})
    assert r.status_code == 200, r.text
    report = world.test("ghost")
    _unverified(report)
    assert "'no/such-repo' do not exist" in _step(report, "PullPermission")["message"]


def test_named_pull_has_no_repository_hint(world: World) -> None:
    user, password = world.dev.repository_token(world.repo, ["pull"])
    world.put_endpoint("named", world.pull_secret("named", user, password))
    report = world.test("named", world.repo)
    assert report["status"] == "Succeeded"
    for step in report["steps"]:
        assert "Name a repository" not in step["hint"], step


def test_probe_repository_is_validated(world: World) -> None:
    world.put_endpoint("validated", ANON)
    for bad in ("../../etc", "UPPER/case", ""):
        r = world.arm.put(f"{world.path('validated')}/connectionSettings", params=Q,
                          json={"properties": {"probeRepository": bad}})
        assert r.status_code == 400, (bad, r.text)
        assert r.json()["error"]["target"] == "properties.probeRepository"
    r = world.arm.post(f"{world.path('validated')}/test", params=Q,
                       json={"repository": "UPPER/case"})
    assert r.status_code == 400 and r.json()["error"]["target"] == "repository", r.text
