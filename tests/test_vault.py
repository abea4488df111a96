"""The embedded vault through the unmodified ``azure-keyvault-secrets`` client, and raw HTTP.

Every test uses its own secret names: the vault is shared by the session's server.
"""

from __future__ import annotations

import datetime as dt
import re
import ssl
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
)
from azure.keyvault.secrets import SecretClient

from iotops_registry import LocalIssuerCredential
from tests.support.server import ServerProcess

API = "2026-04-01"
VAULT = "https://vault.azure.net"


def _name(prefix: str = "s") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def vault(server: ServerProcess, credential: LocalIssuerCredential) -> Iterator[SecretClient]:
    client = SecretClient(
        server.endpoints["vault"],
        credential,
        verify_challenge_resource=False,
        connection_verify=server.ca,
        retry_total=0,
    )
    yield client
    client.close()


@pytest.fixture(scope="module")
def raw(server: ServerProcess, credential: LocalIssuerCredential) -> Iterator[httpx.Client]:
    """Plain HTTPS with a vault token, for what the SDK never sends."""
    with httpx.Client(
        base_url=server.endpoints["vault"],
        verify=ssl.create_default_context(cafile=server.ca),
        headers={"Authorization": f"Bearer {credential.mint(VAULT)}"},
    ) as client:
        yield client


def _error(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()["error"]
    return body


# --- values and versions -------------------------------------------------------------------


def test_api_doc_example_runs(vault: SecretClient) -> None:
    """docs/api.md's example of what set and get answer, run as written."""
    doc = (Path(__file__).resolve().parents[1] / "docs" / "api.md").read_text()
    (example,) = [b for b in re.findall(r"```python\n(.*?)```", doc, re.S) if "set_secret" in b]
    name = _name("doc")
    exec(example.replace('"acr-password"', repr(name)), {"client": vault})


def test_set_makes_a_new_version_each_time(vault: SecretClient, server: ServerProcess) -> None:
    name = _name()
    first = vault.set_secret(name, "one", content_type="text/plain", tags={"env": "dev"})
    second = vault.set_secret(name, "two")
    # As in Azure, the set response echoes the value to the caller that sent it.
    assert first.value == "one" and second.value == "two"
    assert first.properties.version != second.properties.version
    assert first.id == f"{server.endpoints['vault']}/secrets/{name}/{first.properties.version}"
    assert first.properties.content_type == "text/plain"
    assert first.properties.tags == {"env": "dev"}
    assert first.properties.enabled is True
    assert first.properties.recovery_level == "Recoverable+Purgeable"
    assert first.properties.recoverable_days == 90
    created = first.properties.created_on
    assert created is not None and abs(created - _now()) < dt.timedelta(seconds=30)

    latest = vault.get_secret(name)
    assert latest.value == "two" and latest.properties.version == second.properties.version
    older = vault.get_secret(name, first.properties.version)
    assert older.value == "one" and older.properties.tags == {"env": "dev"}
    # Names ignore case and keep the case they were created with.
    assert vault.get_secret(name.upper()).name == name


def test_values_round_trip_exactly(vault: SecretClient) -> None:
    name = _name()
    for value in ("", "é ü 日本 🔐", 'line\nbreak\t"quoted"', "x" * 25_600):
        vault.set_secret(name, value)
        assert vault.get_secret(name).value == value


def test_list_secrets_pages(vault: SecretClient, raw: httpx.Client) -> None:
    prefix = f"p{uuid.uuid4().hex[:6]}"
    names = [f"{prefix}-{i}" for i in range(5)]
    for n in names:
        vault.set_secret(n, "v", tags={"i": n[-1]})
    pages = [list(page) for page in vault.list_properties_of_secrets(max_page_size=2).by_page()]
    assert len(pages) >= 3 and all(len(page) <= 2 for page in pages)
    seen = [p for page in pages for p in page]
    mine = [p for p in seen if p.name and p.name.startswith(prefix)]
    assert [p.name for p in mine] == names
    assert all(p.version is None for p in mine)  # list ids carry no version
    assert [p.tags for p in mine] == [{"i": str(i)} for i in range(5)]

    first = raw.get("/secrets", params={"api-version": API, "maxresults": 2}).json()
    assert len(first["value"]) == 2
    link = first["nextLink"]
    assert link.startswith(str(raw.base_url).rstrip("/") + "/secrets?")
    assert "maxresults=2" in link and "$skiptoken=" in link
    assert all("value" not in item for item in first["value"])


def test_list_versions_pages(vault: SecretClient) -> None:
    name = _name()
    versions = [vault.set_secret(name, f"v{i}").properties.version for i in range(5)]
    pager = vault.list_properties_of_secret_versions(name, max_page_size=2)
    pages = [list(page) for page in pager.by_page()]
    assert [len(p) for p in pages] == [2, 2, 1]
    listed = [p for page in pages for p in page]
    assert [p.version for p in listed] == versions
    assert all(p.name == name for p in listed)


def test_bad_paging_parameters(raw: httpx.Client) -> None:
    for params in (
        {"maxresults": "0"},
        {"maxresults": "26"},
        {"maxresults": "x"},
        {"$skiptoken": "not-a-token"},
    ):
        r = raw.get("/secrets", params={"api-version": API, **params})
        assert r.status_code == 400, params
        assert _error(r)["code"] == "BadParameter"


# --- properties ----------------------------------------------------------------------------


def test_update_properties(vault: SecretClient, raw: httpx.Client) -> None:
    name = _name()
    first = vault.set_secret(name, "one")
    second = vault.set_secret(name, "two")
    # The newest version (no version: PATCH /secrets/{name}/).
    nbf, exp = _now() - dt.timedelta(hours=1), _now() + dt.timedelta(days=1)
    props = vault.update_secret_properties(
        name, content_type="application/json", tags={"a": "1"}, not_before=nbf, expires_on=exp
    )
    assert props.version == second.properties.version
    assert props.content_type == "application/json" and props.tags == {"a": "1"}
    assert props.not_before == nbf and props.expires_on == exp
    got = vault.get_secret(name)
    assert got.value == "two" and got.properties.expires_on == exp
    # A given version; untouched attributes stay as they were.
    old = vault.update_secret_properties(name, first.properties.version, enabled=False)
    assert old.enabled is False and old.content_type is None
    assert vault.get_secret(name).properties.tags == {"a": "1"}
    with pytest.raises(HttpResponseError) as e:
        vault.get_secret(name, first.properties.version)
    assert e.value.status_code == 403
    # The response of an update never carries the value.
    r = raw.patch(f"/secrets/{name}/", params={"api-version": API}, json={"tags": {"b": "2"}})
    assert r.status_code == 200 and "value" not in r.json() and r.json()["tags"] == {"b": "2"}
    bad = raw.patch(f"/secrets/{name}/", params={"api-version": API}, json={"value": "x"})
    assert bad.status_code == 400


def test_update_unknown_secret(vault: SecretClient) -> None:
    with pytest.raises(ResourceNotFoundError) as e:
        vault.update_secret_properties(_name(), enabled=False)
    assert e.value.error is not None and e.value.error.code == "SecretNotFound"


# --- refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "inner", "message"),
    [
        (
            {"enabled": False},
            "SecretDisabled",
            "Operation get is not allowed on a disabled secret.",
        ),
        (
            {"not_before": _now() + dt.timedelta(hours=1)},
            "SecretNotYetValid",
            "Operation get is not allowed on a secret that is not yet valid.",
        ),
        (
            {"expires_on": _now() - dt.timedelta(minutes=5)},
            "SecretExpired",
            "Operation get is not allowed on an expired secret.",
        ),
    ],
)
def test_get_refused(vault: SecretClient, kwargs: dict[str, Any], inner: str, message: str) -> None:
    name = _name()
    secret = vault.set_secret(name, "hidden", **kwargs)
    for version in (None, secret.properties.version):
        with pytest.raises(HttpResponseError) as e:
            vault.get_secret(name, version)
        assert e.value.status_code == 403
        assert e.value.error is not None
        assert e.value.error.code == "Forbidden"
        assert e.value.error.innererror == {"code": inner}
        assert e.value.error.message == message
    # Its properties are still listed.
    versions = list(vault.list_properties_of_secret_versions(name))
    assert [v.version for v in versions] == [secret.properties.version]


def test_not_found(vault: SecretClient, raw: httpx.Client) -> None:
    name = _name()
    with pytest.raises(ResourceNotFoundError) as e:
        vault.get_secret(name)
    assert e.value.error is not None and e.value.error.code == "SecretNotFound"
    assert f"A secret with (name/id) {name} was not found in this key vault" in str(e.value)
    vault.set_secret(name, "v")
    with pytest.raises(ResourceNotFoundError):
        vault.get_secret(name, uuid.uuid4().hex)
    with pytest.raises(ResourceNotFoundError):
        vault.get_secret(name, "not-a-version")
    with pytest.raises(ResourceNotFoundError):
        vault.get_deleted_secret(name)  # it is not deleted
    assert list(vault.list_properties_of_secret_versions(_name())) == []
    r = raw.get("/keys/k", params={"api-version": API})
    assert r.status_code == 404 and _error(r)["code"] == "NotFound"
    r = raw.post("/secrets", params={"api-version": API})
    assert r.status_code == 405 and _error(r)["code"] == "MethodNotAllowed"


@pytest.mark.parametrize("name", ["bad_name", "a" * 128, "dot.name", "ünï"])
def test_invalid_names_store_nothing(vault: SecretClient, raw: httpx.Client, name: str) -> None:
    with pytest.raises(HttpResponseError) as e:
        vault.set_secret(name, "v")
    assert e.value.status_code == 400
    assert e.value.error is not None and e.value.error.code == "BadParameter"
    with pytest.raises(HttpResponseError) as e:
        vault.get_secret(name)
    assert e.value.status_code == 400
    listed = raw.get("/secrets", params={"api-version": API}).json()
    assert not any(name.lower() in item["id"].lower() for item in listed["value"])


def test_value_limits_store_nothing(vault: SecretClient) -> None:
    name = _name()
    for value in ("x" * 25_601, "é" * 12_801):  # 25,601 and 25,602 bytes of UTF-8
        with pytest.raises(HttpResponseError) as e:
            vault.set_secret(name, value)
        assert e.value.status_code == 400
        assert e.value.error is not None and e.value.error.code == "BadParameter"
        assert value[:50] not in str(e.value)
    with pytest.raises(ResourceNotFoundError):
        vault.get_secret(name)
    assert list(vault.list_properties_of_secret_versions(name)) == []
    # Exactly 25,600 bytes is allowed, however the JSON escapes it (the SDK sends \u00e9).
    for value in ("é" * 12_800, "\x01" * 25_600):
        vault.set_secret(name, value)
        assert vault.get_secret(name).value == value


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{not json", 400),
        (b"[1, 2]", 400),
        (b'{"value": 5}', 400),
        (b'{"novalue": "x"}', 400),
        (b'{"value": "x", "tags": {"k": 1}}', 400),
        (
            b'{"value": "x", "tags": '
            + str({f"t{i}": "v" for i in range(16)}).replace("'", '"').encode()
            + b"}",
            400,
        ),
        (b'{"value": "x", "contentType": "' + b"c" * 256 + b'"}', 400),
        (b'{"value": "x", "attributes": {"exp": "tomorrow"}}', 400),
        (b'{"value": "x", "attributes": {"enabled": "yes"}}', 400),
        (b'{"value": "\\ud800"}', 400),
        (b'{"value": "' + b"x" * 270_000 + b'"}', 413),
    ],
)
def test_rejected_bodies_store_nothing(raw: httpx.Client, body: bytes, status: int) -> None:
    name = _name()
    r = raw.put(
        f"/secrets/{name}",
        params={"api-version": API},
        content=body,
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == status, r.text
    assert _error(r)["code"] in ("BadParameter", "RequestEntityTooLarge")
    assert raw.get(f"/secrets/{name}/", params={"api-version": API}).status_code == 404


def test_api_versions(
    server: ServerProcess, credential: LocalIssuerCredential, raw: httpx.Client
) -> None:
    name = _name()
    for version in ("7.0", "7.4", "7.6", "2025-07-01"):
        with SecretClient(
            server.endpoints["vault"],
            credential,
            api_version=version,
            verify_challenge_resource=False,
            connection_verify=server.ca,
        ) as client:
            client.set_secret(name, version)
            assert client.get_secret(name).value == version
    for params in ({"api-version": "2016-10-01"}, {"api-version": "2099-01-01"}, {}):
        r = raw.get(f"/secrets/{name}/", params=params)
        assert r.status_code == 400 and _error(r)["code"] == "BadParameter"


# --- soft delete ---------------------------------------------------------------------------


def test_delete_recover_purge(vault: SecretClient, raw: httpx.Client) -> None:
    name = _name()
    v1 = vault.set_secret(name, "one", tags={"k": "v"})
    vault.set_secret(name, "two")

    started = time.monotonic()
    poller = vault.begin_delete_secret(name)
    poller.wait()
    assert time.monotonic() - started < 1.5  # one poll, no 2 s sleep
    deleted = poller.result()
    assert deleted.name == name and deleted.recovery_id is not None
    assert deleted.recovery_id.endswith(f"/deletedsecrets/{name}")
    assert deleted.deleted_date is not None and deleted.scheduled_purge_date is not None
    assert deleted.scheduled_purge_date - deleted.deleted_date == dt.timedelta(days=90)

    # Gone from the live collection.
    with pytest.raises(ResourceNotFoundError):
        vault.get_secret(name)
    with pytest.raises(ResourceNotFoundError):
        vault.get_secret(name, v1.properties.version)
    assert name not in {p.name for p in vault.list_properties_of_secrets()}
    assert list(vault.list_properties_of_secret_versions(name)) == []
    with pytest.raises(ResourceNotFoundError):
        vault.begin_delete_secret(name)

    got = vault.get_deleted_secret(name)
    assert got.name == name and got.recovery_id == deleted.recovery_id
    listed = [d for d in vault.list_deleted_secrets() if d.name == name]
    assert len(listed) == 1 and listed[0].scheduled_purge_date == deleted.scheduled_purge_date
    body = raw.get(f"/deletedsecrets/{name}", params={"api-version": API}).json()
    assert "value" not in body and body["recoveryId"] == deleted.recovery_id

    # Its name cannot be reused while it is recoverable.
    with pytest.raises(ResourceExistsError) as e:
        vault.set_secret(name, "three")
    assert e.value.error is not None and e.value.error.code == "Conflict"
    assert e.value.error.innererror == {"code": "ObjectIsDeletedButRecoverable"}
    assert "is currently in a deleted but recoverable state" in str(e.value.error.message)

    started = time.monotonic()
    recover = vault.begin_recover_deleted_secret(name)
    recover.wait()
    assert time.monotonic() - started < 1.5
    assert recover.result().name == name
    assert vault.get_secret(name).value == "two"
    assert vault.get_secret(name, v1.properties.version).value == "one"
    with pytest.raises(ResourceNotFoundError):
        vault.get_deleted_secret(name)

    vault.begin_delete_secret(name).wait()
    vault.purge_deleted_secret(name)
    with pytest.raises(ResourceNotFoundError):
        vault.get_deleted_secret(name)
    with pytest.raises(ResourceNotFoundError):
        vault.purge_deleted_secret(name)
    # After a purge the name is free again, with a fresh history.
    vault.set_secret(name, "new")
    assert len(list(vault.list_properties_of_secret_versions(name))) == 1


def test_recover_response_has_no_value(vault: SecretClient, raw: httpx.Client) -> None:
    name = _name()
    vault.set_secret(name, "v")
    d = raw.delete(f"/secrets/{name}", params={"api-version": API})
    assert d.status_code == 200 and "value" not in d.json()
    r = raw.post(f"/deletedsecrets/{name}/recover", params={"api-version": API})
    assert r.status_code == 200 and "value" not in r.json()
    assert r.json()["id"].split("/secrets/")[1].startswith(name + "/")
    raw.delete(f"/secrets/{name}", params={"api-version": API})
    p = raw.delete(f"/deletedsecrets/{name}", params={"api-version": API})
    assert p.status_code == 204 and p.content == b""


def test_list_deleted_pages(vault: SecretClient) -> None:
    prefix = f"d{uuid.uuid4().hex[:6]}"
    names = [f"{prefix}-{i}" for i in range(4)]
    for n in names:
        vault.set_secret(n, "v")
        vault.begin_delete_secret(n).wait()
    pages = [list(p) for p in vault.list_deleted_secrets(max_page_size=2).by_page()]
    assert all(len(p) <= 2 for p in pages)
    mine = [d for page in pages for d in page if d.name and d.name.startswith(prefix)]
    assert [d.name for d in mine] == names
    assert all(d.recovery_id and d.deleted_date for d in mine)


# --- authentication ------------------------------------------------------------------------


def test_challenge(server: ServerProcess) -> None:
    with httpx.Client(
        base_url=server.endpoints["vault"], verify=ssl.create_default_context(cafile=server.ca)
    ) as c:
        for method, path in (("GET", "/secrets"), ("PUT", "/secrets/x"), ("GET", "/nowhere")):
            r = c.request(method, path, params={"api-version": API})
            assert r.status_code == 401
            authority = f"{server.arm}/{server.endpoints['tenant']}"
            assert r.headers["www-authenticate"] == (
                f'Bearer authorization="{authority}", resource="{VAULT}"'
            )
            assert _error(r)["code"] == "Unauthorized"
        # The issuer origin is the ARM origin, whose issuer is <authority>/v2.0.
        assert server.endpoints["issuer"] == f"{authority}/v2.0"


def test_token_for_another_audience_is_refused(
    server: ServerProcess, credential: LocalIssuerCredential
) -> None:
    verify = ssl.create_default_context(cafile=server.ca)
    for token in (credential.mint("https://management.azure.com"), "not-a-jwt"):
        with httpx.Client(base_url=server.endpoints["vault"], verify=verify) as c:
            r = c.get(
                "/secrets",
                params={"api-version": API},
                headers={"Authorization": f"Bearer {token}"},
            )
        assert r.status_code == 401
        assert _error(r)["code"] == "Unauthorized"
        assert r.headers["www-authenticate"].startswith('Bearer authorization="')


def test_sdk_with_wrong_audience_fails(server: ServerProcess) -> None:
    class ArmOnly(LocalIssuerCredential):
        def mint(self, resource: str) -> str:
            return super().mint("https://management.azure.com")

    # A port the SDK's challenge cache has not seen: a different host name for the vault.
    url = server.endpoints["vault"].replace("127.0.0.1", "localhost")
    with (
        SecretClient(
            url,
            ArmOnly(server.data_dir),
            verify_challenge_resource=False,
            connection_verify=server.ca,
            retry_total=0,
        ) as client,
        pytest.raises(ClientAuthenticationError),
    ):
        client.get_secret(_name())


# --- at rest and in logs -------------------------------------------------------------------


def database_dump(server: ServerProcess, database_url: str | None) -> bytes:
    """Everything the database holds: the SQLite files, or every row of every table."""
    if database_url is None:
        db = server.data_dir / "registry.db"
        return b"".join(
            p.read_bytes()
            for p in (db, db.with_name("registry.db-wal"), db.with_name("registry.db-shm"))
            if p.exists()
        )
    import psycopg

    dsn = database_url.replace("postgresql+psycopg://", "postgresql://")
    out: list[bytes] = []
    with psycopg.connect(dsn) as conn:
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
        for (table,) in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                for cell in row:
                    out.append(
                        bytes(cell) if isinstance(cell, bytes | memoryview) else str(cell).encode()
                    )
    return b"\n".join(out)


def test_values_are_sealed_at_rest(
    vault: SecretClient, raw: httpx.Client, server: ServerProcess, database_url: str | None
) -> None:
    canary = f"canary-{uuid.uuid4().hex}"
    name = _name()
    vault.set_secret(name, canary, tags={"note": "tags are not secret"})
    vault.set_secret(name, canary + "-2")
    assert vault.get_secret(name).value == canary + "-2"
    # Every other answer about the secret leaves the value out.
    for method, path in (
        ("GET", "/secrets"),
        ("GET", f"/secrets/{name}/versions"),
        ("PATCH", f"/secrets/{name}/"),
        ("DELETE", f"/secrets/{name}"),
        ("GET", f"/deletedsecrets/{name}"),
        ("GET", "/deletedsecrets"),
        ("POST", f"/deletedsecrets/{name}/recover"),
    ):
        r = raw.request(
            method, path, params={"api-version": API}, json={} if method == "PATCH" else None
        )
        assert r.status_code == 200, (method, path, r.text)
        assert canary not in r.text, (method, path)
    dump = database_dump(server, database_url)
    assert name.encode() in dump and b"tags are not secret" in dump  # we did look at the data
    assert canary.encode() not in dump
    assert canary.encode("utf-16-le") not in dump
    assert canary not in server.log_path.read_text(errors="replace")
