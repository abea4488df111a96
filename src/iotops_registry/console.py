"""The server's console: what ``iotops serve`` logs at each level.

At the default level (info) the console shows the start-up banner, one line per request the
server answered (on any of its listeners), and warnings and errors. The libraries' own
chatter stays out: every outgoing httpx request, azure-core's header dumps, Alembic's
migration steps, and uvicorn's "Started server process" once per listener. ``--log-level
debug`` lets all of it through (still redacted: see ``transport.logging``).

The access line never shows a query value outside a short allowlist (a sign-in URL carries
its single-use token in the query), and never a header or a body.
"""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode

__all__ = ["ACCESS_LOGGER", "QUIET_LOGGERS", "access_logged", "configure_logging"]

ACCESS_LOGGER = "iotops_registry.access"
# Libraries that log every request they send (or every step they take) at INFO.
QUIET_LOGGERS = ("httpx", "httpcore", "azure", "msal", "alembic", "urllib3", "hpack")
# Query parameters whose values are safe and useful in an access line.
_PUBLIC_PARAMS = frozenset(
    {"api-version", "$top", "$expand", "$filter", "force", "fresh", "maxresults", "n", "last"}
)
_MAX_PATH = 300
# uvicorn says these once per listener; the server has several on one process.
_ONCE_PER_PROCESS = (
    "Started server process",
    "Finished server process",
    "Shutting down",
    "Waiting for application",
    "Waiting for connections to close",
    "Application startup complete",
    "Application shutdown complete",
)

log = logging.getLogger(ACCESS_LOGGER)


class _OncePerProcess(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self._seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        record.name = "uvicorn"  # "uvicorn.error" is only where uvicorn files its news
        template = str(record.msg)
        for prefix in _ONCE_PER_PROCESS:
            if template.startswith(prefix):
                if prefix in self._seen:
                    return False
                self._seen.add(prefix)
        return True


def configure_logging(level: str) -> None:
    """Set up the console for ``iotops serve --log-level level``."""
    numeric = logging.getLevelName(level.upper())
    logging.basicConfig(
        level=numeric, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True
    )
    quiet = numeric if numeric == logging.DEBUG else max(numeric, logging.WARNING)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(quiet)
    uvicorn_error = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _OncePerProcess) for f in uvicorn_error.filters):
        uvicorn_error.addFilter(_OncePerProcess())


def _shown_target(scope: dict[str, Any]) -> str:
    path = str(scope.get("path") or "/")
    if len(path) > _MAX_PATH:
        path = path[:_MAX_PATH] + "…"
    raw = scope.get("query_string") or b""
    if not raw:
        return path
    params = [
        (key, value if key.lower() in _PUBLIC_PARAMS else "REDACTED")
        for key, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True)
    ]
    return f"{path}?{urlencode(params, safe='$:,')}" if params else path


class _AccessLog:
    """ASGI middleware: one INFO line per answered HTTP request, when the response ends."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 0

        async def send_and_watch(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_watch)
        finally:
            server = scope.get("server") or ("", 0)
            log.info(
                "%s:%s %s %s %s %.1f ms",
                server[0],
                server[1],
                scope.get("method", "-"),
                _shown_target(scope),
                status or "-",
                (time.perf_counter() - start) * 1000,
            )


def access_logged(app: Any) -> Any:
    """``app`` with an access line per request, or ``app`` itself when INFO is off (the
    benchmarks run at warning level and pay nothing)."""
    if not log.isEnabledFor(logging.INFO):
        return app
    return _AccessLog(app)
