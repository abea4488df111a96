"""The small set of ASGI helpers every HTTP surface of ours uses: the ARM API, the embedded
vault, the identity admin routes and the development registry's token service.

- :class:`JsonApp`: one request's life (request id, the handler, error rendering, failure
  logging) for an app that answers JSON. Subclasses give ``handle`` and how an error looks on
  their wire (ARM's envelope, Key Vault's, Distribution's).
- :func:`read_body` / :func:`read_json`: request bodies read with a size cap (413, also on a
  declared ``Content-Length``), a content-type check (415) and strict JSON (400; ``NaN`` and
  ``Infinity`` are not JSON).
- :func:`log_failure`: an unexpected exception is logged with its types and frames, never its
  message, which could quote request data or a secret.
"""

from __future__ import annotations

import json
import logging
import traceback
import uuid
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from .errors import ApiError, InvalidRequestError, PayloadTooLargeError, UnsupportedMediaTypeError
from .netutil import read_bounded

__all__ = [
    "DEFAULT_MAX_BODY",
    "JsonApp",
    "json_response",
    "log_failure",
    "read_body",
    "read_json",
]

DEFAULT_MAX_BODY = 256 * 1024
_JSON_TYPES = ("application/json", "text/json")


def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None, *, media_type: str = ""
) -> Response:
    """``body`` as compact JSON (text is sent as is: documents the store already holds)."""
    text = body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))
    return Response(
        text, status_code=status, media_type=media_type or "application/json", headers=headers
    )


def log_failure(
    log: logging.Logger, exc: BaseException, method: str, path: str, request_id: str
) -> None:
    """Where an unexpected error happened: exception types and frames, never messages."""
    lines: list[str] = []
    seen: BaseException | None = exc
    depth = 0
    while seen is not None and depth < 8:
        lines.append(f"{type(seen).__module__}.{type(seen).__qualname__}\n")
        lines.extend(traceback.format_tb(seen.__traceback__))
        seen = seen.__cause__ or seen.__context__
        depth += 1
    log.error(
        "unhandled error in %s %s (request %s):\n%s", method, path[:200], request_id, "".join(lines)
    )


async def read_body(
    request: Request,
    limit: int,
    *,
    too_large: Callable[[int], ApiError] | None = None,
) -> bytes:
    """The body, at most ``limit`` bytes (413 beyond, before reading when it is declared)."""

    def refuse() -> ApiError:
        if too_large is not None:
            return too_large(limit)
        return PayloadTooLargeError(f"The request body is larger than the limit of {limit} bytes.")

    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise refuse()
    raw, more = await read_bounded(request.stream(), limit)
    if more:
        raise refuse()
    return raw


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


async def read_json(
    request: Request,
    limit: int = DEFAULT_MAX_BODY,
    *,
    optional: bool = False,
    invalid: Callable[[str], ApiError] | None = None,
    too_large: Callable[[int], ApiError] | None = None,
    decoder_detail: bool = True,
) -> dict[str, Any]:
    """A JSON object body. ``optional``: an empty body is ``{}``. ``invalid`` makes the 400s
    (default: ARM's ``InvalidRequestContent``); ``decoder_detail`` adds the decoder's position
    (it never quotes the body)."""

    def bad(message: str) -> ApiError:
        if invalid is not None:
            return invalid(message)
        return InvalidRequestError(message, code="InvalidRequestContent")

    ctype = request.headers.get("content-type", "application/json").split(";")[0].strip()
    if ctype and ctype.lower() not in _JSON_TYPES and not ctype.lower().endswith("+json"):
        raise UnsupportedMediaTypeError(
            f"Unsupported content type '{ctype[:60]}'; send application/json.",
            code="UnsupportedMediaType",
        )
    raw = await read_body(request, limit, too_large=too_large)
    if not raw.strip():
        if optional:
            return {}
        raise bad("The request body is empty.")
    try:
        data = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        detail = str(exc) if decoder_detail and isinstance(exc, json.JSONDecodeError) else ""
        raise bad(
            f"The request body is not valid JSON: {detail[:120]}."
            if detail
            else "The request body is not valid JSON."
        ) from None
    if not isinstance(data, dict):
        raise bad("The request body must be a JSON object.")
    return data


class JsonApp:
    """Base of an ASGI app that answers JSON: one request id per request, echoed as
    ``x-ms-request-id`` (and ``x-ms-client-request-id`` when the client sent one), every
    :class:`ApiError` rendered by :meth:`render_error`, anything else logged by
    :func:`log_failure` and answered with :meth:`internal_error`."""

    log: logging.Logger = logging.getLogger("iotops_registry.http")
    request_id_headers: tuple[bytes, ...] = (b"x-ms-request-id",)

    async def handle(self, request: Request) -> Response:
        raise NotImplementedError

    def render_error(self, exc: ApiError) -> Response:
        return json_response(exc.envelope(), exc.status, exc.headers)

    def internal_error(self, request_id: str) -> ApiError:
        return ApiError(f"The server hit an internal error. Quote request id {request_id}.")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        request_id = str(uuid.uuid4())
        try:
            response = await self.handle(request)
        except ApiError as exc:
            response = self.render_error(exc)
        except Exception as exc:  # a bug: where it happened, for us; a request id, for them
            log_failure(self.log, exc, request.method, scope["path"], request_id)
            response = self.render_error(self.internal_error(request_id))
        rid = request_id.encode()
        # Appended to the raw list: handlers never set these names, and MutableHeaders would
        # rescan the list for every one of them.
        response.raw_headers.extend((name, rid) for name in self.request_id_headers)
        client_request_id = request.headers.get("x-ms-client-request-id")
        if client_request_id:
            response.raw_headers.append(
                (b"x-ms-client-request-id", client_request_id[:128].encode("latin-1"))
            )
        if self.log.isEnabledFor(logging.DEBUG):
            self.log.debug("%s %s -> %s", request.method, scope["path"][:200], response.status_code)
        await response(scope, receive, send)
