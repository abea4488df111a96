"""Read a JWT's ``exp`` without verifying it: only to know when to fetch a new one.

Registry tokens are opaque to clients, but most are JWTs, and their ``exp`` is the best
expiry hint there is. Never use these claims to make a trust decision.
"""

from __future__ import annotations

import base64
import binascii
import json

__all__ = ["unverified_expiry"]


def unverified_expiry(token: str) -> float | None:
    """The ``exp`` claim (seconds since the epoch) of a JWT, or None if it has none."""
    parts = token.split(".")
    if len(parts) != 3 or len(parts[1]) > 16384:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (ValueError, binascii.Error):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        return None
    return float(exp)
