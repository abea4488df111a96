"""The catalog end to end, against the real CNCF Distribution registry of ``iotops serve
--dev``: graphs, modules and connector metadata pushed by ``iotops`` and by oras-py (as
ORAS_COMMANDS.md does) behind three endpoints with three authentication methods, one of
which may not list ``_catalog`` and syncs its configured repository list. The listing, every
filter and search are exact; a graph whose media types were stripped is listed with its
warning; a no-change resync reads no blob and no full manifest (counted at the registry's
front); a re-push and a tag deletion show up after the next sync."""

from __future__ import annotations

import asyncio
import json
import shutil
import ssl
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from iotops_registry import LocalIssuerCredential
from iotops_registry.cli import cli
from iotops_registry.domain import InstanceKey
from tests.conftest import API_VERSION
from tests.support.cli import iotops
from tests.support.dev import Dev, dev_clients, unique
from tests.support.server import ServerProcess

pytest_plugins = ["tests.support.registry"]

Q = {"api-version": API_VERSION}
ARM = "https://management.azure.com"
DATA = Path(__file__).parent / "data" / "aio"
GRAPHS = DATA / "graphs"
META = DATA / "connector_metadata"
SIMPLE = GRAPHS / "explore-iot-operations__samples__wasm__graph-simple.yaml"
COMPLEX = GRAPHS / "explore-iot-operations__samples__wasm__graph-complex.yaml"
OTEL = GRAPHS / "explore-iot-operations__samples__wasm__graph-otel.yaml"
DATETIME = GRAPHS / ("edge-ai__src__500-application__515-wasm-expressions__resources__graphs__"
                     "graph-datetime.yaml")
OPCUA = META / ("azure-iot-ops-cli-extension__azext_edge__edge__providers__adr__schemas__"
                "opcua_connector_metadata@3408cfb.json")
MINIMAL = META / "iot-operations-sdks__doc__akri_connector__minimal-example-connector-metadata.json"
SQL = META / ("iot-operations-sdks__dotnet__samples__Connectors__SqlConnector__"
              "connector-metadata.json")
WASM = b"\0asm\x01\x00\x00\x00"
AIO_GRAPH = "application/vnd.microsoft.aio.graph.v1+yaml"
AKRI = "application/vnd.microsoft.akri-connector.v1+json"
WASM_TYPE = "application/vnd.module.wasm.content.layer.v1+wasm"


@dataclass
class Catalog:
    dev: Dev
    arm: httpx.Client
    team: str
    user: str
    password: str
    rg: str
    instance: str
    tmp: Path
    pushed: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return (f"/subscriptions/{self.dev.server.subscription}/resourceGroups/{self.rg}"
                f"/providers/Microsoft.IoTOperations/instances/{self.instance}")

    def repo(self, path: str) -> str:
        return f"{self.team}/{path}"

    def ref(self, path: str) -> str:
        return f"{self.dev.registry}/{self.team}/{path}"

    def put(self, path: str, body: dict[str, Any]) -> Any:
        r = self.arm.put(self.path + path, params=Q, json=body)
        assert r.status_code in (200, 201), r.text
        return r.json()

    def endpoint(self, name: str, auth: dict[str, Any], prefix: str) -> None:
        self.put(f"/registryEndpoints/{name}", {"properties": {
            "host": f"{self.dev.registry}/{self.team}/{prefix}", "authentication": auth}})

    def pull_secret(self, name: str, username: str, password: str) -> dict[str, Any]:
        for secret, value in ((f"{name}-user", username), (f"{name}-pass", password)):
            self.put(f"/keyVaultSecrets/{secret}", {"properties": {"value": value}})
        mapping = [{"sourcePath": f"{name}-user", "targetKey": "username"},
                   {"sourcePath": f"{name}-pass", "targetKey": "password"}]
        self.put(f"/syncedSecrets/{name}", {"properties": {"objectSecretMapping": mapping}})
        return {"method": "ArtifactPullSecret", "artifactPullSecretSettings": {"secretRef": name}}

    def sync(self) -> dict[str, Any]:
        r = self.arm.post(f"{self.path}/catalog/sync", params=Q, timeout=120)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    def list(self, kind: str, **params: str) -> list[dict[str, Any]]:
        r = self.arm.get(f"{self.path}/catalog/{kind}", params={**Q, **params})
        assert r.status_code == 200, r.text
        return list(r.json()["value"])

    def names(self, kind: str, **params: str) -> set[str]:
        """``repository:tag`` (without the team) of every entry listed."""
        return {f"{e['properties']['repository'].removeprefix(self.team + '/')}:"
                f"{e['properties']['tag']}" for e in self.list(kind, **params)}

    def cli(self, *args: str) -> Any:
        """``iotops`` in this process, with the push token on stdin (its own thread: the CLI
        runs its own event loop)."""
        def call() -> Any:
            return CliRunner().invoke(
                cli, [*args, "-u", self.user, "--password-stdin", "--data-dir",
                      str(self.dev.server.data_dir), "--no-progress"],
                input=self.password + "\n", env={"DOCKER_CONFIG": str(self.tmp / "docker")})

        with ThreadPoolExecutor(1) as pool:
            result = pool.submit(call).result()
        assert result.exit_code == 0, result.output
        return result

    def token(self, repository: str) -> str:
        params = {"service": self.dev.registry,
                  "scope": f"repository:{repository}:pull,push"}
        answer = self.dev.tls.get(f"{self.dev.token_url}/oauth2/token", params=params,
                                  auth=(self.user, self.password))
        return str(answer.json()["token"])

    def oras(self, path: str, files: list[str], config: str | None) -> None:
        """``oras push`` as ORAS_COMMANDS.md shows, through oras-py."""
        import oras.provider

        client = oras.provider.Registry(self.dev.registry, tls_verify=self.dev.server.ca,
                                        auth_backend="token")
        client.auth.set_token_auth(self.token(self.repo(path.split(":")[0])))
        answer = client.push(self.ref(path), files=files, manifest_config=config,
                             disable_path_validation=True)
        assert answer.status_code == 201

    def front(self) -> dict[str, dict[str, int]]:
        body = self.dev.ok(self.dev.admin.get("/-/dev/counters/registry"))
        return {repo: dict(counts) for repo, counts in body["byRepository"].items()
                if repo.startswith(self.team + "/")}


def _text(path: Path, **replace: str) -> str:
    text = path.read_text()
    for old, new in replace.items():
        text = text.replace(old, new)
    return text


@pytest.fixture(scope="module")
def cat(dev_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory,
        ) -> Iterator[Catalog]:
    tmp = tmp_path_factory.mktemp("catalog")
    (tmp / "docker").mkdir()
    with dev_clients(dev_server) as dev:
        team = unique("cat")
        user, password = dev.repository_token(f"{team}/*", ["pull", "push", "delete"])
        token = LocalIssuerCredential(dev_server.data_dir).mint(ARM)
        with httpx.Client(base_url=dev_server.arm, timeout=60,
                          verify=ssl.create_default_context(cafile=dev_server.ca),
                          headers={"Authorization": f"Bearer {token}"}) as arm:
            rg, instance = unique("rg"), unique("inst")
            c = Catalog(dev, arm, team, user, password, rg, instance, tmp)
            loc = (f"/subscriptions/{dev_server.subscription}/resourceGroups/{rg}/providers/"
                   f"Microsoft.ExtendedLocation/customLocations/{instance}")
            c.put("", {"location": "local",
                       "extendedLocation": {"name": loc, "type": "CustomLocation"}})
            _content(c, tmp)
            _endpoints(c)
            yield c


def _content(c: Catalog, tmp: Path) -> None:
    # --- a/ (system-assigned identity, catalog listed): pushed by iotops and oras-py -------
    simple = tmp / "graph-simple.yaml"
    simple.write_text(_text(SIMPLE, **{"azure-samples/explore-iot-operations/temperature":
                                       f"{c.team}/a/temperature"}))
    module = tmp / "temperature.wasm"
    module.write_bytes(WASM)
    c.cli("graph", "push", str(simple), "--to", c.ref("a/graph-simple:1.0.0"),
          "--module", f"{c.team}/a/temperature:1.0.0={module}")
    cwd = Path.cwd()
    try:
        import os

        os.chdir(tmp)
        # graph-complex 1.0.0, and 2.0.0 by another vendor for a newer runtime.
        Path("graph-complex.yaml").write_text(COMPLEX.read_text())
        c.oras("a/graph-complex:1.0.0", ["graph-complex.yaml:application/yaml"],
               f"/dev/null:{AIO_GRAPH}")
        Path("graph-complex.yaml").write_text(_text(
            COMPLEX, **{'version: "1.0.0"': 'version: "2.0.0"', 'vendor: "Microsoft"':
                        'vendor: "Contoso"', 'runtimeVersion: "1.1.0"':
                        'runtimeVersion: "1.3.0"'}))
        c.oras("a/graph-complex:2.0.0", ["graph-complex.yaml:application/yaml"],
               f"/dev/null:{AIO_GRAPH}")
        # --- b/ (user-assigned identity): connector metadata, a stripped graph, a module ---
        shutil.copy(OPCUA, "connector-metadata.json")
        c.oras("b/opcua-metadata:1.2.82", ["connector-metadata.json:application/json"],
               f"/dev/null:{AKRI}")
        shutil.copy(MINIMAL, "connector-metadata.json")
        c.oras("b/minimal-metadata:1.0.0", ["connector-metadata.json:application/json"],
               f"/dev/null:{AKRI}")
        # A pipeline that kept only the layer: oras' default config, no artifactType.
        Path("graph-otel.yaml").write_text(OTEL.read_text())
        c.oras("b/graph-otel:1.0.0", ["graph-otel.yaml:application/yaml"], None)
        Path("module.wasm").write_bytes(WASM + b"\x00")
        c.oras("b/snapshot:1.0.0", ["module.wasm:application/vnd.wasm.content.layer.v1+wasm"],
               None)
        # --- c/ (pull secret, repository token: no catalog): two listed, one not ------------
        Path("graph-datetime.yaml").write_text(_text(DATETIME, **{"${VERSION}": "0.9.0"}))
        c.oras("c/graph-datetime:0.9.0", ["graph-datetime.yaml:application/yaml"],
               f"/dev/null:{AIO_GRAPH}")
        shutil.copy(SQL, "connector-metadata.json")
        c.oras("c/sql-metadata:1.0.0", ["connector-metadata.json:application/json"],
               f"/dev/null:{AKRI}")
        c.oras("c/unlisted:1.0.0", ["graph-datetime.yaml:application/yaml"],
               f"/dev/null:{AIO_GRAPH}")
    finally:
        os.chdir(cwd)


def _endpoints(c: Catalog) -> None:
    dev = c.dev
    dev.assign(dev.system_identity()["clientId"], "AcrPull")
    c.endpoint("sami", {"method": "SystemAssignedManagedIdentity",
                        "systemAssignedManagedIdentitySettings": {}}, "a")
    mi = dev.identity()
    dev.assign(mi["clientId"], "AcrPull")
    c.endpoint("uami", {"method": "UserAssignedManagedIdentity",
                        "userAssignedManagedIdentitySettings": {
                            "clientId": mi["clientId"], "tenantId": dev.tenant}}, "b")
    user, password = dev.repository_token(f"{c.team}/c/*", ["pull"])
    c.endpoint("aps", c.pull_secret(unique("aps"), user, password), "c")
    c.put("/registryEndpoints/aps/connectionSettings", {"properties": {
        "catalogRepositories": [c.repo("c/graph-datetime"), c.repo("c/sql-metadata")]}})


@pytest.fixture(scope="module")
def synced(cat: Catalog) -> dict[str, Any]:
    status = cat.sync()
    return {s["endpoint"]: s for s in status["value"]}


def test_every_endpoint_synced_with_its_own_source(cat: Catalog,
                                                   synced: dict[str, Any]) -> None:
    assert set(synced) == {"default", "sami", "uami", "aps"}
    for name, source, repos in (("sami", "catalog", 3), ("uami", "catalog", 4),
                                ("aps", "configuredList", 2)):
        state = synced[name]
        assert state["state"] == "Succeeded", state
        assert state["repositorySource"] == source and state["repositories"] == repos
        assert state["stale"] is False and state["error"] is None and state["lastSuccessTime"]
    # mcr.microsoft.com is not reachable from here: that endpoint failed, the others did not.
    assert synced["default"]["state"] == "Failed" and synced["default"]["error"]["message"]
    r = cat.arm.get(f"{cat.path}/catalog/endpoints", params=Q)
    assert {s["endpoint"]: s["state"] for s in r.json()["value"]}["aps"] == "Succeeded"


def test_exact_listing(cat: Catalog, synced: dict[str, Any]) -> None:
    assert cat.names("graphs") == {"a/graph-simple:1.0.0", "a/graph-complex:1.0.0",
                                   "a/graph-complex:2.0.0", "b/graph-otel:1.0.0",
                                   "c/graph-datetime:0.9.0"}
    assert cat.names("modules") == {"a/temperature:1.0.0", "b/snapshot:1.0.0"}
    assert cat.names("connectors") == {"b/opcua-metadata:1.2.82", "b/minimal-metadata:1.0.0",
                                       "c/sql-metadata:1.0.0"}
    (simple,) = cat.list("graphs", repository=cat.repo("a/graph-simple"))
    props = simple["properties"]
    assert props["endpoint"] == "sami" and props["name"] == "Simple graph"
    assert props["artifact"] == "graph-simple:1.0.0" and props["stripped"] is False
    assert props["operationTypes"] == ["map", "sink", "source"] and props["valid"] is True
    assert props["dataflowGraphNode"]["name"] == "graph-simple"
    assert props["dataflowGraphNode"]["graphSettings"] == {
        "registryEndpointRef": "sami", "artifact": "graph-simple:1.0.0", "configuration": []}
    (temperature,) = [m for m in cat.list("modules")
                      if m["properties"]["repository"] == cat.repo("a/temperature")]
    assert temperature["properties"]["usedBy"] == [cat.repo("a/graph-simple:1.0.0")]
    shown = cat.arm.get(f"{cat.path}/catalog/graphs/{simple['name']}", params=Q).json()
    assert [v["tag"] for v in shown["properties"]["versions"]] == ["1.0.0"]
    assert shown["properties"]["digest"].startswith("sha256:")
    (opcua,) = cat.list("connectors", search="opc")
    assert opcua["properties"]["endpointTypes"] == [{"endpointType": "Microsoft.OpcUa",
                                                     "version": None}]
    assert opcua["properties"]["image"] == "aio-connectors/supervisor:1.2.82"


def test_each_filter_and_search(cat: Catalog, synced: dict[str, Any]) -> None:
    g = cat.names
    assert g("graphs", endpoint="aps") == {"c/graph-datetime:0.9.0"}
    assert g("graphs", operationType="branch") == {"a/graph-complex:1.0.0",
                                                   "a/graph-complex:2.0.0"}
    assert g("graphs", module=f"{cat.team}/a/temperature") == {"a/graph-simple:1.0.0"}
    assert g("graphs", vendor="contoso") == {"a/graph-complex:2.0.0"}
    assert g("graphs", latest="true", endpoint="sami") == {"a/graph-simple:1.0.0",
                                                          "a/graph-complex:2.0.0"}
    assert g("graphs", versionRange=">=1.0.0 <2.0.0") == {
        "a/graph-simple:1.0.0", "a/graph-complex:1.0.0", "b/graph-otel:1.0.0"}
    assert g("graphs", versionRange="^0.9") == {"c/graph-datetime:0.9.0"}
    # The instance runs 1.2.0: the graph that needs runtime 1.3.0 is left out.
    assert "a/graph-complex:2.0.0" not in g("graphs", compatible="true")
    assert len(g("graphs", compatible="true")) == 4
    assert g("graphs", runtimeVersion="1.3.0") == g("graphs")
    assert g("graphs", runtimeVersion="1.0.0") == set()
    assert g("graphs", search="complex") == {"a/graph-complex:1.0.0", "a/graph-complex:2.0.0"}
    assert g("graphs", search="datetime utc") == {"c/graph-datetime:0.9.0"}
    assert g("graphs", search="nothing-like-this") == set()
    assert g("connectors", endpointType="microsoft.opcua") == {"b/opcua-metadata:1.2.82"}
    assert g("connectors", architecture="linux/amd64") == g("connectors")
    assert g("connectors", architecture="linux/arm64") == set()
    assert g("connectors", vendor="microsoft") == {"b/opcua-metadata:1.2.82"}
    # Sorting, paging (filters ride along in nextLink) and facet counts.
    names = [e["properties"]["version"] for e in cat.list("graphs", orderBy="semver desc")]
    assert names[0] == "2.0.0" and names[-1] == "0.9.0"
    first = cat.arm.get(f"{cat.path}/catalog/graphs",
                        params={**Q, "$top": "2", "endpoint": "sami", "$facets": "true"}).json()
    assert len(first["value"]) == 2 and first["count"] == 3
    assert first["facets"]["operationType"]["branch"] == 2
    assert first["facets"]["endpoint"] == {"aps": 1, "sami": 3, "uami": 1}
    rest = cat.arm.get(first["nextLink"]).json()
    assert len(rest["value"]) == 1 and "nextLink" not in rest
    bad = cat.arm.get(f"{cat.path}/catalog/graphs", params={**Q, "versionRange": "1..x"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "InvalidVersionRange"


def test_stripped_graph_is_listed_with_its_warning(cat: Catalog,
                                                   synced: dict[str, Any]) -> None:
    (otel,) = cat.list("graphs", stripped="true")
    props = otel["properties"]
    assert props["repository"] == cat.repo("b/graph-otel") and props["stripped"] is True
    assert any("operations experience will not show it" in w for w in props["warnings"])
    assert props["repushCommand"] == (
        f"iotops artifact pull {cat.ref('b/graph-otel:1.0.0')} -O . && "
        f"iotops graph push graph-otel.yaml --to {cat.ref('b/graph-otel:1.0.0')}")
    assert cat.names("graphs", stripped="false") == cat.names("graphs") - {"b/graph-otel:1.0.0"}


def test_no_change_resync_then_repush_and_delete(cat: Catalog,
                                                 synced: dict[str, Any]) -> None:
    before, tokens = cat.front(), cat.dev.counters()
    again = {s["endpoint"]: s for s in cat.sync()["value"]}
    after, tokens_after = cat.front(), cat.dev.counters()
    # One token per scope, kept from the first sync: no token service request at all.
    assert {t: tokens_after[t]["total"] - tokens[t]["total"] for t in tokens} == {
        "identity": 0, "exchange": 0, "token": 0}
    assert again["sami"]["changed"] == 0 and again["aps"]["changed"] == 0

    def delta(key: str) -> dict[str, int]:
        return {repo: after[repo].get(key, 0) - before.get(repo, {}).get(key, 0)
                for repo in after if after[repo].get(key, 0) - before.get(repo, {}).get(key, 0)}

    assert delta("GET blob") == {}
    assert delta("GET manifest") == {}
    listed = {cat.repo(r) for r in ("a/graph-simple", "a/graph-complex", "a/temperature",
                                    "b/opcua-metadata", "b/minimal-metadata", "b/graph-otel",
                                    "b/snapshot", "c/graph-datetime", "c/sql-metadata")}
    # ACR's listing API names each tag's digest: not even a HEAD per tag.
    assert delta("HEAD manifest") == {}
    assert {r for r in listed if after.get(r) != before.get(r)} == set(), (before, after)
    assert again["sami"]["tagListing"] == ["acr"]
    # Re-push graph-complex 1.0.0 with a new description; delete graph-complex 2.0.0.
    Path(cat.tmp / "graph-complex.yaml").write_text(_text(
        COMPLEX, **{"A graph that processes": "A re-pushed graph that processes"}))
    cwd = Path.cwd()
    try:
        import os

        os.chdir(cat.tmp)
        cat.oras("a/graph-complex:1.0.0", ["graph-complex.yaml:application/yaml"],
                 f"/dev/null:{AIO_GRAPH}")
    finally:
        os.chdir(cwd)
    cat.cli("artifact", "delete", cat.ref("a/graph-complex:2.0.0"), "-y")
    third = {s["endpoint"]: s for s in cat.sync()["value"]}
    assert (third["sami"]["changed"], third["sami"]["removed"]) == (1, 1)
    (complex_,) = cat.list("graphs", repository=cat.repo("a/graph-complex"))
    assert complex_["properties"]["description"].startswith("A re-pushed graph")
    assert complex_["properties"]["latest"] is True
    assert cat.names("graphs", vendor="contoso") == set()


def test_cli(cat: Catalog, synced: dict[str, Any]) -> None:
    server = cat.dev.server
    ref = ["-i", cat.instance, "-g", cat.rg]
    r = iotops(server, "catalog", "status", *ref, "-o", "json")
    assert r.code == 0, r.output
    assert {s["endpoint"] for s in json.loads(r.stdout)} == {"default", "sami", "uami", "aps"}
    r = iotops(server, "graph", "list", *ref, "--search", "datetime", "-o", "json")
    assert r.code == 0, r.output
    assert [g["artifact"] for g in json.loads(r.stdout)] == ["graph-datetime:0.9.0"]
    r = iotops(server, "graph", "list", *ref, "--operation-type", "branch", "-o", "table")
    assert r.code == 0 and "graph-complex" in r.stdout and "graph-simple" not in r.stdout
    r = iotops(server, "graph", "show", "graph-simple:1.0.0", *ref, "--endpoint", "sami",
               "-o", "json")
    assert r.code == 0, r.output
    assert json.loads(r.stdout)["dataflowGraphNode"]["graphSettings"]["artifact"] == (
        "graph-simple:1.0.0")
    r = iotops(server, "module", "list", *ref, "-o", "json")
    assert r.code == 0 and len(json.loads(r.stdout)) == 2
    r = iotops(server, "connector", "list", *ref, "--endpoint-type", "Microsoft.OpcUa",
               "-o", "json")
    assert r.code == 0 and [c["name"] for c in json.loads(r.stdout)] == [
        json.loads(OPCUA.read_text())["name"]]
    r = iotops(server, "connector", "show", "sql-metadata:1.0.0", *ref, "-o", "json")
    assert r.code == 0 and json.loads(r.stdout)["endpoint"] == "aps"
    r = iotops(server, "catalog", "sync", *ref, "-o", "json")
    assert r.code == 0 and {s["endpoint"] for s in json.loads(r.stdout)} >= {"sami"}


def test_background_sync_on_demand(cat: Catalog, synced: dict[str, Any]) -> None:
    before = {s["endpoint"]: s["lastSyncTime"] for s in cat.arm.get(
        f"{cat.path}/catalog/endpoints", params=Q).json()["value"]}
    r = cat.arm.post(f"{cat.path}/catalog/sync", params={**Q, "wait": "false"})
    assert r.status_code == 202, r.text
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        now = {s["endpoint"]: s for s in cat.arm.get(
            f"{cat.path}/catalog/endpoints", params=Q).json()["value"]}
        if all(now[n]["lastSyncTime"] != before[n] and not now[n].get("syncing")
               for n in ("sami", "uami", "aps")):
            break
        time.sleep(0.2)
    assert now["sami"]["state"] == "Succeeded" and now["sami"]["changed"] == 0


@pytest.mark.anyio
async def test_interval_sweep_and_referenced_repositories(
    cat: Catalog, synced: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine in this process over the dev server's store: the sweep syncs every
    instance on its interval, and an endpoint that can list neither a catalog nor a configured
    list syncs the repositories the instance's resources reference (the provider hook)."""
    from azure.identity import ManagedIdentityCredential

    from iotops_registry.access import AuthenticatorFactory, CatalogSync, RegistryAccess
    from iotops_registry.domain import RegistryEndpointKey
    from iotops_registry.keyvault import KeyVaultSecrets
    from iotops_registry.services import PullSecretResolver, RegistryEndpointService
    from iotops_registry.services.catalog import CatalogService
    from iotops_registry.store import Store

    server = cat.dev.server
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", server.endpoints["identity"])
    user, password = cat.dev.repository_token(f"{cat.team}/c/*", ["pull"])
    cat.endpoint("referenced", cat.pull_secret(unique("ref"), user, password), "c")
    store = Store.open(server.database_url or f"sqlite:///{server.data_dir / 'registry.db'}")
    vault = KeyVaultSecrets(server.endpoints["vault"], LocalIssuerCredential(server.data_dir),
                            ca_file=server.ca)
    try:
        async with httpx.AsyncClient(verify=ssl.create_default_context(cafile=server.ca),
                                     trust_env=False) as http:
            factory = AuthenticatorFactory(
                PullSecretResolver(vault, ttl=60),
                lambda cid: ManagedIdentityCredential(client_id=cid) if cid
                else ManagedIdentityCredential(), http)
            access = RegistryAccess(factory, extra_ca_file=server.ca)
            catalog = CatalogService(store)
            engine = CatalogSync(RegistryEndpointService(store, tenant=server.endpoints["tenant"]),
                                 access, catalog, interval=0.3)
            asked: list[str] = []

            def provider(key: RegistryEndpointKey) -> list[str]:
                asked.append(key.name)
                return [cat.repo("c/unlisted"), "elsewhere/outside-the-prefix"]

            engine.add_reference_provider(provider)
            key = RegistryEndpointKey(InstanceKey(server.subscription, cat.rg, cat.instance),
                                      "referenced")
            start = time.monotonic()
            engine.start()
            try:
                while time.monotonic() - start < 60:
                    states = await asyncio.to_thread(catalog.status, key.parent)
                    state = next(s for s in states["value"] if s["endpoint"] == "referenced")
                    if state.get("state") == "Succeeded":
                        break
                    await asyncio.sleep(0.2)
            finally:
                await engine.stop()
                await access.aclose()
        assert "referenced" in asked
        assert state["repositorySource"] == "referencedByResources"
        assert state["repositories"] == 1  # the host's prefix left the other one out
        assert cat.names("graphs", endpoint="referenced") == {"c/unlisted:1.0.0"}
    finally:
        vault.close()
        store.close()


# --- the portal pages, in Chromium --------------------------------------------------------------


@pytest.fixture(scope="module")
def browser_ctx(cat: Catalog) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    from tests.support.portal import CHROMIUM, chromium_args, fresh_signin_url

    server = cat.dev.server
    pw = sync_playwright().start()
    browser = None
    try:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=chromium_args(server))
        ctx = browser.new_context(viewport={"width": 1400, "height": 900}, locale="en-US")
        ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.arm)
        page = ctx.new_page()
        page.goto(fresh_signin_url(server))
        page.wait_for_url(f"{server.arm}/")
        page.close()
        yield ctx
        ctx.close()
    finally:
        if browser is not None:
            browser.close()
        pw.stop()


def test_portal_graph_catalog(cat: Catalog, synced: dict[str, Any], browser_ctx: Any) -> None:
    from urllib.parse import quote

    from playwright.sync_api import expect

    from tests.support.portal import ConsoleWatch, screenshot

    server = cat.dev.server
    instance_id = cat.arm.get(cat.path, params=Q).json()["id"]
    console = ConsoleWatch()
    page = browser_ctx.new_page()
    page.set_default_timeout(20_000)
    console.attach(page)
    try:
        page.goto(f"{server.arm}/catalog/graphs?instance={quote(instance_id, safe='')}")
        nav = page.get_by_role("navigation", name="Portal pages")
        expect(nav.get_by_role("link", name="Graph catalog")).to_have_attribute(
            "aria-current", "page")
        expect(page.locator("main")).to_have_attribute("data-ready", "true")
        # Sync state of every endpoint, the unreachable default one with its error.
        expect(page.locator('#sync-rows tr[data-endpoint="aps"]')).to_contain_text("Succeeded")
        expect(page.locator('#sync-rows tr[data-endpoint="default"]')).to_contain_text("Failed")
        rows = page.locator("#catalog-rows tr")
        expect(rows).to_have_count(len(cat.list("graphs")))
        # The stripped graph is listed, with its warning.
        expect(page.locator("#catalog-rows tr", has_text="graph-otel:1.0.0")).to_contain_text(
            "Media types stripped")
        # Search.
        page.get_by_role("searchbox", name="Search").fill("datetime")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("graph-datetime:0.9.0")
        page.get_by_role("searchbox", name="Search").fill("")
        expect(rows).to_have_count(len(cat.list("graphs")))
        # A filter chip with its count.
        branch = page.locator('.chip[data-facet="operationType"][data-value="branch"]')
        expected = len(cat.list("graphs", operationType="branch"))
        expect(branch).to_have_text(f"branch ({expected})")
        branch.click()
        expect(rows).to_have_count(expected)
        expect(page.locator('.chip[data-value="branch"]')).to_have_attribute("aria-pressed",
                                                                            "true")
        # Open graph-complex 1.0.0: the diagram, parameters, versions and the snippet.
        page.locator("#catalog-rows tr", has_text="graph-complex:1.0.0").get_by_role(
            "link").click()
        expect(page.locator("#detail-view")).to_be_visible()
        expect(page.locator("#diagram svg g.node")).to_have_count(15)
        expect(page.locator("#diagram svg path.edge")).to_have_count(16)
        labels = page.locator("#diagram svg text.arm-label").all_text_contents()
        assert sorted(set(labels)) == ["False", "True"] and len(labels) >= 2
        expect(page.locator("#diagram svg g.node").first).to_contain_text("source")
        expect(page.locator("#parameters tbody tr").first).to_be_visible()
        expect(page.locator("#detail-facts")).to_contain_text("sha256:")
        expect(page.locator("#detail-facts")).to_contain_text("sami")
        expect(page.locator("#versions li", has_text="1.0.0")).to_have_count(1)
        screenshot(page, "catalog-graph-detail", full_page=True)
        page.get_by_role("button", name="Copy snippet").click()
        expect(page.locator("#copy-status")).to_have_text("Copied.")
        copied = page.evaluate("navigator.clipboard.readText()")
        assert "registryEndpointRef: sami" in copied and "artifact: graph-complex:1.0.0" in copied
        assert copied.startswith("- nodeType: Graph")
    finally:
        page.close()
    assert console.unexpected() == [], "the browser console showed errors"


def test_portal_connector_catalog(cat: Catalog, synced: dict[str, Any],
                                  browser_ctx: Any) -> None:
    from urllib.parse import quote

    from playwright.sync_api import expect

    server = cat.dev.server
    instance_id = cat.arm.get(cat.path, params=Q).json()["id"]
    page = browser_ctx.new_page()
    page.set_default_timeout(20_000)
    try:
        page.goto(f"{server.arm}/catalog/connectors?instance={quote(instance_id, safe='')}")
        expect(page.locator("main")).to_have_attribute("data-ready", "true")
        rows = page.locator("#catalog-rows tr")
        expect(rows).to_have_count(3)
        page.locator('.chip[data-facet="endpointType"][data-value="microsoft.opcua"]').click()
        expect(rows).to_have_count(1)
        rows.first.get_by_role("link").click()
        expect(page.locator("#detail-facts")).to_contain_text("Microsoft.OpcUa")
        expect(page.locator("#detail-facts")).to_contain_text("linux/amd64")
        expect(page.locator("#detail-facts")).to_contain_text("aio-connectors/supervisor:1.2.82")
        expect(page.locator("#diagram-region")).to_be_hidden()
    finally:
        page.close()


@pytest.mark.anyio
async def test_plain_distribution_registry_is_synced_with_heads(
    cat: Catalog, synced: dict[str, Any], registry: Any
) -> None:
    """A registry without ACR's listing API (plain CNCF Distribution, Basic auth over
    loopback HTTP): /v2 tags and one HEAD per tag; a same-tag re-push is seen by its digest."""
    from iotops_registry.authn import BasicCredential, StaticBasic
    from iotops_registry.oci import Descriptor, Digest, Manifest
    from iotops_registry.oci import mediatypes as mt
    from iotops_registry.remote import RegistryClient

    repo = f"{cat.team}/graph-simple"

    async def push(text: bytes) -> None:
        async with RegistryClient(registry.host, plain_http=True, authenticator=StaticBasic(
                BasicCredential(registry.username, registry.password))) as client:
            await client.push_blob(repo, b"", media_type=AIO_GRAPH)
            await client.push_blob(repo, text, media_type=mt.YAML)
            manifest = Manifest(Descriptor(AIO_GRAPH, Digest.of(b""), 0),
                                (Descriptor(mt.YAML, Digest.of(text), len(text)),))
            await client.put_manifest(repo, "1.0.0", manifest.to_json(), mt.OCI_MANIFEST)

    await push(SIMPLE.read_bytes())
    name = unique("plain")
    cat.put(f"/registryEndpoints/{name}", {"properties": {
        "host": registry.host, "authentication": cat.pull_secret(name, registry.username,
                                                                 registry.password)}})
    cat.put(f"/registryEndpoints/{name}/connectionSettings",
            {"properties": {"plainHttp": True}})

    def state() -> dict[str, Any]:
        return next(s for s in cat.sync()["value"] if s["endpoint"] == name)

    first = await asyncio.to_thread(state)
    assert first["state"] == "Succeeded" and first["tagListing"] == ["v2"], first
    assert cat.names("graphs", endpoint=name) == {"graph-simple:1.0.0"}
    again = await asyncio.to_thread(state)
    assert (again["changed"], again["removed"]) == (0, 0)
    await push(SIMPLE.read_bytes().replace(b"Simple graph", b"Simpler graph"))
    third = await asyncio.to_thread(state)
    assert third["changed"] == 1
    (entry,) = cat.list("graphs", endpoint=name)
    assert entry["properties"]["name"] == "Simpler graph"
