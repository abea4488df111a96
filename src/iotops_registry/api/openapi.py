"""The OpenAPI 3.1 document of the ARM API, generated from the same pydantic models that
validate requests, so the document cannot drift from what the server accepts."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from .._version import __version__
from ..domain import InstanceBody, InstancePatchBody, RegistryEndpointBody
from .context import SUPPORTED_API_VERSIONS

__all__ = ["openapi_document"]

_P = (
    "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}"
    "/providers/Microsoft.IoTOperations"
)


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _params(*names: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for n in names:
        schema: dict[str, Any] = {"type": "string"}
        if n in ("instanceName", "registryEndpointName"):
            schema.update(minLength=3, maxLength=63, pattern=r"^[a-z0-9][a-z0-9-]*[a-z0-9]$")
        out.append({"name": n, "in": "path", "required": True, "schema": schema})
    out.append(
        {
            "name": "api-version",
            "in": "query",
            "required": True,
            "schema": {"type": "string", "enum": list(SUPPORTED_API_VERSIONS)},
        }
    )
    return out


_LIST_PARAMS = [
    {"name": "$top", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
    {"name": "$skipToken", "in": "query", "schema": {"type": "string"}},
]


def _resp(schema: str | None, *codes: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for code in codes:
        if code in ("204", "202"):
            out[code] = {"description": "No content"}
        else:
            out[code] = {
                "description": "OK" if code == "200" else "Created",
                "content": {"application/json": {"schema": _ref(schema or "Resource")}},
            }
    out["default"] = {
        "description": "ARM error",
        "content": {"application/json": {"schema": _ref("ErrorResponse")}},
    }
    return out


def openapi_document() -> dict[str, Any]:
    _, defs = models_json_schema(
        [
            (RegistryEndpointBody, "validation"),
            (InstanceBody, "validation"),
            (InstancePatchBody, "validation"),
        ],
        ref_template="#/components/schemas/{model}",
    )
    schemas: dict[str, Any] = dict(defs.get("$defs", {}))
    error_detail: dict[str, Any] = {
        "type": "object",
        "properties": {
            "code": {"type": "string"},
            "message": {"type": "string"},
            "target": {"type": "string"},
            "details": {"type": "array", "items": _ref("ErrorDetail")},
        },
    }
    schemas["ErrorDetail"] = error_detail
    schemas["ErrorResponse"] = {"type": "object", "properties": {"error": _ref("ErrorDetail")}}
    schemas["Resource"] = {
        "type": "object",
        "description": "A resource as the server returns it: the request body plus the "
        "read-only id, name, type, systemData, properties.provisioningState and "
        "properties.healthState.",
    }
    schemas["ResourceList"] = {
        "type": "object",
        "properties": {
            "value": {"type": "array", "items": _ref("Resource")},
            "nextLink": {"type": ["string", "null"]},
        },
    }
    ep = f"{_P}/instances/{{instanceName}}/registryEndpoints"
    inst = f"{_P}/instances"
    sec: list[dict[str, list[str]]] = [{"bearer": []}]
    paths: dict[str, Any] = {
        "/subscriptions/{subscriptionId}/providers/Microsoft.IoTOperations/instances": {
            "get": {
                "operationId": "Instance_ListBySubscription",
                "parameters": _params("subscriptionId") + _LIST_PARAMS,
                "responses": _resp("ResourceList", "200"),
                "security": sec,
            }
        },
        inst: {
            "get": {
                "operationId": "Instance_ListByResourceGroup",
                "parameters": _params("subscriptionId", "resourceGroupName") + _LIST_PARAMS,
                "responses": _resp("ResourceList", "200"),
                "security": sec,
            }
        },
        f"{inst}/{{instanceName}}": {
            "get": {
                "operationId": "Instance_Get",
                "parameters": _params("subscriptionId", "resourceGroupName", "instanceName"),
                "responses": _resp(None, "200"),
                "security": sec,
            },
            "put": {
                "operationId": "Instance_CreateOrUpdate",
                "parameters": _params("subscriptionId", "resourceGroupName", "instanceName"),
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("InstanceBody")}},
                },
                "responses": _resp(None, "200", "201"),
                "security": sec,
            },
            "patch": {
                "operationId": "Instance_Update",
                "parameters": _params("subscriptionId", "resourceGroupName", "instanceName"),
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("InstancePatchBody")}},
                },
                "responses": _resp(None, "200"),
                "security": sec,
            },
            "delete": {
                "operationId": "Instance_Delete",
                "parameters": _params("subscriptionId", "resourceGroupName", "instanceName"),
                "responses": _resp(None, "204"),
                "security": sec,
            },
        },
        ep: {
            "get": {
                "operationId": "RegistryEndpoint_ListByInstanceResource",
                "parameters": _params("subscriptionId", "resourceGroupName", "instanceName")
                + _LIST_PARAMS,
                "responses": _resp("ResourceList", "200"),
                "security": sec,
            }
        },
        f"{ep}/{{registryEndpointName}}": {
            "get": {
                "operationId": "RegistryEndpoint_Get",
                "parameters": _params(
                    "subscriptionId", "resourceGroupName", "instanceName", "registryEndpointName"
                ),
                "responses": _resp(None, "200"),
                "security": sec,
            },
            "put": {
                "operationId": "RegistryEndpoint_CreateOrReplace",
                "parameters": _params(
                    "subscriptionId", "resourceGroupName", "instanceName", "registryEndpointName"
                ),
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("RegistryEndpointBody")}},
                },
                "responses": _resp(None, "200", "201"),
                "security": sec,
            },
            "delete": {
                "operationId": "RegistryEndpoint_Delete",
                "parameters": _params(
                    "subscriptionId", "resourceGroupName", "instanceName", "registryEndpointName"
                ),
                "responses": _resp(None, "204"),
                "security": sec,
            },
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "iotops-registry resource provider",
            "version": __version__,
            "description": "Wire-compatible with ARM Microsoft.IoTOperations "
            "instances/registryEndpoints.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }
