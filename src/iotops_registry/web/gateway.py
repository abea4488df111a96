"""Let the ARM API accept a portal session, without the API knowing about it.

The portal's JavaScript calls the same ``/subscriptions/...`` API as every other client. This
ASGI middleware wraps the ARM app: a request that carries **no** ``Authorization`` header but a
valid session cookie is checked as a same-origin request —

* ``Sec-Fetch-Site``, when the browser sends it, must be ``same-origin``;
* ``Origin``, when present, must be this server's own origin;
* ``X-CSRF-Token`` must equal the session's CSRF token (every method, reads included);

and then gets ``Authorization: Bearer <token>`` with a token minted for the session's user
(audience ``https://management.azure.com``); the cookie is removed. The API sees an ordinary
bearer token. A request that fails a check is answered ``403`` with an ARM error; a request
with an unknown or expired session goes through unchanged, so the API answers ``401``.
"""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie

from starlette.types import ASGIApp, Receive, Scope, Send

from ..api.responses import error_response
from ..errors import ForbiddenError
from .sessions import SESSION_COOKIE, Session, SessionStore

__all__ = ["CSRF_HEADER", "SessionGateway", "check_same_origin", "session_id_from_cookie"]

CSRF_HEADER = "x-csrf-token"


def session_id_from_cookie(cookie_header: str | None) -> str | None:
    if not cookie_header or SESSION_COOKIE not in cookie_header:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(cookie_header)
    except CookieError:
        return None
    morsel = jar.get(SESSION_COOKIE)
    return morsel.value if morsel is not None else None


def _own_origin(scope: Scope, headers: dict[str, str]) -> str:
    return f"{scope.get('scheme', 'https')}://{headers.get('host', '')}"


def check_same_origin(scope: Scope, headers: dict[str, str], session: Session) -> str | None:
    """``None`` when the request may use the session, else why it may not."""
    site = headers.get("sec-fetch-site")
    if site is not None and site != "same-origin":
        return f"Cross-site request refused (Sec-Fetch-Site: {site[:20]})."
    origin = headers.get("origin")
    if origin is not None and origin != _own_origin(scope, headers):
        return "Cross-origin request refused: the Origin header is not this server's origin."
    if not session.csrf_matches(headers.get(CSRF_HEADER)):
        return (
            "The request uses the portal session but lacks a valid X-CSRF-Token header. "
            "Use a bearer token, or reload the portal."
        )
    return None


def _decoded(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}


class SessionGateway:
    """ASGI middleware in front of the ARM app (see the module docstring)."""

    def __init__(self, app: ASGIApp, sessions: SessionStore) -> None:
        self.app = app
        self.sessions = sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cookie: bytes | None = None
        for key, value in scope["headers"]:
            if key == b"authorization":  # a bearer client: the cookie plays no part
                await self.app(scope, receive, send)
                return
            if key == b"cookie":
                cookie = value if cookie is None else cookie + b"; " + value
        sid = session_id_from_cookie(cookie.decode("latin-1")) if cookie else None
        session = self.sessions.get(sid)
        if session is None:
            await self.app(scope, receive, send)
            return
        headers = _decoded(scope)
        problem = check_same_origin(scope, headers, session)
        if problem is not None:
            response = error_response(ForbiddenError(problem, code="CsrfCheckFailed"))
            await response(scope, receive, send)
            return
        token = self.sessions.bearer_token(session)
        forwarded = [(k, v) for k, v in scope["headers"] if k not in (b"cookie", b"x-csrf-token")]
        forwarded.append((b"authorization", b"Bearer " + token.encode("ascii")))
        await self.app({**scope, "headers": forwarded}, receive, send)
