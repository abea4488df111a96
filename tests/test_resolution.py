"""Resolution when saved: graphs and connector templates against the real CNCF Distribution
registry of ``iotops serve --dev``, content pushed with the project's OCI client, pulled by
the server through registry endpoints with artifact pull secrets (Key Vault, synced secret).
Each failure reaches ``Failed`` with its own reason code; success records the digests."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.iotoperations import models as m

from iotops_registry.packaging.artifacts import metadata_bundle
from tests.conftest import custom_location
from tests.support.pulling import (
    SAMPLE_MODULE,
    SIMPLE,
    Q,
    World,
    graph_body,
    pulling_world,
    template_body,
)
from tests.support.server import ServerProcess

DATA = Path(__file__).parent / "data"
PREVIEW = (DATA / "aio" / "graphs" /
           "explore-iot-operations__samples__wasm__graph-simple@51c5aa1.yaml").read_text()
METADATA = (DATA / "broken_metadata" / "valid.json").read_text()
BROKEN_METADATA = (DATA / "broken_metadata" / "01-no-name.json").read_text()


def _status(doc: dict[str, Any]) -> tuple[str, str, str]:
    props = doc["properties"]
    health = props["status"]["healthState"]
    return props["provisioningState"], health["reasonCode"], health["message"]


@pytest.fixture(scope="module")
def world(dev_server: ServerProcess) -> Iterator[World]:
    with pulling_world(dev_server, "res") as w:
        yield w


def test_graph_resolves_through_hostname_endpoint(world: World) -> None:
    """Background resolution, as the SDK sees it: Accepted, polled until Succeeded."""
    resource = m.DataflowGraphResource(
        extended_location=m.ExtendedLocation(
            name=custom_location(world.dev.server.subscription, world.rg), type="CustomLocation"),
        properties=graph_body("dev", f"{world.team}/graph-simple:1.0.0")["properties"],
    )
    graph = world.sdk.dataflow_graph.begin_create_or_update(
        world.rg, world.instance, "default", "resolves", resource).result()
    assert graph.properties.provisioning_state == "Succeeded"
    assert graph.properties.health_state == "Available"
    assert graph.properties.status.health_state.reason_code == "Resolved"
    r = world.arm.get(f"{world.graph_path('resolves')}/resolution", params=Q)
    assert r.status_code == 200, r.text
    refs = {ref["kind"]: ref for ref in r.json()["references"]}
    assert refs["graph"]["status"] == refs["module"]["status"] == "Resolved"
    assert refs["graph"]["digest"].startswith("sha256:")
    assert refs["module"]["reference"] == f"{world.team}/temperature:1.0.0"


def test_graph_resolves_through_host_with_path_prefix(world: World) -> None:
    # host = registry/team; artifact and module names are relative to it (the older rule),
    # and a repository-qualified module under the same prefix also resolves.
    for artifact in ("graph-short:1.0.0", "graph-simple:1.0.0"):
        doc = world.put_graph(f"prefix-{artifact.split(':')[0]}", "dev-team", artifact)
        assert _status(doc)[:2] == ("Succeeded", "Resolved"), doc


@pytest.mark.parametrize(("name", "reason"), [
    ("missing-artifact", "ArtifactNotFound"),
    ("missing-module", "ModuleNotFound"),
    ("required-parameter", "RequiredParameterMissing"),
    ("unknown-parameter", "UnknownParameter"),
    ("runtime-too-new", "RuntimeVersionNotSupported"),
    ("cannot-pull", "EndpointCannotPull"),
    ("preview-format", "PreviewGraphFormat"),
])
def test_graph_failures(world: World, name: str, reason: str) -> None:
    team, endpoint, config = world.team, "dev", None
    artifact = f"{team}/graph-{name}:1.0.0"
    if name == "missing-artifact":
        artifact = f"{team}/graph-nowhere:1.0.0"
    elif name == "missing-module":
        world.push_graph(f"graph-{name}", SIMPLE.replace(SAMPLE_MODULE, f"{team}/nowhere:1.0.0"))
    elif name in ("required-parameter", "unknown-parameter"):
        text = SIMPLE.replace(SAMPLE_MODULE, f"{team}/temperature:1.0.0").replace(
            "        description: key2", "        description: key2\n        required: true")
        world.push_graph(f"graph-{name}", text)
        config = {"key1": "1", "nope": "2"} if name == "unknown-parameter" else {}
    elif name == "runtime-too-new":
        world.push_graph(f"graph-{name}", SIMPLE.replace(
            'runtimeVersion: "1.1.0"', 'runtimeVersion: "9.0.0"').replace(
            SAMPLE_MODULE, f"{team}/temperature:1.0.0"))
    elif name == "cannot-pull":
        artifact, endpoint = f"{team}/graph-simple:1.0.0", "no-pull"
    elif name == "preview-format":
        world.push_graph(f"graph-{name}", PREVIEW)
    doc = world.put_graph(name, endpoint, artifact, config)
    state, code, message = _status(doc)
    assert (state, code) == ("Failed", reason), doc
    assert doc["properties"]["healthState"] == "Unavailable"
    assert message and "password" not in message.lower()
    assert world.password not in json.dumps(doc)


def test_endpoint_change_resolves_again(world: World) -> None:
    team = world.team
    world.push_graph("graph-later", SIMPLE.replace(SAMPLE_MODULE, f"{team}/later:1.0.0"))
    doc = world.put_graph("later", "dev", f"{team}/graph-later:1.0.0")
    assert _status(doc)[:2] == ("Failed", "ModuleNotFound")
    world.push_module("later")
    r = world.arm.get(f"{world.path}/registryEndpoints/dev", params=Q)
    body = {"properties": {k: v for k, v in r.json()["properties"].items()
                           if k in ("host", "authentication")}}
    assert world.arm.put(f"{world.path}/registryEndpoints/dev", params=Q,
                         json=body).status_code == 200
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        doc = world.arm.get(world.graph_path("later"), params=Q).json()
        if _status(doc)[0] == "Succeeded":
            break
        time.sleep(0.2)
    assert _status(doc)[:2] == ("Succeeded", "Resolved"), doc


def test_template_resolves(world: World) -> None:
    world.push(f"{world.team}/rest-metadata", "1.0.0",
               metadata_bundle(METADATA.encode(), "connector-metadata.json", {}))
    image = world.push_module("rest-connector", data=b"image stand-in")
    ref = f"{world.dev.registry}/{world.team}/rest-metadata:1.0.0"
    doc = world.put_template("rest", template_body(world, "dev", metadata=ref))
    assert _status(doc)[:2] == ("Succeeded", "Resolved"), _status(doc)
    report = world.arm.get(f"{world.template_path('rest')}/resolution", params=Q).json()
    refs = {r["kind"]: r for r in report["references"]}
    assert refs["image"]["digest"] == image
    assert refs["metadata"]["endpoint"] == "dev"


@pytest.mark.parametrize(("name", "reason"), [
    ("missing-metadata", "MetadataNotFound"),
    ("invalid-metadata", "InvalidMetadata"),
    ("wrong-endpoint-type", "EndpointTypeMismatch"),
    ("missing-image-tag", "ImageNotFound"),
])
def test_template_failures(world: World, name: str, reason: str) -> None:
    team = world.team
    world.push(f"{team}/rest-metadata", "1.0.0",
               metadata_bundle(METADATA.encode(), "connector-metadata.json", {}))
    world.push_module("rest-connector", data=b"image stand-in")
    ref = f"{world.dev.registry}/{team}/rest-metadata:1.0.0"
    kwargs: dict[str, Any] = {"metadata": ref}
    if name == "missing-metadata":
        kwargs["metadata"] = f"{world.dev.registry}/{team}/nowhere-metadata:1.0.0"
    elif name == "invalid-metadata":
        world.push(f"{team}/broken-metadata", "1.0.0",
                   metadata_bundle(BROKEN_METADATA.encode(), "connector-metadata.json", {}))
        kwargs["metadata"] = f"{world.dev.registry}/{team}/broken-metadata:1.0.0"
    elif name == "wrong-endpoint-type":
        kwargs["endpoint_type"] = "Microsoft.Rest"
    elif name == "missing-image-tag":
        kwargs["tag"] = "9.9.9"
    doc = world.put_template(name, template_body(world, "dev", **kwargs))
    assert _status(doc)[:2] == ("Failed", reason), doc


def test_sdk_poller_raises_on_failed(world: World) -> None:
    resource = m.AkriConnectorTemplateResource(
        extended_location=m.ExtendedLocation(
            name=custom_location(world.dev.server.subscription, world.rg), type="CustomLocation"),
        properties=template_body(world, "dev", metadata=None, tag="0.0.404")["properties"],
    )
    with pytest.raises(HttpResponseError):
        world.sdk.akri_connector_template.begin_create_or_update(
            world.rg, world.instance, "sdk-fails", resource).result()
    got = world.sdk.akri_connector_template.get(world.rg, world.instance, "sdk-fails")
    assert got.properties.provisioning_state == "Failed"


def test_health_proves_pull_on_used_repositories(world: World) -> None:
    world.put_graph("for-health", "dev-team", "graph-short:1.0.0")
    r = world.arm.post(f"{world.path}/registryEndpoints/dev-team/test", params=Q, json={},
                       timeout=120)
    assert r.status_code == 200, r.text
    report = r.json()
    # The graph artifact this instance uses through the endpoint, before the host's prefix
    # (which is not a repository at all here).
    assert report["repository"] == f"{world.team}/graph-short", report
    steps = {s["name"]: s for s in report["steps"]}
    assert steps["PullPermission"]["status"] == "Succeeded", report
    assert "dataflow graph 'default/for-health'" in steps["PullPermission"]["message"], report


def test_signature_policy_applies_to_graph_resolution(world: World) -> None:
    """An endpoint with code-signing CAs (enforce by default) resolves a graph whose graph
    and module are signed by its CA, refuses an unsigned one with the verdict's code, and
    under audit resolves it while recording what it found."""
    import asyncio
    import ssl

    from iotops_registry.authn import BasicCredential, StaticBasic
    from iotops_registry.notary import SigningIdentity, create_dev_ca, sign
    from iotops_registry.remote import RegistryClient

    made = create_dev_ca()
    team = world.team
    world.push_module("temperature-signed")
    world.push_graph("graph-signed", SIMPLE.replace(SAMPLE_MODULE,
                                                    f"{team}/temperature-signed:1.0.0"))

    async def sign_both() -> None:
        identity = SigningIdentity.from_pem(made.leaf_key_pem(), made.chain_pem())
        async with RegistryClient(
            world.dev.registry, authenticator=StaticBasic(BasicCredential(world.user,
                                                                          world.password)),
            verify=ssl.create_default_context(cafile=world.dev.server.ca),
        ) as client:
            for repo in (f"{team}/temperature-signed", f"{team}/graph-signed"):
                await sign(client, repo, await client.head_manifest(repo, "1.0.0"), identity)

    asyncio.run(sign_both())
    r = world.arm.put(f"{world.path}/configMaps/sig-cas", params=Q,
                      json={"properties": {"data": {"ca.crt": made.ca_pem().decode()}}})
    assert r.status_code == 201, r.text
    r = world.arm.put(f"{world.path}/registryEndpoints/signed", params=Q, json={"properties": {
        "host": world.dev.registry,
        "authentication": {"method": "ArtifactPullSecret",
                           "artifactPullSecretSettings": {"secretRef": "dev"}},
        "codeSigningCas": [{"type": "ConfigMap", "configMapRef": "sig-cas"}]}})
    assert r.status_code == 201, r.text

    doc = world.put_graph("sig-ok", "signed", f"{team}/graph-signed:1.0.0")
    assert _status(doc)[:2] == ("Succeeded", "Resolved"), doc
    refs = world.arm.get(f"{world.graph_path('sig-ok')}/resolution", params=Q).json()
    signatures = {ref["kind"]: ref["signature"] for ref in refs["references"]}
    assert signatures["graph"]["code"] == signatures["module"]["code"] == "Verified"
    assert signatures["graph"]["policy"] == "enforce"

    doc = world.put_graph("sig-unsigned", "signed", f"{team}/graph-simple:1.0.0")
    state, code, message = _status(doc)
    assert (state, code) == ("Failed", "SignatureMissing"), doc
    assert "refused by the signature policy" in message

    r = world.arm.put(f"{world.path}/registryEndpoints/signed/connectionSettings", params=Q,
                      json={"properties": {"signaturePolicy": "audit"}})
    assert r.status_code == 200, r.text
    doc = world.put_graph("sig-audit", "signed", f"{team}/graph-simple:1.0.0")
    assert _status(doc)[:2] == ("Succeeded", "Resolved"), doc
    refs = world.arm.get(f"{world.graph_path('sig-audit')}/resolution", params=Q).json()
    graph_ref = next(ref for ref in refs["references"] if ref["kind"] == "graph")
    assert graph_ref["signature"]["code"] == "SignatureMissing"
    assert graph_ref["signature"]["decision"] == "Allowed"
