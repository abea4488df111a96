"""The vault's HTTP surface: Key Vault's secret operations at the root of their own origin.

Each request goes through the same steps: authenticate (401 with a challenge before anything
else), route, check ``api-version``, read the body (bounded), call the service in a worker
thread, render Key Vault's JSON. Every error, anywhere, is a Key Vault error body.

Nothing here logs a request body, and unexpected errors are logged without their messages,
which could quote request data (``asgi.JsonApp``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..asgi import JsonApp, read_json
from ..errors import ApiError, PayloadTooLargeError
from ..security import Authorizer
from . import faults, wire
from .auth import VaultAuthenticator
from .model import Page
from .service import VaultService

__all__ = ["MAX_BODY_BYTES", "SUPPORTED_API_VERSIONS", "VaultApp"]

log = logging.getLogger("iotops_registry.vault")

SUPPORTED_API_VERSIONS = (
    *(f"7.{n}" for n in range(7)),
    "2025-07-01",
    "2026-04-01",
)
# JSON may escape each byte of a 25 KiB value as six ("\u0001"), and tags add their share:
# 256 KiB admits every body Key Vault would, and bounds what a request can make us buffer.
MAX_BODY_BYTES = 256 * 1024


@dataclass(frozen=True)
class _Route:
    kind: str
    name: str = ""
    version: str = ""


_SECRETS = "Microsoft.KeyVault/vaults/secrets/"
# (kind, method) -> the data action it needs (Key Vault's names)
_ACTIONS = {
    ("secrets", "GET"): "readMetadata/action",
    ("secret", "GET"): "getSecret/action",
    ("secret", "PUT"): "setSecret/action",
    ("secret", "PATCH"): "update/action",
    ("secret", "DELETE"): "delete",
    ("versions", "GET"): "readMetadata/action",
    ("version", "GET"): "getSecret/action",
    ("version", "PATCH"): "update/action",
    ("deletedsecrets", "GET"): "readMetadata/action",
    ("deletedsecret", "GET"): "readMetadata/action",
    ("deletedsecret", "DELETE"): "purge/action",
    ("recover", "POST"): "recover/action",
}

# kind -> allowed methods
_ALLOWED = {
    "secrets": ("GET",),
    "secret": ("GET", "PUT", "PATCH", "DELETE"),
    "versions": ("GET",),
    "version": ("GET", "PATCH"),
    "deletedsecrets": ("GET",),
    "deletedsecret": ("GET", "DELETE"),
    "recover": ("POST",),
}


def _route(path: str) -> _Route | None:
    seg = path.split("/")[1:]
    collection = seg[0].lower() if seg else ""
    rest = seg[1:]
    if rest and rest[-1] == "" and len(rest) == 1:
        rest = []  # "/secrets/" is the collection
    if collection == "secrets":
        if not rest:
            return _Route("secrets")
        if len(rest) == 1 or (len(rest) == 2 and rest[1] == ""):
            return _Route("secret", rest[0])  # "/secrets/x/" is the newest version
        if len(rest) == 2:
            if rest[1].lower() == "versions":
                return _Route("versions", rest[0])
            return _Route("version", rest[0], rest[1])
    elif collection == "deletedsecrets":
        if rest and rest[-1] == "":
            rest = rest[:-1]
        if not rest:
            return _Route("deletedsecrets")
        if len(rest) == 1:
            return _Route("deletedsecret", rest[0])
        if len(rest) == 2 and rest[1].lower() == "recover":
            return _Route("recover", rest[0])
    return None


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":")),
        status_code=status,
        media_type="application/json; charset=utf-8",
        headers=headers,
    )


class VaultApp(JsonApp):
    """ASGI app serving one vault."""

    log = log

    def __init__(
        self,
        service: VaultService,
        auth: VaultAuthenticator,
        authorizer: Authorizer,
        scope: str,
        *,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self.service = service
        self.auth = auth
        self.authorizer = authorizer
        self.scope = scope  # the vault's resource id
        self.max_body_bytes = max_body_bytes

    def render_error(self, exc: ApiError) -> Response:
        return _json(exc.envelope(), exc.status, exc.headers)

    def internal_error(self, request_id: str) -> ApiError:
        return ApiError(f"The vault hit an internal error. Quote request id {request_id}.")

    async def handle(self, request: Request) -> Response:
        principal = self.auth.authenticate(request.headers.get("authorization"))
        route = _route(request.url.path)
        if route is None:
            raise faults.path_not_found()
        method = request.method.upper()
        allowed = _ALLOWED[route.kind]
        if method not in allowed:
            raise faults.method_not_allowed(method, ", ".join(allowed))
        version = request.query_params.get("api-version")
        if version not in SUPPORTED_API_VERSIONS:
            shown = "missing" if version is None else f"'{version[:40]}'"
            raise faults.bad_parameter(
                f"The api-version is {shown}. Supported versions: "
                f"{', '.join(SUPPORTED_API_VERSIONS)}."
            )
        action = _SECRETS + _ACTIONS[(route.kind, method)]
        scope = f"{self.scope}/secrets/{route.name.lower()}" if route.name else self.scope
        if not self.authorizer.allowed(principal, action, scope, data=True):
            raise faults.forbidden_by_rbac(principal.object_id, action, scope)
        handler: Callable[[Request, _Route], Awaitable[Response]] = getattr(
            self, f"_{route.kind}_{method.lower()}"
        )
        return await handler(request, route)

    # --- helpers -------------------------------------------------------------------------

    async def _body(self, request: Request) -> dict[str, Any]:
        # The decoder's message may quote the body: say only what is wrong.
        return await read_json(
            request,
            self.max_body_bytes,
            invalid=faults.bad_parameter,
            too_large=lambda limit: PayloadTooLargeError(
                f"The request body is larger than {limit} bytes."
            ),
            decoder_detail=False,
        )

    @staticmethod
    def _origin(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    @staticmethod
    def _paging(request: Request) -> tuple[int | None, str | None]:
        params = {k.lower(): v for k, v in request.query_params.items()}
        raw = params.get("maxresults")
        max_results: int | None = None
        if raw is not None:
            if not raw.isdigit():
                raise faults.bad_parameter("maxresults must be an integer from 1 to 25.")
            max_results = int(raw)
        return max_results, params.get("$skiptoken")

    def _list(
        self,
        request: Request,
        page: Page[Any],
        render: Callable[[Any], dict[str, Any]],
        max_results: int | None,
    ) -> Response:
        link = None
        if page.next_token:
            query = f"api-version={quote(request.query_params['api-version'])}"
            query += f"&$skiptoken={quote(page.next_token)}"
            if max_results is not None:
                query += f"&maxresults={max_results}"
            link = f"{self._origin(request)}{request.url.path}?{query}"
        return _json(wire.page([render(i) for i in page.items], link))

    # --- secrets -------------------------------------------------------------------------

    async def _secrets_get(self, request: Request, _: _Route) -> Response:
        max_results, token = self._paging(request)
        page = await run_in_threadpool(self.service.list_secrets, max_results, token)
        origin = self._origin(request)
        return self._list(
            request, page, lambda p: wire.item(origin, p, versioned=False), max_results
        )

    async def _secret_put(self, request: Request, route: _Route) -> Response:
        body = wire.parse_set(await self._body(request))
        secret = await run_in_threadpool(
            lambda: self.service.set_secret(
                route.name,
                body.value,
                content_type=body.content_type,
                tags=body.tags,
                enabled=body.enabled,
                not_before=body.not_before,
                expires=body.expires,
            )
        )
        # As Key Vault does, the response echoes the value to the caller that just sent it
        # (SecretClient.set_secret(...).value): it leaks nothing the caller did not have.
        return _json(wire.bundle(self._origin(request), secret.properties, body.value))

    async def _secret_get(self, request: Request, route: _Route) -> Response:
        return await self._version_get(request, route)

    async def _version_get(self, request: Request, route: _Route) -> Response:
        secret = await run_in_threadpool(self.service.get_secret, route.name, route.version)
        return _json(wire.bundle(self._origin(request), secret.properties, secret.value))

    async def _secret_patch(self, request: Request, route: _Route) -> Response:
        return await self._version_patch(request, route)

    async def _version_patch(self, request: Request, route: _Route) -> Response:
        update = wire.parse_update(await self._body(request))
        props = await run_in_threadpool(
            self.service.update_secret, route.name, route.version, update
        )
        return _json(wire.bundle(self._origin(request), props))

    async def _secret_delete(self, request: Request, route: _Route) -> Response:
        deleted = await run_in_threadpool(self.service.delete_secret, route.name)
        return _json(wire.deleted_bundle(self._origin(request), deleted))

    async def _versions_get(self, request: Request, route: _Route) -> Response:
        max_results, token = self._paging(request)
        page = await run_in_threadpool(self.service.list_versions, route.name, max_results, token)
        origin = self._origin(request)
        return self._list(
            request, page, lambda p: wire.item(origin, p, versioned=True), max_results
        )

    # --- deleted secrets -----------------------------------------------------------------

    async def _deletedsecrets_get(self, request: Request, _: _Route) -> Response:
        max_results, token = self._paging(request)
        page = await run_in_threadpool(self.service.list_deleted_secrets, max_results, token)
        origin = self._origin(request)
        return self._list(request, page, lambda d: wire.deleted_item(origin, d), max_results)

    async def _deletedsecret_get(self, request: Request, route: _Route) -> Response:
        deleted = await run_in_threadpool(self.service.get_deleted_secret, route.name)
        return _json(wire.deleted_bundle(self._origin(request), deleted))

    async def _deletedsecret_delete(self, request: Request, route: _Route) -> Response:
        await run_in_threadpool(self.service.purge_deleted_secret, route.name)
        return Response(status_code=204)

    async def _recover_post(self, request: Request, route: _Route) -> Response:
        props = await run_in_threadpool(self.service.recover_deleted_secret, route.name)
        return _json(wire.bundle(self._origin(request), props))
