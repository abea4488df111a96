#!/usr/bin/env python3
"""Benchmark registry pulls: our RegistryClient against skopeo, in the same run.

Starts a real CNCF Distribution registry (Debian's ``docker-registry``) on 127.0.0.1 over
plain HTTP without authentication, its storage on /dev/shm (the filesystem driver fsyncs a
lot; tmpfs takes the disk out of the figures), and pushes with our client (untimed):

- **big**: one artifact with one 256 MiB layer (random bytes, a WASM layer media type, so
  skopeo copies it byte for byte);
- **small**: 200 artifacts of two 4 KiB layers each, one repository each.

Then, for several repetitions, interleaving the tools so that machine noise hits all alike:

- ``ours``: a fresh ``RegistryClient`` per repetition; manifest + every blob into a fresh
  directory on the destination filesystem, each blob sha256-verified while it streams;
  the small artifacts with ``--concurrency`` (8) pulls in flight;
- ``ours-stock``: the same for the big blob, but over httpx's stock ``AsyncHTTPTransport``
  instead of our network backend (shows what the backend is worth);
- ``skopeo``: ``skopeo copy docker://... oci:DIR`` (verifies digests too), one process per
  artifact for the small ones;
- ``skopeo-sync``: one ``skopeo sync --src yaml --dest dir`` process for all 200.

Prints a Markdown table: wall time (min / median / max), throughput or per-artifact time,
the tool's CPU time (ours: the whole process, hashing thread included; skopeo: its child
processes), the registry's CPU time, and the ratio of our median throughput to skopeo's.

Usage::

    .venv/bin/python benchmarks/pull.py                    # 5 repetitions
    .venv/bin/python benchmarks/pull.py --reps 3 --small 50 --big-mib 64
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import resource
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from iotops_registry.oci import Manifest
from iotops_registry.oci import mediatypes as mt
from iotops_registry.remote import RegistryClient

CLK_TCK = os.sysconf("SC_CLK_TCK")


# -- the registry ----------------------------------------------------------------------------


class Registry:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        binary = shutil.which("docker-registry")
        if binary is None:
            sys.exit("docker-registry is not installed: apt-get install docker-registry skopeo")
        (self.root / "store").mkdir(parents=True)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        config = self.root / "config.yml"
        config.write_text(
            "version: 0.1\n"
            "log: {level: error, accesslog: {disabled: true}}\n"
            "storage:\n"
            f"  filesystem: {{rootdirectory: {self.root / 'store'}}}\n"
            "  delete: {enabled: true}\n"
            "  cache: {blobdescriptor: inmemory}\n"
            "http:\n"
            f"  addr: 127.0.0.1:{self.port}\n"
            f"  secret: {secrets.token_hex(16)}\n"
        )
        log = (self.root / "registry.log").open("ab")
        self.proc = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=log)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        sys.exit("the registry did not start")

    def cpu(self) -> float:
        """User + system CPU seconds of the registry process so far."""
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


# -- measuring -------------------------------------------------------------------------------


@dataclass
class Series:
    tool: str
    workload: str
    walls: list[float] = field(default_factory=list)
    tool_cpu: list[float] = field(default_factory=list)
    registry_cpu: list[float] = field(default_factory=list)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def measure(
    series: Series, registry: Registry, run: Callable[[], Awaitable[None]], *, ours: bool
) -> None:
    cpu0 = time.process_time() if ours else children_cpu()
    reg0 = registry.cpu()
    start = time.perf_counter()
    await run()
    series.walls.append(time.perf_counter() - start)
    series.tool_cpu.append((time.process_time() if ours else children_cpu()) - cpu0)
    series.registry_cpu.append(registry.cpu() - reg0)


# -- the pulls -------------------------------------------------------------------------------


async def pull_artifact(client: RegistryClient, repository: str, tag: str, dest: Path) -> None:
    """Manifest and every blob into ``dest`` (like an OCI layout's blobs/sha256)."""
    fetched = await client.get_manifest(repository, tag)
    manifest = fetched.parse()
    assert isinstance(manifest, Manifest)
    blobs = dest / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    (blobs / fetched.digest.hex).write_bytes(fetched.data)
    for descriptor in (manifest.config, *manifest.layers):
        await client.download_blob(
            repository, descriptor.digest, blobs / descriptor.digest.hex, size=descriptor.size
        )


def skopeo_copy(host: str, repository: str, tag: str, dest: Path) -> None:
    subprocess.run(
        [
            "skopeo",
            "copy",
            "--insecure-policy",
            "-q",
            "--src-tls-verify=false",
            f"docker://{host}/{repository}:{tag}",
            f"oci:{dest}:{tag}",
        ],
        check=True,
        capture_output=True,
    )


def skopeo_sync(host: str, repositories: list[str], dest: Path, workdir: Path) -> None:
    spec = workdir / "sync.yaml"
    images = "".join(f"    {r}: [v1]\n" for r in repositories)
    spec.write_text(f"{host}:\n  tls-verify: false\n  images:\n{images}")
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "skopeo",
            "sync",
            "--insecure-policy",
            "--src",
            "yaml",
            "--dest",
            "dir",
            "--scoped",
            str(spec),
            str(dest),
        ],
        check=True,
        capture_output=True,
    )


# -- main ------------------------------------------------------------------------------------


async def prepare(registry: Registry, work: Path, big_mib: int, small: int) -> list[str]:
    big = work / "big.bin"
    with big.open("wb") as handle:
        for _ in range(big_mib):
            handle.write(os.urandom(1 << 20))
    async with RegistryClient(registry.host, plain_http=True) as client:
        start = time.perf_counter()
        config = await client.push_blob("big", mt.OCI_EMPTY_JSON, media_type=mt.OCI_EMPTY)
        layer = await client.push_blob("big", big, media_type=mt.WASM_LAYER)
        await client.put_manifest(
            "big", "v1", Manifest(config=config, layers=(layer,), artifact_type=mt.WASM_LAYER)
        )
        print(f"pushed the {big_mib} MiB blob in {time.perf_counter() - start:.2f} s")
        big.unlink()
        repositories = [f"small/a{i:03d}" for i in range(small)]
        gate = asyncio.Semaphore(8)

        async def push_one(repository: str) -> None:
            async with gate:
                cfg = await client.push_blob(repository, mt.OCI_EMPTY_JSON, media_type=mt.OCI_EMPTY)
                layers = [
                    await client.push_blob(repository, os.urandom(4096), media_type=mt.WASM_MODULE)
                    for _ in range(2)
                ]
                await client.put_manifest(
                    repository, "v1", Manifest(config=cfg, layers=tuple(layers))
                )

        start = time.perf_counter()
        await asyncio.gather(*(push_one(r) for r in repositories))
        print(f"pushed {small} small artifacts in {time.perf_counter() - start:.2f} s")
    return repositories


def fresh(dest_root: Path, name: str) -> Path:
    path = dest_root / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


async def run(args: argparse.Namespace) -> None:
    shm = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path(tempfile.gettempdir())
    work = Path(tempfile.mkdtemp(prefix="iotops-pull-bench-", dir=shm))
    dest_root = Path(tempfile.mkdtemp(prefix="iotops-pull-dest-", dir=args.dest_dir or shm))
    registry = Registry(work / "registry")
    registry.start()
    big_bytes = args.big_mib << 20
    try:
        repositories = await prepare(registry, work, args.big_mib, args.small)
        series = {
            key: Series(*key)
            for key in [
                ("ours", "big"),
                ("ours-stock", "big"),
                ("skopeo", "big"),
                ("ours", "small"),
                ("skopeo", "small"),
                ("skopeo-sync", "small"),
            ]
        }
        for rep in range(args.reps):
            print(f"repetition {rep + 1}/{args.reps}", flush=True)

            async def ours_big(stock: bool = False) -> None:
                transport = httpx.AsyncHTTPTransport() if stock else None
                async with RegistryClient(
                    registry.host, plain_http=True, transport=transport
                ) as client:
                    await pull_artifact(client, "big", "v1", fresh(dest_root, "ours-big"))

            async def ours_small() -> None:
                dest = fresh(dest_root, "ours-small")
                gate = asyncio.Semaphore(args.concurrency)
                async with RegistryClient(registry.host, plain_http=True) as client:

                    async def one(repository: str) -> None:
                        async with gate:
                            await pull_artifact(
                                client, repository, "v1", dest / repository.replace("/", "_")
                            )

                    await asyncio.gather(*(one(r) for r in repositories))

            async def skopeo_big() -> None:
                dest = fresh(dest_root, "skopeo-big")
                await asyncio.to_thread(skopeo_copy, registry.host, "big", "v1", dest)

            async def skopeo_small() -> None:
                dest = fresh(dest_root, "skopeo-small")

                def copy_all() -> None:
                    for r in repositories:
                        skopeo_copy(registry.host, r, "v1", dest / r.replace("/", "_"))

                await asyncio.to_thread(copy_all)

            async def skopeo_sync_small() -> None:
                dest = fresh(dest_root, "skopeo-sync")
                await asyncio.to_thread(skopeo_sync, registry.host, repositories, dest, work)

            await measure(series[("ours", "big")], registry, ours_big, ours=True)
            await measure(series[("skopeo", "big")], registry, skopeo_big, ours=False)
            await measure(
                series[("ours-stock", "big")], registry, lambda: ours_big(True), ours=True
            )
            await measure(series[("ours", "small")], registry, ours_small, ours=True)
            await measure(series[("skopeo", "small")], registry, skopeo_small, ours=False)
            await measure(series[("skopeo-sync", "small")], registry, skopeo_sync_small, ours=False)
            shutil.rmtree(dest_root, ignore_errors=True)
            dest_root.mkdir(parents=True, exist_ok=True)
        report(series, args, big_bytes)
    finally:
        registry.stop()
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(dest_root, ignore_errors=True)


def report(series: dict[tuple[str, str], Series], args: argparse.Namespace, big: int) -> None:
    cpu = platform.processor() or platform.machine()
    print(
        f"\n{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, "
        f"{args.reps} repetitions, registry storage and destination on tmpfs, "
        f"small-artifact concurrency {args.concurrency}\n"
    )
    print(
        "| tool | workload | min s | median s | max s | throughput (median) "
        "| tool CPU s | registry CPU s | ours / skopeo |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    medians = {key: statistics.median(s.walls) for key, s in series.items()}
    for key, s in series.items():
        tool, workload = key
        median = medians[key]
        if workload == "big":
            rate = f"{big / median / 1e6:.0f} MB/s"
            ratio = medians[("skopeo", "big")] / median
        else:
            rate = f"{median / args.small * 1000:.1f} ms/artifact"
            best_skopeo = min(medians[("skopeo", "small")], medians[("skopeo-sync", "small")])
            ratio = best_skopeo / median
        print(
            f"| {tool} | {workload} | {min(s.walls):.3f} | **{median:.3f}** | "
            f"{max(s.walls):.3f} | {rate} | {statistics.median(s.tool_cpu):.2f} | "
            f"{statistics.median(s.registry_cpu):.2f} | {ratio:.2f}x |"
        )
    print(
        "\nours / skopeo: skopeo's median time over the tool's (>1 = faster than skopeo); "
        "for small artifacts against the faster of skopeo copy and skopeo sync."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--big-mib", type=int, default=256)
    parser.add_argument("--small", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--dest-dir", help="destination filesystem (default: /dev/shm)")
    args = parser.parse_args()
    if shutil.which("skopeo") is None:
        sys.exit("skopeo is not installed: apt-get install docker-registry skopeo")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
