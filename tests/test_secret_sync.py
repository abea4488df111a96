"""Artifact secrets end to end over the HTTP API: Key Vault secrets, synced secrets, an
ArtifactPullSecret endpoint, rotation, and resolution to a username and password."""

from __future__ import annotations

import json
import ssl
import time
import uuid
from typing import Any

import httpx
import pytest

from iotops_registry import LocalIssuerCredential
from iotops_registry.domain import InstanceKey, RegistryEndpointKey
from iotops_registry.services import PullSecretError, PullSecretResolver
from tests.conftest import API_VERSION, Scope
from tests.support.server import ServerProcess

Q = {"api-version": API_VERSION}


def _ep(secret_ref: str, host: str = "myacr.azurecr.io") -> dict[str, Any]:
    return {
        "properties": {
            "host": host,
            "authentication": {
                "method": "ArtifactPullSecret",
                "artifactPullSecretSettings": {"secretRef": secret_ref},
            },
        }
    }


def _sync(*pairs: tuple[str, str]) -> dict[str, Any]:
    return {
        "properties": {"objectSecretMapping": [{"sourcePath": s, "targetKey": t} for s, t in pairs]}
    }


def _set_kv(http: httpx.Client, scope: Scope, name: str, value: str) -> dict[str, Any]:
    r = http.put(
        f"{scope.instance_path}/keyVaultSecrets/{name}",
        params=Q,
        json={"properties": {"value": value, "contentType": "text/plain"}},
    )
    assert r.status_code in (200, 201), r.text
    assert value not in r.text
    body: dict[str, Any] = r.json()
    return body


@pytest.fixture
def names() -> dict[str, str]:
    u = uuid.uuid4().hex[:8]
    return {"user": f"acr-user-{u}", "pass": f"acr-pass-{u}", "sync": f"acr-pull-{u}"}


def test_pull_secret_flow_and_rotation(
    http: httpx.Client, scope: Scope, names: dict[str, str], resolver: PullSecretResolver
) -> None:
    # The endpoint can come first: accepted, with a warning that names the missing secret.
    r = http.put(scope.endpoint_path("acr"), params=Q, json=_ep(names["sync"]))
    assert r.status_code == 201
    assert names["sync"] in r.headers["warning"] and r.headers["warning"].startswith("299 ")
    resolve = f"{scope.endpoint_path('acr')}/resolveCredentials"
    r = http.post(resolve, params=Q)
    assert r.status_code == 424 and r.json()["error"]["code"] == "SyncedSecretNotFound"
    assert r.json()["error"]["target"] == names["sync"]

    v_user = _set_kv(http, scope, names["user"], "robot")
    v1 = _set_kv(http, scope, names["pass"], "first-password")
    listed = http.get(f"{scope.instance_path}/keyVaultSecrets", params=Q).json()["value"]
    mine = {s["name"]: s for s in listed if s["name"] in (names["user"], names["pass"])}
    assert mine[names["pass"]]["properties"]["contentType"] == "text/plain"
    assert "value" not in json.dumps(listed)

    r = http.put(
        f"{scope.instance_path}/syncedSecrets/{names['sync']}",
        params=Q,
        json=_sync((names["user"], "username"), (names["pass"], "password")),
    )
    assert r.status_code == 201, r.text
    assert r.json()["properties"]["objectSecretMapping"][1]["targetKey"] == "password"
    # Re-putting the endpoint now gives no warning.
    r = http.put(scope.endpoint_path("acr"), params=Q, json=_ep(names["sync"]))
    assert r.status_code == 200 and "warning" not in r.headers

    got = http.post(resolve, params=Q).json()
    assert got["sources"] == {
        "username": f"{names['user']}@{v_user['properties']['version']}",
        "password": f"{names['pass']}@{v1['properties']['version']}",
    }
    assert "first-password" not in json.dumps(got)
    key = RegistryEndpointKey(InstanceKey(scope.subscription, scope.rg, scope.instance), "acr")
    cred = resolver.resolve(key).credential
    assert (cred.username, cred.password) == ("robot", "first-password")
    assert "first-password" not in repr(cred)

    # Rotate the password in Key Vault: a fresh resolution sees the new version at once.
    v2 = _set_kv(http, scope, names["pass"], "second-password")
    got = http.post(resolve, params={**Q, "fresh": "true"}).json()
    assert got["sources"]["password"] == f"{names['pass']}@{v2['properties']['version']}"
    assert resolver.resolve(key).credential.password == "second-password"


def test_rotation_is_picked_up_after_the_cache_ttl(tmp_path: Any, database_url: str | None) -> None:
    from tests.support.server import create_pg_database, database_backend, drop_pg_database

    db = create_pg_database() if database_backend() == "postgresql" else None
    srv = ServerProcess(
        tmp_path / "ttl", database_url=db, extra_args=["--secret-cache-ttl", "1"]
    ).start()
    try:
        cred = LocalIssuerCredential(srv.data_dir)
        from azure.mgmt.iotoperations import IoTOperationsMgmtClient

        with IoTOperationsMgmtClient(
            cred, srv.subscription, base_url=srv.arm, connection_verify=srv.ca
        ) as sdk:
            scope = Scope(sdk, srv.subscription)
        with httpx.Client(
            base_url=srv.arm,
            verify=ssl.create_default_context(cafile=srv.ca),
            headers={"Authorization": f"Bearer {cred.mint('https://management.azure.com')}"},
        ) as http:
            _set_kv(http, scope, "user", "robot")
            _set_kv(http, scope, "pass", "one")
            assert (
                http.put(
                    f"{scope.instance_path}/syncedSecrets/pull",
                    params=Q,
                    json=_sync(("user", "username"), ("pass", "password")),
                ).status_code
                == 201
            )
            assert (
                http.put(scope.endpoint_path("acr"), params=Q, json=_ep("pull")).status_code == 201
            )
            url = f"{scope.endpoint_path('acr')}/resolveCredentials"
            first = http.post(url, params=Q).json()["sources"]["password"]
            new = _set_kv(http, scope, "pass", "two")["properties"]["version"]
            cached = http.post(url, params=Q).json()["sources"]["password"]
            assert cached == first  # inside the TTL: the cache answers
            time.sleep(1.2)
            assert http.post(url, params=Q).json()["sources"]["password"] == f"pass@{new}"
    finally:
        srv.stop()
        if db:
            drop_pg_database(db)


def test_docker_config_json_mapping(
    http: httpx.Client, scope: Scope, names: dict[str, str], resolver: PullSecretResolver
) -> None:
    config = {
        "auths": {
            "https://myacr.azurecr.io": {"username": "dk", "password": "dk-pass"},
            "other.io": {"auth": "eDp5"},
        }
    }
    _set_kv(http, scope, names["pass"], json.dumps(config))
    assert (
        http.put(
            f"{scope.instance_path}/syncedSecrets/{names['sync']}",
            params=Q,
            json=_sync((names["pass"], ".dockerconfigjson")),
        ).status_code
        == 201
    )
    r = http.put(
        scope.endpoint_path("docker"), params=Q, json=_ep(names["sync"], "myacr.azurecr.io/team")
    )
    assert r.status_code == 201 and "warning" not in r.headers
    key = RegistryEndpointKey(InstanceKey(scope.subscription, scope.rg, scope.instance), "docker")
    assert resolver.resolve(key).credential.username == "dk"
    r = http.put(scope.endpoint_path("nomatch"), params=Q, json=_ep(names["sync"], "ghcr.io"))
    with pytest.raises(PullSecretError) as err:
        resolver.resolve(RegistryEndpointKey(key.parent, "nomatch"))
    assert err.value.code == "DockerConfigHasNoEntry"


def test_synced_secret_rules(http: httpx.Client, scope: Scope, names: dict[str, str]) -> None:
    _set_kv(http, scope, names["user"], "robot")
    url = f"{scope.instance_path}/syncedSecrets/{names['sync']}"
    cases = [
        (
            _sync((names["user"], "username"), ("does-not-exist-" + names["sync"], "password")),
            400,
            "KeyVaultSecretNotFound",
            "properties.objectSecretMapping[1].sourcePath",
        ),
        (
            _sync((names["user"], "username"), (names["user"], "username")),
            400,
            "DuplicateTargetKey",
            "properties.objectSecretMapping",
        ),
        (
            _sync((names["user"], "user name")),
            400,
            "InvalidTargetKey",
            "properties.objectSecretMapping[0].targetKey",
        ),
        (
            _sync(("bad_name!", "username")),
            400,
            "InvalidKeyVaultSecretName",
            "properties.objectSecretMapping[0].sourcePath",
        ),
        (
            _sync((names["user"] + "@nothex", "username")),
            400,
            "InvalidKeyVaultSecretVersion",
            "properties.objectSecretMapping[0].sourcePath",
        ),
        (
            _sync((names["user"] + "@" + "0" * 32, "username")),
            400,
            "KeyVaultSecretNotFound",
            "properties.objectSecretMapping[0].sourcePath",
        ),
        (
            {"properties": {"objectSecretMapping": []}},
            400,
            "InvalidPropertyValue",
            "properties.objectSecretMapping",
        ),
    ]
    for body, status, code, target in cases:
        r = http.put(url, params=Q, json=body)
        assert r.status_code == status, (body, r.text)
        assert r.json()["error"]["code"] == code and r.json()["error"]["target"] == target
    assert http.get(url, params=Q).status_code == 404  # nothing stored

    # Key Vault secret validation: names and sizes, nothing stored.
    bad = http.put(
        f"{scope.instance_path}/keyVaultSecrets/bad_name",
        params=Q,
        json={"properties": {"value": "x"}},
    )
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "InvalidKeyVaultSecretName"
    big_name = "big-" + names["sync"]
    big = http.put(
        f"{scope.instance_path}/keyVaultSecrets/{big_name}",
        params=Q,
        json={"properties": {"value": "v" * (25 * 1024 + 1)}},
    )
    assert big.status_code == 400 and big.json()["error"]["code"] == "SecretValueTooLarge"
    assert "vvvv" not in big.text
    listed = http.get(f"{scope.instance_path}/keyVaultSecrets", params=Q).json()["value"]
    assert big_name not in {s["name"] for s in listed}


def test_synced_secret_in_use_is_protected(
    http: httpx.Client, scope: Scope, names: dict[str, str]
) -> None:
    _set_kv(http, scope, names["user"], "robot")
    _set_kv(http, scope, names["pass"], "pw")
    url = f"{scope.instance_path}/syncedSecrets/{names['sync']}"
    assert (
        http.put(
            url, params=Q, json=_sync((names["user"], "username"), (names["pass"], "password"))
        ).status_code
        == 201
    )
    for ep in ("user-a", "user-b"):
        assert (
            http.put(scope.endpoint_path(ep), params=Q, json=_ep(names["sync"])).status_code == 201
        )
    r = http.delete(url, params=Q)
    assert r.status_code == 409
    err = r.json()["error"]
    assert (
        err["code"] == "SyncedSecretInUse"
        and "'user-a'" in err["message"]
        and "'user-b'" in err["message"]
    )
    assert http.get(url, params=Q).status_code == 200
    assert http.delete(url, params={**Q, "force": "true"}).status_code == 204
    assert http.get(url, params=Q).status_code == 404
    listed = http.get(f"{scope.instance_path}/syncedSecrets", params=Q).json()["value"]
    assert listed == []
