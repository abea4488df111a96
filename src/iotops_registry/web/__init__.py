"""The web portal: registry endpoint pages served at ``/`` on the ARM origin.

Server-rendered Jinja2 templates and small hand-written JavaScript that calls the same ARM
API as every other client. See :mod:`.portal` for sign-in, sessions and the API gateway.
"""

from __future__ import annotations

from .portal import Portal
from .sessions import SESSION_COOKIE
from .signin import SIGNIN_AUDIENCE, SIGNIN_LIFETIME, mint_signin_code, signin_url

__all__ = [
    "SESSION_COOKIE",
    "SIGNIN_AUDIENCE",
    "SIGNIN_LIFETIME",
    "Portal",
    "mint_signin_code",
    "signin_url",
]
