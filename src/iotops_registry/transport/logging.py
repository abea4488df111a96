"""``LoggingTransport``: one debug line per attempt, with every secret taken out.

Redacted: ``Authorization``, ``Proxy-Authorization``, cookies; every query value except a
short allowlist of harmless paging and protocol parameters (signed blob URLs carry their
signature in the query, upload URLs their state); the same for URLs in ``Location``.
Bodies are never logged. Nothing is formatted unless debug logging is on.
"""

from __future__ import annotations

import logging
import re
import time
from urllib.parse import parse_qsl, urlencode

import httpx

__all__ = ["LoggingTransport", "install_httpx_redaction", "redact_headers", "redact_url"]

log = logging.getLogger("iotops_registry.transport")

REDACTED = "REDACTED"
_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
_URL_HEADERS = frozenset({"location", "content-location"})
_LINK_TARGET = re.compile(r"<([^>]*)>")
_PUBLIC_PARAMS = frozenset(
    {"n", "last", "digest", "mount", "from", "service", "scope", "artifacttype", "orderby"}
)


def redact_url(url: httpx.URL | str) -> str:
    """The URL with userinfo dropped and non-allowlisted query values replaced."""
    url = httpx.URL(url)
    query = url.query.decode("ascii", "replace")
    params = [
        (key, value if key.lower() in _PUBLIC_PARAMS else REDACTED)
        for key, value in parse_qsl(query, keep_blank_values=True)
    ]
    clean = url.copy_with(username=None, password=None, query=None)
    return f"{clean}?{urlencode(params, safe=':/,*')}" if params else str(clean)


def _safe_redact(value: str) -> str:
    try:
        return redact_url(value)
    except (httpx.InvalidURL, UnicodeError):
        return REDACTED


def redact_headers(headers: httpx.Headers) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in headers.multi_items():
        lower = name.lower()
        if lower in _SECRET_HEADERS:
            scheme = value.split(" ", 1)[0] if " " in value else ""
            value = f"{scheme} {REDACTED}".strip()
        elif lower in _URL_HEADERS:
            value = _safe_redact(value)
        elif lower == "link":
            value = _LINK_TARGET.sub(lambda m: f"<{_safe_redact(m.group(1))}>", value)
        out[lower] = value
    return out


class _RedactHttpxUrls(logging.Filter):
    """httpx logs ``HTTP Request: GET <full URL>`` at INFO, query string and all: a signed
    blob URL would end up in the logs. Rewrite URL arguments before anything formats them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(a, httpx.URL) for a in record.args):
            record.args = tuple(
                redact_url(a) if isinstance(a, httpx.URL) else a for a in record.args
            )
        return True


_HTTPX_FILTER = _RedactHttpxUrls()


def install_httpx_redaction() -> None:
    """Redact URLs in httpx's own request log (idempotent; affects the ``httpx`` logger)."""
    logger = logging.getLogger("httpx")
    if _HTTPX_FILTER not in logger.filters:
        logger.addFilter(_HTTPX_FILTER)


class LoggingTransport(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport, logger: logging.Logger = log) -> None:
        self.inner = inner
        self.log = logger

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self.log.isEnabledFor(logging.DEBUG):
            return await self.inner.handle_async_request(request)
        start = time.perf_counter()
        self.log.debug(
            "%s %s %s", request.method, redact_url(request.url), redact_headers(request.headers)
        )
        try:
            response = await self.inner.handle_async_request(request)
        except httpx.TransportError as exc:
            self.log.debug(
                "%s %s failed: %s", request.method, redact_url(request.url), type(exc).__name__
            )
            raise
        self.log.debug(
            "%s %s -> %d in %.1f ms %s",
            request.method,
            redact_url(request.url),
            response.status_code,
            (time.perf_counter() - start) * 1000,
            redact_headers(response.headers),
        )
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()
