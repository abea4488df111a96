"""A dev registry with graphs, modules and connector metadata pushed by the project's own
OCI client, and an instance whose registry endpoints reach it (artifact pull secrets)."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from azure.mgmt.iotoperations import IoTOperationsMgmtClient

from iotops_registry import LocalIssuerCredential
from iotops_registry.authn import BasicCredential, StaticBasic
from iotops_registry.packaging.artifacts import graph_bundle, module_bundle
from iotops_registry.packaging.publish import Publisher
from iotops_registry.remote import RegistryClient
from tests.conftest import API_VERSION, custom_location
from tests.support.dev import Dev, dev_clients, unique
from tests.support.server import ServerProcess

Q = {"api-version": API_VERSION}
ARM = "https://management.azure.com"
DATA = Path(__file__).parent.parent / "data"
GRAPHS = DATA / "aio" / "graphs"
SIMPLE = (GRAPHS / "explore-iot-operations__samples__wasm__graph-simple.yaml").read_text()
WASM = b"\0asm\x01\x00\x00\x00"
SAMPLE_MODULE = "azure-samples/explore-iot-operations/temperature:1.0.0"


@dataclass
class World:
    dev: Dev
    arm: httpx.Client
    sdk: IoTOperationsMgmtClient
    rg: str
    instance: str
    team: str
    user: str
    password: str

    @property
    def path(self) -> str:
        return (f"/subscriptions/{self.dev.server.subscription}/resourceGroups/{self.rg}"
                f"/providers/Microsoft.IoTOperations/instances/{self.instance}")

    def graph_path(self, name: str) -> str:
        return f"{self.path}/dataflowProfiles/default/dataflowGraphs/{name}"

    def template_path(self, name: str) -> str:
        return f"{self.path}/akriConnectorTemplates/{name}"

    def pull_secret_endpoint(self, name: str, user: str, password: str,
                             host: str | None = None) -> None:
        kv = f"{self.path}/keyVaultSecrets"
        for secret, value in ((f"{name}-user", user), (f"{name}-pass", password)):
            r = self.arm.put(f"{kv}/{secret}", params=Q, json={"properties": {"value": value}})
            assert r.status_code in (200, 201), r.text
        r = self.arm.put(f"{self.path}/syncedSecrets/{name}", params=Q, json={"properties": {
            "objectSecretMapping": [{"sourcePath": f"{name}-user", "targetKey": "username"},
                                    {"sourcePath": f"{name}-pass", "targetKey": "password"}]}})
        assert r.status_code in (200, 201), r.text
        self.endpoint(name, {"method": "ArtifactPullSecret",
                             "artifactPullSecretSettings": {"secretRef": name}}, host)

    def endpoint(self, name: str, auth: dict[str, Any], host: str | None = None) -> None:
        r = self.arm.put(f"{self.path}/registryEndpoints/{name}", params=Q, json={
            "properties": {"host": host or self.dev.registry, "authentication": auth}})
        assert r.status_code in (200, 201), r.text

    def push(self, repository: str, tag: str, bundle: Any) -> str:
        async def go() -> str:
            async with RegistryClient(
                self.dev.registry, authenticator=StaticBasic(BasicCredential(self.user,
                                                                            self.password)),
                verify=ssl.create_default_context(cafile=self.dev.server.ca),
            ) as client:
                return str(await Publisher(client).push(repository, tag, bundle))

        return asyncio.run(go())

    def push_graph(self, name: str, text: str, tag: str = "1.0.0") -> str:
        return self.push(f"{self.team}/{name}", tag,
                         graph_bundle(text.encode(), f"{name}.yaml", {}))

    def push_module(self, name: str, tag: str = "1.0.0", data: bytes = WASM) -> str:
        return self.push(f"{self.team}/{name}", tag, module_bundle(data, f"{name}.wasm", {}))

    def resolve(self, path: str) -> dict[str, Any]:
        r = self.arm.post(f"{path}/resolve", params=Q, timeout=120)
        assert r.status_code == 200, r.text
        return dict(r.json())

    def put_graph(self, name: str, endpoint: str, artifact: str,
                  config: dict[str, str] | None = None) -> dict[str, Any]:
        r = self.arm.put(self.graph_path(name), params=Q, json=graph_body(endpoint, artifact,
                                                                         config))
        assert r.status_code in (200, 201), r.text
        assert r.json()["properties"]["provisioningState"] == "Accepted"
        return self.resolve(self.graph_path(name))

    def put_template(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        r = self.arm.put(self.template_path(name), params=Q, json=body)
        assert r.status_code in (200, 201), r.text
        assert r.json()["properties"]["provisioningState"] == "Accepted"
        return self.resolve(self.template_path(name))


def graph_body(endpoint: str, artifact: str, config: dict[str, str] | None = None
               ) -> dict[str, Any]:
    return {"properties": {"mode": "Enabled", "nodes": [
        {"name": "source", "nodeType": "Source", "sourceSettings": {
            "endpointRef": "default", "dataSources": ["thermostats/#"]}},
        {"name": "transform", "nodeType": "Graph", "graphSettings": {
            "registryEndpointRef": endpoint, "artifact": artifact,
            "configuration": [{"key": k, "value": v} for k, v in (config or {}).items()]}},
        {"name": "sink", "nodeType": "Destination", "destinationSettings": {
            "endpointRef": "default", "dataDestination": "out"}},
    ], "nodeConnections": [
        {"from": {"name": "source"}, "to": {"name": "transform"}},
        {"from": {"name": "transform"}, "to": {"name": "sink"}},
    ]}}


def template_body(world: World, endpoint: str | None, *, metadata: str | None,
                  endpoint_type: str = "Microsoft.Http", version: str | None = "2.0",
                  tag: str = "1.0.0", image: str | None = None) -> dict[str, Any]:
    image_settings: dict[str, Any] = {
        "imageName": image or f"{world.team}/rest-connector",
        "tagDigestSettings": {"tagDigestType": "Tag", "tag": tag},
    }
    if endpoint:
        image_settings["registrySettings"] = {"registrySettingsType": "RegistryEndpointRef",
                                              "registryEndpointRef": endpoint}
    props: dict[str, Any] = {
        "deviceInboundEndpointTypes": [{"endpointType": endpoint_type,
                                        **({"version": version} if version else {})}],
        "runtimeConfiguration": {"runtimeConfigurationType": "ManagedConfiguration",
                                 "managedConfigurationSettings": {
                                     "managedConfigurationType": "ImageConfiguration",
                                     "imageConfigurationSettings": image_settings}},
    }
    if metadata:
        props["connectorMetadataRef"] = metadata
    return {"properties": props}


@contextmanager
def pulling_world(dev_server: ServerProcess, prefix: str) -> Iterator[World]:
    with dev_clients(dev_server) as dev:
        team = unique(prefix)
        user, password = dev.repository_token(f"{team}/*", ["pull", "push"])
        rg, instance = unique("rg-res"), unique("inst")
        credential = LocalIssuerCredential(dev_server.data_dir)
        token = credential.mint(ARM)
        sdk = IoTOperationsMgmtClient(credential, dev_server.subscription,
                                      base_url=dev_server.arm, connection_verify=dev_server.ca,
                                      polling_interval=1, retry_total=0)
        with httpx.Client(base_url=dev_server.arm, timeout=60,
                          verify=ssl.create_default_context(cafile=dev_server.ca),
                          headers={"Authorization": f"Bearer {token}"}) as arm:
            w = World(dev, arm, sdk, rg, instance, team, user, password)
            r = arm.put(w.path, params=Q, json={"location": "eastus", "extendedLocation": {
                "name": custom_location(dev_server.subscription, rg), "type": "CustomLocation"}})
            assert r.status_code == 201, r.text
            w.pull_secret_endpoint("dev", user, password)
            w.pull_secret_endpoint("dev-team", user, password, f"{dev.registry}/{team}")
            other_user, other_password = dev.repository_token("elsewhere/*", ["pull"])
            w.pull_secret_endpoint("no-pull", other_user, other_password)
            # graph-simple with its module in our team's repositories, both reference forms
            w.push_module("temperature")
            w.push_graph("graph-simple", SIMPLE.replace(SAMPLE_MODULE,
                                                        f"{team}/temperature:1.0.0"))
            w.push_graph("graph-short", SIMPLE.replace(SAMPLE_MODULE, "temperature:1.0.0"))
            yield w
        sdk.close()


