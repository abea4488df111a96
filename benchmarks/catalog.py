#!/usr/bin/env python3
"""Benchmark the catalog: 2,000 graphs across 4 registry endpoints.

Starts a real ``iotops serve --dev`` (data on /dev/shm; background sync and health checks
off), pushes ``--graphs`` distinct graph definitions with the project's OCI client into the
dev registry (``--endpoints`` path prefixes, ``--tags`` tags per repository), creates an
instance with one endpoint per prefix (system-assigned identity with AcrPull: the catalog is
listed and the prefix limits each endpoint), then measures through the ARM API:

- the full sync (``POST …/catalog/sync``): wall time, and the registry requests counted at
  the dev registry's front (tags lists, manifest HEADs and GETs, blob GETs);
- a no-change resync: the same, and its ratio to the full sync (aim: at most 10 %);
- search: ``--queries`` list requests (free text, filters, both; ``$top=50``) over one
  keep-alive HTTPS connection: p50 and p99 of the wall time (aim: p99 under 10 ms), and the
  same queries in-process against the store (``CatalogService.query``), which excludes TLS,
  HTTP and the token check.

Usage::

    .venv/bin/python benchmarks/catalog.py                  # 2,000 graphs, 4 endpoints
    .venv/bin/python benchmarks/catalog.py --graphs 400 --queries 200
    .venv/bin/python benchmarks/catalog.py --database postgresql://postgres@127.0.0.1/bench
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from iotops_registry import LocalIssuerCredential
from iotops_registry.authn import BasicCredential, StaticBasic
from iotops_registry.oci import Descriptor, Digest, Manifest
from iotops_registry.oci import mediatypes as mt
from iotops_registry.remote import RegistryClient

API = {"api-version": "2026-07-01"}
WORDS = ["temperature", "humidity", "pressure", "vibration", "window", "snapshot", "format",
         "enrichment", "collection", "opcua", "otel", "datetime", "avro", "filter", "alarm",
         "quality", "energy", "flow", "level", "speed"]
TYPES = ["map", "filter", "branch", "accumulate", "delay"]
VENDORS = ["Microsoft", "Contoso", "Fabrikam", "Northwind"]


def graph_yaml(i: int, version: str, rng: random.Random) -> bytes:
    a, b = rng.sample(WORDS, 2)
    kind = TYPES[i % len(TYPES)]
    arm = ""
    second = ""
    if kind == "branch":
        arm = '\n    arm: "True"'
        second = ('\n  - from:\n      name: op\n      arm: "False"\n    to:\n      name: sink')
    return f"""metadata:
  $schema: "https://www.schemastore.org/aio-wasm-graph-config-1.0.0.json"
  name: "{a}-{b}-{i}"
  description: "Processes {a} and {b} readings, graph number {i}"
  version: "{version}"
  vendor: "{VENDORS[i % len(VENDORS)]}"
moduleRequirements:
  apiVersion: "1.1.0"
  runtimeVersion: "1.{i % 3}.0"
moduleConfigurations:
  - name: op
    parameters:
      {a}_threshold:
        name: {a}_threshold
        description: "Threshold for {a}"
        default: "{i}"
        required: {str(i % 2 == 0).lower()}
operations:
  - operationType: source
    name: source
  - operationType: {kind}
    name: op
    module: "{a}:1.{i % 4}.0"
  - operationType: sink
    name: sink
connections:
  - from:
      name: source
    to:
      name: op
  - from:
      name: op{arm}
    to:
      name: sink{second}
""".encode()


class Bench:
    def __init__(self, root: Path, database: str | None) -> None:
        self.root = root
        self.data = root / "data"
        self.database = database
        self.server: subprocess.Popen[bytes] | None = None
        self.endpoints: dict[str, Any] = {}

    def start(self) -> None:
        log = (self.root / "server.log").open("ab")
        args = [sys.executable, "-m", "iotops_registry", "serve", "--data-dir", str(self.data),
                "--port", "0", "--dev", "--log-level", "warning", "--health-interval", "0",
                "--catalog-interval", "0"]
        if self.database:
            args += ["--database-url", self.database]
        self.server = subprocess.Popen(args, stdout=log, stderr=log)
        path = self.data / "endpoints.json"
        deadline = time.monotonic() + 60
        while not path.exists():
            if self.server.poll() is not None or time.monotonic() > deadline:
                sys.exit((self.root / "server.log").read_text()[-3000:])
            time.sleep(0.1)
        time.sleep(0.2)
        self.endpoints = json.loads(path.read_text())

    def stop(self) -> None:
        if self.server is not None and self.server.poll() is None:
            self.server.terminate()
            self.server.wait(timeout=20)

    def arm(self) -> httpx.Client:
        token = LocalIssuerCredential(self.data).mint("https://management.azure.com")
        return httpx.Client(base_url=self.endpoints["arm"], verify=self.endpoints["ca"],
                            headers={"Authorization": f"Bearer {token}"}, timeout=600)


async def push_all(registry: str, ca: str, user: str, password: str, graphs: int,
                   endpoints: int, tags: int) -> None:
    rng = random.Random(7)
    empty = Descriptor(mt.AIO_GRAPH, Digest.of(b""), 0)
    sem = asyncio.Semaphore(16)
    async with RegistryClient(registry, authenticator=StaticBasic(BasicCredential(user, password)),
                              verify=ca) as client:
        async def one(i: int) -> None:
            endpoint, rest = i % endpoints, i // endpoints
            repo = f"bench/e{endpoint}/graph-{rest // tags}"
            version = f"1.{rest % tags}.0"
            text = graph_yaml(i, version, rng)
            layer = Descriptor(mt.YAML, Digest.of(text), len(text),
                               annotations={"org.opencontainers.image.title": "graph.yaml"})
            manifest = Manifest(empty, (layer,))
            async with sem:
                await client.push_blob(repo, b"", media_type=mt.AIO_GRAPH)
                await client.push_blob(repo, text, media_type=mt.YAML)
                await client.put_manifest(repo, version, manifest.to_json(), mt.OCI_MANIFEST)

        await asyncio.gather(*(one(i) for i in range(graphs)))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def counts(arm: httpx.Client) -> dict[str, int]:
    body = arm.get("/-/dev/counters/registry").json()
    return {k: int(v) for k, v in body["byKey"].items()}


def delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after.get(k, 0) - before.get(k, 0) for k in sorted(after)
            if after.get(k, 0) - before.get(k, 0)}


def queries(n: int, endpoints: int) -> list[dict[str, str]]:
    rng = random.Random(11)
    out: list[dict[str, str]] = []
    for i in range(n):
        shape = i % 4
        q: dict[str, str] = {"$top": "50"}
        if shape in (0, 2):
            q["search"] = " ".join(rng.sample(WORDS, 1 + i % 2))
        if shape in (1, 2):
            q["operationType"] = rng.choice(TYPES)
            q["endpoint"] = f"ep{rng.randrange(endpoints)}"
        if shape == 3:
            q["latest"] = "true"
            q["vendor"] = rng.choice(VENDORS).lower()
            q["orderBy"] = "semver desc"
        out.append(q)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--graphs", type=int, default=2000)
    parser.add_argument("--endpoints", type=int, default=4)
    parser.add_argument("--tags", type=int, default=5, help="tags per repository")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--database", help="a PostgreSQL URL (default: SQLite)")
    args = parser.parse_args()
    shm = Path("/dev/shm") if Path("/dev/shm").is_dir() else None
    root = Path(tempfile.mkdtemp(prefix="iotops-catalog-bench-", dir=shm))
    bench = Bench(root, args.database)
    try:
        bench.start()
        registry, ca = bench.endpoints["registry"], bench.endpoints["ca"]
        with bench.arm() as arm:
            tok = arm.post("/-/dev/registry/tokens", json={
                "name": "bench", "scopes": [{"repository": "bench/*",
                                             "actions": ["pull", "push"]}]}).json()
            started = time.monotonic()
            asyncio.run(push_all(registry, ca, tok["username"], tok["password"], args.graphs,
                                 args.endpoints, args.tags))
            pushed = time.monotonic() - started
            sami = arm.get("/-/dev/system-identity").json()["clientId"]
            arm.post("/-/dev/registry/role-assignments",
                     json={"assignee": sami, "role": "AcrPull"}).raise_for_status()
            sub = bench.endpoints["subscription"]
            inst = (f"/subscriptions/{sub}/resourceGroups/bench/providers/"
                    "Microsoft.IoTOperations/instances/bench")
            arm.put(inst, params=API, json={"location": "local", "extendedLocation": {
                "name": f"/subscriptions/{sub}/resourceGroups/bench/providers/"
                        "Microsoft.ExtendedLocation/customLocations/bench",
                "type": "CustomLocation"}}).raise_for_status()
            arm.delete(f"{inst}/registryEndpoints/default", params=API)  # mcr: unreachable
            for e in range(args.endpoints):
                arm.put(f"{inst}/registryEndpoints/ep{e}", params=API, json={"properties": {
                    "host": f"{registry}/bench/e{e}", "authentication": {
                        "method": "SystemAssignedManagedIdentity",
                        "systemAssignedManagedIdentitySettings": {}}}}).raise_for_status()

            def sync() -> tuple[float, dict[str, int], list[dict[str, Any]]]:
                before = counts(arm)
                t0 = time.monotonic()
                r = arm.post(f"{inst}/catalog/sync", params=API)
                took = time.monotonic() - t0
                r.raise_for_status()
                return took, delta(before, counts(arm)), r.json()["value"]

            full, full_counts, states = sync()
            failed = [s for s in states if s["state"] != "Succeeded"]
            if failed:
                sys.exit(f"sync failed: {failed}")
            listed = arm.get(f"{inst}/catalog/graphs", params={**API, "$top": "1"}).json()
            resync, re_counts, _ = sync()

            latencies: list[float] = []
            sample = queries(args.queries, args.endpoints)
            for q in sample[:20]:  # warm up
                arm.get(f"{inst}/catalog/graphs", params={**API, **q}).raise_for_status()
            for q in sample:
                t0 = time.perf_counter()
                r = arm.get(f"{inst}/catalog/graphs", params={**API, **q})
                latencies.append((time.perf_counter() - t0) * 1000)
                r.raise_for_status()
        inproc = in_process(bench, sample)
    finally:
        bench.stop()
        shutil.rmtree(root, ignore_errors=True)

    def fmt(c: dict[str, int]) -> str:
        return ", ".join(f"{k}: {v}" for k, v in c.items()) or "none"

    print(f"## Catalog: {args.graphs} graphs across {args.endpoints} endpoints "
          f"({args.tags} tags per repository; {listed['count']} listed; pushed in {pushed:.1f} s)")
    print()
    print("| measurement | value |")
    print("| --- | --- |")
    print(f"| full sync | {full:.2f} s |")
    print(f"| full sync, requests at the front | {fmt(full_counts)} |")
    print(f"| no-change resync | {resync:.2f} s |")
    print(f"| no-change resync, requests at the front | {fmt(re_counts)} |")
    print(f"| resync / full sync | {resync / full * 100:.1f} % (aim: at most 10 %) |")
    print(f"| search over HTTPS, p50 / p99 ({len(latencies)} queries) | "
          f"{percentile(latencies, 50):.2f} ms / {percentile(latencies, 99):.2f} ms "
          "(aim: p99 under 10 ms) |")
    print(f"| search in-process (store), p50 / p99 | {percentile(inproc, 50):.2f} ms / "
          f"{percentile(inproc, 99):.2f} ms |")


def in_process(bench: Bench, sample: list[dict[str, str]]) -> list[float]:
    """The same queries against the store directly (the server is still running: its
    database is read, never written)."""
    from iotops_registry.domain import InstanceKey
    from iotops_registry.services.catalog import CatalogService
    from iotops_registry.store import Store

    store = Store.open(bench.database or f"sqlite:///{bench.data / 'registry.db'}")
    try:
        service = CatalogService(store)
        key = InstanceKey(bench.endpoints["subscription"], "bench", "bench")
        out: list[float] = []
        for q in sample:
            t0 = time.perf_counter()
            service.query(key, "graph", q)
            out.append((time.perf_counter() - t0) * 1000)
        return out
    finally:
        store.close()


if __name__ == "__main__":
    main()
