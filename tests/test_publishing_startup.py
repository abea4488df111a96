"""What one ``iotops artifact push`` process costs, as CI scripts run it (one process per
artifact): the modules it imports and the requests it makes, against the real registry of
``iotops serve --dev`` (HTTPS, token service). Counts, never timings: each assertion fails
if a start-up or protocol regression comes back.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpcore
import httpx
import pytest

from iotops_registry.authn import BasicCredential, StaticBasic
from iotops_registry.oci import Digest
from iotops_registry.packaging import Publisher
from iotops_registry.remote import RegistryClient
from iotops_registry.transport import AsyncioBackend, HTTP11Transport, ssl_context_for
from tests.support.dev import Dev, dev_clients, unique
from tests.support.server import ServerProcess

if TYPE_CHECKING:  # imported by pytest as a plugin (below), so not at run time here
    from tests.support.registry import RegistryProcess

pytest_plugins = ["tests.support.registry"]

# Not needed to push an artifact: each of these cost milliseconds to tens of milliseconds
# of start-up (see docs/performance.md, "Publishing").
HEAVY = {"rich", "pydantic", "jsonschema", "yaml", "azure", "cryptography", "jwt", "jinja2",
         "jmespath", "sqlalchemy", "fastapi", "starlette", "uvicorn", "pygments", "msal"}
OTHER_COMMANDS = {f"iotops_registry.cli.{name}" for name in (
    "acr", "client", "connector", "dev", "endpoint_body", "graph", "identity", "instance",
    "portal", "registry", "secret", "secretsync", "serve", "signing")}


@dataclass
class Pusher:
    dev: Dev
    team: str
    username: str
    password: str
    env: dict[str, str]

    def push(self, ref: str, *args: str) -> subprocess.CompletedProcess[str]:
        """A real ``iotops artifact push`` process, with ``-X importtime`` on stderr."""
        return subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "iotops_registry", "artifact", "push",
             ref, *args, "-u", self.username, "--password-stdin", "--no-progress", "-o",
             "json"],
            input=self.password + "\n", capture_output=True, text=True, env=self.env,
            timeout=120,
        )

    def counts(self, repository: str) -> dict[str, int]:
        body = self.dev.ok(self.dev.admin.get("/-/dev/counters/registry"))
        return dict(body["byRepository"].get(repository, {}))


@pytest.fixture(scope="module")
def pusher(dev_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Pusher]:
    with dev_clients(dev_server) as dev:
        team = unique("start")
        user, password = dev.repository_token(f"{team}/*", ["pull", "push"])
        docker = tmp_path_factory.mktemp("startdocker")
        env = {**dev_server.cli_env(), "DOCKER_CONFIG": str(docker)}
        yield Pusher(dev, team, user, password, env)


def _imported(stderr: str) -> set[str]:
    """Module names from ``-X importtime`` lines: ``import time: self | cumulative | name``."""
    names = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            name = line.rsplit("|", 1)[1].strip()
            if name != "package":  # the header line
                names.add(name)
    return names


def _files(where: Path) -> list[str]:
    specs = []
    for name in ("one.bin", "two.bin"):
        path = where / name
        path.write_bytes(os.urandom(4096))
        specs.append(f"{path}:application/octet-stream")
    return specs


def test_a_push_process_imports_only_what_pushing_needs(pusher: Pusher, tmp_path: Path
                                                        ) -> None:
    done = pusher.push(f"{pusher.dev.registry}/{pusher.team}/imports:1", *_files(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout)["digest"].startswith("sha256:")
    imported = _imported(done.stderr)
    assert "iotops_registry.cli.artifact" in imported  # the parse sees the real list
    assert not {m for m in imported if m.split(".")[0] in HEAVY}
    assert not imported & OTHER_COMMANDS


def test_requests_per_small_artifact(pusher: Pusher, tmp_path: Path) -> None:
    """Two small files and the empty config into a fresh repository: per blob one POST and
    one PUT (a small blob is not HEADed first: uploading it costs what the HEAD would),
    then the manifest; the first request goes alone and draws the one 401 (the challenge),
    the others wait for its token. Twelve requests before (five HEADs, two of them 401s)."""
    repository = f"{pusher.team}/requests"
    files = _files(tmp_path)
    tokens = pusher.dev.counters()["token"]["total"]
    done = pusher.push(f"{pusher.dev.registry}/{repository}:1", *files)
    assert done.returncode == 0, done.stderr[-3000:]
    assert pusher.counts(repository) == {"POST upload": 4, "PUT upload": 3, "PUT manifest": 1}
    assert pusher.dev.counters()["token"]["total"] - tokens == 1


class _Connects(AsyncioBackend):
    """The real network backend, counting the TCP connections it opens."""

    def __init__(self) -> None:
        super().__init__()
        self.connects = 0

    async def connect_tcp(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        self.connects += 1
        return await super().connect_tcp(*args, **kwargs)


class _Counting(httpx.AsyncBaseTransport):
    """The real network layer, with each request written down (method, path, mount)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.seen: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        mount = " mount" if "mount" in request.url.params else ""
        self.seen.append(f"{request.method} {request.url.path.rsplit('/', 2)[-2]}{mount}")
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def test_blobs_pushed_before_are_mounted_into_the_next_repository(
    registry: RegistryProcess, tmp_path: Path
) -> None:
    """Pushing the same files to a second repository (CI: one artifact into several
    repositories, or the empty config of many artifacts) mounts every blob: one request
    each instead of POST + PUT. The real registry (htpasswd Basic auth), in process."""
    files = [(Path(spec.rsplit(":", 1)[0]), "application/octet-stream")
             for spec in _files(tmp_path)]
    backend = _Connects()
    counting = _Counting(HTTP11Transport(ssl_context=ssl_context_for(True), backend=backend))

    async def main() -> list[str]:
        auth = StaticBasic(BasicCredential(registry.username, registry.password))
        async with RegistryClient(registry.host, authenticator=auth, plain_http=True,
                                  transport=counting) as client:
            publisher = Publisher(client)
            await publisher.push_files(unique("mnt/a"), "1", files, artifact_type=None,
                                       config=None, annotations={})
            first = len(counting.seen)
            target = unique("mnt/b")
            await publisher.push_files(target, "1", files, artifact_type=None, config=None,
                                       annotations={})
            for path, _ in files:  # readable where they were mounted
                assert await client.get_blob(target, Digest.of(path.read_bytes())) == (
                    path.read_bytes())
            return counting.seen[first:]

    with ThreadPoolExecutor(1) as pool:  # a loop of its own (see test_publishing_upload)
        second = pool.submit(asyncio.run, main()).result()
    assert sorted(second[:4]) == ["POST uploads mount"] * 3 + ["PUT manifests"]
    # Connections are reused: small answers are read to their end before they are closed
    # (else each request opened its own: 16 here). At most one per request in flight.
    assert backend.connects <= 4
