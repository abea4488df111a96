"""``create_app``: the one place that wires the HTTP surface together."""

from __future__ import annotations

import json
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from .arm import ArmApp
from .context import ApiContext
from .openapi import openapi_document

__all__ = ["PortalHook", "create_app"]


class PortalHook(Protocol):
    """The web portal (``iotops_registry.web.Portal``), given by the server: its own routes,
    and a wrapper around the ARM app that lets the API accept a portal session."""

    def routes(self) -> list[BaseRoute]: ...

    def wrap_api(self, app: ASGIApp) -> ASGIApp: ...


class _CaseInsensitiveArm:
    """Send any path whose first segment is ``subscriptions`` (in any case) to the ARM app,
    and ``/providers/Microsoft.Authorization/...`` (role assignments at ``/``)."""

    def __init__(self, inner: Starlette, arm: ASGIApp) -> None:
        self.inner = inner
        self.arm = arm

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (
            scope["path"][:15].lower() == "/subscriptions/"
            or scope["path"][:35].lower() == "/providers/microsoft.authorization/"
        ):
            await self.arm(scope, receive, send)
            return
        await self.inner(scope, receive, send)


def create_app(
    ctx: ApiContext, *, baseline: bool = False, portal: PortalHook | None = None
) -> Any:
    openapi_body = json.dumps(openapi_document())

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def openapi(_: Request) -> Response:
        return Response(openapi_body, media_type="application/json")

    async def openid_configuration(request: Request) -> Response:
        issuer = ctx.issuer
        if issuer is None or request.path_params["tenant"] != issuer.tenant_id:
            return JSONResponse({"error": "invalid_tenant"}, status_code=404)
        return JSONResponse(issuer.openid_configuration())

    async def jwks(request: Request) -> Response:
        issuer = ctx.issuer
        if issuer is None or request.path_params["tenant"] != issuer.tenant_id:
            return JSONResponse({"error": "invalid_tenant"}, status_code=404)
        return JSONResponse(issuer.jwks())

    routes: list[BaseRoute] = [
        Route("/healthz", healthz),
        Route("/openapi.json", openapi),
        Route("/{tenant}/v2.0/.well-known/openid-configuration", openid_configuration),
        Route("/{tenant}/discovery/v2.0/keys", jwks),
    ]
    if baseline:
        # For benchmarks only: the cheapest possible handler on the same server stack.
        fixed = b'{"id":"baseline","properties":{"host":"example.azurecr.io"}}'

        async def bare(scope: Scope, receive: Receive, send: Send) -> None:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(fixed)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": fixed})

        routes.append(Mount("/-/baseline", app=bare))
    arm: ASGIApp = ArmApp(ctx)
    # --- portal hook: pages at / and /-/..., and the session gateway around the ARM API ---
    if portal is not None:
        routes.extend(portal.routes())
        arm = portal.wrap_api(arm)
    inner = Starlette(routes=routes)
    return _CaseInsensitiveArm(inner, arm)
