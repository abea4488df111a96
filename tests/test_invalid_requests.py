"""Table-driven rejections: each bad request gets the right status and ARM error code, and the
store is unchanged afterwards. In-process (``server.build``): nothing here needs a socket."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from iotops_registry.security import LocalIssuer
from tests.conftest import API_VERSION
from tests.support.inprocess import InProcess, InProcessScope

ANON = {"method": "Anonymous", "anonymousSettings": {}}
GUID = "11111111-2222-3333-4444-555555555555"


@dataclass
class Env:
    scope: InProcessScope
    inproc: InProcess
    issuer: LocalIssuer
    good_token: str
    existing_etag: str
    other_issuer: LocalIssuer


@dataclass
class Case:
    id: str
    status: int
    code: str
    body: Any = None  # dict -> JSON; str/bytes -> raw
    target: str | None = None
    method: str = "PUT"
    name: str = "new-ep"
    path: Callable[[Env], str] | None = None
    query: dict[str, str] | None = None
    headers: Callable[[Env], dict[str, str]] | None = None
    token: Callable[[Env], str | None] | None = None
    content_type: str = "application/json"
    extra: dict[str, Any] = field(default_factory=dict)


def ep(props: dict[str, Any] | None = None, **top: Any) -> dict[str, Any]:
    properties: dict[str, Any] = {"host": "myacr.azurecr.io", "authentication": ANON}
    properties.update(props or {})
    properties = {k: v for k, v in properties.items() if v is not _DROP}
    return {"properties": properties, **top}


_DROP = object()


def auth(method: str, **settings: Any) -> dict[str, Any]:
    return {"method": method, **settings}


def uami(**s: Any) -> dict[str, Any]:
    base = {"clientId": GUID, "tenantId": GUID}
    base.update(s)
    return auth("UserAssignedManagedIdentity", userAssignedManagedIdentitySettings=base)


def _token(env: Env, **kw: Any) -> str:
    return env.issuer.mint("https://management.azure.com", **kw)


CASES = [
    # --- names -------------------------------------------------------------------------
    Case("name-too-short", 400, "InvalidResourceName", ep(), "registryEndpointName", name="ab"),
    Case(
        "name-uppercase", 400, "InvalidResourceName", ep(), "registryEndpointName", name="BadName"
    ),
    Case("name-leading-hyphen", 400, "InvalidResourceName", ep(), name="-abc"),
    Case("name-trailing-hyphen", 400, "InvalidResourceName", ep(), name="abc-"),
    Case("name-underscore", 400, "InvalidResourceName", ep(), name="a_bc"),
    Case("name-too-long", 400, "InvalidResourceName", ep(), name="a" * 64),
    Case(
        "instance-name-bad",
        400,
        "InvalidResourceName",
        ep(),
        "instanceName",
        path=lambda e: e.scope.instance_path.rsplit("/", 1)[0] + "/Inst_1/registryEndpoints/new-ep",
    ),
    Case(
        "subscription-not-guid",
        400,
        "InvalidSubscriptionId",
        ep(),
        "subscriptionId",
        path=lambda e: e.scope.endpoint_path("new-ep").replace(e.scope.subscription, "not-a-guid"),
    ),
    Case(
        "resource-group-bad",
        400,
        "InvalidResourceGroupName",
        ep(),
        "resourceGroupName",
        path=lambda e: e.scope.endpoint_path("new-ep").replace(e.scope.rg, "rg!x"),
    ),
    # --- host ----------------------------------------------------------------------------
    Case(
        "host-https-scheme",
        400,
        "InvalidHost",
        ep({"host": "https://myacr.azurecr.io"}),
        "properties.host",
    ),
    Case(
        "host-http-scheme",
        400,
        "InvalidHost",
        ep({"host": "http://myacr.azurecr.io"}),
        "properties.host",
    ),
    Case(
        "host-whitespace", 400, "InvalidHost", ep({"host": "my acr.azurecr.io"}), "properties.host"
    ),
    Case("host-userinfo", 400, "InvalidHost", ep({"host": "user:pw@myacr.io"}), "properties.host"),
    Case("host-query", 400, "InvalidHost", ep({"host": "myacr.io?x=1"}), "properties.host"),
    Case("host-bad-port", 400, "InvalidHost", ep({"host": "myacr.io:99999"}), "properties.host"),
    Case("host-trailing-slash", 400, "InvalidHost", ep({"host": "myacr.io/"}), "properties.host"),
    Case(
        "host-path-uppercase", 400, "InvalidHost", ep({"host": "ghcr.io/Azure"}), "properties.host"
    ),
    Case("host-bad-label", 400, "InvalidHost", ep({"host": "-bad.example.com"}), "properties.host"),
    Case("host-too-short", 400, "InvalidHost", ep({"host": "ab"}), "properties.host"),
    Case(
        "host-too-long",
        400,
        "InvalidHost",
        ep({"host": "a" * 60 + ".example.com"}),
        "properties.host",
    ),
    Case("host-missing", 400, "MissingRequiredProperty", ep({"host": _DROP}), "properties.host"),
    Case("host-wrong-type", 400, "InvalidPropertyType", ep({"host": 5}), "properties.host"),
    # --- authentication --------------------------------------------------------------------
    Case(
        "auth-unknown-method",
        400,
        "InvalidAuthenticationMethod",
        ep({"authentication": {"method": "Password"}}),
        "properties.authentication.method",
    ),
    Case(
        "auth-missing-method",
        400,
        "MissingRequiredProperty",
        ep({"authentication": {"anonymousSettings": {}}}),
        "properties.authentication.method",
    ),
    Case(
        "auth-missing-settings",
        400,
        "MissingRequiredProperty",
        ep({"authentication": {"method": "Anonymous"}}),
        "properties.authentication.anonymousSettings",
    ),
    Case(
        "auth-mismatched-settings",
        400,
        "InvalidAuthenticationSettings",
        ep({"authentication": auth("Anonymous", artifactPullSecretSettings={"secretRef": "s1"})}),
        "properties.authentication.artifactPullSecretSettings",
    ),
    Case(
        "auth-two-settings",
        400,
        "InvalidAuthenticationSettings",
        ep(
            {
                "authentication": auth(
                    "SystemAssignedManagedIdentity",
                    systemAssignedManagedIdentitySettings={},
                    userAssignedManagedIdentitySettings={"clientId": GUID, "tenantId": GUID},
                )
            }
        ),
        "properties.authentication.userAssignedManagedIdentitySettings",
    ),
    Case(
        "uami-client-not-guid",
        400,
        "InvalidGuid",
        ep({"authentication": uami(clientId="abc")}),
        "properties.authentication.userAssignedManagedIdentitySettings.clientId",
    ),
    Case(
        "uami-tenant-not-guid",
        400,
        "InvalidGuid",
        ep({"authentication": uami(tenantId="1234")}),
        "properties.authentication.userAssignedManagedIdentitySettings.tenantId",
    ),
    Case(
        "uami-missing-client",
        400,
        "MissingRequiredProperty",
        ep(
            {
                "authentication": auth(
                    "UserAssignedManagedIdentity",
                    userAssignedManagedIdentitySettings={"tenantId": GUID},
                )
            }
        ),
        "properties.authentication.userAssignedManagedIdentitySettings.clientId",
    ),
    Case(
        "uami-scope-no-default",
        400,
        "InvalidScope",
        ep({"authentication": uami(scope="https://containerregistry.azure.net")}),
        "properties.authentication.userAssignedManagedIdentitySettings.scope",
    ),
    Case(
        "sami-audience-http",
        400,
        "InvalidAudience",
        ep(
            {
                "authentication": auth(
                    "SystemAssignedManagedIdentity",
                    systemAssignedManagedIdentitySettings={
                        "audience": "http://management.azure.com/"
                    },
                )
            }
        ),
        "properties.authentication.systemAssignedManagedIdentitySettings.audience",
    ),
    Case(
        "sami-audience-relative",
        400,
        "InvalidAudience",
        ep(
            {
                "authentication": auth(
                    "SystemAssignedManagedIdentity",
                    systemAssignedManagedIdentitySettings={"audience": "management"},
                )
            }
        ),
    ),
    Case(
        "secret-ref-invalid",
        400,
        "InvalidSecretRef",
        ep(
            {
                "authentication": auth(
                    "ArtifactPullSecret", artifactPullSecretSettings={"secretRef": "Bad_Secret"}
                )
            }
        ),
        "properties.authentication.artifactPullSecretSettings.secretRef",
    ),
    Case(
        "settings-unknown-field",
        400,
        "UnknownProperty",
        ep(
            {
                "authentication": auth(
                    "ArtifactPullSecret",
                    artifactPullSecretSettings={"secretRef": "s1", "password": "x"},
                )
            }
        ),
        "properties.authentication.artifactPullSecretSettings.password",
    ),
    Case(
        "auth-wrong-type",
        400,
        "InvalidPropertyType",
        ep({"authentication": "Anonymous"}),
        "properties.authentication",
    ),
    # --- code signing CAs -----------------------------------------------------------------
    Case(
        "cas-duplicate",
        400,
        "DuplicateCodeSigningCa",
        ep(
            {
                "codeSigningCas": [
                    {"type": "Secret", "secretRef": "a1"},
                    {"type": "Secret", "secretRef": "a1"},
                ]
            }
        ),
        "properties.codeSigningCas",
    ),
    Case(
        "cas-wrong-ref-kind",
        400,
        "UnknownProperty",
        ep({"codeSigningCas": [{"type": "ConfigMap", "secretRef": "a1"}]}),
        "properties.codeSigningCas[0].secretRef",
    ),
    Case(
        "cas-unknown-type",
        400,
        "InvalidSigningKeyType",
        ep({"codeSigningCas": [{"type": "Key", "keyRef": "a1"}]}),
        "properties.codeSigningCas[0].type",
    ),
    Case(
        "cas-not-array",
        400,
        "InvalidPropertyType",
        ep({"codeSigningCas": {"type": "Secret"}}),
        "properties.codeSigningCas",
    ),
    Case(
        "cas-bad-configmap-name",
        400,
        "InvalidConfigMapRef",
        ep({"codeSigningCas": [{"type": "ConfigMap", "configMapRef": "UPPER"}]}),
        "properties.codeSigningCas[0].configMapRef",
    ),
    # --- unknown and read-only properties -----------------------------------------------------
    Case("unknown-top-level", 400, "UnknownProperty", ep(foo=1), "foo"),
    Case(
        "unknown-in-properties",
        400,
        "UnknownProperty",
        ep({"hostname": "x.io"}),
        "properties.hostname",
    ),
    Case(
        "readonly-provisioning-state",
        400,
        "ReadOnlyProperty",
        ep({"provisioningState": "Succeeded"}),
        "properties.provisioningState",
    ),
    Case(
        "readonly-health-state",
        400,
        "ReadOnlyProperty",
        ep({"healthState": "Available"}),
        "properties.healthState",
    ),
    Case(
        "readonly-system-data",
        400,
        "ReadOnlyProperty",
        ep(systemData={"createdBy": "me"}),
        "systemData",
    ),
    Case("readonly-id-changed", 400, "ReadOnlyProperty", ep(id="/subscriptions/x/other"), "id"),
    Case(
        "properties-missing",
        400,
        "MissingRequiredProperty",
        {"extendedLocation": {"name": "x", "type": "CustomLocation"}},
        "properties",
    ),
    # --- bodies ---------------------------------------------------------------------------------
    Case("body-empty", 400, "InvalidRequestContent", b""),
    Case("body-bad-json", 400, "InvalidRequestContent", b'{"properties": {'),
    Case("body-array", 400, "InvalidRequestContent", b"[1, 2]"),
    Case("body-nan", 400, "InvalidRequestContent", b'{"properties": {"host": NaN}}'),
    Case("body-deeply-nested", 400, "InvalidRequestContent", b"[" * 100_000 + b"]" * 100_000),
    Case(
        "body-oversized",
        413,
        "RequestEntityTooLarge",
        json.dumps(ep({"host": "x.io"}, pad="x" * 300_000)).encode(),
    ),
    Case("body-text-plain", 415, "UnsupportedMediaType", b"host=x.io", content_type="text/plain"),
    # --- api-version ------------------------------------------------------------------------
    Case(
        "api-version-unknown",
        400,
        "InvalidApiVersionParameter",
        ep(),
        "api-version",
        query={"api-version": "2020-01-01"},
    ),
    Case("api-version-missing", 400, "MissingApiVersionParameter", ep(), "api-version", query={}),
    # --- tokens -------------------------------------------------------------------------------
    Case("token-absent", 401, "AuthenticationFailed", ep(), token=lambda e: None),
    Case(
        "token-basic-scheme",
        401,
        "AuthenticationFailed",
        ep(),
        headers=lambda e: {"Authorization": "Basic dXNlcjpwdw=="},
    ),
    Case("token-malformed", 401, "InvalidAuthenticationToken", ep(), token=lambda e: "abc.def"),
    Case(
        "token-alg-none",
        401,
        "InvalidAuthenticationToken",
        ep(),
        token=lambda e: jwt.encode(
            jwt.decode(e.good_token, options={"verify_signature": False}), None, algorithm="none"
        ),
    ),
    Case(
        "token-expired",
        401,
        "ExpiredAuthenticationToken",
        ep(),
        token=lambda e: _token(e, lifetime=-3600, extra_claims={"nbf": int(time.time()) - 7200}),
    ),
    Case(
        "token-wrong-audience",
        401,
        "InvalidAuthenticationTokenAudience",
        ep(),
        token=lambda e: e.issuer.mint("https://vault.azure.net"),
    ),
    Case(
        "token-wrong-issuer",
        401,
        "InvalidAuthenticationTokenIssuer",
        ep(),
        token=lambda e: e.other_issuer.mint("https://management.azure.com"),
    ),
    Case(
        "token-forged-key",
        401,
        "InvalidAuthenticationToken",
        ep(),
        token=lambda e: jwt.encode(
            jwt.decode(e.good_token, options={"verify_signature": False}),
            rsa.generate_private_key(public_exponent=65537, key_size=2048),
            algorithm="RS256",
            headers={"kid": e.issuer.kid},
        ),
    ),
    # --- preconditions and conflicts ------------------------------------------------------------
    Case(
        "if-match-stale",
        412,
        "PreconditionFailed",
        ep(),
        name="existing",
        headers=lambda e: {"If-Match": '"0000"'},
    ),
    Case(
        "if-none-match-existing",
        412,
        "PreconditionFailed",
        ep(),
        name="existing",
        headers=lambda e: {"If-None-Match": "*"},
    ),
    Case(
        "if-match-absent",
        412,
        "PreconditionFailed",
        ep(),
        name="absent-ep",
        headers=lambda e: {"If-Match": '"abc"'},
    ),
    Case(
        "delete-if-match-stale",
        412,
        "PreconditionFailed",
        None,
        method="DELETE",
        name="existing",
        headers=lambda e: {"If-Match": '"0000"'},
    ),
    Case(
        "extended-location-other",
        400,
        "InvalidExtendedLocation",
        ep(
            extendedLocation={
                "name": "/subscriptions/x/customLocations/other",
                "type": "CustomLocation",
            }
        ),
        "extendedLocation.name",
    ),
    Case(
        "extended-location-change",
        400,
        "PropertyChangeNotAllowed",
        ep(
            extendedLocation={
                "name": "/subscriptions/x/customLocations/other",
                "type": "CustomLocation",
            }
        ),
        "extendedLocation",
        name="existing",
    ),
    Case(
        "parent-missing",
        404,
        "ParentResourceNotFound",
        ep(),
        path=lambda e: e.scope.instance_path + "-gone/registryEndpoints/new-ep",
    ),
    Case(
        "list-top-zero",
        400,
        "InvalidTop",
        None,
        "$top",
        method="GET",
        path=lambda e: e.scope.instance_path + "/registryEndpoints",
        query={"api-version": API_VERSION, "$top": "0"},
    ),
    Case(
        "list-bad-skiptoken",
        400,
        "InvalidSkipToken",
        None,
        "$skipToken",
        method="GET",
        path=lambda e: e.scope.instance_path + "/registryEndpoints",
        query={"api-version": API_VERSION, "$skipToken": "%%%"},
    ),
    Case("method-not-allowed", 405, "MethodNotAllowed", ep(), method="POST"),
    Case(
        "unknown-resource-type",
        404,
        "InvalidResourceType",
        ep(),
        path=lambda e: e.scope.instance_path + "/dataflowThings/x1",
    ),
]


@pytest.fixture(scope="module")
def http(inproc: InProcess) -> Iterator[httpx.Client]:
    with inproc.client() as client:
        yield client


@pytest.fixture(scope="module")
def env(
    inproc: InProcess, tmp_path_factory: pytest.TempPathFactory, http: httpx.Client
) -> Iterator[Env]:
    scope = InProcessScope(http, inproc.subscription)
    issuer = inproc.runtime.issuer
    r = http.put(scope.endpoint_path("existing"), params={"api-version": API_VERSION}, json=ep())
    assert r.status_code == 201, r.text
    other_dir: Path = tmp_path_factory.mktemp("other-issuer")
    other = LocalIssuer(other_dir, str(uuid.uuid4()), "https://127.0.0.1:1/other/v2.0")
    yield Env(
        scope, inproc, issuer, issuer.mint("https://management.azure.com"), r.headers["etag"], other
    )


def _snapshot(env: Env, http: httpx.Client) -> Any:
    eps = http.get(
        env.scope.instance_path + "/registryEndpoints", params={"api-version": API_VERSION}
    )
    insts = http.get(
        f"/subscriptions/{env.scope.subscription}/providers/Microsoft.IoTOperations/instances",
        params={"api-version": API_VERSION, "$top": "1000"},
    )
    assert eps.status_code == 200 and insts.status_code == 200
    return (
        sorted((e["name"], json.dumps(e, sort_keys=True)) for e in eps.json()["value"]),
        sorted(i["id"] for i in insts.json()["value"]),
    )


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_rejected(case: Case, env: Env, http: httpx.Client) -> None:
    before = _snapshot(env, http)
    path = case.path(env) if case.path else env.scope.endpoint_path(case.name)
    headers: dict[str, str] = {"Content-Type": case.content_type}
    token = case.token(env) if case.token else env.good_token
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if case.headers:
        headers.update(case.headers(env))
    if isinstance(case.body, dict):
        content: bytes | None = json.dumps(case.body).encode()
    else:
        content = case.body
    query = case.query if case.query is not None else {"api-version": API_VERSION}
    with env.inproc.client(headers={}) as raw:
        r = raw.request(case.method, path, params=query, headers=headers, content=content)
    assert r.status_code == case.status, r.text
    assert r.headers["content-type"].startswith("application/json")
    error = r.json()["error"]
    assert error["code"] == case.code, error
    assert error["message"]
    if case.target is not None:
        assert error.get("target") == case.target, error
    if case.status == 401:
        assert r.headers["www-authenticate"].startswith("Bearer ")
    assert _snapshot(env, http) == before
