"""The token service's HTTP surface, on its own HTTPS origin (the registry's ``realm``).

* ``POST /oauth2/exchange``: form ``grant_type=access_token&service&tenant&access_token``
  → ``{"refresh_token"}`` (ACR's exchange).
* ``POST /oauth2/token``: form ``grant_type=refresh_token&service&scope&refresh_token`` (or
  ``grant_type=password&username&password``), and ``GET /oauth2/token?service&scope`` with
  Basic credentials or none → ``{"token", "access_token", "expires_in", "issued_at"}``.

Errors use the Distribution/ACR body ``{"errors": [{"code", "message", "detail"}]}``.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import parse_qs

import jwt
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..asgi import JsonApp, read_body
from ..errors import ApiError, InvalidRequestError, NotFoundError, PayloadTooLargeError
from ..identity import InjectedFault, RequestGate
from .scopes import parse_scopes, scope_key
from .service import DevRegistryService, Form

__all__ = ["EXCHANGE_PATH", "TOKEN_PATH", "TokenApp"]

log = logging.getLogger("iotops_registry.devregistry")

EXCHANGE_PATH = "/oauth2/exchange"
TOKEN_PATH = "/oauth2/token"
_MAX_FORM = 64 * 1024


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status, headers=headers, media_type="application/json")


def _errors(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    return _json({"errors": [{"code": code, "message": message, "detail": None}]}, status, headers)


def _fault(fault: InjectedFault) -> Response:
    headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
    code = "TOOMANYREQUESTS" if fault.status == 429 else "UNAVAILABLE"
    return _errors(fault.status, code, "Injected fault.", headers)


def _form_too_large(limit: int) -> ApiError:
    return PayloadTooLargeError(f"The form is larger than {limit} bytes.")


async def _form(request: Request) -> Form:
    raw = await read_body(request, _MAX_FORM, too_large=_form_too_large)
    try:
        return parse_qs(raw.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        raise InvalidRequestError("The form is not UTF-8.", code="UNSUPPORTED") from None


def _exchange_key(form: Form) -> str:
    """Whose exchange this is, for the counters: the (unverified) client id of the token."""
    raw = (form.get("access_token") or [""])[0]
    try:
        claims = jwt.decode(raw, options={"verify_signature": False})
    except jwt.PyJWTError:
        return "invalid"
    return str(claims.get("appid") or claims.get("azp") or claims.get("oid") or "unknown")


def _token_key(form: Form) -> str:
    try:
        return scope_key(parse_scopes(form.get("scope") or []))
    except ApiError:
        return "invalid"


class TokenApp(JsonApp):
    """ASGI app of the ACR-compatible token service."""

    log = log

    def __init__(self, service: DevRegistryService, *, gate: RequestGate | None = None) -> None:
        self._service = service
        self._gate = gate

    def render_error(self, exc: ApiError) -> Response:
        return _errors(exc.status, exc.code, exc.message, exc.headers)

    def internal_error(self, request_id: str) -> ApiError:
        return ApiError(
            f"The token service hit an internal error. Quote request id {request_id}.",
            code="UNKNOWN",
        )

    def _gate_hit(self, target: str, key: str) -> Response | None:
        if self._gate is None:
            return None
        fault = self._gate.hit(target, key)
        return _fault(fault) if fault is not None else None

    async def handle(self, request: Request) -> Response:
        path, method = request.url.path.rstrip("/"), request.method
        if path == EXCHANGE_PATH:
            if method != "POST":
                return _errors(405, "UNSUPPORTED", "Use POST.", {"Allow": "POST"})
            form = await _form(request)
            faulted = self._gate_hit("exchange", _exchange_key(form))
            if faulted is not None:
                return faulted
            return _json(await run_in_threadpool(self._service.exchange, form))
        if path == TOKEN_PATH:
            if method == "GET":
                form = parse_qs(request.url.query, keep_blank_values=True)
            elif method == "POST":
                form = await _form(request)
            else:
                return _errors(405, "UNSUPPORTED", "Use GET or POST.", {"Allow": "GET, POST"})
            faulted = self._gate_hit("token", _token_key(form))
            if faulted is not None:
                return faulted
            authorization = request.headers.get("authorization")
            body = await run_in_threadpool(self._service.token, form, authorization)
            return _json(body)
        raise NotFoundError("Not found.", code="NOT_FOUND")
