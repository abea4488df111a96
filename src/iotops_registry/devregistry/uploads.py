"""Blob upload sessions as the front presents them: one stable URL per session.

Distribution puts the session's state (offset, HMAC) into every upload URL (``_state=``) and
refuses, and cancels, a session addressed by a stale one. A client whose connection broke
mid-PATCH only knows the URL from before that PATCH, so with Distribution alone it could
never ask where the session stands. The front therefore keeps each session's latest state
itself and hands out ``/v2/<repo>/blobs/uploads/<uuid>`` without it, as ACR does: a status
``GET`` after a drop reports what the registry really stored, and the upload resumes from
there. It also answers an out-of-order ``Content-Range`` with 416 (Distribution 2.8 ignores
the header and would append the bytes at the wrong place).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit

__all__ = ["UploadSession", "UploadSessions", "parse_upload_path", "stored_bytes"]

_MAX_SESSIONS = 4096
_UPLOAD = re.compile(r"^/v2/(?P<repo>.+)/blobs/uploads/(?P<uuid>[A-Za-z0-9._-]+)$")


def parse_upload_path(path: str) -> tuple[str, str] | None:
    """``(repository, uuid)`` of an upload session's path, else None."""
    found = _UPLOAD.match(path)
    return (found["repo"], found["uuid"]) if found else None


def stored_bytes(range_header: str | None) -> int | None:
    """Bytes a session holds, from Distribution's ``Range: 0-<last>`` ("0-0": none)."""
    if not range_header:
        return None
    start, sep, end = range_header.partition("-")
    if not sep or start != "0" or not end.isdigit():
        return None
    last = int(end)
    return last + 1 if last > 0 else 0


@dataclass
class UploadSession:
    state: str  # the registry's latest ``_state`` for this session
    offset: int | None  # bytes stored, when the registry said so


class UploadSessions:
    """Latest state per ``(repository, uuid)``; bounded (the oldest session is forgotten
    first: its client then gets the registry's own error and starts a new upload)."""

    def __init__(self, limit: int = _MAX_SESSIONS) -> None:
        self._limit = limit
        self._lock = threading.Lock()
        self._sessions: OrderedDict[tuple[str, str], UploadSession] = OrderedDict()

    def get(self, repo: str, uuid: str) -> UploadSession | None:
        with self._lock:
            return self._sessions.get((repo, uuid))

    def forget(self, repo: str, uuid: str) -> None:
        with self._lock:
            self._sessions.pop((repo, uuid), None)

    def record(self, location: str, range_header: str | None) -> str | None:
        """Remember the state in a registry ``Location``; returns it without ``_state``
        (None: not an upload URL, leave it)."""
        url = urlsplit(location)
        found = parse_upload_path(url.path)
        if found is None:
            return None
        query = parse_qsl(url.query, keep_blank_values=True)
        state = next((v for k, v in query if k == "_state"), None)
        if state is None:
            return None
        with self._lock:
            self._sessions[found] = UploadSession(state, stored_bytes(range_header))
            self._sessions.move_to_end(found)
            while len(self._sessions) > self._limit:
                self._sessions.popitem(last=False)
        rest = [(k, v) for k, v in query if k != "_state"]
        return url.path + (f"?{urlencode(rest)}" if rest else "")

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)


def with_state(query: bytes, state: str) -> bytes:
    """The request's query with ``_state`` set to the session's latest."""
    pairs = [(k, v) for k, v in parse_qsl(query.decode("latin-1"), keep_blank_values=True)
             if k != "_state"]
    pairs.append(("_state", state))
    return urlencode(pairs).encode("latin-1")
