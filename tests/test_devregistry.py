"""The development registry's ACR flow, by hand with httpx against the real processes:
IMDS token → ``/oauth2/exchange`` → ``/oauth2/token`` → the CNCF Distribution registry,
which verifies the token service's ES256 tokens itself."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from tests.support.cli import iotops
from tests.support.dev import (
    ARM,
    Dev,
    Layout,
    cert_dir,
    claims,
    dev_clients,
    oci_layout,
    skopeo,
    unique,
)
from tests.support.server import ServerProcess

CATALOG = "registry:catalog:*"


@pytest.fixture(scope="module")
def dev(dev_server: ServerProcess) -> Iterator[Dev]:
    with dev_clients(dev_server) as clients:
        yield clients


@pytest.fixture(scope="module")
def artifact(dev: Dev, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Layout]:
    """One artifact in the registry, pushed with skopeo and a push token."""
    root = tmp_path_factory.mktemp("artifact")
    repo = f"{unique('team')}/module"
    user, password = dev.repository_token(repo, ["pull", "push"])
    layout = oci_layout(root / "layout", "v1", b"\0asm module bytes")
    out = skopeo("copy", "--dest-creds", f"{user}:{password}",
                 "--dest-cert-dir", str(cert_dir(dev.server, root / "certs")),
                 f"oci:{layout.path}:v1", f"docker://{dev.registry}/{repo}:v1")
    assert out.returncode == 0, out.stderr
    return repo, layout


def access(token_response: object) -> list[dict[str, object]]:
    assert hasattr(token_response, "json")
    body = token_response.json()
    assert body["token"] == body["access_token"]
    assert body["expires_in"] >= 60 and body["issued_at"].endswith("Z")
    return list(claims(body["token"])["access"])


def test_identity_with_acrpull_pulls_through_the_whole_flow(
    dev: Dev, artifact: tuple[str, Layout]
) -> None:
    repo, layout = artifact
    mi = dev.identity()
    dev.assign(mi["clientId"], "AcrPull")
    exchanges = dev.count("exchange", mi["clientId"])
    refresh = dev.refresh(dev.imds_token(ARM, mi["clientId"]))
    rc = claims(refresh)
    assert rc["sub"] == mi["clientId"] and rc["grant_type"] == "refresh_token"
    assert rc["aud"] == dev.registry and rc["iss"] == dev.token_url
    assert 3 * 3600 - 60 <= rc["exp"] - rc["iat"] <= 3 * 3600
    assert dev.count("exchange", mi["clientId"]) == exchanges + 1

    resp = dev.token_by_refresh(refresh, f"repository:{repo}:pull,push", CATALOG)
    assert resp.status_code == 200, resp.text
    # Partial grant: push is not AcrPull's, and that is not an error.
    assert access(resp) == [
        {"type": "repository", "name": repo, "actions": ["pull"]},
        {"type": "registry", "name": "catalog", "actions": ["*"]},
    ]
    header = jwt.get_unverified_header(resp.json()["token"])
    assert header["alg"] == "ES256" and len(header["kid"].split(":")) == 12
    token = resp.json()["token"]
    manifest = dev.manifest(repo, "v1", token)
    assert manifest.status_code == 200, manifest.text
    assert manifest.headers["docker-content-digest"] == layout.manifest_digest
    catalog = dev.tls.get(f"https://{dev.registry}/v2/_catalog",
                          headers={"Authorization": f"Bearer {token}"})
    assert catalog.status_code == 200 and repo in catalog.json()["repositories"]
    # Without a token the registry challenges with the token service as its realm.
    bare = dev.manifest(repo, "v1", None)
    assert bare.status_code == 401
    assert f'realm="{dev.token_url}/oauth2/token"' in bare.headers["www-authenticate"]
    assert f'service="{dev.registry}"' in bare.headers["www-authenticate"]


def test_acrpush_adds_push_and_the_acr_audience_works(dev: Dev) -> None:
    mi = dev.identity()
    dev.assign(mi["clientId"], "AcrPush")
    # The ACR audience, with a trailing slash, is as good as ARM's.
    refresh = dev.refresh(dev.imds_token("https://containerregistry.azure.net/", mi["clientId"]))
    resp = dev.token_by_refresh(refresh, "repository:any/thing:push,pull,delete")
    assert access(resp) == [{"type": "repository", "name": "any/thing",
                             "actions": ["push", "pull"]}]


def test_exchange_without_a_role_names_the_identity(dev: Dev) -> None:
    name = unique("no-role")
    mi = dev.identity(name)
    resp = dev.exchange(dev.imds_token(ARM, mi["clientId"]))
    assert resp.status_code == 401
    message = resp.json()["errors"][0]["message"]
    assert f"'{name}'" in message and mi["clientId"] in message
    assert "AcrPull" in message and dev.registry in message
    assert resp.json()["errors"][0]["code"] == "UNAUTHORIZED"


def test_exchange_checks_token_audience_tenant_and_grant(dev: Dev) -> None:
    mi = dev.identity()
    dev.assign(mi["clientId"])
    good = dev.imds_token(ARM, mi["clientId"])
    vault = dev.exchange(dev.imds_token("https://vault.azure.net", mi["clientId"]))
    assert vault.status_code == 401 and "audience" in vault.text
    assert dev.exchange(good, tenant="72f988bf-86f1-41af-91ab-2d7cd011db47").status_code == 401
    assert dev.exchange("not-a-jwt").status_code == 401
    tampered = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    assert dev.exchange(tampered).status_code == 401
    form = {"grant_type": "refresh_token", "service": dev.registry, "tenant": dev.tenant,
            "access_token": good}
    assert dev.tls.post(f"{dev.token_url}/oauth2/exchange", data=form).status_code == 400
    form.update(grant_type="access_token", service="myacr.azurecr.io")
    assert dev.tls.post(f"{dev.token_url}/oauth2/exchange", data=form).status_code == 400
    assert dev.exchange(good).status_code == 200


def test_removing_the_role_applies_at_the_next_token(dev: Dev) -> None:
    mi = dev.identity()
    dev.assign(mi["clientId"])
    refresh = dev.refresh(dev.imds_token(ARM, mi["clientId"]))
    assert access(dev.token_by_refresh(refresh, "repository:a/b:pull")) != []
    dev.unassign(mi["clientId"])
    assert access(dev.token_by_refresh(refresh, "repository:a/b:pull")) == []


def test_bad_or_expired_refresh_tokens_are_401(dev: Dev) -> None:
    assert dev.token_by_refresh("garbage", "repository:a:pull").status_code == 401
    key_pem = (dev.server.data_dir / "devregistry" / "token-signing-key.pem").read_bytes()
    key = serialization.load_pem_private_key(key_pem, password=None)
    now = int(time.time())
    expired = jwt.encode(
        {"iss": dev.token_url, "aud": dev.registry, "sub": "x", "iat": now - 7200,
         "exp": now - 3600, "grant_type": "refresh_token"},
        key, algorithm="ES256",  # type: ignore[arg-type]
    )
    resp = dev.token_by_refresh(expired, "repository:a:pull")
    assert resp.status_code == 401 and "expired" in resp.text
    # A registry access token is no refresh token.
    mi = dev.identity()
    dev.assign(mi["clientId"])
    refresh = dev.refresh(dev.imds_token(ARM, mi["clientId"]))
    access_token = dev.token_by_refresh(refresh).json()["token"]
    assert dev.token_by_refresh(access_token, "repository:a:pull").status_code == 401


def test_refresh_token_works_as_a_docker_login_password(dev: Dev) -> None:
    mi = dev.identity()
    dev.assign(mi["clientId"])
    refresh = dev.refresh(dev.imds_token(ARM, mi["clientId"]))
    user = "00000000-0000-0000-0000-000000000000"
    resp = dev.token_by_get("repository:x/y:pull", basic=(user, refresh))
    assert access(resp) == [{"type": "repository", "name": "x/y", "actions": ["pull"]}]


def test_repository_token_gets_its_pattern_only_and_no_catalog(
    dev: Dev, artifact: tuple[str, Layout]
) -> None:
    repo, _ = artifact
    team = repo.split("/")[0]
    user, password = dev.repository_token(f"{team}/*", ["pull"])
    resp = dev.token_by_get(f"repository:{repo}:pull,push", "repository:other/app:pull",
                            CATALOG, basic=(user, password))
    assert resp.status_code == 200, resp.text
    assert access(resp) == [{"type": "repository", "name": repo, "actions": ["pull"]}]
    token = resp.json()["token"]
    assert dev.manifest(repo, "v1", token).status_code == 200
    catalog = dev.tls.get(f"https://{dev.registry}/v2/_catalog",
                          headers={"Authorization": f"Bearer {token}"})
    assert catalog.status_code == 401
    # POST with grant_type=password is the same check.
    form = {"grant_type": "password", "service": dev.registry, "username": user,
            "password": password, "scope": f"repository:{repo}:pull"}
    assert access(dev.tls.post(f"{dev.token_url}/oauth2/token", data=form)) != []
    wrong = dev.token_by_get(f"repository:{repo}:pull", basic=(user, password + "x"))
    assert wrong.status_code == 401 and wrong.json()["errors"][0]["code"] == "UNAUTHORIZED"
    assert dev.token_by_get("repository:a:pull", basic=("nobody-here", "pw")).status_code == 401
    stored = dev.ok(dev.admin.get("/-/dev/registry/tokens"))["value"]
    assert password not in str(stored)


def test_anonymous_pull_on_and_off(dev: Dev, artifact: tuple[str, Layout]) -> None:
    repo, layout = artifact
    scope = f"repository:{repo}:pull"
    off = dev.token_by_get(scope, CATALOG)
    assert off.status_code == 200 and access(off) == []  # nothing granted, not an error
    assert dev.manifest(repo, "v1", off.json()["token"]).status_code == 401
    dev.anonymous_pull(True)
    try:
        on = dev.token_by_get(f"repository:{repo}:pull,push", CATALOG)
        assert access(on) == [{"type": "repository", "name": repo, "actions": ["pull"]}]
        pulled = dev.manifest(repo, "v1", on.json()["token"])
        assert pulled.status_code == 200
        assert pulled.headers["docker-content-digest"] == layout.manifest_digest
    finally:
        dev.anonymous_pull(False)
    assert access(dev.token_by_get(scope)) == []


def test_injected_429_then_success_on_retry(dev: Dev) -> None:
    mi = dev.identity()
    dev.assign(mi["clientId"])
    entra = dev.imds_token(ARM, mi["clientId"])
    dev.fault("exchange", 429, count=1, retry_after=1)
    first = dev.exchange(entra)
    assert first.status_code == 429 and first.headers["retry-after"] == "1"
    assert first.json()["errors"][0]["code"] == "TOOMANYREQUESTS"
    time.sleep(int(first.headers["retry-after"]))
    refresh = dev.exchange(entra).json()["refresh_token"]
    assert dev.count("exchange", mi["clientId"]) == 2

    scope = f"repository:{unique('fault')}:pull"
    dev.fault("token", 503, count=2)
    assert [dev.token_by_refresh(refresh, scope).status_code for _ in range(3)] == [503, 503, 200]
    assert dev.count("token", scope) == 3


def test_dev_cli(dev_server: ServerProcess, tmp_path: Path) -> None:
    mi = unique("cli-acr")
    assert iotops(dev_server, "identity", "create", "--name", mi).code == 0
    assigned = iotops(dev_server, "dev", "registry", "role-assign", "--assignee", mi,
                      "--role", "acrpush")
    assert assigned.code == 0, assigned.output
    assert '"role": "AcrPush"' in assigned.stdout
    roles = iotops(dev_server, "dev", "registry", "role-list", "-o", "table")
    assert mi in roles.stdout and "AcrPush" in roles.stdout
    created = iotops(dev_server, "dev", "registry", "token", "create", "--name",
                     unique("cli"), "--repository", "team/*", "--actions", "pull,push",
                     "-o", "tsv")
    assert created.code == 0 and len(created.stdout.split()) == 2
    bad = iotops(dev_server, "dev", "registry", "token", "create", "--name", unique("cli"),
                 "--repository", "team/*", "--actions", "pull,admin")
    assert bad.code == 2 and "pull, push and delete" in bad.stderr
    shown = iotops(dev_server, "dev", "registry", "anonymous-pull")
    assert '"enabled": false' in shown.stdout
    counters = iotops(dev_server, "dev", "counters", "--query", "keys(@)", "-o", "tsv")
    assert counters.stdout.split() == ["identity", "exchange", "token"]
    fault = iotops(dev_server, "dev", "fault", "--target", "identity", "--status", "503")
    assert '"remaining": 1' in fault.stdout
    assert iotops(dev_server, "dev", "fault", "--clear").code == 0
