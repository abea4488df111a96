"""The portal's pages: ``/``, sign-in and sign-out under ``/-/``, and static files."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ..api.responses import error_response
from ..domain import auth_methods
from ..errors import ForbiddenError, SigninError
from .gateway import check_same_origin, session_id_from_cookie
from .headers import security_headers
from .sessions import SESSION_COOKIE, Session

if TYPE_CHECKING:
    from .portal import Portal

__all__ = ["PortalViews"]

TEMPLATES_DIR = Path(__file__).parent / "templates"

_REFUSED = {
    "expired": "This sign-in link has expired.",
    "used": "This sign-in link has already been used. Each link works once.",
    "invalid": "This sign-in link is not valid for this server.",
}


def _no_store(headers: dict[str, str]) -> dict[str, str]:
    headers["Cache-Control"] = "no-store"
    return headers


class PortalViews:
    def __init__(self, portal: Portal) -> None:
        self.portal = portal
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES_DIR),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.globals["static"] = portal.assets.url

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/", self.index),
            Route("/catalog/graphs", self.graph_catalog),
            Route("/catalog/graphs/{entry:int}", self.graph_catalog),
            Route("/catalog/connectors", self.connector_catalog),
            Route("/catalog/connectors/{entry:int}", self.connector_catalog),
            Route("/-/signin", self.signin),
            Route("/-/signin-required", self.signin_required),
            Route("/-/signed-out", self.signed_out),
            Route("/-/signout", self.signout, methods=["POST"]),
            Route("/-/static/{name}", self.portal.assets.serve),
        ]

    # --- helpers -------------------------------------------------------------------------

    def _session(self, request: Request) -> Session | None:
        return self.portal.sessions.get(session_id_from_cookie(request.headers.get("cookie")))

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = self.env.get_template(template).render(**context)
        return HTMLResponse(html, status_code=status, headers=_no_store(security_headers()))

    def _message(self, title: str, lead: str, *, status: int = 200, **extra: Any) -> Response:
        return self.render("message.html", status, title=title, lead=lead, **extra)

    @staticmethod
    def _redirect(url: str) -> RedirectResponse:
        return RedirectResponse(url, status_code=303, headers=_no_store(security_headers()))

    # --- pages ---------------------------------------------------------------------------

    async def index(self, request: Request) -> Response:
        session = self._session(request)
        if session is None:
            return self._redirect("/-/signin-required")
        return self.render(
            "index.html",
            csrf_token=session.csrf_token,
            user=session.principal.display_name,
            subscription=self.portal.default_subscription or "",
            api_version=self.portal.api_version,
            methods=auth_methods.portal_table(),
            page="endpoints",
        )

    async def graph_catalog(self, request: Request) -> Response:
        return self._catalog(request, "graphs", "Graph catalog")

    async def connector_catalog(self, request: Request) -> Response:
        return self._catalog(request, "connectors", "Connector catalog")

    def _catalog(self, request: Request, collection: str, title: str) -> Response:
        """The catalog pages: a list with search, filter chips and paging, each endpoint's
        sync state, and one entry's detail (``/catalog/graphs/{entry}``)."""
        session = self._session(request)
        if session is None:
            return self._redirect("/-/signin-required")
        return self.render(
            "catalog.html",
            csrf_token=session.csrf_token,
            user=session.principal.display_name,
            subscription=self.portal.default_subscription or "",
            api_version=self.portal.api_version,
            collection=collection,
            title=title,
            entry=str(request.path_params.get("entry", "")),
            page=collection,
        )

    async def signin(self, request: Request) -> Response:
        code = request.query_params.get("token")
        if not code:
            if self._session(request) is not None:
                return self._redirect("/")
            return self._redirect("/-/signin-required")
        try:
            principal = self.portal.codes.redeem(code)
        except SigninError as exc:
            return self._message(
                "Sign-in link refused", _REFUSED[exc.reason], status=401, show_help=True
            )
        previous = session_id_from_cookie(request.headers.get("cookie"))
        if previous:
            self.portal.sessions.delete(previous)
        session = self.portal.sessions.create(principal)
        if request.headers.get("sec-fetch-site") == "cross-site":
            # A SameSite=Strict cookie is not sent on a redirect that began on another site;
            # a same-origin link click is, so offer one.
            response: Response = self._message(
                "Signed in", f"You are signed in as {principal.display_name}.", continue_link=True
            )
        else:
            response = self._redirect("/")
        response.set_cookie(
            SESSION_COOKIE,
            session.id,
            max_age=int(self.portal.sessions.lifetime),
            path="/",
            secure=True,
            httponly=True,
            samesite="strict",
        )
        return response

    async def signin_required(self, request: Request) -> Response:
        return self._message(
            "Sign in to the registry endpoints portal",
            "You need a sign-in link to use the portal.",
            show_help=True,
        )

    async def signed_out(self, request: Request) -> Response:
        return self._message("Signed out", "You are signed out of the portal.", show_help=True)

    async def signout(self, request: Request) -> Response:
        session = self._session(request)
        if session is not None:
            headers = {k.lower(): v for k, v in request.headers.items()}
            problem = check_same_origin(request.scope, headers, session)
            if problem is not None:
                return error_response(ForbiddenError(problem, code="CsrfCheckFailed"))
            self.portal.sessions.delete(session.id)
        response = Response(status_code=204, headers=_no_store(security_headers()))
        response.delete_cookie(
            SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="strict"
        )
        return response
