"""Small JSON admin routes on the ARM origin, behind the ARM bearer token.

The development stand-ins are managed over ``{arm}/-/dev/...``: the same origin, TLS and
authentication as the resource provider, without being part of the ARM surface. Every route
names the RBAC action it needs, checked at ``/`` (so only a role assigned at the root grants
it: the local admin's Owner, say); a managed identity's token has no role and gets 403.
Errors use the ARM envelope, so the CLI shows them like any ARM error.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ..asgi import JsonApp, json_response, read_json
from ..errors import ApiError, AuthorizationFailed, NotFoundError
from ..security import Authorizer, TokenVerifier

__all__ = ["ADMIN_PREFIX", "AdminRouter", "Call", "json_response"]

log = logging.getLogger("iotops_registry.admin")

ADMIN_PREFIX = "/-/dev"
_MAX_BODY = 64 * 1024


@dataclass(frozen=True)
class Call:
    """One admin request, as a handler sees it (handlers run in a worker thread)."""

    params: dict[str, str]
    query: dict[str, str]
    body: dict[str, Any] = field(default_factory=dict)


# A handler returns (status, JSON body) or (status, None) for no body.
Handler = Callable[[Call], tuple[int, Any]]


class AdminRouter(JsonApp):
    """ASGI app for ``/-/dev/...``: authenticate, route, run the handler, render JSON."""

    log = log

    def __init__(
        self, verifier: TokenVerifier, authorizer: Authorizer, *, missing_hint: str = ""
    ) -> None:
        self._verifier = verifier
        self._authorizer = authorizer
        self._routes: list[tuple[str, re.Pattern[str], Handler, str]] = []
        self._missing_hint = missing_hint

    def add(self, method: str, pattern: str, handler: Handler, *, action: str) -> None:
        """Route ``method`` on ``pattern`` (``/identities/{name}``, under ``/-/dev``);
        ``action``: the RBAC action a caller needs at ``/``."""
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern)
        compiled = re.compile(f"^{ADMIN_PREFIX}{regex}/?$")
        self._routes.append((method.upper(), compiled, handler, action))

    def actions(self) -> list[tuple[str, str, str]]:
        """(method, path pattern, action) of every route."""
        return [(m, r.pattern, a) for m, r, _, a in self._routes]

    def handles(self, path: str) -> bool:
        return path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/")

    def in_front_of(self, app: Any) -> Any:
        """``app`` with ``/-/dev/...`` answered by this router first."""

        async def routed(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http" and self.handles(scope["path"]):
                await self(scope, receive, send)
            else:
                await app(scope, receive, send)

        return routed

    def internal_error(self, request_id: str) -> ApiError:
        return ApiError(f"Internal error. Quote request id {request_id}.")

    async def handle(self, request: Request) -> Response:
        principal = self._verifier.verify_header(request.headers.get("authorization"))
        path, method = request.url.path, request.method.upper()
        allowed: list[str] = []
        for route_method, regex, handler, action in self._routes:
            match = regex.match(path)
            if match is None:
                continue
            if route_method != method:
                allowed.append(route_method)
                continue
            if not self._authorizer.allowed(principal, action, "/"):
                raise AuthorizationFailed(principal.object_id, action, "/")
            body = (
                await read_json(request, _MAX_BODY, optional=True, decoder_detail=False)
                if method in ("POST", "PUT", "PATCH")
                else {}
            )
            call = Call(match.groupdict(), dict(request.query_params), body)
            status, data = await run_in_threadpool(handler, call)
            if data is None:
                return Response(status_code=status)
            return json_response(data, status)
        if allowed:
            raise ApiError(
                f"The method {method} is not allowed here; use {', '.join(sorted(allowed))}.",
                code="MethodNotAllowed",
                status=405,
                headers={"Allow": ", ".join(sorted(allowed))},
            )
        raise NotFoundError(f"No admin route {path[:200]}.{self._missing_hint}", code="NotFound")
