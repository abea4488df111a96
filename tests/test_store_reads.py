"""A connection test reads its endpoint once: the endpoint service loads it (with the synced
secret a pull secret names, in the same read) and passes it down; the connection test, the
authenticators and the resolver never go back to the store. In-process, against the real
CNCF Distribution registry (plain HTTP on loopback, Basic auth)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import API_VERSION, custom_location
from tests.support.inprocess import InProcess

if TYPE_CHECKING:
    from tests.support.registry import RegistryProcess

pytest_plugins = ["tests.support.registry"]
Q = {"api-version": API_VERSION}


@contextmanager
def counting_reads(inproc: InProcess) -> Iterator[list[str]]:
    """Every store read (read transactions and the fast single-endpoint read), by name."""
    store = inproc.runtime.store
    reads: list[str] = []
    originals: dict[str, Callable[..., Any]] = {}
    for name in ("read", "get_endpoint_fast"):
        original = getattr(store, name)
        originals[name] = original

        def counted(*args: Any, _name: str = name, _fn: Any = original, **kw: Any) -> Any:
            reads.append(_name)
            return _fn(*args, **kw)

        setattr(store, name, counted)
    try:
        yield reads
    finally:
        for name, original in originals.items():
            setattr(store, name, original)


@pytest.mark.anyio
@pytest.mark.parametrize("method", ["anonymous", "pull-secret"])
async def test_a_connection_test_reads_the_endpoint_once(
    inproc: InProcess, registry: RegistryProcess, method: str
) -> None:
    rg = f"rg-{uuid.uuid4().hex[:8]}"
    instance = (
        f"/subscriptions/{inproc.subscription}/resourceGroups/{rg}/providers/"
        "Microsoft.IoTOperations/instances/reads"
    )
    location = custom_location(inproc.subscription, rg)
    if method == "anonymous":
        auth: dict[str, Any] = {"method": "Anonymous", "anonymousSettings": {}}
    else:  # its synced secret does not exist: the credential step says so, from the same read
        auth = {"method": "ArtifactPullSecret", "artifactPullSecretSettings": {"secretRef": "s"}}
    async with inproc.async_client(timeout=60) as c:
        r = await c.put(instance, params=Q, json={
            "location": "eastus",
            "extendedLocation": {"name": location, "type": "CustomLocation"},
        })
        assert r.status_code == 201, r.text
        endpoint = f"{instance}/registryEndpoints/counted"
        r = await c.put(endpoint, params=Q, json={
            "properties": {"host": registry.host, "authentication": auth}})
        assert r.status_code == 201, r.text
        r = await c.put(f"{endpoint}/connectionSettings", params=Q,
                        json={"properties": {"plainHttp": True}})
        assert r.status_code == 200, r.text
        async with inproc.runtime.running():
            with counting_reads(inproc) as reads:
                r = await c.post(f"{endpoint}/test", params=Q)
    assert r.status_code == 200, r.text
    report = r.json()
    steps = {s["name"]: s for s in report["steps"]}
    assert steps["RegistryPing"]["status"] == "Succeeded", report  # it got that far
    if method == "pull-secret":
        assert steps["CredentialAcquisition"]["code"] == "SyncedSecretNotFound", report
    assert reads == ["read"], reads
