#!/usr/bin/env python3
"""Benchmark Notary Project signature verification: what it adds to a pull.

Starts the real CNCF Distribution registry (Debian's ``docker-registry`` 2.8, no referrers
API, so discovery goes through the ``sha256-<hex>`` tag schema) on 127.0.0.1 over plain
HTTP, storage on /dev/shm, and pushes (untimed) ``--artifacts`` small artifacts per
signing key, each signed once with ``notary.sign`` (JWS and COSE alternately). Then,
with one warm client (as an endpoint's shared client is):

- ``manifest GET``: ``get_manifest(repo, tag)``, what resolving and pulling costs anyway
  (the baseline, measured in the same run);
- ``verify``: ``notary.verify(client, repo, descriptor, trust store)`` (discovery, one
  signature manifest, one envelope, all checks), with the requests it made counted;
- ``verify (CPU only)``: ``verify_envelope`` on bytes in memory, no I/O.

Prints a Markdown table of medians and the ratio of verify's latency to the manifest GET's.

Usage::

    .venv/bin/python benchmarks/verify.py                 # 100 artifacts per key, 5 reps
    .venv/bin/python benchmarks/verify.py --artifacts 20 --reps 3
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

from iotops_registry.notary import (
    COSE,
    JWS,
    SigningIdentity,
    TrustStore,
    create_dev_ca,
    sign,
    verify,
    verify_envelope,
)
from iotops_registry.oci import Descriptor, Manifest
from iotops_registry.oci import mediatypes as mt
from iotops_registry.remote import RegistryClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pull import Registry  # benchmarks/pull.py: the same registry set-up

KEYS = ("ec-p256", "rsa-3072")


class CountingTransport(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.paths: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def prepare(
    client: RegistryClient, key_type: str, count: int
) -> tuple[TrustStore, list[tuple[str, Descriptor]], dict[str, bytes]]:
    made = create_dev_ca(key_type=key_type)
    identity = SigningIdentity.from_pem(made.leaf_key_pem(), made.chain_pem())
    artifacts = []
    envelopes: dict[str, bytes] = {}
    for i in range(count):
        repository = f"bench/{key_type}-{i}"
        config = await client.push_blob(repository, mt.OCI_EMPTY_JSON, media_type=mt.OCI_EMPTY)
        layer = await client.push_blob(repository, os.urandom(4096), media_type=mt.WASM_MODULE)
        manifest = Manifest(config, (layer,), artifact_type=mt.WASM_LAYER)
        await client.put_manifest(repository, "v1", manifest)
        descriptor = await client.head_manifest(repository, "v1")
        attached = await sign(client, repository, descriptor, identity,
                              envelope=JWS if i % 2 == 0 else COSE)
        envelopes.setdefault(attached.envelope.media_type, attached.envelope.data)
        artifacts.append((repository, descriptor))
    return TrustStore.from_pem(made.ca_pem()), artifacts, envelopes


def median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(dir="/dev/shm" if os.path.isdir("/dev/shm") else None) as d:
        registry = Registry(Path(d))
        registry.start()
        try:
            counting = CountingTransport()
            async with RegistryClient(registry.host, plain_http=True) as setup, \
                    RegistryClient(registry.host, plain_http=True, transport=counting) as client:
                rows = []
                for key_type in KEYS:
                    store, artifacts, envelopes = await prepare(setup, key_type, args.artifacts)
                    await verify(client, *artifacts[0], store)  # warm: the 404 is remembered
                    gets: list[float] = []
                    checks: list[float] = []
                    requests: Counter[int] = Counter()
                    for _ in range(args.reps):
                        for repository, descriptor in artifacts:
                            start = time.perf_counter()
                            await client.get_manifest(repository, "v1")
                            gets.append(time.perf_counter() - start)
                            counting.paths.clear()
                            start = time.perf_counter()
                            verdict = await verify(client, repository, descriptor, store)
                            checks.append(time.perf_counter() - start)
                            assert verdict.ok, verdict.message
                            requests[len(counting.paths)] += 1
                    cpu: dict[str, float] = {}
                    for media_type, data in envelopes.items():
                        descriptor = artifacts[0 if media_type == JWS else 1][1]
                        loops = 200
                        start = time.perf_counter()
                        now = dt.datetime.now(dt.UTC)
                        for _ in range(loops):
                            verify_envelope(data, media_type, descriptor, store, now)
                        cpu[media_type] = (time.perf_counter() - start) / loops
                    rows.append((key_type, median_ms(gets), median_ms(checks), requests, cpu))
        finally:
            registry.stop()
    print(f"Python {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"{args.artifacts} artifacts per key x {args.reps} repetitions\n")
    print("| signing key | manifest GET ms (median) | verify ms (median) | verify / GET "
          "| requests per verify | CPU only: JWS ms | CPU only: COSE ms |")
    print("| --- | ---: | ---: | ---: | --- | ---: | ---: |")
    for key_type, get_ms, verify_ms, requests, cpu in rows:
        counts = ", ".join(f"{n}: {c}" for n, c in sorted(requests.items()))
        print(f"| {key_type} | {get_ms:.2f} | {verify_ms:.2f} | {verify_ms / get_ms:.2f}x "
              f"| {counts} | {cpu[JWS] * 1000:.3f} | {cpu[COSE] * 1000:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--artifacts", type=int, default=100)
    parser.add_argument("--reps", type=int, default=5)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
