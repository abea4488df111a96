"""An IMDS-compatible managed identity endpoint on its own plain-HTTP loopback origin.

``azure.identity.ManagedIdentityCredential`` (and MSAL) use it unchanged when
``AZURE_POD_IDENTITY_AUTHORITY_HOST=http://127.0.0.1:<port>`` is set: they send
``GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=<res>[&client_id=<id>]``
with ``Metadata: true``. The answers and error bodies are IMDS's: azure-identity maps a 400
``invalid_request`` ("Identity not found") to ``CredentialUnavailableError``.
"""

from __future__ import annotations

import json
import logging
import re

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

from ..asgi import JsonApp
from ..errors import ApiError
from .gate import RequestGate
from .peer import allowed_uids, peer_uid
from .service import IdentityService

__all__ = ["TOKEN_PATH", "ImdsApp"]

log = logging.getLogger("iotops_registry.identity")

TOKEN_PATH = "/metadata/identity/oauth2/token"
_API_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_OLDEST_API_VERSION = "2018-02-01"


def _answer(status: int, body: dict[str, str], headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status, headers=headers, media_type="application/json")


def _bad(description: str, status: int = 400, error: str = "invalid_request") -> Response:
    return _answer(status, {"error": error, "error_description": description})


class ImdsApp(JsonApp):
    """ASGI app serving managed identity tokens, as Azure's Instance Metadata Service does.

    ``uids``: the users whose processes may ask; None means the server's own user and root,
    an empty set means anyone who can connect.
    """

    def __init__(
        self,
        service: IdentityService,
        *,
        gate: RequestGate | None = None,
        uids: frozenset[int] | None = None,
    ) -> None:
        self._service = service
        self._gate = gate
        self._uids = allowed_uids() if uids is None else uids

    log = log

    def render_error(self, exc: ApiError) -> Response:
        return _bad(exc.message, exc.status, "server_error" if exc.status >= 500 else exc.code)

    def internal_error(self, request_id: str) -> ApiError:
        return ApiError("The identity endpoint hit an internal error.")

    async def handle(self, request: Request) -> Response:
        return await self._handle(request, request.scope)

    async def _peer_allowed(self, scope: Scope) -> bool:
        if not self._uids:
            return True
        client, server = scope.get("client"), scope.get("server")
        if not client or not server:
            return False
        uid = await run_in_threadpool(peer_uid, (client[0], client[1]), (server[0], server[1]))
        return uid in self._uids

    async def _handle(self, request: Request, scope: Scope) -> Response:
        if request.url.path != TOKEN_PATH:
            return _bad("Not found.", 404, "not_found")
        if "x-forwarded-for" in request.headers:
            return _bad("Request with X-Forwarded-For header is not allowed")
        if not await self._peer_allowed(scope):
            return _bad(
                "Only processes of the server's own user may get managed identity tokens.",
                403,
                "access_denied",
            )
        if request.method != "GET":
            return _bad(f"The method {request.method} is not allowed.", 405)
        if request.headers.get("metadata", "").lower() != "true":
            return _bad("Required metadata header not specified")
        query = request.query_params
        version = query.get("api-version")
        if not version:
            return _bad("Required query variable 'api-version' is missing")
        if not _API_VERSION.match(version) or version < _OLDEST_API_VERSION:
            return _bad("Invalid API version")
        resource = query.get("resource")
        if not resource:
            return _bad("Required query variable 'resource' is missing")
        client_id = query.get("client_id")
        object_id = query.get("object_id")
        resource_id = query.get("msi_res_id") or query.get("mi_res_id")
        if self._gate is not None:
            key = (client_id or object_id or resource_id or "system").lower()
            fault = self._gate.hit("identity", key)
            if fault is not None:
                headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else None
                body = {"error": "temporarily_unavailable", "error_description": "Injected fault"}
                return _answer(fault.status, body, headers)
        identity = await run_in_threadpool(
            lambda: self._service.find(
                client_id=client_id, object_id=object_id, resource_id=resource_id
            )
        )
        if identity is None:
            return _bad("Identity not found")
        body = await run_in_threadpool(self._service.token, identity, resource)
        return _answer(200, body)
