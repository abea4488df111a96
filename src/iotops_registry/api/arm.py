"""The ARM-compatible API: every path under ``/subscriptions/`` that a row of the route table
(``api.routes``) describes.

A request goes through the same steps in the same order every time:

1. route the path (fixed segments match case-insensitively, as ARM does): ``404
   InvalidResourceType`` when no row matches, ``405`` with ``Allow`` for a verb it lacks;
2. authenticate the bearer token (401 before anything else is revealed);
3. check ``api-version`` against the row's versions;
4. validate subscription, resource group and the names the row has rules for;
5. authorize: the row's RBAC action (``Route.rbac_action``) at the addressed scope, else
   ``403 AuthorizationFailed``. A list the caller may not read as a whole is filtered to
   the resources it may read (nothing, for a principal with no role here);
6. run the row's handler: it reads the body (bounded), calls the service in a worker thread
   and renders the document, ``ETag`` and status. Errors become the ARM error envelope.
"""

from __future__ import annotations

import json
import logging

from starlette.requests import Request
from starlette.responses import Response

from ..asgi import JsonApp
from ..domain import rules
from ..errors import (
    ApiError,
    AuthorizationFailed,
    InvalidRequestError,
    NotFoundError,
    ValidationError,
)
from ..security import Authorizer, Principal
from .authorization import handle_authorization, match
from .call import ArmCall
from .context import ApiContext
from .query import query
from .responses import error_response, json_text_response
from .router import Router
from .routes import ROUTES
from .table import Route

__all__ = ["ArmApp"]

log = logging.getLogger("iotops_registry.api")

# Which target a name error names: the ARM parameter, as the SDK calls it.
_TARGETS = {"instanceName": "instanceName", "registryEndpointName": "registryEndpointName"}


class ArmApp(JsonApp):
    """ASGI app for everything under ``/subscriptions``."""

    log = log
    request_id_headers = (b"x-ms-request-id", b"x-ms-correlation-request-id")

    def __init__(self, ctx: ApiContext, routes: tuple[Route, ...] = ROUTES) -> None:
        self.ctx = ctx
        self.router = Router(routes)

    def render_error(self, exc: ApiError) -> Response:
        return error_response(exc)

    def internal_error(self, request_id: str) -> ApiError:
        return ApiError(
            f"The server hit an internal error. Quote request id {request_id}.",
            code="InternalServerError",
        )

    async def handle(self, request: Request) -> Response:
        path = request.scope["path"]
        matched = self.router.match(path)
        if matched is None:
            authz_route = match(path)
            if authz_route is not None:
                principal = self.ctx.arm_verifier.verify_header(
                    request.headers.get("authorization")
                )
                return await handle_authorization(
                    request, authz_route, principal, self.ctx.roles, self.ctx.max_body_bytes
                )
            raise NotFoundError(
                f"No resource type matches the path '{path[:200]}'.", code="InvalidResourceType"
            )
        route, segments = matched
        method = request.method.upper()
        operation = route.operations.get(method)  # type: ignore[call-overload]
        if operation is None:
            raise ApiError(
                f"The method '{method}' is not allowed on this resource.",
                code="MethodNotAllowed",
                status=405,
                headers={"Allow": route.allow},
            )
        principal = self.ctx.arm_verifier.verify_header(request.headers.get("authorization"))
        _check_api_version(request, route)
        _check_names(route, segments)
        action = route.rbac_action(method)
        scope = _scope(route, segments)
        authz = self.ctx.authorizer
        filtered = False
        if not authz.allowed(principal, action, scope):
            if not (method == "GET" and route.kind == "collection"):
                raise AuthorizationFailed(principal.object_id, action, scope)
            if not authz.grants(principal):
                return json_text_response('{"value":[]}')
            filtered = True  # answer only what the caller may read, item by item
        call = ArmCall(
            request,
            route,
            segments,
            principal,
            self.ctx.max_body_bytes,
            self.ctx.inline_reads,
        )
        response: Response = await operation.handler(self.ctx, call)
        if filtered:
            return _readable_only(response, authz, principal, action)
        return response


def _scope(route: Route, segments: list[str]) -> str:
    """The scope an operation addresses: the resource itself, the resource an action is on,
    or the parent of a collection (``…/providers/{ns}/instances`` → its resource group)."""
    if route.kind == "resource":
        parts = segments
    elif route.kind == "action":
        parts = segments[:-1]
    else:
        parts = segments[:-1]
        if len(parts) >= 2 and parts[-2].lower() == "providers":
            parts = parts[:-2]
    return "/" + "/".join(parts)


def _readable_only(
    response: Response, authz: Authorizer, principal: Principal, action: str
) -> Response:
    if response.status_code != 200:
        return response
    page = json.loads(bytes(response.body))
    page["value"] = [
        item for item in page.get("value", [])
        if isinstance(item, dict) and authz.allowed(principal, action, str(item.get("id", "")))
    ]
    return json_text_response(json.dumps(page))


def _check_api_version(request: Request, route: Route) -> None:
    versions = route.api_versions
    version = query(request).get("api-version")
    if version is None:
        raise InvalidRequestError(
            "The api-version query parameter is required. Supported versions: "
            f"{', '.join(versions)}.",
            code="MissingApiVersionParameter",
            target="api-version",
        )
    if version not in versions:
        raise InvalidRequestError(
            f"The api-version '{version[:40]}' is invalid. The supported versions are "
            f"'{','.join(versions)}'.",
            code="InvalidApiVersionParameter",
            target="api-version",
        )


def _check_names(route: Route, segments: list[str]) -> None:
    problem = rules.check_subscription(segments[1])
    if problem:
        raise InvalidRequestError(problem, code="InvalidSubscriptionId", target="subscriptionId")
    if "resourceGroupName" in route.params:
        problem = rules.check_resource_group(segments[3])
        if problem:
            raise InvalidRequestError(
                problem, code="InvalidResourceGroupName", target="resourceGroupName"
            )
    # Names without a rule here (synced secrets, Key Vault secrets) are checked by services.
    for index, param, rule in route.name_checks():
        problem = rule(segments[index])
        if problem:
            raise ValidationError(
                problem, code="InvalidResourceName", target=_TARGETS.get(param, param)
            )
