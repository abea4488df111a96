"""The dev registry's front: one origin relaying ``/v2/`` to the registry child, streamed;
what it passes through (Range, HEAD, digests, Link), the upload URLs it hands out, its
counters, and the fault that drops an upload's connection mid-body, from which
``iotops artifact push`` resumes at the offset the registry reports."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.dev import Dev, cert_dir, dev_clients, oci_layout, skopeo, unique
from tests.support.server import ServerProcess


@pytest.fixture(scope="module")
def dev(dev_server: ServerProcess) -> Iterator[Dev]:
    with dev_clients(dev_server) as clients:
        yield clients


class Team:
    def __init__(self, dev: Dev) -> None:
        self.dev = dev
        self.name = unique("front")
        self.user, self.password = dev.repository_token(f"{self.name}/*", ["pull", "push"])

    def token(self, repo: str) -> dict[str, str]:
        answer = self.dev.token_by_get(f"repository:{repo}:pull,push",
                                       basic=(self.user, self.password))
        return {"Authorization": f"Bearer {answer.json()['token']}"}

    def url(self, path: str) -> str:
        return f"https://{self.dev.registry}{path}"


@pytest.fixture
def team(dev: Dev) -> Team:
    return Team(dev)


def registry_counts(dev: Dev, repo: str | None = None) -> dict[str, int]:
    body = dev.ok(dev.admin.get("/-/dev/counters/registry"))
    if repo is None:
        return dict(body["byKey"])
    return dict(body["byRepository"].get(repo, {}))


def test_one_origin_and_no_private_port_in_endpoints(dev: Dev) -> None:
    endpoints = dev.server.endpoints
    assert endpoints["token"] == f"https://{endpoints['registry']}"
    config = (dev.server.data_dir / "devregistry" / "config.yml").read_text()
    private = config.split("addr:")[1].split()[0].strip("'\"")
    assert private != endpoints["registry"]
    assert private.rsplit(":", 1)[1] not in str(endpoints)
    unknown = dev.tls.get(f"https://{dev.registry}/elsewhere")
    assert unknown.status_code == 404 and unknown.json()["errors"][0]["code"] == "NOT_FOUND"


def test_relay_passes_range_head_digests_and_counts(
    dev: Dev, team: Team, tmp_path: Path
) -> None:
    repo = f"{team.name}/module"
    layout = oci_layout(tmp_path / "layout", "v1", os.urandom(300_000))
    certs = str(cert_dir(dev.server, tmp_path / "certs"))
    pushed = skopeo("copy", "--dest-creds", f"{team.user}:{team.password}", "--dest-cert-dir",
                    certs, f"oci:{layout.path}:v1", f"docker://{dev.registry}/{repo}:v1")
    assert pushed.returncode == 0, pushed.stderr
    auth = team.token(repo)
    digest = "sha256:" + hashlib.sha256(layout.layer).hexdigest()
    before = registry_counts(dev, repo)

    head = dev.tls.head(team.url(f"/v2/{repo}/manifests/v1"),
                        headers={**auth, "Accept": "application/vnd.oci.image.manifest.v1+json"})
    assert head.status_code == 200 and head.headers["docker-content-digest"] == (
        layout.manifest_digest)
    assert int(head.headers["content-length"]) > 0 and head.content == b""
    part = dev.tls.get(team.url(f"/v2/{repo}/blobs/{digest}"),
                       headers={**auth, "Range": "bytes=1000-1999"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 1000-1999/{len(layout.layer)}"
    assert part.content == layout.layer[1000:2000]
    whole = dev.tls.get(team.url(f"/v2/{repo}/blobs/{digest}"), headers=auth)
    assert whole.content == layout.layer and whole.headers["docker-content-digest"] == digest
    after = registry_counts(dev, repo)
    assert after.get("HEAD manifest", 0) == before.get("HEAD manifest", 0) + 1
    assert after.get("GET blob", 0) == before.get("GET blob", 0) + 2
    totals = registry_counts(dev)
    assert totals["GET blob"] >= 2 and totals["HEAD manifest"] >= 1

    # Link passes through (the registry's paging of its catalog, two repositories at least).
    assert skopeo("copy", "--dest-creds", f"{team.user}:{team.password}", "--dest-cert-dir",
                  certs, f"oci:{layout.path}:v1",
                  f"docker://{dev.registry}/{repo}-b:v1").returncode == 0
    mi = dev.identity()
    dev.assign(mi["clientId"])
    refresh = dev.refresh(dev.imds_token(client_id=mi["clientId"]))
    catalog = dev.token_by_refresh(refresh, "registry:catalog:*").json()["token"]
    page = dev.tls.get(team.url("/v2/_catalog"), params={"n": 1},
                       headers={"Authorization": f"Bearer {catalog}"})
    assert page.status_code == 200 and len(page.json()["repositories"]) == 1
    assert page.headers["link"].startswith("</v2/_catalog?")


def test_upload_urls_are_relative_stable_and_checked(dev: Dev, team: Team) -> None:
    repo = f"{team.name}/chunks"
    auth = team.token(repo)
    started = dev.tls.post(team.url(f"/v2/{repo}/blobs/uploads/"), headers=auth)
    assert started.status_code == 202
    location = started.headers["location"]
    assert location.startswith(f"/v2/{repo}/blobs/uploads/") and "_state" not in location
    data = os.urandom(100_000)
    first = dev.tls.patch(team.url(location), content=data[:60_000], headers={
        **auth, "Content-Type": "application/octet-stream", "Content-Range": "0-59999"})
    assert first.status_code == 202 and first.headers["range"] == "0-59999"
    assert first.headers["location"] == location  # one URL for the whole session
    # A chunk that does not start where the session stands is refused (416), not appended.
    wrong = dev.tls.patch(team.url(location), content=data[:10], headers={
        **auth, "Content-Type": "application/octet-stream", "Content-Range": "0-9"})
    assert wrong.status_code == 416 and wrong.headers["range"] == "0-59999"
    status = dev.tls.get(team.url(location), headers=auth)
    assert status.status_code == 204 and status.headers["range"] == "0-59999"
    rest = dev.tls.patch(team.url(location), content=data[60_000:], headers={
        **auth, "Content-Type": "application/octet-stream", "Content-Range": "60000-99999"})
    assert rest.status_code == 202
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    done = dev.tls.put(team.url(location), params={"digest": digest}, headers=auth)
    assert done.status_code == 201, done.text
    assert done.headers["location"] == f"/v2/{repo}/blobs/{digest}"
    assert done.headers["docker-content-digest"] == digest


def test_the_upload_fault_drops_the_connection_without_an_answer(dev: Dev, team: Team) -> None:
    """The fault is a real drop: the client gets no HTTP answer at all."""
    repo = f"{team.name}/drop"
    auth = team.token(repo)
    location = dev.tls.post(team.url(f"/v2/{repo}/blobs/uploads/"),
                            headers=auth).headers["location"]
    dev.ok(dev.admin.post("/-/dev/faults", json={"target": "upload", "afterBytes": 1 << 20}))
    assert dev.ok(dev.admin.get("/-/dev/faults"))["upload"]["afterBytes"] == 1 << 20
    with pytest.raises(httpx.TransportError):
        dev.tls.patch(team.url(location), content=os.urandom(8 << 20), headers={
            **auth, "Content-Type": "application/octet-stream"})
    assert "upload" not in dev.ok(dev.admin.get("/-/dev/faults"))
    # The registry kept exactly what passed, and says so at the same URL.
    status = dev.tls.get(team.url(location), headers=auth)
    assert status.status_code == 204 and status.headers["range"] == f"0-{(1 << 20) - 1}"


def test_status_faults_on_the_registry(dev: Dev, team: Team) -> None:
    dev.fault("registry", 503, count=2)
    answers = [dev.tls.get(f"https://{dev.registry}/v2/").status_code for _ in range(3)]
    assert answers == [503, 503, 401]


def test_push_of_64_mib_resumes_after_a_dropped_connection(
    dev: Dev, team: Team, tmp_path: Path
) -> None:
    """``iotops artifact push`` (a real process) of a 64 MiB file: the connection drops after
    24 MiB of the upload; the client asks the session where it stands, resumes from the
    registry's offset, and the registry accepts the digest it computed on the way."""
    big = tmp_path / "big.bin"
    hasher = hashlib.sha256()
    with big.open("wb") as handle:
        for _ in range(64):
            block = os.urandom(1 << 20)
            hasher.update(block)
            handle.write(block)
    digest = "sha256:" + hasher.hexdigest()
    repo = f"{team.name}/big"
    ref = f"{dev.registry}/{repo}:1.0.0"
    dev.ok(dev.admin.post("/-/dev/faults", json={"target": "upload", "afterBytes": 24 << 20}))
    before = registry_counts(dev, repo)
    env = {**dev.server.cli_env(), "DOCKER_CONFIG": str(tmp_path / "docker")}
    pushed = subprocess.run(
        [sys.executable, "-m", "iotops_registry", "artifact", "push", ref,
         f"{big}:application/octet-stream", "-u", team.user, "--password-stdin",
         "--no-progress", "-o", "json"],
        input=team.password + "\n", capture_output=True, text=True, env=env, timeout=300,
    )
    assert pushed.returncode == 0, pushed.stderr
    after = registry_counts(dev, repo)
    patches = after.get("PATCH upload", 0) - before.get("PATCH upload", 0)
    asked = after.get("GET upload", 0) - before.get("GET upload", 0)
    assert patches == 2 and asked == 1  # the cut PATCH, the status, the resumed PATCH
    assert "upload" not in dev.ok(dev.admin.get("/-/dev/faults"))

    auth = team.token(repo)
    manifest = dev.tls.get(team.url(f"/v2/{repo}/manifests/1.0.0"), headers={
        **auth, "Accept": "application/vnd.oci.image.manifest.v1+json"}).json()
    assert manifest["layers"][0]["digest"] == digest
    assert manifest["layers"][0]["size"] == 64 << 20
    pulled = hashlib.sha256()
    with dev.tls.stream("GET", team.url(f"/v2/{repo}/blobs/{digest}"), headers=auth) as blob:
        assert blob.status_code == 200
        for chunk in blob.iter_bytes():
            pulled.update(chunk)
    assert "sha256:" + pulled.hexdigest() == digest


def test_fault_and_counter_validation(dev: Dev) -> None:
    def inject(body: dict[str, Any]) -> httpx.Response:
        return dev.admin.post("/-/dev/faults", json=body)

    assert inject({"target": "upload"}).status_code == 400  # afterBytes is required
    assert inject({"target": "token", "afterBytes": 5}).status_code == 400
    assert inject({"target": "nowhere"}).status_code == 400
    counters = dev.ok(dev.admin.get("/-/dev/counters"))
    assert list(counters) == ["identity", "exchange", "token"]
    assert set(dev.ok(dev.admin.get("/-/dev/counters/registry"))) == {
        "total", "byKey", "byRepository"}
