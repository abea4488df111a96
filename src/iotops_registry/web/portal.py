"""The registry endpoints portal, wired together.

How a person signs in
---------------------
``iotops serve`` prints a single-use sign-in URL, ``https://HOST:PORT/-/signin?token=CODE``;
``iotops portal-url`` prints a fresh one. ``CODE`` is a short-lived JWT from the embedded issuer
(:mod:`.signin`). Opening the URL creates a server-side session (:mod:`.sessions`) and sets its
id in a ``__Host-`` cookie, then redirects to ``/``.

How the pages call the API
--------------------------
The pages' JavaScript calls the ordinary ARM API (``/subscriptions/...?api-version=...``) with
the cookie and an ``X-CSRF-Token`` header. :class:`.gateway.SessionGateway`, wrapped around the
ARM app, checks the request is same-origin and swaps the session for a bearer token minted for
the session's user. There is no other API for the portal.

Where a real OpenID provider plugs in
-------------------------------------
The only thing a sign-in method must produce is a :class:`~iotops_registry.security.Principal`
for :meth:`SessionStore.create` and a way to get that user's ARM tokens (``tokens``). An
OpenID Connect authorization-code flow (e.g. Microsoft Entra ID) would add two routes beside
``/-/signin``:

* ``/-/signin/oidc``: redirect to the provider's ``authorization_endpoint`` (found by discovery,
  like :meth:`TrustedIssuer.openid`) with ``response_type=code``, PKCE, a ``state`` and a
  ``nonce`` kept in a short-lived cookie, and the scope ``https://management.azure.com/.default``;
* ``/-/signin/callback``: check ``state``, exchange the code at the ``token_endpoint``, verify
  the ID token (issuer, audience = client id, nonce) with the same ``TokenVerifier`` machinery,
  build the ``Principal`` from its claims, and create the session.

The session then holds the provider's access (and refresh) token, and ``tokens`` returns it
instead of minting one locally (:class:`.sessions.LocalSessionTokens` is the local version).
The API accepts those tokens when the server runs with ``--trusted-issuer``.
"""

from __future__ import annotations

from starlette.routing import BaseRoute
from starlette.types import ASGIApp

from ..api.context import SUPPORTED_API_VERSIONS
from ..security import LocalIssuer
from .assets import StaticAssets
from .gateway import SessionGateway
from .sessions import LocalSessionTokens, SessionStore, SessionTokens
from .signin import SIGNIN_LIFETIME, SigninCodes, mint_signin_code, signin_url
from .views import PortalViews

__all__ = ["Portal"]


class Portal:
    """Pages at ``/`` and ``/-/...``, and the session gateway in front of the ARM API."""

    def __init__(
        self,
        issuer: LocalIssuer,
        *,
        default_subscription: str | None = None,
        tokens: SessionTokens | None = None,
        session_lifetime: float = 8 * 3600,
        session_idle: float = 3600,
    ) -> None:
        self.issuer = issuer
        self.default_subscription = default_subscription
        self.api_version = SUPPORTED_API_VERSIONS[-1]
        self.codes = SigninCodes(issuer)
        self.sessions = SessionStore(
            tokens or LocalSessionTokens(issuer), lifetime=session_lifetime, idle=session_idle
        )
        self.assets = StaticAssets()
        self.views = PortalViews(self)

    def routes(self) -> list[BaseRoute]:
        return self.views.routes()

    def wrap_api(self, app: ASGIApp) -> ASGIApp:
        return SessionGateway(app, self.sessions)

    def signin_url(self, origin: str, *, lifetime: int = SIGNIN_LIFETIME) -> str:
        """A fresh single-use sign-in URL for the local operator."""
        return signin_url(origin, mint_signin_code(self.issuer, lifetime=lifetime))
