"""Writes never clobber: concurrent If-Match read-modify-write clients against a real
``iotops serve`` whose background health checks write to the same rows all the time.

Each client reads the endpoint, increments a counter kept in the host's path prefix, and
writes it back with ``If-Match``; a ``412`` means someone else won that round. Every
acknowledged write must leave its mark (the final counter equals the number of ``200``s),
and every GET must pair an ETag with the content written under it.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from iotops_registry import LocalIssuerCredential
from tests.conftest import API_VERSION, custom_location
from tests.support.server import (
    ServerProcess,
    create_pg_database,
    database_backend,
    drop_pg_database,
)

CLIENTS = 50
ROUNDS = 2  # read-modify-write cycles per client per run
RUNS = 10


def _closed_port() -> int:
    """A loopback port nothing listens on: every health check fails fast at TCP."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def busy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    url = create_pg_database("iotops_conc") if database_backend() == "postgresql" else None
    proc = ServerProcess(
        tmp_path_factory.mktemp("conc") / "data",
        database_url=url,
        extra_args=["--health-interval", "0.2"],
    )
    try:
        proc.start()
        yield proc
    finally:
        proc.stop()
        if url:
            drop_pg_database(url)


def _host(port: int, counter: int) -> str:
    return f"127.0.0.1:{port}/n{counter}"


def _counter(document: dict[str, Any]) -> int:
    return int(document["properties"]["host"].rsplit("/n", 1)[1])


async def _run(
    client: httpx.AsyncClient, path: str, port: int
) -> tuple[int, int, dict[str, int], list[tuple[str, int]]]:
    """(acknowledged writes, final counter, etag -> counter written, GETs seen)."""
    written: dict[str, int] = {}
    seen: list[tuple[str, int]] = []
    acknowledged = 0
    params = {"api-version": API_VERSION}

    async def writer() -> None:
        nonlocal acknowledged
        for _ in range(ROUNDS):
            got = await client.get(path, params=params)
            assert got.status_code == 200, got.text
            doc = got.json()
            etag = got.headers["etag"]
            seen.append((etag, _counter(doc)))
            body = {"properties": dict(doc["properties"])}
            for read_only in ("provisioningState", "healthState"):
                body["properties"].pop(read_only, None)
            body["properties"]["host"] = _host(port, _counter(doc) + 1)
            put = await client.put(path, params=params, json=body, headers={"If-Match": etag})
            if put.status_code == 200:
                acknowledged += 1
                written[put.headers["etag"]] = _counter(doc) + 1
            else:
                assert put.status_code == 412, put.text

    await asyncio.gather(*(writer() for _ in range(CLIENTS)))
    final = await client.get(path, params=params)
    seen.append((final.headers["etag"], _counter(final.json())))
    return acknowledged, _counter(final.json()), written, seen


def test_if_match_writers_lose_nothing_while_health_is_recorded(
    busy_server: ServerProcess,
) -> None:
    srv = busy_server
    port = _closed_port()
    rg = f"rg-{uuid.uuid4().hex[:8]}"
    instance = "inst-" + uuid.uuid4().hex[:6]
    base = (
        f"/subscriptions/{srv.subscription}/resourceGroups/{rg}/providers/"
        f"Microsoft.IoTOperations/instances/{instance}"
    )
    token = LocalIssuerCredential(srv.data_dir).mint("https://management.azure.com")
    params = {"api-version": API_VERSION}
    location = {"name": custom_location(srv.subscription, rg), "type": "CustomLocation"}

    checked: list[bool] = []

    async def main() -> None:
        limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
        async with httpx.AsyncClient(
            base_url=srv.arm,
            verify=ssl.create_default_context(cafile=srv.ca),
            headers={"Authorization": f"Bearer {token}"},
            limits=limits,
            timeout=60,
        ) as client:
            made = await client.put(
                base,
                params=params,
                json={"location": "eastus", "extendedLocation": location, "properties": {}},
            )
            assert made.status_code in (200, 201), made.text
            for run in range(RUNS):
                path = f"{base}/registryEndpoints/ep{run}"
                created = await client.put(
                    path,
                    params=params,
                    json={
                        "properties": {
                            "host": _host(port, 0),
                            "authentication": {"method": "Anonymous", "anonymousSettings": {}},
                        }
                    },
                )
                assert created.status_code == 201, created.text
                written = {created.headers["etag"]: 0}
                acknowledged, final, more, seen = await _run(client, path, port)
                written.update(more)
                assert acknowledged > 0
                assert final == acknowledged, (
                    f"run {run}: {acknowledged} writes acknowledged, {final} survived"
                )
                mismatched = [(e, c) for e, c in seen if written.get(e) != c]
                assert not mismatched, f"run {run}: GETs paired ETags with other content"
                # The background checks did write meanwhile (else this proves nothing).
                health = await client.get(f"{path}/health", params=params)
                assert health.status_code == 200, health.text
                checked.append(health.json()["lastCheckedTime"] is not None)

    asyncio.run(main())
    assert sum(checked) >= RUNS // 2, checked
    log = srv.log_path.read_text()
    assert "Traceback" not in log, log[-4000:]

