"""``{scope}/providers/Microsoft.Authorization/roleAssignments[/{name}]`` and
``…/roleDefinitions[/{id}]``: what ``az role assignment`` and ``az role definition`` call.

The scope is any path before ``/providers/Microsoft.Authorization/`` (``/`` included), so
these routes are matched here rather than by the route table's fixed shapes. Each checks
``Microsoft.Authorization/roleAssignments/{read|write|delete}`` (or ``roleDefinitions/read``)
at the scope, with the same authorizer as every other route.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..asgi import read_json
from ..errors import ApiError, InvalidRequestError, NotFoundError
from ..security import Principal
from ..services import RoleAssignmentService
from .query import query
from .responses import json_text_response

__all__ = ["AUTHORIZATION_API_VERSIONS", "AuthorizationRequest", "handle_authorization", "match"]

AUTHORIZATION_API_VERSIONS = (
    "2015-07-01", "2018-01-01-preview", "2018-09-01-preview", "2020-04-01-preview",
    "2020-10-01-preview", "2022-04-01", "2022-05-01-preview",
)
_PATH = re.compile(
    r"^(?P<scope>.*?)/providers/microsoft\.authorization/"
    r"(?P<kind>roleassignments|roledefinitions)(?:/(?P<name>[^/]+))?/?$",
    re.IGNORECASE,
)
_PRINCIPAL_FILTER = re.compile(r"principalId\s+eq\s+'([0-9a-fA-F-]{36})'", re.IGNORECASE)
_ROLE_NAME_FILTER = re.compile(r"roleName\s+eq\s+'([^']{1,100})'", re.IGNORECASE)


@dataclass(frozen=True)
class AuthorizationRequest:
    scope: str
    kind: str  # roleassignments | roledefinitions
    name: str | None


def match(path: str) -> AuthorizationRequest | None:
    m = _PATH.match(path)
    if m is None:
        return None
    return AuthorizationRequest(m["scope"] or "/", m["kind"].lower(), m["name"])


def _json(body: Any, status: int = 200) -> Response:
    import json

    return json_text_response(json.dumps(body), status)


async def handle_authorization(
    request: Request,
    route: AuthorizationRequest,
    principal: Principal,
    service: RoleAssignmentService | None,
    max_body_bytes: int,
) -> Response:
    if service is None:
        raise NotFoundError("Role assignments are not served here.", code="InvalidResourceType")
    version = query(request).get("api-version")
    if version is None:
        raise InvalidRequestError(
            "The api-version query parameter is required.", code="MissingApiVersionParameter"
        )
    if version not in AUTHORIZATION_API_VERSIONS:
        raise InvalidRequestError(
            f"The api-version '{version[:40]}' is invalid. The supported versions are "
            f"'{','.join(AUTHORIZATION_API_VERSIONS)}'.", code="InvalidApiVersionParameter",
        )
    method = request.method.upper()
    authz = service.authorizer
    scope = route.scope
    filt = query(request).get("$filter", "")
    if route.kind == "roledefinitions":
        if method != "GET":
            raise _not_allowed(method, "GET")
        authz.check(principal, "Microsoft.Authorization/roleDefinitions/read", scope)
        if route.name:
            return _json(service.definition(scope, route.name))
        role_name = _ROLE_NAME_FILTER.search(filt)
        return _json({"value": service.definitions(scope, role_name[1] if role_name else None)})
    if route.name is None:
        if method != "GET":
            raise _not_allowed(method, "GET")
        authz.check(principal, "Microsoft.Authorization/roleAssignments/read", scope)
        who = _PRINCIPAL_FILTER.search(filt)
        docs = await run_in_threadpool(
            service.list, scope, principal_id=who[1] if who else None,
            at_scope="atscope()" in filt.lower().replace(" ", ""),
        )
        return _json({"value": docs})
    name = route.name
    if method == "GET":
        authz.check(principal, "Microsoft.Authorization/roleAssignments/read", scope)
        return _json(await run_in_threadpool(service.get, scope, name))
    if method == "PUT":
        authz.check(principal, "Microsoft.Authorization/roleAssignments/write", scope)
        body = await read_json(request, max_body_bytes)
        doc, created = await run_in_threadpool(service.put, scope, name, body, principal)
        return _json(doc, 201 if created else 200)
    if method == "DELETE":
        authz.check(principal, "Microsoft.Authorization/roleAssignments/delete", scope)
        deleted = await run_in_threadpool(service.delete, scope, name)
        return Response(status_code=204) if deleted is None else _json(deleted)
    raise _not_allowed(method, "GET, PUT, DELETE")


def _not_allowed(method: str, allow: str) -> ApiError:
    return ApiError(
        f"The method '{method}' is not allowed on this resource.",
        code="MethodNotAllowed", status=405, headers={"Allow": allow},
    )
