"""The IMDS-compatible identity endpoint, checked with the real client that talks to IMDS:
``azure.identity.ManagedIdentityCredential``, pointed at the server with
``AZURE_POD_IDENTITY_AUTHORITY_HOST`` (no code of ours in between)."""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
from collections.abc import Iterator

import httpx
import pytest
from azure.identity import CredentialUnavailableError, ManagedIdentityCredential

from tests.support.cli import iotops
from tests.support.dev import ARM, Dev, claims, dev_clients, unique, use_imds
from tests.support.server import ServerProcess

IMDS_PATH = "/metadata/identity/oauth2/token"


@pytest.fixture(scope="module")
def dev(dev_server: ServerProcess) -> Iterator[Dev]:
    with dev_clients(dev_server) as clients:
        yield clients


def test_system_assigned_identity_gets_tokens_the_apis_accept(
    dev: Dev, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_imds(monkeypatch, dev.server)
    system = dev.system_identity()
    before = dev.count("identity", "system")
    with ManagedIdentityCredential() as cred:
        token = cred.get_token(f"{ARM}/.default").token
        again = cred.get_token(f"{ARM}/.default").token  # MSAL's cache: no second request
    assert again == token
    assert dev.count("identity", "system") == before + 1
    c = claims(token)
    assert c["iss"] == dev.server.endpoints["issuer"]
    assert c["aud"] == ARM
    assert c["tid"] == dev.tenant == system["tenantId"]
    assert c["oid"] == system["principalId"]
    assert c["appid"] == c["azp"] == system["clientId"]
    assert c["idtyp"] == "app"
    assert c["xms_mirid"] == system["id"]
    assert "/providers/Microsoft.KubernetesConfiguration/extensions/" in c["xms_mirid"]
    # Signed by the server's issuer: the ARM API takes it as it is.
    path = f"/subscriptions/{dev.server.subscription}/providers/Microsoft.IoTOperations/instances"
    resp = dev.admin.get(path, params={"api-version": "2026-07-01"},
                         headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200, resp.text


def test_user_assigned_identity_gets_tokens_with_its_own_ids(
    dev: Dev, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_imds(monkeypatch, dev.server)
    name = unique("uami")
    mi = dev.identity(name)
    resource = "https://containerregistry.azure.net"
    with ManagedIdentityCredential(client_id=mi["clientId"]) as cred:
        info = cred.get_token_info(f"{resource}/.default")
    c = claims(info.token)
    assert c["aud"] == resource  # kept as given
    assert c["oid"] == mi["principalId"]
    assert c["appid"] == c["azp"] == mi["clientId"]
    assert c["xms_mirid"].endswith(
        f"/resourcegroups/iotops-local/providers/Microsoft.ManagedIdentity/"
        f"userAssignedIdentities/{name}"
    )
    assert c["xms_mirid"].startswith(f"/subscriptions/{dev.server.subscription}/")
    assert 3500 < info.expires_on - c["iat"] <= 3600
    assert dev.count("identity", mi["clientId"]) == 1


def test_unknown_client_id_is_credential_unavailable(
    dev: Dev, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_imds(monkeypatch, dev.server)
    cred = ManagedIdentityCredential(client_id="00000000-1111-2222-3333-444444444444",
                                     retry_total=0)
    with pytest.raises(CredentialUnavailableError, match="Identity not found"):
        cred.get_token(f"{ARM}/.default")


def test_identity_endpoint_speaks_imds(dev: Dev) -> None:
    base = dev.server.endpoints["identity"]
    assert base.startswith("http://127.0.0.1:")
    params = {"api-version": "2018-02-01", "resource": "https://vault.azure.net"}
    ok = httpx.get(base + IMDS_PATH, params=params, headers={"Metadata": "true"})
    assert ok.status_code == 200
    body = ok.json()
    assert body["expires_in"] == "3600" and body["token_type"] == "Bearer"
    assert body["resource"] == "https://vault.azure.net"
    assert int(body["expires_on"]) - int(body["not_before"]) == 3600
    assert body["client_id"] == dev.system_identity()["clientId"]

    def error(resp: httpx.Response) -> tuple[int, str]:
        return resp.status_code, resp.json()["error_description"]

    assert error(httpx.get(base + IMDS_PATH, params=params)) == (
        400, "Required metadata header not specified")
    assert error(httpx.get(base + IMDS_PATH, params={"api-version": "2018-02-01"},
                           headers={"Metadata": "true"})) == (
        400, "Required query variable 'resource' is missing")
    assert error(httpx.get(base + IMDS_PATH, params={"resource": "x"},
                           headers={"Metadata": "true"})) == (
        400, "Required query variable 'api-version' is missing")
    forwarded = httpx.get(base + IMDS_PATH, params=params,
                          headers={"Metadata": "true", "X-Forwarded-For": "10.0.0.1"})
    assert forwarded.status_code == 400
    assert httpx.post(base + IMDS_PATH, params=params,
                      headers={"Metadata": "true"}).status_code == 405
    assert httpx.get(base + "/metadata/instance", headers={"Metadata": "true"}).status_code == 404


def test_injected_429_is_retried_after_retry_after(
    dev: Dev, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_imds(monkeypatch, dev.server)
    mi = dev.identity()
    dev.fault("identity", 429, count=1, retry_after=1)
    with ManagedIdentityCredential(client_id=mi["clientId"], retry_total=1) as cred:
        token = cred.get_token(f"{ARM}/.default").token
    assert claims(token)["appid"] == mi["clientId"]
    assert dev.count("identity", mi["clientId"]) == 2  # the 429, then the token
    assert dev.ok(dev.admin.get("/-/dev/faults")) == {}


def test_identity_cli(dev_server: ServerProcess) -> None:
    name = unique("cli-mi")
    created = iotops(dev_server, "identity", "create", "--name", name)
    assert created.code == 0, created.output
    doc = json.loads(created.stdout)
    assert list(doc) == ["name", "clientId", "tenantId", "principalId"]
    assert doc["name"] == name and doc["tenantId"] == dev_server.endpoints["tenant"]
    again = iotops(dev_server, "identity", "create", "--name", name)
    assert json.loads(again.stdout) == doc  # idempotent, like az identity create
    system = iotops(dev_server, "identity", "show", "--system")
    assert list(json.loads(system.stdout)) == ["clientId", "tenantId", "principalId"]
    listed = iotops(dev_server, "identity", "list", "--query", "[].name", "-o", "tsv")
    assert name in listed.stdout.split()
    shown = iotops(dev_server, "identity", "show", "--name", name, "--query", "clientId",
                   "-o", "tsv")
    assert shown.stdout.strip() == doc["clientId"]
    bad = iotops(dev_server, "identity", "create", "--name", "x")
    assert bad.code == 1 and "3 to 128" in bad.stderr
    gone = iotops(dev_server, "identity", "delete", "--name", name, "-y")
    assert gone.code == 0, gone.output
    missing = iotops(dev_server, "identity", "show", "--name", name)
    assert missing.code == 1 and "was not found" in missing.stderr


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("runuser") is None,
                    reason="needs root to run a client as another user")
def test_other_users_get_no_tokens(dev: Dev) -> None:
    url = (f"{dev.server.endpoints['identity']}{IMDS_PATH}"
           "?api-version=2018-02-01&resource=https://management.azure.com")
    script = (
        "import urllib.request, urllib.error\n"
        f"req = urllib.request.Request({url!r}, headers={{'Metadata': 'true'}})\n"
        "try:\n    print(urllib.request.urlopen(req).status)\n"
        "except urllib.error.HTTPError as e:\n    print(e.code)\n"
    )
    out = subprocess.run(["runuser", "-u", "nobody", "--", "/usr/bin/python3", "-c", script],
                         capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "403", out.stderr


def test_every_server_has_the_identity_endpoint(server: ServerProcess, http: httpx.Client) -> None:
    assert "registry" not in server.endpoints and "token" not in server.endpoints
    resp = httpx.get(server.endpoints["identity"] + IMDS_PATH, headers={"Metadata": "true"},
                     params={"api-version": "2018-02-01", "resource": ARM})
    assert resp.status_code == 200
    assert http.get("/-/dev/system-identity").json()["clientId"] == resp.json()["client_id"]
    missing = http.get("/-/dev/counters")
    assert missing.status_code == 404 and "--dev" in missing.json()["error"]["message"]
    anonymous = httpx.get(f"{server.arm}/-/dev/identities",
                          verify=ssl.create_default_context(cafile=server.ca))
    assert anonymous.status_code == 401
