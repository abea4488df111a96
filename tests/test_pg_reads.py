"""PostgreSQL's hot read: ``GET …/registryEndpoints/{n}`` on the event loop, over raw async
psycopg connections with a prepared statement (no worker thread, no SQLAlchemy round trips).

Runs in both legs of the suite against a database of its own (PostgreSQL is always there:
the test command makes sure of it). What it proves: the answer is the stored document with
its ETag, a write is seen by the next read, the read really avoids the thread pool, and a
connection killed under it costs no failed request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.support.inprocess import InProcess, in_process
from tests.support.server import create_pg_database, drop_pg_database

API = {"api-version": "2026-07-01"}


@pytest.fixture(scope="module")
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[InProcess, str]]:
    url = create_pg_database("iotops_pgreads")
    try:
        with in_process(tmp_path_factory.mktemp("pgreads") / "data", url) as running:
            yield running, url
    finally:
        drop_pg_database(url)


def _terminate_others(url: str) -> int:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as c:
        rows = c.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()", (name,)
        ).fetchall()
    return len(rows)


def test_get_reads_on_the_loop_and_survives_a_killed_connection(
    pg: tuple[InProcess, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ip, url = pg
    store = ip.runtime.store
    assert store.async_reads
    sub = ip.subscription
    inst = (f"/subscriptions/{sub}/resourceGroups/rg-pg/providers/"
            "Microsoft.IoTOperations/instances/pg-inst")
    location = (f"/subscriptions/{sub}/resourceGroups/rg-pg/providers/"
                "Microsoft.ExtendedLocation/customLocations/pg-cl")
    endpoint = f"{inst}/registryEndpoints/pg-ep"

    async def main() -> None:
        async with ip.async_client() as c:
            r = await c.put(inst, params=API, json={
                "location": "eastus",
                "extendedLocation": {"name": location, "type": "CustomLocation"}})
            assert r.status_code == 201, r.text
            body = {"properties": {"host": "one.azurecr.io", "authentication": {
                "method": "Anonymous", "anonymousSettings": {}}}}
            put = await c.put(endpoint, params=API, json=body)
            assert put.status_code == 201, put.text

            # No worker thread on this path: a thread hop would fail here.
            def no_threads(*_: object, **__: object) -> None:
                raise AssertionError("the hot read went to a worker thread")

            with monkeypatch.context() as m:
                m.setattr("starlette.concurrency.run_in_threadpool", no_threads)
                m.setattr("iotops_registry.api.call.run_in_threadpool", no_threads)
                m.setattr(asyncio, "to_thread", no_threads)
                got = await asyncio.gather(*(c.get(endpoint, params=API) for _ in range(8)))
            for r in got:
                assert r.status_code == 200, r.text
                assert r.headers["etag"] == put.headers["etag"]
                assert r.json()["properties"]["host"] == "one.azurecr.io"

            body["properties"]["host"] = "two.azurecr.io"
            again = await c.put(endpoint, params=API, json=body)
            assert again.status_code == 200, again.text
            r = await c.get(endpoint, params=API)
            assert r.headers["etag"] == again.headers["etag"] != put.headers["etag"]
            assert r.json()["properties"]["host"] == "two.azurecr.io"

            missing = await c.get(f"{inst}/registryEndpoints/nope-ep", params=API)
            assert missing.status_code == 404, missing.text
            assert missing.json()["error"]["code"] == "ResourceNotFound"

            # Kill every server connection: the next reads still answer, then reconnect.
            assert _terminate_others(url) >= 1
            after = await asyncio.gather(*(c.get(endpoint, params=API) for _ in range(4)))
            assert [r.status_code for r in after] == [200] * 4
            assert {r.headers["etag"] for r in after} == {again.headers["etag"]}
            r = await c.get(endpoint, params=API)
            assert r.status_code == 200
        await store.aclose()

    asyncio.run(main())


def test_sqlite_keeps_its_own_fast_path(tmp_path: Path) -> None:
    with in_process(tmp_path / "data", None) as ip:
        assert not ip.runtime.store.async_reads
