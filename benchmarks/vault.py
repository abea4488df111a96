#!/usr/bin/env python3
"""Benchmark the embedded vault: set and get throughput and latency over HTTPS with a bearer.

Starts a real ``iotops serve`` on a scratch data directory, seeds secrets, then drives the
vault origin for a fixed time per phase:

1. ``set``: ``PUT /secrets/bench-NNNN`` with a fresh value (each makes a new sealed version);
2. ``get``: ``GET /secrets/bench-NNNN/`` (the newest version: read, unwrap, decrypt);
3. ``challenge``: the same GET without a token, answered ``401`` before any database or
   crypto work: the ceiling of the TLS/uvicorn stack on this machine, for comparison.

The load comes from ``wrk`` with a Lua script when it is installed (as benchmarks/rp_api.py
does), otherwise from an asyncio httpx generator in this process. Prints a Markdown table.

Usage::

    .venv/bin/python benchmarks/vault.py                   # SQLite in a temp dir
    .venv/bin/python benchmarks/vault.py --postgres        # scratch PostgreSQL database
    .venv/bin/python benchmarks/vault.py --seconds 5 --connections 32 --generator httpx
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

API_VERSION = "2026-04-01"
VAULT_AUDIENCE = "https://vault.azure.net"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"

# Arguments: mode (set|get|challenge), secret count, value size. Prints one JSON line.
WRK_SCRIPT = r"""
local mode, count, size, value
vault_statuses = {}  -- global: done() reads it from each thread
local threads = {}

function setup(thread) table.insert(threads, thread) end

function init(args)
  mode, count, size = args[1], tonumber(args[2]), tonumber(args[3])
  value = string.rep("v", size)
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
  wrk.headers["Content-Type"] = "application/json"
  if mode == "challenge" then wrk.headers["Authorization"] = nil end
end

function request()
  local name = string.format("bench-%04d", math.random(0, count - 1))
  if mode == "set" then
    local body = '{"value":"' .. value .. '","contentType":"text/plain"}'
    return wrk.format("PUT", "/secrets/" .. name .. "?api-version=__API__", nil, body)
  end
  return wrk.format("GET", "/secrets/" .. name .. "/?api-version=__API__")
end

function response(status, headers, body)
  vault_statuses[status] = (vault_statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local merged = {}
  for _, t in ipairs(threads) do
    for code, n in pairs(t:get("vault_statuses")) do
      merged[tostring(code)] = (merged[tostring(code)] or 0) + n
    end
  end
  local parts = {}
  for code, n in pairs(merged) do table.insert(parts, string.format('"%s":%d', code, n)) end
  io.write(string.format(
    'VAULT_RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"socket_errors":%d,"statuses":{%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout, table.concat(parts, ",")))
end
""".replace("__API__", API_VERSION)


def log(message: str) -> None:
    print(f"[vault-bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass
class Result:
    operation: str
    generator: str
    connections: int
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    failures: int  # non-2xx answers plus socket errors

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


# --- the server under test -------------------------------------------------------------------


@dataclass
class Server:
    data_dir: Path
    database_url: str | None
    proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> dict[str, Any]:
        args = [sys.executable, "-m", "iotops_registry", "serve", "--data-dir",
                str(self.data_dir), "--port", "0", "--log-level", "warning"]
        if self.database_url:
            args += ["--database-url", self.database_url]
        log_file = (self.data_dir.parent / "server.log").open("ab")
        self.proc = subprocess.Popen(args, stdout=log_file, stderr=subprocess.STDOUT)
        ready = self.data_dir / "endpoints.json"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited early; see server.log")
            if ready.exists():
                with contextlib.suppress(json.JSONDecodeError):
                    endpoints: dict[str, Any] = json.loads(ready.read_text())
                    return endpoints
            time.sleep(0.05)
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@contextlib.contextmanager
def scratch_database(postgres: bool) -> Iterator[str | None]:
    if not postgres:
        yield None
        return
    import psycopg  # the server's own dependency

    name = f"iotops_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(PG_ADMIN)
    try:
        yield urlunsplit(("postgresql+psycopg", parts.netloc, f"/{name}", "", ""))
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def mint_token(data_dir: Path) -> str:
    from iotops_registry import LocalIssuerCredential

    return LocalIssuerCredential(data_dir, lifetime=86_400).mint(VAULT_AUDIENCE)


def seed(origin: str, ca: str, token: str, count: int, size: int) -> None:
    """Create every secret the get phase reads."""
    headers = {"Authorization": f"Bearer {token}"}
    verify = ssl.create_default_context(cafile=ca)

    def put(chunk: range) -> None:
        with httpx.Client(base_url=origin, verify=verify, headers=headers) as c:
            for i in chunk:
                r = c.put(f"/secrets/bench-{i:04d}", params={"api-version": API_VERSION},
                          json={"value": "s" * size})
                r.raise_for_status()

    workers = 8
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(put, [range(w, count, workers) for w in range(workers)]))


# --- load generators -------------------------------------------------------------------------


def run_wrk(wrk: str, script: Path, origin: str, token: str, mode: str, *, seconds: float,
            connections: int, threads: int, count: int, size: int) -> Result:
    cmd = [wrk, "-t", str(threads), "-c", str(connections), "-d", f"{seconds:g}s",
           "--timeout", "10s", "-s", str(script), "-H", f"Authorization: Bearer {token}",
           origin, "--", mode, str(count), str(size)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("VAULT_RESULT ")), None)
    if proc.returncode != 0 or line is None:  # the command line holds the token: not shown
        raise RuntimeError(f"wrk failed ({proc.returncode}):\n{proc.stderr}{proc.stdout}")
    data = json.loads(line.split(" ", 1)[1])
    expected = "4" if mode == "challenge" else "2"
    ok = sum(n for code, n in data["statuses"].items() if code.startswith(expected))
    return Result(mode, "wrk", connections, data["requests"], data["duration_us"] / 1e6,
                  data["p50_us"] / 1e3, data["p99_us"] / 1e3, data["max_us"] / 1e3,
                  data["requests"] - ok + data["socket_errors"])


async def _httpx_load(origin: str, ca: str, token: str, mode: str, *, seconds: float,
                      connections: int, count: int, size: int) -> Result:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    latencies: list[float] = []
    failures = 0
    body = {"value": "v" * size, "contentType": "text/plain"}
    params = {"api-version": API_VERSION}
    headers = {} if mode == "challenge" else {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=origin, verify=ssl.create_default_context(cafile=ca),
                                 headers=headers, limits=limits) as client:
        deadline = time.monotonic() + seconds

        async def worker() -> None:
            nonlocal failures
            while time.monotonic() < deadline:
                name = f"bench-{random.randrange(count):04d}"
                t0 = time.perf_counter()
                try:
                    if mode == "set":
                        r = await client.put(f"/secrets/{name}", params=params, json=body)
                    else:
                        r = await client.get(f"/secrets/{name}/", params=params)
                    ok = r.status_code == 401 if mode == "challenge" else r.is_success
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - t0)
                failures += not ok

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.monotonic() - started
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1e3

    return Result(mode, "httpx", connections, len(latencies), elapsed, pct(50), pct(99),
                  latencies[-1] * 1e3 if latencies else 0.0, failures)


# --- report ----------------------------------------------------------------------------------


def machine() -> str:
    model = platform.processor() or "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (f"{len(os.sched_getaffinity(0))} CPUs ({model}), Python "
            f"{platform.python_version()}, Linux {platform.release()}")


def table(results: list[Result], database: str, size: int, count: int) -> str:
    lines = [
        f"Database: {database}; {count} secrets, {size}-byte values; server and load generator "
        f"on one machine: {machine()}.",
        "",
        "| operation | generator | connections | requests | req/s | p50 ms | p99 ms | max ms "
        "| failures |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        what = {
            "set": "set (PUT, new version)",
            "get": "get (GET newest)",
            "challenge": "401 challenge (stack ceiling)",
        }[r.operation]
        lines.append(
            f"| {what} | {r.generator} | {r.connections} | {r.requests} | {r.rps:,.0f} "
            f"| {r.p50_ms:.1f} | {r.p99_ms:.1f} | {r.max_ms:.1f} | {r.failures} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", action="store_true", help="use a scratch PostgreSQL DB")
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each phase")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--secrets", type=int, default=1000, help="distinct secret names")
    parser.add_argument("--value-bytes", type=int, default=256)
    parser.add_argument("--generator", choices=("auto", "wrk", "httpx"), default="auto")
    args = parser.parse_args()

    wrk = shutil.which("wrk") if args.generator in ("auto", "wrk") else None
    if args.generator == "wrk" and wrk is None:
        print("error: wrk is not installed (apt-get install -y wrk)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="vault-bench-") as tmp, \
            scratch_database(args.postgres) as db:
        server = Server(Path(tmp) / "data", db)
        try:
            endpoints = server.start()
            origin, ca = endpoints["vault"], endpoints["ca"]
            token = mint_token(server.data_dir)
            log(f"seeding {args.secrets} secrets on {origin}")
            seed(origin, ca, token, args.secrets, args.value_bytes)
            script = Path(tmp) / "vault.lua"
            script.write_text(WRK_SCRIPT)
            results: list[Result] = []
            for mode in ("set", "get", "challenge"):
                log(f"{mode}: {args.seconds:g} s, {args.connections} connections")
                if wrk:
                    result = run_wrk(wrk, script, origin, token, mode, seconds=args.seconds,
                                     connections=args.connections, threads=args.threads,
                                     count=args.secrets, size=args.value_bytes)
                else:
                    result = asyncio.run(_httpx_load(
                        origin, ca, token, mode, seconds=args.seconds,
                        connections=args.connections, count=args.secrets,
                        size=args.value_bytes))
                results.append(result)
        finally:
            server.stop()
    print(table(results, "PostgreSQL" if args.postgres else "SQLite", args.value_bytes,
                args.secrets))
    return 0 if all(r.failures == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
