"""Compose the transport layers once, in one place (innermost last):

``RetryTransport`` → ``LoggingTransport`` → ``HTTP11Transport`` (or httpx's own transport
when a proxy is configured, or the caller's, e.g. a ``MockTransport`` in tests).

Retry sits outside logging so that every attempt is logged; authentication sits above all
of them (it is the client's ``auth``), so a retried request keeps its credentials and a
token request goes through the same retry-and-log stack as everything else.
"""

from __future__ import annotations

import ssl
from functools import partial

import httpx

from .backoff import RetryPolicy
from .http import HTTP11Transport
from .logging import LoggingTransport
from .retry import RetryTransport

__all__ = ["build_transport", "ssl_context_for"]


def ssl_context_for(verify: ssl.SSLContext | bool) -> ssl.SSLContext:
    """The caller's context, or httpx's default (certifi roots) / an unverified one."""
    if isinstance(verify, ssl.SSLContext):
        return verify
    return httpx.create_ssl_context(verify=verify)


def build_transport(
    *,
    verify: ssl.SSLContext | bool = True,
    max_connections: int = 32,
    keepalive_expiry: float = 30.0,
    retry: RetryPolicy | None = None,
    proxy: str | None = None,
    inner: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncBaseTransport:
    if inner is None:
        if proxy is None:
            inner = HTTP11Transport(
                ssl_context=partial(ssl_context_for, verify),  # at the first TLS connection
                max_connections=max_connections,
                keepalive_expiry=keepalive_expiry,
            )
        else:
            inner = httpx.AsyncHTTPTransport(
                verify=ssl_context_for(verify),
                proxy=proxy,
                limits=httpx.Limits(
                    max_connections=max_connections,
                    max_keepalive_connections=max_connections,
                    keepalive_expiry=keepalive_expiry,
                ),
            )
    return RetryTransport(LoggingTransport(inner), retry)
