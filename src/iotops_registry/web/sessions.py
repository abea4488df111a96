"""Server-side portal sessions, kept in memory.

The browser holds only an opaque, random session id in a ``__Host-`` cookie (``Secure``,
``HttpOnly``, ``SameSite=Strict``, ``Path=/``). Everything else stays here: who signed in, the
session's CSRF token, and the short-lived ARM bearer token minted for that user. A restart
signs everyone out, which is the intended behaviour for a local operator console.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..security import LocalIssuer, Principal

__all__ = [
    "ARM_AUDIENCE",
    "SESSION_COOKIE",
    "LocalSessionTokens",
    "Session",
    "SessionStore",
    "SessionTokens",
]

SESSION_COOKIE = "__Host-iotops-session"
ARM_AUDIENCE = "https://management.azure.com"

# A session token: (bearer token, unix expiry).
SessionTokens = Callable[["Session"], tuple[str, float]]


@dataclass
class Session:
    id: str
    principal: Principal
    csrf_token: str
    created: float
    expires: float
    last_seen: float
    bearer: tuple[str, float] | None = field(default=None, repr=False)

    def csrf_matches(self, presented: str | None) -> bool:
        if not presented:
            return False
        return hmac.compare_digest(presented.encode(), self.csrf_token.encode())


class SessionStore:
    """Sessions by id, with an absolute lifetime and an idle timeout."""

    def __init__(
        self,
        tokens: SessionTokens,
        *,
        lifetime: float = 8 * 3600,
        idle: float = 3600,
        max_sessions: int = 1000,
    ) -> None:
        self._tokens = tokens
        self.lifetime = lifetime
        self.idle = idle
        self._max = max_sessions
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def create(self, principal: Principal) -> Session:
        now = time.time()
        session = Session(
            id=secrets.token_urlsafe(32),
            principal=principal,
            csrf_token=secrets.token_urlsafe(32),
            created=now,
            expires=now + self.lifetime,
            last_seen=now,
        )
        with self._lock:
            self._drop_stale(now)
            while len(self._sessions) >= self._max:  # the oldest session makes room
                oldest = min(self._sessions.values(), key=lambda s: s.last_seen)
                del self._sessions[oldest.id]
            self._sessions[session.id] = session
        return session

    def get(self, session_id: str | None) -> Session | None:
        if not session_id or len(session_id) > 128:
            return None
        now = time.time()
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                return None
            if session.expires < now or session.last_seen + self.idle < now:
                del self._sessions[session_id]
                return None
            session.last_seen = now
            return session

    def delete(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)

    def bearer_token(self, session: Session) -> str:
        """The session user's ARM token, minted again shortly before it expires."""
        now = time.time()
        current = session.bearer
        if current is None or current[1] - 120 < now:
            current = self._tokens(session)
            session.bearer = current
        return current[0]

    def _drop_stale(self, now: float) -> None:
        stale = [
            sid
            for sid, s in self._sessions.items()
            if s.expires < now or s.last_seen + self.idle < now
        ]
        for sid in stale:
            del self._sessions[sid]


class LocalSessionTokens:
    """ARM tokens for a session's user, minted by the embedded issuer.

    With an OpenID provider (see :mod:`iotops_registry.web.portal`) this is where the access
    token obtained by the authorization-code flow, and its refresh, would be used instead.
    """

    def __init__(self, issuer: LocalIssuer, *, lifetime: int = 900) -> None:
        self._issuer = issuer
        self._lifetime = lifetime

    def __call__(self, session: Session) -> tuple[str, float]:
        token = self._issuer.mint(
            ARM_AUDIENCE, principal=session.principal, lifetime=self._lifetime
        )
        return token, time.time() + self._lifetime
