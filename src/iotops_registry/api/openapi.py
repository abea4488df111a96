"""The OpenAPI 3.1 document of the ARM API, generated from the route table (``api.routes``):
every route and verb, with its parameters, its request body (the pydantic wire models that
validate requests) and its answers (``api.schemas``), so the document cannot drift from what
the server routes, accepts and returns. Each operation also carries the ARM RBAC action it
needs (``x-ms-rbac-action``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from .._version import __version__
from . import schemas
from .routes import ROUTES
from .table import Operation, Route

__all__ = ["openapi_document"]

_STATUS_TEXT = {200: "OK", 201: "Created", 202: "Accepted", 204: "No content"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _parameters(route: Route, operation: Operation) -> list[dict[str, Any]]:
    schemas_by_param = {t.param: t.name_schema for t in route.resource_type.chain}
    out: list[dict[str, Any]] = []
    for param in route.params:
        out.append(
            {
                "name": param,
                "in": "path",
                "required": True,
                "schema": dict(schemas_by_param.get(param, {"type": "string"})),
            }
        )
    out.append(
        {
            "name": "api-version",
            "in": "query",
            "required": True,
            "schema": {"type": "string", "enum": list(route.api_versions)},
        }
    )
    for q in operation.query:
        entry: dict[str, Any] = {"name": q.name, "in": "query", "schema": dict(q.schema)}
        if q.description:
            entry["description"] = q.description
        out.append(entry)
    return out


def _models() -> list[type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {}
    for route in ROUTES:
        for operation in route.operations.values():
            for model in (operation.body, *operation.responses.values()):
                if model is not None:
                    found[model.__name__] = model
    found[schemas.ErrorResponse.__name__] = schemas.ErrorResponse
    return list(found.values())


def _operation(route: Route, verb: str, operation: Operation) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status, model in operation.responses.items():
        answer: dict[str, Any] = {"description": _STATUS_TEXT.get(status, "OK")}
        if model is not None:
            answer["content"] = {"application/json": {"schema": _ref(model.__name__)}}
        responses[str(status)] = answer
    responses["default"] = {
        "description": "ARM error",
        "content": {"application/json": {"schema": _ref("ErrorResponse")}},
    }
    out: dict[str, Any] = {
        "operationId": operation.operation_id,
        "summary": operation.summary,
        "parameters": _parameters(route, operation),
        "responses": responses,
        "security": [{"bearer": []}],
        "x-ms-rbac-action": route.rbac_action(verb),
    }
    if operation.body is not None:
        out["requestBody"] = {
            "required": operation.body_required,
            "content": {"application/json": {"schema": _ref(operation.body.__name__)}},
        }
    if operation.long_running:
        out["x-ms-long-running-operation"] = True
    return out


def openapi_document() -> dict[str, Any]:
    _, defs = models_json_schema(
        [(m, "validation") for m in _models()], ref_template="#/components/schemas/{model}"
    )
    paths: dict[str, Any] = {}
    for route in ROUTES:
        item = paths.setdefault(route.template, {})
        for verb, operation in route.operations.items():
            item[verb.lower()] = _operation(route, verb, operation)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "iotops-registry resource provider",
            "version": __version__,
            "description": "Wire-compatible with ARM Microsoft.IoTOperations instances and "
            "registryEndpoints, with synced secrets, Key Vault secrets and the registry "
            "endpoint actions of this project.",
        },
        "paths": paths,
        "components": {
            "schemas": dict(defs.get("$defs", {})),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }
