#!/usr/bin/env python3
"""Benchmark the dev registry's front: pulls through the one origin against direct pulls.

Starts a real ``iotops serve --dev`` (data directory on /dev/shm, so the disk stays out of
the figures), pushes one blob of ``--mib`` MiB through the front with our client, and starts
a second CNCF Distribution registry with TLS (the project's CA) over the *same* storage: the
registry as clients reached it before the front existed. Then, interleaved per repetition so
machine noise hits all alike, one full download of the blob by each of:

- ``front`` — through the one origin (HTTPS from the front, plain HTTP to the registry);
- ``direct-tls`` — straight to the second registry over HTTPS (the fair baseline);
- ``direct-plain`` — straight to the registry child's private plain-HTTP port;

with two clients: ``ours`` (``RegistryClient.download_blob``: streamed to a file, sha256
verified) and ``curl`` (``-o /dev/null`` with a bearer token: a C client, so the figure is
the server side's ceiling). Prints a Markdown table: median wall time and throughput, the
front's CPU (the server process) and the registry's, and front / direct-tls per client.

Usage::

    .venv/bin/python benchmarks/front.py             # 256 MiB, 5 repetitions
    .venv/bin/python benchmarks/front.py --mib 64 --reps 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from iotops_registry import LocalIssuerCredential
from iotops_registry.authn import BasicCredential, StaticBasic
from iotops_registry.devregistry import RegistryConfig, RegistryProcess, free_port
from iotops_registry.oci import Digest, Manifest
from iotops_registry.oci import mediatypes as mt
from iotops_registry.remote import RegistryClient

CLK_TCK = os.sysconf("SC_CLK_TCK")
REPO = "bench/big"


def cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


@dataclass
class Series:
    walls: list[float] = field(default_factory=list)
    front_cpu: list[float] = field(default_factory=list)
    registry_cpu: list[float] = field(default_factory=list)


class Bench:
    def __init__(self, root: Path, mib: int) -> None:
        self.root = root
        self.mib = mib
        self.data = root / "data"
        self.server: subprocess.Popen[bytes] | None = None
        self.tls_registry: RegistryProcess | None = None
        self.endpoints: dict[str, str] = {}

    def start(self) -> None:
        log = (self.root / "server.log").open("ab")
        self.server = subprocess.Popen(
            [sys.executable, "-m", "iotops_registry", "serve", "--data-dir", str(self.data),
             "--port", "0", "--dev", "--log-level", "warning", "--health-interval", "0"],
            stdout=log, stderr=log,
        )
        path = self.data / "endpoints.json"
        deadline = time.monotonic() + 60
        while not path.exists():
            if self.server.poll() is not None or time.monotonic() > deadline:
                sys.exit((self.root / "server.log").read_text()[-3000:])
            time.sleep(0.1)
        time.sleep(0.2)
        self.endpoints = json.loads(path.read_text())
        self.registry_pid = next(
            c for c in children(self.server.pid)
            if Path(f"/proc/{c}/cmdline").read_bytes().split(b"\0")[0].endswith(
                b"docker-registry")
        )
        config = (self.data / "devregistry" / "config.yml").read_text()
        self.private = config.split("addr:")[1].split()[0].strip("'\"")

    def start_tls_twin(self) -> None:
        """The same storage behind a TLS registry of its own: the direct baseline."""
        twin = self.root / "twin"
        twin.mkdir()
        (twin / "storage").symlink_to(self.data / "devregistry" / "storage")
        tls = self.data / "tls"
        host = self.endpoints["registry"]
        config = RegistryConfig(
            twin, free_port(), f"https://{host}/oauth2/token", host, f"https://{host}",
            self.data / "devregistry" / "token-signing.pem", tls_cert=tls / "registry.pem",
            tls_key=tls / "registry-key.pem",
        )
        self.tls_registry = RegistryProcess(shutil.which("docker-registry") or "", config,
                                            Path(self.endpoints["ca"]))
        self.tls_registry.start()
        self.twin_host = f"127.0.0.1:{config.port}"

    def credentials(self) -> tuple[str, str]:
        arm = LocalIssuerCredential(self.data).mint("https://management.azure.com")
        with httpx.Client(base_url=self.endpoints["arm"], verify=self.endpoints["ca"],
                          headers={"Authorization": f"Bearer {arm}"}) as admin:
            body = {"name": "bench-token", "scopes": [{"repository": "bench/*",
                                                       "actions": ["pull", "push"]}]}
            doc = admin.post("/-/dev/registry/tokens", json=body).json()
        return str(doc["username"]), str(doc["password"])

    def stop(self) -> None:
        if self.tls_registry is not None:
            self.tls_registry.stop()
        if self.server is not None and self.server.poll() is None:
            self.server.terminate()
            self.server.wait(timeout=20)


def client(host: str, auth: StaticBasic, ca: str, *, plain: bool, realm_host: str
           ) -> RegistryClient:
    context = ssl.create_default_context(cafile=ca)
    return RegistryClient(host, authenticator=auth, verify=context, plain_http=plain,
                          allowed_realm_hosts=[realm_host])


async def run(args: argparse.Namespace) -> None:
    shm = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path(tempfile.gettempdir())
    root = Path(tempfile.mkdtemp(prefix="iotops-front-bench-", dir=shm))
    bench = Bench(root, args.mib)
    try:
        bench.start()
        user, password = bench.credentials()
        auth = StaticBasic(BasicCredential(user, password))
        ca, front = bench.endpoints["ca"], bench.endpoints["registry"]
        blob = root / "big.bin"
        with blob.open("wb") as handle:
            for _ in range(args.mib):
                handle.write(os.urandom(1 << 20))
        async with client(front, auth, ca, plain=False, realm_host=front) as c:
            start = time.perf_counter()
            layer = await c.push_blob(REPO, blob, media_type=mt.WASM_LAYER)
            push_s = time.perf_counter() - start
            config = await c.push_blob(REPO, mt.OCI_EMPTY_JSON, media_type=mt.OCI_EMPTY)
            await c.put_manifest(REPO, "v1", Manifest(config=config, layers=(layer,)))
        blob.unlink()
        print(f"pushed {args.mib} MiB through the front in {push_s:.2f} s "
              f"({args.mib * 1.048576 / push_s:.0f} MB/s)")
        bench.start_tls_twin()
        token = httpx.get(f"https://{front}/oauth2/token", verify=ca, auth=(user, password),
                          params={"service": front, "scope": f"repository:{REPO}:pull"}
                          ).json()["token"]
        targets = {
            "front": (front, False),
            "direct-tls": (bench.twin_host, False),
            "direct-plain": (bench.private, True),
        }
        series: dict[tuple[str, str], Series] = {}
        dest = root / "out.bin"
        assert bench.server is not None
        for _ in range(args.reps):
            for name, (host, plain) in targets.items():
                for tool in ("ours", "curl"):
                    s = series.setdefault((tool, name), Series())
                    registry_pid = (bench.tls_registry.pid if name == "direct-tls"
                                    else bench.registry_pid)
                    assert registry_pid is not None
                    f0, r0 = cpu(bench.server.pid), cpu(registry_pid)
                    start = time.perf_counter()
                    if tool == "ours":
                        async with client(host, auth, ca, plain=plain, realm_host=front) as c:
                            await c.download_blob(REPO, Digest.parse(str(layer.digest)), dest,
                                                  size=layer.size)
                    else:
                        scheme = "http" if plain else "https"
                        subprocess.run(
                            ["curl", "-sSf", "--cacert", ca, "-o", "/dev/null",
                             "-H", f"Authorization: Bearer {token}",
                             f"{scheme}://{host}/v2/{REPO}/blobs/{layer.digest}"],
                            check=True,
                        )
                    s.walls.append(time.perf_counter() - start)
                    s.front_cpu.append(cpu(bench.server.pid) - f0)
                    s.registry_cpu.append(cpu(registry_pid) - r0)
        size_mb = layer.size / 1e6
        print()
        print(f"{args.mib} MiB blob, {args.reps} repetitions, median of each; CPU in seconds "
              "per pull (front: the iotops server process; registry: the docker-registry "
              "serving it)")
        print()
        print("| client | path | median s | throughput | front CPU s | registry CPU s | "
              "vs direct-tls |")
        print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
        for tool in ("ours", "curl"):
            base = statistics.median(series[(tool, "direct-tls")].walls)
            for name in targets:
                s = series[(tool, name)]
                wall = statistics.median(s.walls)
                print(f"| {tool} | {name} | {wall:.3f} | {size_mb / wall:.0f} MB/s | "
                      f"{statistics.median(s.front_cpu):.2f} | "
                      f"{statistics.median(s.registry_cpu):.2f} | {base / wall:.0%} |")
    finally:
        bench.stop()
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mib", type=int, default=256)
    parser.add_argument("--reps", type=int, default=5)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
