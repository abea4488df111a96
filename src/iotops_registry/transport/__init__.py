"""HOW a registry is talked to: the HTTP plumbing under ``remote``, on httpx.

Layers (``stack.build_transport`` composes them, outermost first)::

    httpx.AsyncClient(auth=RegistryAuth)      credentials per request, from challenges
      └─ RetryTransport                       429/502/503/504 and lost connections
          └─ LoggingTransport                 one redacted debug line per attempt
              └─ HTTP11Transport              httpcore pool over netio.AsyncioBackend;
                                              large blob GETs: bulk.send_bulk

The handshake (written down here once; ``auth.RegistryAuth`` implements it):

1. **Ping, or learn on first contact.** ``GET /v2/`` (``ping.ping``) or any first request
   goes out without credentials. 200 → the registry is open; nothing more to do.
2. **401 with ``WWW-Authenticate``** → ``challenge.select_challenge`` picks Bearer (with a
   realm) over Basic. The challenge (scheme, realm, service) is remembered for the client.
3. **Basic** → ``authenticator.authorization(challenge)`` gives a username and password;
   they go to the registry itself on this and every later request.
4. **Bearer** → scopes come from the request (``scopes.SCOPES_EXTENSION``, set by
   ``remote``), merged with the challenge's. The token cache is keyed by
   (registry, ``authenticator.cache_key``, scopes). On a miss, one fetch per key runs:
   a. ``realm.RealmPolicy`` checks the realm *before* the authenticator runs: credentials
      only to the registry's host or ``allowed_realm_hosts``; HTTPS, or HTTP on loopback;
   b. the authenticator returns an ``AuthConfig``;
   c. ``token_fetch.fetch_token``: ``registry_token`` is used as is; ``identity_token`` →
      OAuth2 ``POST realm`` (``grant_type=refresh_token``); else ``GET realm?service&scope``
      with Basic (username/password) or anonymously;
   d. the token is cached until ``min(expires_in, JWT exp)`` minus a skew.
5. **Resend** with ``Authorization: Bearer <token>``. Later requests with cached scopes
   carry the token from the start: steady traffic pays no 401 round trip.
6. **401 again**: a token that came from the cache is dropped and fetched once more, then
   the request is resent once; a 401 to just-fetched credentials is returned to the caller.
7. **Redirects** (blob downloads to storage) are followed by httpx, which drops
   ``Authorization`` when the origin changes; a 401 from another host is never treated as
   the registry's challenge.
"""

from __future__ import annotations

from ..errors import RegistryDiagnostic
from ..netutil import retry_after
from .auth import RegistryAuth
from .backoff import NO_RETRY, RetryPolicy
from .body import FileBody, raw_chunks, read_bounded
from .bulk import BULK_EXTENSION
from .challenge import parse_challenges, select_challenge
from .failures import parse_diagnostics, raise_for_status, unreachable
from .http import HTTP11Transport
from .logging import LoggingTransport, install_httpx_redaction, redact_headers, redact_url
from .netio import AsyncioBackend
from .ping import ping
from .realm import RealmPolicy
from .retry import RetryTransport
from .scopes import CATALOG, SCOPES_EXTENSION, merge_scopes, pull, push, request_scopes
from .stack import build_transport, ssl_context_for
from .token_cache import TokenCache, TokenKey
from .token_fetch import fetch_token

__all__ = [
    "BULK_EXTENSION",
    "CATALOG",
    "NO_RETRY",
    "SCOPES_EXTENSION",
    "AsyncioBackend",
    "FileBody",
    "HTTP11Transport",
    "LoggingTransport",
    "RealmPolicy",
    "RegistryAuth",
    "RegistryDiagnostic",
    "RetryPolicy",
    "RetryTransport",
    "TokenCache",
    "TokenKey",
    "build_transport",
    "fetch_token",
    "install_httpx_redaction",
    "merge_scopes",
    "parse_challenges",
    "parse_diagnostics",
    "ping",
    "pull",
    "push",
    "raise_for_status",
    "raw_chunks",
    "read_bounded",
    "redact_headers",
    "redact_url",
    "request_scopes",
    "retry_after",
    "select_challenge",
    "ssl_context_for",
    "unreachable",
]
