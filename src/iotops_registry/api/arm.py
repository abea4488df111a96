"""The ARM-compatible API: ``/subscriptions/{sub}/resourceGroups/{rg}/providers/
Microsoft.IoTOperations/instances[/{i}[/registryEndpoints[/{name}]]]``.

A request goes through the same steps in the same order every time:

1. route the path (fixed segments match case-insensitively, as ARM does);
2. authenticate the bearer token (401 before anything else is revealed);
3. check ``api-version``;
4. validate subscription, resource group and resource names;
5. read the body (bounded) and hand it to the service, in a worker thread;
6. render the document, ``ETag`` and status, or the ARM error envelope.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ..domain import InstanceKey, RegistryEndpointKey, rules
from ..errors import (
    ApiError,
    InvalidRequestError,
    NotFoundError,
    PayloadTooLargeError,
    ValidationError,
)
from ..security import Principal
from ..services import Page, Preconditions, WriteResult
from ..services.common import MAX_PAGE_SIZE
from .access_routes import AccessRoutes
from .context import SUPPORTED_API_VERSIONS, ApiContext
from .query import query, query_ci
from .responses import error_response, json_text_response, warning_header
from .secrets_routes import SecretRoutes

__all__ = ["ArmApp"]

T = TypeVar("T")

log = logging.getLogger("iotops_registry.api")

_PROVIDER = "microsoft.iotoperations"


@dataclass(frozen=True)
class _Route:
    kind: str  # handler family: instances | instance | endpoints | endpoint | test | ...
    subscription: str
    resource_group: str | None
    instance: str | None = None
    name: str | None = None
    child: str | None = None  # the child resource ``name`` names: endpoint | synced | kvsecret


_CHILDREN = {
    "registryendpoints": "endpoint",
    "syncedsecrets": "synced",
    "keyvaultsecrets": "kvsecret",
}
_ACTIONS = {
    ("endpoint", "resolvecredentials"): "resolve",
    ("endpoint", "test"): "test",
    ("endpoint", "connectionsettings"): "connsettings",
    ("endpoint", "health"): "health",
}


def _route(path: str) -> _Route | None:
    seg = path.strip("/").split("/")
    low = [s.lower() for s in seg]
    if len(seg) < 2 or low[0] != "subscriptions":
        return None
    sub = seg[1]
    if low[2:5] == ["providers", _PROVIDER, "instances"] and len(seg) == 5:
        return _Route("instances", sub, None)
    if (
        len(seg) < 7
        or low[2] != "resourcegroups"
        or low[4:7] != ["providers", _PROVIDER, "instances"]
    ):
        return None
    rg = seg[3]
    rest = seg[7:]
    rest_low = low[7:]
    if not rest:
        return _Route("instances", sub, rg)
    if len(rest) == 1:
        return _Route("instance", sub, rg, rest[0])
    child = _CHILDREN.get(rest_low[1])
    if child is None:
        return None
    if len(rest) == 2:
        return _Route(child + "s", sub, rg, rest[0])
    if len(rest) == 3:
        return _Route(child, sub, rg, rest[0], rest[2], child)
    action = _ACTIONS.get((child, rest_low[3])) if len(rest) == 4 else None
    if action is not None:
        return _Route(action, sub, rg, rest[0], rest[2], child)
    return None


_ALLOWED = {
    "instances": "GET",
    "instance": "GET, PUT, PATCH, DELETE",
    "endpoints": "GET",
    "endpoint": "GET, PUT, DELETE",
    "resolve": "POST",
    "test": "POST",
    "connsettings": "GET, PUT",
    "health": "GET",
    "synceds": "GET",
    "synced": "GET, PUT, DELETE",
    "kvsecrets": "GET",
    "kvsecret": "GET, PUT",
}


class ArmApp(SecretRoutes, AccessRoutes):
    """ASGI app for everything under ``/subscriptions``."""

    def __init__(self, ctx: ApiContext) -> None:
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        request_id = str(uuid.uuid4())
        rid = request_id.encode()
        extra = [(b"x-ms-request-id", rid), (b"x-ms-correlation-request-id", rid)]
        client_request_id = request.headers.get("x-ms-client-request-id")
        if client_request_id:
            extra.append((b"x-ms-client-request-id", client_request_id[:128].encode("latin-1")))
        try:
            response = await self._handle(request)
        except ApiError as exc:
            response = error_response(exc)
        except Exception:  # a bug: log it with the request id, tell the client nothing more
            log.exception(
                "unhandled error in %s %s (request %s)",
                request.method,
                request.url.path,
                request_id,
            )
            response = error_response(
                ApiError(
                    f"The server hit an internal error. Quote request id {request_id}.",
                    code="InternalServerError",
                )
            )
        # Appended to the raw list: these names are never set by a handler, and MutableHeaders
        # would rescan the list for every one of them.
        response.raw_headers.extend(extra)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s -> %s", request.method, scope["path"], response.status_code)
        await response(scope, receive, send)

    async def _handle(self, request: Request) -> Response:
        route = _route(request.scope["path"])
        if route is None:
            raise NotFoundError(
                f"No resource type matches the path '{request.scope['path'][:200]}'.",
                code="InvalidResourceType",
            )
        allowed = _ALLOWED[route.kind]
        method = request.method.upper()
        if method not in allowed.split(", "):
            raise ApiError(
                f"The method '{method}' is not allowed on this resource.",
                code="MethodNotAllowed",
                status=405,
                headers={"Allow": allowed},
            )
        principal = self.ctx.arm_verifier.verify_header(request.headers.get("authorization"))
        self._check_api_version(request)
        self._check_scope(route)
        handler = getattr(self, f"_{route.kind}_{method.lower()}")
        result: Response = await handler(request, route, principal)
        return result

    async def _read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a store read. SQLite reads in WAL mode never wait for a writer and take tens
        of microseconds, less than a hop to a worker thread, so they run inline."""
        if self.ctx.inline_reads:
            return fn(*args)
        return await run_in_threadpool(fn, *args)

    # --- checks --------------------------------------------------------------------------

    @staticmethod
    def _check_api_version(request: Request) -> None:
        version = query(request).get("api-version")
        if version is None:
            raise InvalidRequestError(
                "The api-version query parameter is required. Supported versions: "
                f"{', '.join(SUPPORTED_API_VERSIONS)}.",
                code="MissingApiVersionParameter",
                target="api-version",
            )
        if version not in SUPPORTED_API_VERSIONS:
            raise InvalidRequestError(
                f"The api-version '{version[:40]}' is invalid. The supported versions are "
                f"'{','.join(SUPPORTED_API_VERSIONS)}'.",
                code="InvalidApiVersionParameter",
                target="api-version",
            )

    @staticmethod
    def _check_scope(route: _Route) -> None:
        problem = rules.check_subscription(route.subscription)
        if problem:
            raise InvalidRequestError(
                problem, code="InvalidSubscriptionId", target="subscriptionId"
            )
        if route.resource_group is not None:
            problem = rules.check_resource_group(route.resource_group)
            if problem:
                raise InvalidRequestError(
                    problem, code="InvalidResourceGroupName", target="resourceGroupName"
                )
        names = [(route.instance, "instanceName")]
        if route.child == "endpoint":
            # Synced secret and Key Vault secret names follow their own rules (services).
            names.append((route.name, "registryEndpointName"))
        for value, target in names:
            if value is not None:
                problem = rules.check_resource_name(value)
                if problem:
                    raise ValidationError(problem, code="InvalidResourceName", target=target)

    async def _body(self, request: Request) -> dict[str, Any]:
        limit = self.ctx.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise PayloadTooLargeError(
                f"The request body is larger than the limit of {limit} bytes."
            )
        ctype = request.headers.get("content-type", "application/json").split(";")[0].strip()
        if (
            ctype
            and ctype.lower() not in ("application/json", "text/json")
            and not ctype.endswith("+json")
        ):
            raise ApiError(
                f"Unsupported content type '{ctype[:60]}'; send application/json.",
                code="UnsupportedMediaType",
                status=415,
            )
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise PayloadTooLargeError(
                    f"The request body is larger than the limit of {limit} bytes."
                )
            chunks.append(chunk)
        raw = b"".join(chunks)
        if not raw.strip():
            raise InvalidRequestError("The request body is empty.", code="InvalidRequestContent")
        try:
            data = json.loads(raw, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as exc:
            detail = str(exc) if isinstance(exc, json.JSONDecodeError) else "invalid JSON"
            raise InvalidRequestError(
                f"The request body is not valid JSON: {detail[:120]}.",
                code="InvalidRequestContent",
            ) from None
        if not isinstance(data, dict):
            raise InvalidRequestError(
                "The request body must be a JSON object.", code="InvalidRequestContent"
            )
        return data

    @staticmethod
    def _preconditions(request: Request) -> Preconditions:
        return Preconditions(
            if_match=request.headers.get("if-match"),
            if_none_match=request.headers.get("if-none-match"),
        )

    @staticmethod
    def _paging(request: Request) -> tuple[int | None, str | None]:
        params = query_ci(request)
        top_raw = params.get("$top")
        top: int | None = None
        if top_raw is not None:
            if not top_raw.isdigit() or not 1 <= int(top_raw) <= MAX_PAGE_SIZE:
                raise InvalidRequestError(
                    f"$top must be an integer from 1 to {MAX_PAGE_SIZE}.",
                    code="InvalidTop",
                    target="$top",
                )
            top = int(top_raw)
        return top, params.get("$skiptoken")

    @staticmethod
    def _expand_health(request: Request) -> bool:
        if b"expand" not in request.scope.get("query_string", b"").lower():
            return False
        expand = query_ci(request).get("$expand", "")
        return "healthstatus" in [e.strip().lower() for e in expand.split(",")]

    @staticmethod
    def _page_response(request: Request, page: Page, top: int | None) -> Response:
        body = '{"value":[' + ",".join(page.documents) + "]"
        if page.next_token:
            qs = f"api-version={quote(query(request)['api-version'])}"
            if top is not None:
                qs += f"&$top={top}"
            qs += f"&$skipToken={quote(page.next_token)}"
            expand = query_ci(request).get("$expand")
            if expand:
                qs += f"&$expand={quote(expand)}"
            link = f"{str(request.base_url).rstrip('/')}{request.url.path}?{qs}"
            body += ',"nextLink":' + json.dumps(link)
        return json_text_response(body + "}")

    @staticmethod
    def _written(result: WriteResult) -> Response:
        headers = {"ETag": result.etag}
        if result.warnings:
            headers["Warning"] = warning_header(result.warnings)
        return json_text_response(result.document, 201 if result.created else 200, headers)

    # --- instances -----------------------------------------------------------------------

    @staticmethod
    def _instance_key(route: _Route) -> InstanceKey:
        assert route.resource_group is not None and route.instance is not None
        return InstanceKey(route.subscription, route.resource_group, route.instance)

    async def _instances_get(self, request: Request, route: _Route, _p: Principal) -> Response:
        top, skip = self._paging(request)
        page = await run_in_threadpool(
            self.ctx.instances.list, route.subscription, route.resource_group, top, skip
        )
        return self._page_response(request, page, top)

    async def _instance_get(self, request: Request, route: _Route, _p: Principal) -> Response:
        doc, etag = await self._read(self.ctx.instances.get, self._instance_key(route))
        return json_text_response(doc, headers={"ETag": etag})

    async def _instance_put(self, request: Request, route: _Route, p: Principal) -> Response:
        body = await self._body(request)
        key = self._instance_key(route)
        result = await run_in_threadpool(
            self.ctx.instances.put, key, body, p, self._preconditions(request)
        )
        if result.created and self.ctx.monitor is not None:
            self.ctx.monitor.schedule(RegistryEndpointKey(key, "default"))
        return self._written(result)

    async def _instance_patch(self, request: Request, route: _Route, p: Principal) -> Response:
        body = await self._body(request)
        result = await run_in_threadpool(
            self.ctx.instances.patch,
            self._instance_key(route),
            body,
            p,
            self._preconditions(request),
        )
        return self._written(result)

    async def _instance_delete(self, request: Request, route: _Route, _p: Principal) -> Response:
        await run_in_threadpool(
            self.ctx.instances.delete, self._instance_key(route), self._preconditions(request)
        )
        return Response(status_code=204)

    # --- registry endpoints --------------------------------------------------------------

    def _endpoint_key(self, route: _Route) -> RegistryEndpointKey:
        assert route.name is not None
        return RegistryEndpointKey(self._instance_key(route), route.name)

    async def _endpoints_get(self, request: Request, route: _Route, _p: Principal) -> Response:
        top, skip = self._paging(request)
        page = await self._read(self.ctx.endpoints.list, self._instance_key(route), top, skip)
        if self._expand_health(request):
            assert self.ctx.health is not None
            docs = await run_in_threadpool(
                self.ctx.health.expand, self._instance_key(route), page.documents
            )
            page = Page(docs, page.next_token)
        return self._page_response(request, page, top)

    async def _endpoint_get(self, request: Request, route: _Route, _p: Principal) -> Response:
        doc, etag = await self._read(self.ctx.endpoints.get, self._endpoint_key(route))
        if self._expand_health(request):
            assert self.ctx.health is not None
            (doc,) = await run_in_threadpool(
                self.ctx.health.expand, self._instance_key(route), [doc]
            )
        return json_text_response(doc, headers={"ETag": etag})

    async def _endpoint_put(self, request: Request, route: _Route, p: Principal) -> Response:
        body = await self._body(request)
        key = self._endpoint_key(route)
        result = await run_in_threadpool(
            self.ctx.endpoints.put, key, body, p, self._preconditions(request)
        )
        if self.ctx.monitor is not None:
            self.ctx.monitor.schedule(key)  # health follows in the background; PUT never waits
        return self._written(result)

    async def _endpoint_delete(self, request: Request, route: _Route, _p: Principal) -> Response:
        await run_in_threadpool(
            self.ctx.endpoints.delete, self._endpoint_key(route), self._preconditions(request)
        )
        return Response(status_code=204)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")

