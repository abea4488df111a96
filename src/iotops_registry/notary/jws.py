"""The JWS envelope (``application/jose+json``): flattened JSON serialization. Pure.

Written here rather than with jwcrypto or joserfc: those would still need the Notary
``crit`` names taught to them, the algorithm bound to the certificate instead of to a JWK,
strict unpadded base64url, and access to the signing input exactly as received; what is left
of JWS for one fixed serialization is a few dozen lines.

Signing input = ASCII(``protected`` + "." + ``payload``), the strings as received: nothing
is re-encoded before verifying.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from collections.abc import Callable
from typing import Any

from .algorithms import Algorithm, by_jws_name
from .envelope import Envelope, Headers, check_headers, invalid, strict_json
from .media import (
    HEADER_AUTHENTIC_SIGNING_TIME,
    HEADER_EXPIRY,
    HEADER_SIGNING_AGENT,
    HEADER_SIGNING_AGENT_LEGACY,
    HEADER_SIGNING_SCHEME,
    HEADER_SIGNING_TIME,
    HEADER_TIMESTAMP,
    JWS,
    PAYLOAD_TYPE,
)

__all__ = ["b64url", "build", "parse", "rfc3339"]

_MEMBERS = {"payload", "protected", "header", "signature"}
_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})"
)
_TIMES = (HEADER_SIGNING_TIME, HEADER_AUTHENTIC_SIGNING_TIME, HEADER_EXPIRY)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _from_b64url(text: object, what: str) -> bytes:
    # Strict: the URL-safe alphabet only, no padding, and the canonical encoding (no stray
    # trailing bits), so one signature has exactly one textual form.
    if not isinstance(text, str) or not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise invalid(f"the JWS {what} is not unpadded base64url")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64url(data) != text:
        raise invalid(f"the JWS {what} is not canonical base64url")
    return data


def _from_b64(text: object, what: str) -> bytes:
    if not isinstance(text, str):
        raise invalid(f"{what} is not a base64 string")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise invalid(f"{what} is not base64") from None


def rfc3339(value: object, name: str) -> dt.datetime:
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise invalid(f"{name} {value!r} is not an RFC 3339 time with a time zone")
    return dt.datetime.fromisoformat(value.upper().replace("Z", "+00:00"))


def parse(data: bytes) -> Envelope:
    """Decode and check a JWS envelope; the signature itself is verified by the caller."""
    doc = strict_json(data, "JWS envelope")
    if not isinstance(doc, dict) or set(doc) != _MEMBERS:
        raise invalid(
            "a JWS envelope is a flattened JSON serialization with exactly the members "
            "payload, protected, header and signature"
        )
    protected_text, payload_text = doc["protected"], doc["payload"]
    protected = strict_json(_from_b64url(protected_text, "protected header"), "protected header")
    if not isinstance(protected, dict):
        raise invalid("the JWS protected header is not a JSON object")
    header = doc["header"]
    if not isinstance(header, dict):
        raise invalid("the JWS unprotected header is not a JSON object")
    both = set(header) & set(protected)
    if both:
        raise invalid(f"header {sorted(both)[0]!r} is both protected and unprotected")
    times = {name: rfc3339(protected[name], name) for name in _TIMES if name in protected}
    headers = check_headers(
        protected,
        algorithm=by_jws_name(protected.get("alg")),
        alg_shown=protected.get("alg"),
        content_type=protected.get("cty"),
        crit=protected.get("crit"),
        times=times,
    )
    x5c = header.get("x5c")
    if not isinstance(x5c, list) or not x5c:
        raise invalid("the JWS header has no x5c certificate chain")
    certificates = tuple(_from_b64(c, "an x5c certificate") for c in x5c)
    agent = header.get(HEADER_SIGNING_AGENT, header.get(HEADER_SIGNING_AGENT_LEGACY))
    timestamp = header.get(HEADER_TIMESTAMP)
    return Envelope(
        media_type=JWS,
        headers=headers,
        signing_input=f"{protected_text}.{payload_text}".encode("ascii"),
        signature=_from_b64url(doc["signature"], "signature"),
        payload=_from_b64url(payload_text, "payload"),
        certificates=certificates,
        signing_agent=agent if isinstance(agent, str) else None,
        timestamp=_from_b64(timestamp, "the timestamp") if timestamp is not None else None,
    )


def _time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def protected_header(headers: Headers) -> dict[str, Any]:
    """The protected header notation writes (it serialises it with sorted keys)."""
    crit = [HEADER_SIGNING_SCHEME]
    out: dict[str, Any] = {
        "alg": headers.algorithm.jws,
        "cty": PAYLOAD_TYPE,
        HEADER_SIGNING_SCHEME: headers.scheme,
    }
    if headers.signing_time is not None:
        out[HEADER_SIGNING_TIME] = _time(headers.signing_time)
    if headers.authentic_signing_time is not None:
        out[HEADER_AUTHENTIC_SIGNING_TIME] = _time(headers.authentic_signing_time)
        crit.append(HEADER_AUTHENTIC_SIGNING_TIME)
    if headers.expiry is not None:
        out[HEADER_EXPIRY] = _time(headers.expiry)
        crit.append(HEADER_EXPIRY)
    out["crit"] = crit
    return dict(sorted(out.items()))


def build(
    headers: Headers,
    payload: bytes,
    certificates: list[bytes],
    sign: Callable[[Algorithm, bytes], bytes],
    signing_agent: str,
) -> bytes:
    """A JWS envelope in notation's shape: members in its order, compact JSON."""
    protected_text = b64url(json.dumps(protected_header(headers), separators=(",", ":")).encode())
    payload_text = b64url(payload)
    signature = sign(headers.algorithm, f"{protected_text}.{payload_text}".encode("ascii"))
    envelope = {
        "payload": payload_text,
        "protected": protected_text,
        "header": {
            "x5c": [base64.b64encode(c).decode("ascii") for c in certificates],
            HEADER_SIGNING_AGENT: signing_agent,
        },
        "signature": b64url(signature),
    }
    return json.dumps(envelope, separators=(",", ":")).encode()
