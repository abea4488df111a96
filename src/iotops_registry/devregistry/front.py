"""The development registry's one origin, laid out as Azure Container Registry's is.

::

    https://127.0.0.1:<port>  (TLS from the project's CA; the login server)
      /oauth2/exchange, /oauth2/token  ─► TokenApp (the token service)
      /acr/v1/...                      ─► AcrMetadataApp (ACR's listing API)
      /v2, /v2/...                     ─► relayed, streamed, to the registry child
                                          (plain HTTP on a private loopback port)

ACR clients (``azure-containerregistry``, credential helpers, the IoT Operations puller) post
the exchange to the registry's own host; generic Docker-token clients follow the challenge's
realm, which names this origin too.

The relay streams both ways (a blob is never held in memory), passes ``Range``, ``HEAD``,
``Docker-Content-Digest``, ``Link`` and the registry's challenge through, and tells the
registry its public origin (``Host``, ``X-Forwarded-Proto``) so that the URLs it builds name
this origin; Locations go out relative, as ACR's do. Upload sessions get one stable URL each
(:mod:`.uploads`). Every request is
counted by kind and repository, and can be made to fail: a status for the next requests, or
an upload connection dropped after N body bytes once the registry has stored them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import AsyncIterator
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from ..errors import RegistryUnreachable
from .backend import Backend, BackendResponse, BodyCut
from .instruments import Instruments
from .uploads import UploadSessions, parse_upload_path, with_state

__all__ = ["RegistryFront", "request_kind"]

log = logging.getLogger("iotops_registry.devregistry")

# Hop-by-hop headers (RFC 9110 §7.6.1) and what the front sets itself.
_HOP = frozenset({
    b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization",
    b"proxy-connection", b"te", b"trailer", b"transfer-encoding", b"upgrade", b"host",
    b"content-length",
    b"forwarded", b"x-forwarded-for", b"x-forwarded-host", b"x-forwarded-proto",
    b"x-forwarded-port", b"x-real-ip", b"expect",
})
_RESPONSE_DROP = frozenset({
    b"connection", b"keep-alive", b"transfer-encoding", b"te", b"trailer", b"upgrade",
    b"date", b"server",
})
_AHEAD = 4  # response slices (of up to 1 MiB) read ahead of the client
_PATH = re.compile(
    r"^/v2/(?P<repo>.+?)/(?P<what>manifests|blobs|tags|referrers)(?:/(?P<rest>.*))?$"
)


def request_kind(method: str, path: str) -> tuple[str, str | None]:
    """(kind, repository) of a ``/v2/`` request, for the counters: "GET blob", "HEAD
    manifest", "PATCH upload", "GET catalog", "GET ping", ..."""
    if path in ("/v2", "/v2/"):
        return f"{method} ping", None
    if path == "/v2/_catalog":
        return f"{method} catalog", None
    found = _PATH.match(path)
    if found is None:
        return f"{method} other", None
    what, rest = found["what"], found["rest"] or ""
    if what == "blobs":
        noun = "upload" if rest == "uploads" or rest.startswith("uploads/") else "blob"
    elif what == "tags":
        noun = "tags"
    else:
        noun = what[:-1]  # manifest, referrer
    return f"{method} {noun}", found["repo"]


def _errors_body(code: str, message: str) -> bytes:
    return json.dumps({"errors": [{"code": code, "message": message, "detail": None}]}).encode()


async def _answer(
    send: Send,
    status: int,
    code: str,
    message: str,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    body = _errors_body(code, message)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"docker-distribution-api-version", b"registry/2.0"),
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


ABORT_EXTENSION = "iotops.abort"


def _drop_connection(scope: Scope) -> bool:
    """Cut the client's TCP connection at once, with no answer (the upload fault), through
    the server's ``iotops.abort`` extension (``server.serve`` adds it; ASGI has no message
    for this)."""
    abort = (scope.get("extensions") or {}).get(ABORT_EXTENSION)
    if callable(abort):
        abort()
        return True
    return False


class _Body:
    """The client's request body as an async iterator, optionally cut after N bytes."""

    def __init__(self, receive: Receive, cut_after: int | None) -> None:
        self._receive = receive
        self.cut_after = cut_after
        self.sent = 0
        self.cut = False
        self.client_gone = False
        self.finished = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while not self.finished:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                self.client_gone = True
                raise BodyCut()
            chunk: bytes = message.get("body", b"")
            more = bool(message.get("more_body", False))
            if self.cut_after is not None and self.sent + len(chunk) >= self.cut_after:
                head = chunk[: self.cut_after - self.sent]
                self.sent += len(head)
                if head:
                    yield head
                if more or len(head) < len(chunk):
                    self.cut = True
                    raise BodyCut()
            else:
                self.sent += len(chunk)
                if chunk:
                    yield chunk
            if not more:
                self.finished = True


class RegistryFront:
    """ASGI app of the development registry's one HTTPS origin."""

    def __init__(
        self,
        *,
        login_server: str,
        backend: Backend,
        token_app: Any,
        acr_app: Any,
        instruments: Instruments | None,
    ) -> None:
        self.login_server = login_server
        self.origin = f"https://{login_server}"
        self._backend = backend
        self._token_app = token_app
        self._acr_app = acr_app
        self._instruments = instruments
        self.uploads = UploadSessions()
        self._backend_origins = (
            f"http://{backend.host}:{backend.port}".encode(),
            f"http://[{backend.host}]:{backend.port}".encode(),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        if path.startswith("/oauth2/"):
            await self._token_app(scope, receive, send)
        elif path.startswith("/acr/"):
            await self._acr_app(scope, receive, send)
        elif path == "/v2" or path.startswith("/v2/"):
            await self._relay(scope, receive, send)
        else:
            await _answer(send, 404, "NOT_FOUND", "Not found: this origin serves /v2/, "
                          "/oauth2/ and /acr/v1/.")

    # --- the relay ------------------------------------------------------------------------

    def _request_headers(self, scope: Scope) -> tuple[list[tuple[bytes, bytes]], bool, bool]:
        """Headers for the registry, and whether the request has a body (and chunked)."""
        headers = [
            (b"host", self.login_server.encode()),
            (b"x-forwarded-proto", b"https"),
        ]
        length: bytes | None = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = value
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            if name not in _HOP:
                headers.append((name, value))
        has_body = chunked or (length is not None and length.strip() not in (b"", b"0"))
        if has_body and not chunked and length is not None:
            headers.append((b"content-length", length))
        elif length is not None and not has_body:
            headers.append((b"content-length", b"0"))
        return headers, has_body, chunked

    async def _relay(self, scope: Scope, receive: Receive, send: Send) -> None:
        method: str = scope["method"]
        path: str = scope["path"]
        kind, repository = request_kind(method, path)
        if self._instruments is not None:
            fault = self._instruments.registry_hit(kind, repository)
            if fault is not None:
                extra = (
                    [(b"retry-after", str(fault.retry_after).encode())]
                    if fault.retry_after is not None else []
                )
                code = "TOOMANYREQUESTS" if fault.status == 429 else "UNAVAILABLE"
                await _answer(send, fault.status, code, "Injected fault.", extra)
                return
        headers, has_body, chunked = self._request_headers(scope)
        query: bytes = scope["query_string"]
        upload = parse_upload_path(path)
        if upload is not None:
            session = self.uploads.get(*upload)
            if session is not None:
                query = with_state(query, session.state)
                refused = _out_of_order(method, scope["headers"], session.offset)
                if refused is not None:
                    await self._range_refused(send, path, session.offset or 0)
                    return
        cut_after = None
        if method == "PATCH" and upload is not None and has_body:
            # PATCH bodies go chunked, so a body that ends early (the client went away, or
            # the fault) still ends cleanly: the registry keeps what came, and says so.
            headers = [h for h in headers if h[0] != b"content-length"]
            headers.append((b"transfer-encoding", b"chunked"))
            chunked = True
            if self._instruments is not None:
                cut_after = self._instruments.upload_fault()
        elif chunked:
            headers.append((b"transfer-encoding", b"chunked"))
        body = _Body(receive, cut_after) if has_body else None
        target = scope.get("raw_path") or path.encode()
        if query:
            target = target + b"?" + query
        try:
            response = await self._backend.request(
                method, target, headers, body.__aiter__() if body is not None else None,
                chunked=chunked,
            )
        except RegistryUnreachable as exc:
            if body is not None and (body.client_gone or body.cut):
                return
            log.warning("registry front: %s", exc)
            await _answer(send, 502, "UNAVAILABLE", "The registry behind this origin did "
                          "not answer.")
            return
        try:
            headers_out = self._response_headers(method, response, upload)
            if body is not None and (body.cut or body.client_gone):
                # The registry has stored what came (its answer recorded the session's new
                # state); the client hears nothing: its connection is cut, as a network
                # failure would.
                response.close()
                if body.cut:
                    if not _drop_connection(scope):
                        raise RuntimeError("cannot drop the connection: the server offers "
                                           "no iotops.abort extension")
                    await asyncio.sleep(0)  # let the server see the connection gone
                return
            await self._stream(scope, receive, send, response, headers_out, body)
        finally:
            response.close()

    def _response_headers(
        self, method: str, response: BackendResponse, upload: tuple[str, str] | None
    ) -> list[tuple[bytes, bytes]]:
        out: list[tuple[bytes, bytes]] = []
        range_header = response.header(b"range")
        for name, value in response.headers:
            if name in _RESPONSE_DROP:
                continue
            if name == b"location":
                value = self._location(value, range_header)
            out.append((name, value))
        completed = (method == "PUT" and response.status == 201) or (
            method == "DELETE" and response.status == 204
        )
        if upload is not None and completed:
            self.uploads.forget(*upload)
        return out

    def _location(self, value: bytes, range_header: bytes | None) -> bytes:
        """Locations as ACR gives them: relative (``/v2/...``; ACR's own client joins them
        onto its endpoint), upload sessions without Distribution's ``_state``."""
        text = value.decode("latin-1")
        for origin in (*self._backend_origins, self.origin.encode()):
            if value.startswith(origin):
                text = text[len(origin):]
        stable = self.uploads.record(
            text, range_header.decode("latin-1") if range_header else None
        )
        return (stable if stable is not None else text).encode("latin-1")

    async def _range_refused(self, send: Send, path: str, offset: int) -> None:
        last = offset - 1 if offset > 0 else 0
        await _answer(
            send, 416, "BLOB_UPLOAD_INVALID",
            f"The chunk does not start where the upload stands ({offset} bytes stored).",
            [(b"range", f"0-{last}".encode()), (b"location", f"{self.origin}{path}".encode())],
        )

    async def _stream(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        response: BackendResponse,
        headers: list[tuple[bytes, bytes]],
        body: _Body | None,
    ) -> None:
        await send({"type": "http.response.start", "status": response.status,
                    "headers": headers})
        if scope["method"] == "HEAD":
            await send({"type": "http.response.body", "body": b""})
            return
        gone = asyncio.Event()
        watcher = None
        if body is None or body.finished:
            watcher = asyncio.create_task(_watch_disconnect(receive, gone))
        # Read ahead of the client by a few slices: the registry's next bytes arrive while
        # the client drains the last ones (without this the relay goes stop-and-go, and a
        # slower client loses a quarter of its throughput). Bounded: at most _AHEAD slices.
        queue: asyncio.Queue[bytes | None] = asyncio.Queue(_AHEAD)
        reader = asyncio.create_task(_read_ahead(response, queue))
        try:
            while (chunk := await queue.get()) is not None:
                if gone.is_set():
                    return  # the client left: stop reading the registry (the pool drops it)
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await reader  # raises if the registry broke off
            await send({"type": "http.response.body", "body": b""})
        finally:
            for task in (reader, watcher):
                if task is not None and not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task


async def _read_ahead(response: BackendResponse, queue: asyncio.Queue[bytes | None]) -> None:
    """The registry's body into ``queue``, then None (also after a failure, which the
    consumer then sees by awaiting this task)."""
    try:
        async for chunk in response.body():
            await queue.put(chunk)
    finally:
        await queue.put(None)


async def _watch_disconnect(receive: Receive, gone: asyncio.Event) -> None:
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            gone.set()
            return


def _out_of_order(
    method: str, headers: list[tuple[bytes, bytes]], offset: int | None
) -> bool | None:
    """True if a PATCH's ``Content-Range`` does not start at the session's offset."""
    if method != "PATCH" or offset is None:
        return None
    for name, value in headers:
        if name == b"content-range":
            start, sep, _ = value.decode("latin-1").removeprefix("bytes ").partition("-")
            if sep and start.strip().isdigit() and int(start) != offset:
                return True
    return None

