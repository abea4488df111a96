"""``/openapi.json`` is generated from the route table: every route is in it with its request
and answer schemas and its RBAC action, and requests generated from each operation's schema
(valid ones and broken ones) are never answered with a 5xx. Answers with a 2xx status are
checked against the documented schema. In-process (``server.build``)."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel

from iotops_registry.api.routes import ROUTES
from iotops_registry.api.table import Operation, Route
from tests.conftest import API_VERSION, custom_location
from tests.support.inprocess import InProcess

GUID = "11111111-2222-3333-4444-555555555555"


@pytest.fixture(scope="module")
def document(inproc: InProcess) -> dict[str, Any]:
    with inproc.client() as c:
        r = c.get("/openapi.json")
    assert r.status_code == 200
    doc: dict[str, Any] = r.json()
    return doc


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    name = ref.removeprefix("#/components/schemas/")
    assert name in doc["components"]["schemas"], ref
    resolved: dict[str, Any] = doc["components"]["schemas"][name]
    return resolved


def test_every_route_is_documented(document: dict[str, Any]) -> None:
    assert set(document["paths"]) == {r.template for r in ROUTES}
    seen_ids: set[str] = set()
    for route in ROUTES:
        item = document["paths"][route.template]
        assert set(item) == {v.lower() for v in route.operations}, route.template
        for verb, operation in route.operations.items():
            documented = item[verb.lower()]
            assert documented["operationId"] == operation.operation_id
            assert operation.operation_id not in seen_ids
            seen_ids.add(operation.operation_id)
            assert documented["x-ms-rbac-action"] == route.rbac_action(verb)
            params = {p["name"] for p in documented["parameters"]}
            assert set(route.params) | {"api-version"} <= params
            answers = [c for c in documented["responses"] if c.startswith("2")]
            assert answers, route.template
            for code in answers:
                content = documented["responses"][code].get("content")
                if code == "204":
                    assert content is None
                else:
                    _resolve(document, content["application/json"]["schema"])
            _resolve(document, documented["responses"]["default"]["content"][
                "application/json"]["schema"])
            if operation.body is not None:
                body = documented["requestBody"]["content"]["application/json"]["schema"]
                _resolve(document, body)
            elif verb in ("PUT", "PATCH"):
                pytest.fail(f"{verb} {route.template} documents no request body")


def test_rbac_actions_are_arm_shaped() -> None:
    actions = {(r.template, v): r.rbac_action(v) for r in ROUTES for v in r.operations}
    assert len(set(actions.values())) == len(actions) - _shared_reads()
    endpoint = (
        "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/"
        "Microsoft.IoTOperations/instances/{instanceName}/registryEndpoints/"
        "{registryEndpointName}"
    )
    ep = "Microsoft.IoTOperations/instances/registryEndpoints"
    assert actions[(endpoint, "GET")] == f"{ep}/read"
    assert actions[(endpoint, "PUT")] == f"{ep}/write"
    assert actions[(endpoint, "DELETE")] == f"{ep}/delete"
    assert actions[(endpoint + "/test", "POST")] == f"{ep}/test/action"
    assert actions[(endpoint + "/resolveCredentials", "POST")] == f"{ep}/resolveCredentials/action"
    assert actions[(endpoint + "/connectionSettings", "PUT")] == f"{ep}/connectionSettings/write"
    assert actions[(endpoint + "/health", "GET")] == f"{ep}/health/read"


def _shared_reads() -> int:
    """Lists and gets of one type need the same ``…/read``: count the repeats."""
    reads: dict[str, int] = {}
    for r in ROUTES:
        for v in r.operations:
            reads[r.rbac_action(v)] = reads.get(r.rbac_action(v), 0) + 1
    return sum(n - 1 for n in reads.values())


# --- requests generated from the schemas -------------------------------------------------------


class World:
    def __init__(self, inproc: InProcess) -> None:
        self.sub = inproc.subscription
        self.rg = f"rg-fuzz-{uuid.uuid4().hex[:6]}"
        self.instance = "fuzz-inst"
        self.endpoint = "fuzz-ep"
        self.synced = "fuzz-sync"
        self.kv = "fuzz-kv"
        self.location = custom_location(self.sub, self.rg)

    def params(self) -> dict[str, str]:
        return {
            "subscriptionId": self.sub,
            "resourceGroupName": self.rg,
            "instanceName": self.instance,
            "registryEndpointName": self.endpoint,
            "syncedSecretName": self.synced,
            "configMapName": "fuzz-cm",
            "secretName": self.kv,
            "registryName": "contosoregistry",
            "entryName": "1",
            "dataflowProfileName": "default",
            "dataflowGraphName": "fuzz-graph",
            "akriConnectorTemplateName": "fuzz-template",
        }

    def known(self) -> dict[str, Any]:
        """Values that satisfy the server's rules, by property name (schemas carry types,
        not rules)."""
        return {
            "host": "127.0.0.1:9",  # nothing listens: a connection test fails at once
            "clientId": GUID,
            "tenantId": GUID,
            "audience": "https://management.azure.com/",
            "scope": "https://containerregistry.azure.net/.default",
            "secretRef": self.synced,
            "configMapRef": "ca-bundle",
            "sourcePath": self.kv,
            "registryEndpointRef": self.endpoint,
            "targetKey": "username",
            "location": "eastus",
            "name": self.location,
            "type": "CustomLocation",
            "resourceId": "/schemaRegistries/sr",
            "value": "fuzz-value",
            "repository": "library/x",
            "artifact": "library/x:1.0",
            "description": "fuzz",
        }


class Generator:
    """Bodies from a JSON schema: a minimal valid one, a full one, and broken variants
    (a property dropped, of the wrong type, null; an unknown property; not an object)."""

    def __init__(self, doc: dict[str, Any], known: dict[str, Any]) -> None:
        self.defs = doc["components"]["schemas"]
        self.known = known

    def _schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.defs[schema["$ref"].removeprefix("#/components/schemas/")]
        return schema

    def value(self, schema: dict[str, Any], name: str = "", full: bool = False) -> Any:
        schema = self._schema(schema)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return schema["enum"][0]
        for key in ("oneOf", "anyOf"):
            if key in schema:
                options = [s for s in schema[key] if self._schema(s).get("type") != "null"]
                return self.value(options[0] if options else schema[key][0], name, full)
        kind = schema.get("type")
        if kind == "object" or "properties" in schema:
            props = schema.get("properties", {})
            required = set(schema.get("required", []))
            return {
                k: self.value(v, k, full) for k, v in props.items() if full or k in required
            }
        if kind == "array":
            return [self.value(schema.get("items", {}), name, full)][: schema.get("maxItems", 1)]
        if kind == "boolean":
            return False
        if kind == "integer" or kind == "number":
            return schema.get("minimum", 1)
        if kind == "null":
            return None
        if name in self.known:
            return self.known[name]
        return "x" * max(1, schema.get("minLength", 1))

    def variants(self, schema: dict[str, Any]) -> Iterator[Any]:
        yield self.value(schema)
        full = self.value(schema, full=True)
        yield full
        for path in _paths(full):
            for broken in (_DROP, 12345, "text", None, [], {"unexpected": 1}):
                yield _replace(full, path, broken)
        yield {**full, "unknownProperty": True} if isinstance(full, dict) else full
        yield from _alternatives(self, schema)
        yield [full]
        yield "just a string"


_DROP = object()


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield (*prefix, k)
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield (*prefix, i)
            yield from _paths(v, (*prefix, i))


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    out = copy.deepcopy(value)
    node = out
    for part in path[:-1]:
        node = node[part]
    if new is _DROP:
        del node[path[-1]]
    else:
        node[path[-1]] = new
    return out


def _alternatives(gen: Generator, schema: dict[str, Any]) -> Iterator[Any]:
    """Each branch of every union in the schema (every authentication method, every
    signing-key type), inside an otherwise full body."""
    full = gen.value(schema, full=True)

    def walk(s: dict[str, Any], path: tuple[Any, ...]) -> Iterator[Any]:
        s = gen._schema(s)
        for key in ("oneOf", "anyOf"):
            for branch in s.get(key, []):
                if gen._schema(branch).get("type") != "null":
                    yield _replace(full, path, gen.value(branch, path[-1] if path else "", True)) \
                        if path else gen.value(branch, full=True)
        for name, sub in s.get("properties", {}).items():
            yield from walk(sub, (*path, name))
        if s.get("type") == "array" and path:
            yield from walk(s.get("items", {}), (*path, 0))

    yield from walk(schema, ())


def _url(route: Route, params: dict[str, str], **override: str) -> str:
    values = {**params, **override}
    parts = [
        s.literal if s.literal is not None else values[str(s.param)] for s in route.segments
    ]
    return "/" + "/".join(parts)


def _requests(
    route: Route, verb: str, operation: Operation, world: World, gen: Generator, doc: Any
) -> Iterator[tuple[str, dict[str, str], Any]]:
    """(url, query, body) for one operation; body ``None``: no body."""
    params = world.params()
    url = _url(route, params)
    # Each row's own versions (Microsoft.ContainerRegistry's are not IoT Operations').
    base = {"api-version": API_VERSION if API_VERSION in route.api_versions
            else route.api_versions[-1]}
    documented = doc["paths"][route.template][verb.lower()]
    body_schema = (
        documented.get("requestBody", {}).get("content", {}).get("application/json", {})
        .get("schema")
    )
    bodies: list[Any] = [None]
    if body_schema is not None:
        bodies = list(gen.variants(body_schema))
    for body in bodies:
        yield url, base, body
    # Path names that break every rule, and the query parameters each operation takes.
    for param in route.params[2:]:
        for bad in ("x" * 300, "UPPER_case!", "-"):
            yield _url(route, params, **{param: bad}), base, bodies[0]
    for q in documented["parameters"]:
        if q["in"] != "query":
            continue
        for bad in ("", "0", "-1", "abc", "true", "%%", "9" * 30):
            yield url, {**base, q["name"]: bad}, bodies[0]
    yield url, {}, bodies[0]


@pytest.mark.anyio
async def test_generated_requests_are_never_answered_5xx(
    inproc: InProcess, document: dict[str, Any]
) -> None:
    world = World(inproc)
    gen = Generator(document, world.known())
    instance = _url(ROUTES[2], world.params())
    async with inproc.runtime.running(), inproc.async_client(timeout=60) as c:
        q = {"api-version": API_VERSION}
        r = await c.put(instance, params=q, json={
            "location": "eastus",
            "extendedLocation": {"name": world.location, "type": "CustomLocation"},
        })
        assert r.status_code == 201, r.text
        for name in (world.kv, f"{world.kv}-pass"):
            r = await c.put(f"{instance}/keyVaultSecrets/{name}", params=q,
                            json={"properties": {"value": "v"}})
            assert r.status_code in (200, 201), r.text
        r = await c.put(f"{instance}/syncedSecrets/{world.synced}", params=q, json={
            "properties": {"objectSecretMapping": [
                {"sourcePath": world.kv, "targetKey": "username"},
                {"sourcePath": f"{world.kv}-pass", "targetKey": "password"},
            ]}})
        assert r.status_code == 201, r.text
        r = await c.put(f"{instance}/configMaps/fuzz-cm", params=q,
                        json={"properties": {"data": {"note": "fuzz"}}})
        assert r.status_code == 201, r.text
        r = await c.put(f"{instance}/registryEndpoints/{world.endpoint}", params=q, json={
            "properties": {"host": "127.0.0.1:9", "authentication": {
                "method": "ArtifactPullSecret",
                "artifactPullSecretSettings": {"secretRef": world.synced}}}})
        assert r.status_code == 201, r.text
        # A graph and a template for their actions (they name no endpoint, so that the
        # endpoint's DELETE is not refused as in use).
        r = await c.put(f"{instance}/dataflowProfiles/default/dataflowGraphs/fuzz-graph",
                        params=q, json={"properties": {"nodes": [
                            {"name": "a", "nodeType": "Source", "sourceSettings": {
                                "endpointRef": "default", "dataSources": ["t"]}},
                        ], "nodeConnections": []}})
        assert r.status_code == 201, r.text
        r = await c.put(f"{instance}/akriConnectorTemplates/fuzz-template", params=q, json={
            "properties": {"deviceInboundEndpointTypes": [{"endpointType": "Microsoft.Rest"}],
                           "runtimeConfiguration": {
                               "runtimeConfigurationType": "ManagedConfiguration",
                               "managedConfigurationSettings": {
                                   "managedConfigurationType": "ImageConfiguration",
                                   "imageConfigurationSettings": {"imageName": "x"}}}}})
        assert r.status_code == 201, r.text
        registry = (f"/subscriptions/{world.sub}/resourceGroups/{world.rg}/providers/"
                    "Microsoft.ContainerRegistry/registries/contosoregistry")
        r = await c.put(registry, params={"api-version": "2023-07-01"},
                        json={"properties": {"loginServer": "contoso.azurecr.io"}})
        assert r.status_code in (200, 201), r.text
        # Actions first (while the endpoint is the one made above), deletes last (the
        # instance's last of all), so every operation finds what it names.
        order = sorted(
            ((route, verb, op) for route in ROUTES for verb, op in route.operations.items()),
            key=lambda t: (t[1] == "DELETE", t[0] is ROUTES[2], t[0].kind != "action"),
        )
        sent = 0
        statuses: dict[tuple[str, str], set[int]] = {}
        for route, verb, operation in order:
            answer_models = operation.responses
            for url, query, body in _requests(route, verb, operation, world, gen, document):
                content = None if body is None else json.dumps(body).encode()
                r = await c.request(verb, url, params=query, content=content,
                                    headers={"Content-Type": "application/json"})
                sent += 1
                statuses.setdefault((verb, route.template.rsplit("/", 1)[-1]), set()).add(
                    r.status_code
                )
                where = f"{verb} {url} {query} {json.dumps(body)[:300]}"
                assert r.status_code < 500, f"{where} -> {r.status_code} {r.text[:300]}"
                assert r.headers.get("content-type", "").startswith("application/json") or (
                    r.status_code == 204
                ), where
                model: type[BaseModel] | None = answer_models.get(r.status_code)
                if 200 <= r.status_code < 300 and model is not None:
                    model.model_validate(r.json())
                elif r.status_code >= 400:
                    assert r.json()["error"]["code"], where
    assert sent > 500
    # Every operation was answered with success at least once: the generator reaches them.
    # A catalog entry exists only after a sync from a real registry (tests/test_catalog.py);
    # here it must be a 404. pullConnectorMetadata needs a registry that holds metadata
    # (tests/test_cli_pulling.py).
    assert statuses.pop(("GET", "{entryName}")) >= {404}
    assert [k for k, v in statuses.items() if not any(200 <= s < 300 for s in v)
            and k != ("POST", "pullConnectorMetadata")] == []


@pytest.mark.anyio
@pytest.mark.parametrize("action", ["test", "connectionSettings"])
async def test_action_bodies_are_capped_and_must_be_json(inproc: InProcess, action: str) -> None:
    """Optional bodies (the test action, connection settings) get the same reader as every
    other: a size cap (413, before reading when declared) and a content-type check (415)."""
    world = World(inproc)
    path = _url(ROUTES[2], world.params()) + f"/registryEndpoints/nothere/{action}"
    verb = "POST" if action == "test" else "PUT"
    q = {"api-version": API_VERSION}
    async with inproc.runtime.running(), inproc.async_client() as c:
        big = await c.request(verb, path, params=q, content=b" " * (300 * 1024),
                              headers={"Content-Type": "application/json"})
        assert big.status_code == 413, big.text
        text = await c.request(verb, path, params=q, content=b"repository=x",
                               headers={"Content-Type": "text/plain"})
        assert text.status_code == 415, text.text
        assert text.json()["error"]["code"] == "UnsupportedMediaType"
