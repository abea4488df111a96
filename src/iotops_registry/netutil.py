"""Small network helpers shared by every layer: host parsing (IPv6 literals included), the one
loopback rule, ``Retry-After`` and bounded reads. Standard library only, so the lowest layers
(``authn``, ``transport``, ``domain``) can use it; nothing of ours is imported here.

Hosts come in three shapes, all handled here and nowhere else:

- ``name``, ``name:port``, ``[v6]``, ``[v6]:port`` and a bare ``v6`` (a *host-port*);
- a registry endpoint's ``host``: a host-port with an optional ``/path/prefix``;
- a URL's host as ``urllib``/httpx give it: no brackets, no port.
"""

from __future__ import annotations

import email.utils
import ipaddress
from collections.abc import AsyncIterable

__all__ = [
    "format_host_port",
    "is_loopback",
    "read_bounded",
    "retry_after",
    "split_endpoint_host",
    "split_host_port",
]


def split_host_port(hostport: str) -> tuple[str, int | None]:
    """``name[:port]``, ``[v6][:port]`` or a bare ``v6`` → (host without brackets, port or
    ``None``). The host keeps its case; a port that is not a number raises ``ValueError``."""
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            raise ValueError(f"unterminated IPv6 literal in {hostport[:80]!r}")
        host, rest = hostport[1:end], hostport[end + 1 :]
        if not rest:
            return host, None
        if not rest.startswith(":"):
            raise ValueError(f"only ':port' may follow an IPv6 literal: {hostport[:80]!r}")
        return host, _port(rest[1:])
    if hostport.count(":") > 1:
        return hostport, None  # a bare IPv6 address: it cannot carry a port
    host, sep, port = hostport.partition(":")
    return host, (_port(port) if sep else None)


def _port(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) < 65536:
        raise ValueError(f"invalid port {text[:10]!r}")
    return int(text)


def split_endpoint_host(host: str) -> tuple[str, int | None, str]:
    """A registry endpoint's ``host`` (``name[:port][/prefix]``) → (host, port, prefix)."""
    hostport, _, prefix = host.partition("/")
    name, port = split_host_port(hostport)
    return name, port, prefix


def format_host_port(host: str, port: int | None = None) -> str:
    """The inverse of :func:`split_host_port`: brackets around an IPv6 address."""
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return shown if port is None else f"{shown}:{port}"


def is_loopback(host: str) -> bool:
    """``localhost``, 127.0.0.0/8 or ``::1``: the only hosts plain HTTP is allowed for.

    ``host`` may be any of the shapes above (with a port, a path prefix or brackets). Other
    names (``*.localhost`` included) are not trusted to resolve to this machine.
    """
    try:
        name, _, _ = split_endpoint_host(host.strip())
    except ValueError:
        return False
    name = name.lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def retry_after(value: str | None, now: float) -> float | None:
    """``Retry-After`` in seconds from ``now`` (delta-seconds or an HTTP date), or ``None``
    when absent or unreadable. A date in the past is 0."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, float(when.timestamp()) - now)


async def read_bounded(chunks: AsyncIterable[bytes], limit: int) -> tuple[bytes, bool]:
    """Up to ``limit`` bytes from ``chunks``, and whether there was more (then left unread).

    For bodies a peer controls: token and error responses, request bodies of our servers.
    """
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        if size + len(chunk) > limit:
            parts.append(chunk[: limit - size])
            return b"".join(parts), True
        parts.append(chunk)
        size += len(chunk)
    return b"".join(parts), False
