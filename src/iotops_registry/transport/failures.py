"""Turn HTTP failures into the ``RegistryError`` tree, in one place.

Error statuses carry the registry's OCI error body (``{"errors": [{code, message,
detail}]}``, read with a 64 KiB cap); transport exceptions become
:class:`RegistryUnreachable` with the kind of failure found in the exception chain.
Messages name the method, host and path, never the query (signed URLs, upload state).
"""

from __future__ import annotations

import json
import socket
import ssl

import httpx

from ..errors import (
    RegistryAuthError,
    RegistryDiagnostic,
    RegistryHTTPError,
    RegistryNotFound,
    RegistryUnreachable,
    UnreachableKind,
)
from .body import ERROR_BODY_LIMIT, read_bounded

__all__ = ["describe", "parse_diagnostics", "raise_for_status", "unreachable"]

_DNS_HINTS = ("name or service not known", "nodename nor servname", "name resolution")


def describe(request: httpx.Request) -> str:
    """``GET host/path`` without the query string."""
    return f"{request.method} {request.url.netloc.decode()}{request.url.path}"


def parse_diagnostics(body: bytes) -> tuple[RegistryDiagnostic, ...]:
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return ()
    errors = doc.get("errors") if isinstance(doc, dict) else None
    if not isinstance(errors, list):
        return ()
    out = []
    for entry in errors[:20]:
        if isinstance(entry, dict):
            out.append(
                RegistryDiagnostic(
                    code=str(entry.get("code") or "UNKNOWN")[:100],
                    message=str(entry.get("message") or "")[:500],
                    detail=entry.get("detail"),
                )
            )
    return tuple(out)


async def raise_for_status(response: httpx.Response) -> None:
    """Raise the matching ``RegistryHTTPError`` for a 4xx/5xx response (body read, capped)."""
    status = response.status_code
    if status < 400:
        return
    body, _ = await read_bounded(response, ERROR_BODY_LIMIT)
    diagnostics = parse_diagnostics(body)
    summary = "; ".join(f"{d.code}: {d.message}" if d.message else d.code for d in diagnostics)
    message = f"{describe(response.request)}: {status}" + (f" {summary}" if summary else "")
    if status in (401, 403):
        raise RegistryAuthError(message, status=status, step="registry", errors=diagnostics)
    if status == 404:
        raise RegistryNotFound(message, status=status, errors=diagnostics)
    raise RegistryHTTPError(message, status=status, errors=diagnostics)


def _kind(exc: BaseException) -> UnreachableKind:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, socket.gaierror):
            return "dns"
        if isinstance(current, ssl.SSLError | ssl.CertificateError):
            return "tls"
        if any(hint in str(current).lower() for hint in _DNS_HINTS):
            return "dns"
        current = current.__cause__ or current.__context__
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.ProtocolError | httpx.UnsupportedProtocol):
        return "protocol"
    return "connect"


def unreachable(exc: httpx.TransportError, what: str) -> RegistryUnreachable:
    """A :class:`RegistryUnreachable` for ``exc``; ``what`` says what was being attempted."""
    kind = _kind(exc)
    reason = {
        "dns": "the host name does not resolve",
        "tls": "the TLS handshake failed",
        "timeout": "timed out",
        "protocol": "the server broke the HTTP protocol",
        "connect": "the connection failed",
    }[kind]
    # A sentence: it may be shown as is (a connection test step, a health message).
    return RegistryUnreachable(
        f"{what[:1].upper()}{what[1:]}: {reason} ({type(exc).__name__}).", kind=kind
    )
