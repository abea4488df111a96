"""Code-signing CAs of registry endpoints, end to end against ``iotops serve --dev``.

The notation e2e layouts (VECTORS.md S1-S5) are loaded into the real registry, each
endpoint's code-signing CA is the vector's trust store (held in a ConfigMap, or in Key Vault
through a synced secret), and ``POST …/verifyArtifact`` pulls through the endpoint with its
own credentials and applies its policy. Also: references that do not resolve are reported at
save, in the connection test and in health, never ignored; ConfigMaps in use cannot be
deleted by accident; the CLI's ``configmap`` and ``artifact verify --registry-endpoint``.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from iotops_registry.authn import BasicCredential, StaticBasic
from iotops_registry.remote import RegistryClient
from tests.support.cli import iotops
from tests.support.notary import KEYS, LAYOUTS, push_layout
from tests.support.server import ServerProcess
from tests.test_access import Q, World, world_on

E2E_SIGNER = "CN=e2e,O=Notary,L=Seattle,ST=WA,C=US"
E2E_CA = "CN=e2e,O=Notary,L=Seattle,ST=WA,C=US"


@pytest.fixture(scope="module")
def world(dev_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with world_on(dev_server, tmp_path_factory.mktemp("trust")) as w:
        yield w


@pytest.fixture(scope="module")
def vectors(world: World, dev_server: ServerProcess) -> dict[str, str]:
    """Each e2e layout in its own repository (tag v1) under ``trust-<id>/``."""
    team = f"trust-{uuid.uuid4().hex[:8]}"
    user, password = world.dev.repository_token(f"{team}/*", ["pull", "push"])
    repos = {
        layout: f"{team}/{layout}"
        for layout in ("e2e-valid-signature", "e2e-expired-signature", "e2e-with-expired-cert",
                       "e2e-invalid-signature")
    }

    async def load() -> None:
        async with RegistryClient(
            dev_server.endpoints["registry"],
            authenticator=StaticBasic(BasicCredential(user, password)),
            verify=ssl.create_default_context(cafile=dev_server.ca),
        ) as client:
            for layout, repository in repos.items():
                await push_layout(client, repository, LAYOUTS / layout)

    asyncio.run(load())
    reader = world.dev.repository_token(f"{team}/*", ["pull"])
    repos["secret"] = json.dumps(world.pull_secret(f"{team}-pull", *reader))
    return repos


def _config_map(world: World, name: str, data: dict[str, str]) -> Any:
    return world.arm.put(f"{world.path()}/configMaps/{name}", params=Q,
                         json={"properties": {"data": data}})


def _endpoint(world: World, name: str, vectors: dict[str, str], cas: list[dict[str, str]],
              policy: str | None = None) -> Any:
    body = {"properties": {"host": world.dev.registry,
                           "authentication": json.loads(vectors["secret"]),
                           "codeSigningCas": cas}}
    r = world.arm.put(world.path(name), params=Q, json=body)
    assert r.status_code in (200, 201), r.text
    if policy:
        s = world.arm.put(f"{world.path(name)}/connectionSettings", params=Q,
                          json={"properties": {"signaturePolicy": policy}})
        assert s.status_code == 200, s.text
    return r


def _verify(world: World, endpoint: str, artifact: str) -> dict[str, Any]:
    r = world.arm.post(f"{world.path(endpoint)}/verifyArtifact", params=Q,
                       json={"artifact": artifact}, timeout=120)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _ca_endpoint(world: World, vectors: dict[str, str], ca_file: str,
                 policy: str | None = None) -> str:
    """An endpoint whose one code-signing CA (in a ConfigMap) is ``ca_file``."""
    name = f"ep-{uuid.uuid4().hex[:8]}"
    r = _config_map(world, f"{name}-cas", {"ca.crt": (KEYS / ca_file).read_text()})
    assert r.status_code == 201, r.text
    _endpoint(world, name, vectors,
              [{"type": "ConfigMap", "configMapRef": f"{name}-cas"}], policy)
    return name


@pytest.mark.parametrize(
    ("vector", "layout", "ca", "code"),
    [
        ("S1", "e2e-valid-signature", "e2e.crt", "Verified"),
        ("S2", "e2e-valid-signature", "new_e2e.crt", "UntrustedSigner"),
        ("S3", "e2e-expired-signature", "e2e.crt", "SignatureExpired"),
        ("S4", "e2e-with-expired-cert", "expired_e2e.crt", "CertificateExpired"),
        ("S5", "e2e-invalid-signature", "e2e.crt", "SignatureEnvelopeInvalid"),
    ],
)
def test_vectors_through_an_endpoint(world: World, vectors: dict[str, str], vector: str,
                                     layout: str, ca: str, code: str) -> None:
    endpoint = _ca_endpoint(world, vectors, ca)
    result = _verify(world, endpoint, f"{vectors[layout]}:v1")
    assert result["code"] == code, f"{vector}: {result['message']}"
    assert result["policy"] == "enforce"  # the default once code-signing CAs are set
    assert result["verification"] == "Checked"
    assert result["verdict"]["code"] == code
    assert result["digest"] == (
        "sha256:b8479de3f88fb259a0a9ea82a5b2a052a1ef3c4ebbcfc61482d5ae4c831f8af9"
    )
    assert result["artifact"] == f"{world.dev.registry}/{vectors[layout]}@{result['digest']}"
    if code == "Verified":
        assert result["decision"] == "Allowed" and result["badge"] == "Signed"
        assert result["signer"] == E2E_SIGNER
        assert result["verdict"]["signature"]["trustedBy"]["subject"] == E2E_CA
    else:
        assert result["decision"] == "Refused" and result["badge"] == "InvalidSignature"
        assert "Refused by the enforce policy" in result["message"]
        # The message names the CA that was expected.
        expected = result["codeSigningCas"]["certificates"][0]
        assert expected in result["message"]


def test_audit_pulls_and_records_the_verdict(world: World, vectors: dict[str, str]) -> None:
    endpoint = _ca_endpoint(world, vectors, "new_e2e.crt", policy="audit")
    result = _verify(world, endpoint, f"{vectors['e2e-valid-signature']}:v1")
    assert (result["decision"], result["policy"], result["code"]) == (
        "Allowed", "audit", "UntrustedSigner")
    assert "Allowed by the audit policy" in result["message"]


def test_unsigned_artifact_is_refused_under_enforce(world: World, vectors: dict[str, str]) -> None:
    # The world's artifact has no signature; the endpoint pulls with an AcrPull identity.
    endpoint = _ca_endpoint(world, vectors, "e2e.crt")
    body = world.arm.get(world.path(endpoint), params=Q).json()
    mi = world.dev.identity()
    world.dev.assign(mi["clientId"], "AcrPull")
    auth = {
        "method": "UserAssignedManagedIdentity",
        "userAssignedManagedIdentitySettings": {
            "clientId": mi["clientId"], "tenantId": world.dev.tenant,
            "scope": "https://containerregistry.azure.net/.default"}}
    props = {"host": body["properties"]["host"], "authentication": auth,
             "codeSigningCas": body["properties"]["codeSigningCas"]}
    r = world.arm.put(world.path(endpoint), params=Q, json={"properties": props})
    assert r.status_code == 200, r.text
    result = _verify(world, endpoint, f"{world.repo}:{world.tag}")
    assert (result["decision"], result["code"], result["badge"]) == (
        "Refused", "SignatureMissing", "Unsigned")


def test_ca_in_key_vault_through_a_synced_secret(world: World, vectors: dict[str, str]) -> None:
    name = f"ep-{uuid.uuid4().hex[:8]}"
    kv = f"{world.path()}/keyVaultSecrets/{name}-ca"
    r = world.arm.put(kv, params=Q, json={"properties": {"value": (KEYS / "e2e.crt").read_text()}})
    assert r.status_code in (200, 201), r.text
    r = world.arm.put(f"{world.path()}/syncedSecrets/{name}-cas", params=Q, json={
        "properties": {"objectSecretMapping": [{"sourcePath": f"{name}-ca",
                                                "targetKey": "ca.crt"}]}})
    assert r.status_code in (200, 201), r.text
    _endpoint(world, name, vectors, [{"type": "Secret", "secretRef": f"{name}-cas"}])
    result = _verify(world, name, f"{vectors['e2e-valid-signature']}:v1")
    assert (result["decision"], result["code"]) == ("Allowed", "Verified")
    assert result["codeSigningCas"] == {"configured": True, "certificates": [E2E_CA],
                                        "problems": []}


def test_unresolved_references_are_reported_not_ignored(
    world: World, vectors: dict[str, str]
) -> None:
    name = f"ep-{uuid.uuid4().hex[:8]}"
    r = _config_map(world, f"{name}-nopem", {"note": "not a certificate"})
    assert r.status_code == 201, r.text
    cas = [{"type": "ConfigMap", "configMapRef": f"{name}-missing"},
           {"type": "ConfigMap", "configMapRef": f"{name}-nopem"}]
    r = _endpoint(world, name, vectors, cas)
    warnings = " ".join(r.headers.get_list("warning"))
    assert "CodeSigningCa" not in warnings  # codes are for machines; the text says it
    assert f"'{name}-missing'" in warnings and "does not exist" in warnings
    assert f"'{name}-nopem' holds no PEM CA certificate" in warnings
    assert "properties.codeSigningCas[0].configMapRef" in warnings

    report = world.test(name, vectors["e2e-valid-signature"])
    step = next(s for s in report["steps"] if s["name"] == "CodeSigningCas")
    assert (step["status"], step["code"]) == ("Failed", "CodeSigningCaNotFound")
    assert "1 more problem" in step["message"]
    assert next(s for s in report["steps"] if s["name"] == "PullPermission")["status"] == (
        "Succeeded")
    health = world.arm.get(f"{world.path(name)}/health", params=Q).json()
    assert health["state"] == "Degraded" and "CodeSigningCas" in health["message"]

    result = _verify(world, name, f"{vectors['e2e-valid-signature']}:v1")
    assert (result["decision"], result["code"], result["verification"]) == (
        "Refused", "CodeSigningCasUnresolved", "NotChecked")
    assert [p["code"] for p in result["codeSigningCas"]["problems"]] == [
        "CodeSigningCaNotFound", "CodeSigningCaInvalid"]


def test_endpoints_without_cas_are_not_checked(world: World, vectors: dict[str, str]) -> None:
    # Nothing listens on this endpoint's port: a request to the registry would end in 424.
    name = f"ep-{uuid.uuid4().hex[:8]}"
    r = world.arm.put(world.path(name), params=Q, json={"properties": {
        "host": "127.0.0.1:9", "authentication": {"method": "Anonymous",
                                                  "anonymousSettings": {}}}})
    assert r.status_code == 201, r.text
    result = _verify(world, name, f"{vectors['e2e-valid-signature']}:v1")
    assert (result["decision"], result["policy"], result["verification"], result["badge"]) == (
        "Allowed", "off", "NotChecked", "NotChecked")
    assert result["digest"] is None  # the registry was not asked
    # enforce without any CA: nothing to verify against, so refused, and said so.
    s = world.arm.put(f"{world.path(name)}/connectionSettings", params=Q,
                      json={"properties": {"signaturePolicy": "enforce"}})
    assert s.status_code == 200, s.text
    result = _verify(world, name, f"{vectors['e2e-valid-signature']}:v1")
    assert (result["decision"], result["code"]) == ("Refused", "NoCodeSigningCas")


def test_config_map_in_use_and_validation(world: World, vectors: dict[str, str]) -> None:
    endpoint = _ca_endpoint(world, vectors, "e2e.crt")
    path = f"{world.path()}/configMaps/{endpoint}-cas"
    r = world.arm.delete(path, params=Q)
    assert r.status_code == 409 and r.json()["error"]["code"] == "ConfigMapInUse", r.text
    assert endpoint in r.json()["error"]["message"]
    r = world.arm.put(f"{world.path()}/configMaps/bad", params=Q,
                      json={"properties": {"data": {"no/slash": "x"}}})
    assert r.status_code == 400 and r.json()["error"]["code"] == "InvalidConfigMapKey", r.text
    r = world.arm.put(f"{world.path()}/configMaps/Bad_Name", params=Q,
                      json={"properties": {"data": {}}})
    assert r.status_code == 400 and r.json()["error"]["code"] == "InvalidResourceName", r.text
    r = world.arm.delete(path, params={**Q, "force": "true"})
    assert r.status_code == 204, r.text
    assert world.arm.get(path, params=Q).status_code == 404


def test_cli_configmap_and_verify_through_endpoint(
    world: World, vectors: dict[str, str], dev_server: ServerProcess, tmp_path: Path
) -> None:
    name = f"ep-{uuid.uuid4().hex[:8]}"
    scope = ["-i", world.instance, "-g", world.rg]
    ca = tmp_path / "e2e.pem"
    ca.write_text((KEYS / "e2e.crt").read_text())
    made = iotops(dev_server, "configmap", "set", "--name", f"{name}-cas",
                  "--from-file", f"ca.crt={ca}", *scope)
    assert made.code == 0, made.stderr
    assert json.loads(made.stdout)["properties"]["data"]["ca.crt"].startswith("-----BEGIN")
    listed = iotops(dev_server, "configmap", "list", *scope, "-o", "table")
    assert f"{name}-cas" in listed.stdout and "ca.crt" in listed.stdout
    _endpoint(world, name, vectors, [{"type": "ConfigMap", "configMapRef": f"{name}-cas"}])

    ok = iotops(dev_server, "artifact", "verify", f"{vectors['e2e-valid-signature']}:v1",
                "--registry-endpoint", name, *scope)
    assert ok.code == 0, ok.stderr
    assert json.loads(ok.stdout)["code"] == "Verified"
    assert "Allowed by the enforce policy" in ok.stderr

    refused = iotops(dev_server, "artifact", "verify",
                     f"{world.dev.registry}/{vectors['e2e-expired-signature']}:v1",
                     "--registry-endpoint", name, *scope)
    assert refused.code == 1
    assert "(SignatureExpired)" in refused.stderr

    both = iotops(dev_server, "artifact", "verify", "x/y:1", "--registry-endpoint", name,
                  "--ca-file", str(ca), *scope)
    assert both.code == 2 and "not both" in both.stderr

    policy = iotops(dev_server, "registry", "connection", "set", "-n", name, *scope,
                    "--signature-policy", "audit")
    assert policy.code == 0, policy.stderr
    assert json.loads(policy.stdout)["properties"]["signaturePolicy"] == "audit"


GRAPH = (Path(__file__).parent / "data" / "aio" / "graphs"
         / "explore-iot-operations__samples__wasm__graph-simple.yaml")


def test_graph_push_sign_then_verified_through_the_endpoint(
    world: World, dev_server: ServerProcess, tmp_path: Path
) -> None:
    """``graph push --sign`` signs the module and the graph; an endpoint whose code-signing
    CA is the signer's verifies both (and one with another CA refuses them)."""
    from iotops_registry.notary import create_dev_ca

    team = f"signed-{uuid.uuid4().hex[:8]}"
    user, password = world.dev.repository_token(f"{team}/*", ["pull", "push"])
    made, other = create_dev_ca(), create_dev_ca()
    key, chain = tmp_path / "signer.key", tmp_path / "chain.pem"
    key.write_bytes(made.leaf_key_pem())
    chain.write_bytes(made.chain_pem())
    graph = tmp_path / "graph-simple.yaml"
    graph.write_text(GRAPH.read_text().replace(
        "azure-samples/explore-iot-operations/temperature", f"{team}/temperature"))
    module = tmp_path / "temperature.wasm"
    module.write_bytes(b"\0asm\x01\x00\x00\x00")
    registry = world.dev.registry
    # --sign needs the key and the chain: refused before anything is pushed.
    bad = iotops(dev_server, "graph", "push", str(graph), "--to",
                 f"{registry}/{team}/graph-simple:1.0.0", "--sign", "--key", str(key),
                 "-u", user, "--password-stdin", "--no-progress", stdin=password + "\n")
    assert bad.code == 2 and "--sign needs --key" in bad.stderr
    done = iotops(dev_server, "graph", "push", str(graph), "--to",
                  f"{registry}/{team}/graph-simple:1.0.0", "--module",
                  f"{team}/temperature:1.0.0={module}", "--sign", "--key", str(key),
                  "--cert", str(chain), "--envelope", "cose", "-u", user, "--password-stdin",
                  "--no-progress", stdin=password + "\n")
    assert done.code == 0, done.stderr
    pushed = json.loads(done.stdout)
    assert {p["kind"] for p in pushed} == {"wasm-module", "graph"}
    assert all(p["signature"].startswith("sha256:") and p["signer"] for p in pushed)

    secret = world.pull_secret(f"{team}-pull", *world.dev.repository_token(f"{team}/*",
                                                                         ["pull"]))
    for ca, code in ((made.ca_pem(), "Verified"), (other.ca_pem(), "UntrustedSigner")):
        name = f"ep-{uuid.uuid4().hex[:8]}"
        assert _config_map(world, f"{name}-cas", {"ca.crt": ca.decode()}).status_code == 201
        r = world.arm.put(world.path(name), params=Q, json={"properties": {
            "host": registry, "authentication": secret,
            "codeSigningCas": [{"type": "ConfigMap", "configMapRef": f"{name}-cas"}]}})
        assert r.status_code == 201, r.text
        for artifact in (f"{team}/temperature:1.0.0", f"{team}/graph-simple:1.0.0"):
            result = _verify(world, name, artifact)
            assert result["code"] == code, result["message"]
            assert result["verdict"]["signature"]["envelopeType"] == "application/cose"


def test_artifact_pull_checks_signatures_first(
    world: World, vectors: dict[str, str], dev_server: ServerProcess, tmp_path: Path
) -> None:
    """``artifact pull`` with --signing-ca-file or --registry-endpoint writes nothing for an
    artifact that does not verify, and pulls exactly the verified digest otherwise."""
    user, password = world.dev.repository_token(vectors["e2e-valid-signature"].split("/")[0]
                                                + "/*", ["pull"])
    registry = world.dev.registry
    valid = f"{registry}/{vectors['e2e-valid-signature']}:v1"
    expired = f"{registry}/{vectors['e2e-expired-signature']}:v1"
    creds = ["-u", user, "--password-stdin", "--no-progress"]

    def pull(ref: str, out: Path, *extra: str) -> Any:
        return iotops(dev_server, "artifact", "pull", ref, "-O", str(out), *extra, *creds,
                      stdin=password + "\n")

    ok = pull(valid, tmp_path / "ok", "--signing-ca-file", str(KEYS / "e2e.crt"))
    assert ok.code == 0, ok.stderr
    got = json.loads(ok.stdout)
    assert got["signature"]["code"] == "Verified" and got["files"]
    assert (tmp_path / "ok" / "e2e.txt").read_text() == "awesome notation\n"

    refused = pull(expired, tmp_path / "no", "--signing-ca-file", str(KEYS / "e2e.crt"))
    assert refused.code == 1 and "(SignatureExpired)" in refused.stderr
    assert not (tmp_path / "no").exists() or not any((tmp_path / "no").iterdir())

    endpoint = _ca_endpoint(world, vectors, "e2e.crt")
    scope = ["--registry-endpoint", endpoint, "-i", world.instance, "-g", world.rg]
    ok = pull(valid, tmp_path / "ep", *scope)
    assert ok.code == 0, ok.stderr
    assert json.loads(ok.stdout)["signature"] == {
        "decision": "Allowed", "policy": "enforce", "code": "Verified", "signer": E2E_SIGNER}
    refused = pull(expired, tmp_path / "ep-no", *scope)
    assert refused.code == 1 and "(SignatureExpired)" in refused.stderr
    assert not (tmp_path / "ep-no").exists() or not any((tmp_path / "ep-no").iterdir())


def test_catalog_shows_the_signature_badge(world: World, dev_server: ServerProcess,
                                           tmp_path: Path) -> None:
    """The catalog of an endpoint with code-signing CAs carries each artifact's verdict: a
    badge and a ``signature`` filter (signed / unsigned)."""
    from iotops_registry.notary import create_dev_ca

    team = f"badge-{uuid.uuid4().hex[:8]}"
    user, password = world.dev.repository_token(f"{team}/*", ["pull", "push"])
    made = create_dev_ca()
    key, chain = tmp_path / "signer.key", tmp_path / "chain.pem"
    key.write_bytes(made.leaf_key_pem())
    chain.write_bytes(made.chain_pem())
    module = tmp_path / "m.wasm"
    module.write_bytes(b"\0asm\x01\x00\x00\x00")
    registry = world.dev.registry
    for name, extra in (("signed-mod", ["--sign", "--key", str(key), "--cert", str(chain)]),
                        ("plain-mod", [])):
        done = iotops(dev_server, "artifact", "push", f"{registry}/{team}/{name}:1.0.0",
                      f"{module}:application/wasm", "--artifact-type",
                      "application/vnd.module.wasm.content.layer.v1+wasm", "-u", user,
                      "--password-stdin", "--no-progress", stdin=password + "\n") \
            if not extra else None
        if extra:
            graph = tmp_path / f"{name}.yaml"
            graph.write_text(GRAPH.read_text().replace(
                "azure-samples/explore-iot-operations/temperature", f"{team}/{name}"))
            done = iotops(dev_server, "graph", "push", str(graph), "--to",
                          f"{registry}/{team}/graph-{name}:1.0.0", "--module",
                          f"{team}/{name}:1.0.0={module}", *extra, "-u", user,
                          "--password-stdin", "--no-progress", stdin=password + "\n")
        assert done is not None and done.code == 0, done.stderr if done else ""
    name = f"ep-{uuid.uuid4().hex[:8]}"
    assert _config_map(world, f"{name}-cas", {"ca.crt": made.ca_pem().decode()}).status_code \
        == 201
    secret = world.pull_secret(f"{team}-pull", *world.dev.repository_token(f"{team}/*",
                                                                         ["pull"]))
    r = world.arm.put(world.path(name), params=Q, json={"properties": {
        "host": f"{registry}/{team}", "authentication": secret,
        "codeSigningCas": [{"type": "ConfigMap", "configMapRef": f"{name}-cas"}]}})
    assert r.status_code == 201, r.text
    s = world.arm.put(f"{world.path(name)}/connectionSettings", params=Q, json={"properties": {
        "catalogRepositories": [f"{team}/signed-mod", f"{team}/graph-signed-mod",
                                f"{team}/plain-mod"]}})
    assert s.status_code == 200, s.text
    r = world.arm.post(f"{world.path()}/catalog/sync", params=Q, timeout=120)
    assert r.status_code == 200, r.text
    modules = world.arm.get(f"{world.path()}/catalog/modules",
                            params={**Q, "endpoint": name, "$facets": "true"}).json()
    badges = {m["properties"]["repository"]: m["properties"]["signature"]
              for m in modules["value"]}
    assert badges[f"{team}/signed-mod"]["badge"] == "Signed"
    assert badges[f"{team}/signed-mod"]["signer"]
    assert badges[f"{team}/plain-mod"]["badge"] == "Unsigned"
    assert modules["facets"]["signature"] == {"signed": 1, "unsigned": 1}
    only = world.arm.get(f"{world.path()}/catalog/modules",
                         params={**Q, "endpoint": name, "signature": "unsigned"}).json()
    assert [m["properties"]["repository"] for m in only["value"]] == [f"{team}/plain-mod"]
    graphs = world.arm.get(f"{world.path()}/catalog/graphs", params={**Q, "endpoint": name})
    (graph,) = graphs.json()["value"]
    assert graph["properties"]["signature"]["code"] == "Verified"
