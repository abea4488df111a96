"""Host comparisons behind the security rules: who may receive credentials, where plain HTTP
is acceptable. Kept in one place so every rule compares hosts the same way."""

from __future__ import annotations

import ipaddress

import httpx

__all__ = ["is_loopback", "split_registry"]


def is_loopback(host: str) -> bool:
    """``localhost``, 127.0.0.0/8 or ::1 — the only hosts plain HTTP is allowed for."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def split_registry(registry: str) -> tuple[str, int | None]:
    """``host[:port]`` → (lowercase host without brackets, port or None)."""
    url = httpx.URL(f"https://{registry}")
    return url.host.lower(), url.port
