"""The envelope, format-neutral: what JWS and COSE both carry, and the header rules. Pure.

``jws`` and ``cose`` turn bytes into an :class:`Envelope` (and back); the rules that do not
depend on the encoding (critical headers, signing scheme, the times each scheme needs,
verification plugins) are checked once, here.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import SignatureVerificationFailed
from .algorithms import Algorithm
from .media import (
    CRIT_ALLOWED,
    HEADER_AUTHENTIC_SIGNING_TIME,
    HEADER_EXPIRY,
    HEADER_SIGNING_SCHEME,
    HEADER_SIGNING_TIME,
    HEADER_VERIFICATION_PLUGIN,
    HEADER_VERIFICATION_PLUGIN_MIN_VERSION,
    PAYLOAD_TYPE,
    SCHEME_SIGNING_AUTHORITY,
    SCHEME_X509,
    SIGNING_SCHEMES,
)

__all__ = ["Envelope", "Headers", "check_headers", "invalid", "strict_json"]


def invalid(message: str) -> SignatureVerificationFailed:
    return SignatureVerificationFailed(message, code="SignatureEnvelopeInvalid")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise invalid(f"JSON member {key!r} appears twice")
        out[key] = value
    return out


def strict_json(data: bytes, what: str) -> Any:
    """JSON with no duplicate members: two verifiers must never read one signed document
    two ways (Go keeps the last duplicate, other parsers the first)."""
    try:
        return json.loads(data, object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, ValueError):  # a duplicate member raises its own error
        raise invalid(f"the {what} is not JSON") from None


@dataclass(frozen=True, slots=True)
class Headers:
    """The signed (protected) attributes, decoded from either encoding."""

    algorithm: Algorithm
    scheme: str
    signing_time: dt.datetime | None = None
    authentic_signing_time: dt.datetime | None = None
    expiry: dt.datetime | None = None

    @property
    def effective_signing_time(self) -> dt.datetime | None:
        """The authentic signing time for ``signingAuthority``, else the claimed one."""
        return self.authentic_signing_time or self.signing_time


@dataclass(frozen=True, slots=True)
class Envelope:
    media_type: str
    headers: Headers
    signing_input: bytes
    """The exact bytes the signature covers (JWS signing input, COSE Sig_structure)."""
    signature: bytes
    payload: bytes
    certificates: tuple[bytes, ...]
    """DER, leaf first."""
    signing_agent: str | None = None
    timestamp: bytes | None = None
    """An RFC 3161 countersignature, carried but never checked here."""


def check_headers(
    protected: Mapping[object, object],
    *,
    algorithm: Algorithm | None,
    alg_shown: object,
    content_type: object,
    crit: object,
    times: Mapping[str, dt.datetime | None],
) -> Headers:
    """Apply the specification's protected-header rules and return the decoded headers.

    ``protected`` is the header map as decoded (its keys name what is present);
    ``times`` the decoded signing time, authentic signing time and expiry.
    """
    if algorithm is None:
        raise invalid(f"signature algorithm {alg_shown!r} is not one the specification allows")
    if content_type != PAYLOAD_TYPE:
        raise invalid(f"content type {content_type!r} is not {PAYLOAD_TYPE}")
    if not isinstance(crit, Sequence) or isinstance(crit, str | bytes) or not crit:
        raise invalid("the protected header has no 'crit' list")
    names: list[str] = []
    for name in crit:
        if not isinstance(name, str):
            raise invalid(f"critical header label {name!r} is not supported")
        if name in names:
            raise invalid(f"critical header {name!r} is listed twice")
        if name not in protected:
            raise invalid(f"critical header {name!r} is not in the protected header")
        names.append(name)
    plugin = protected.get(HEADER_VERIFICATION_PLUGIN)
    if plugin is not None or HEADER_VERIFICATION_PLUGIN_MIN_VERSION in protected:
        raise invalid(
            f"the signature needs the verification plugin {plugin!r}; plugins are not supported"
        )
    unknown = [n for n in names if n not in CRIT_ALLOWED]
    if unknown:
        raise invalid(f"critical header {unknown[0]!r} is not supported by this verifier")
    scheme = protected.get(HEADER_SIGNING_SCHEME)
    if not isinstance(scheme, str) or scheme not in SIGNING_SCHEMES:
        raise invalid(f"signing scheme {scheme!r} is not notary.x509 or its signingAuthority form")
    if HEADER_SIGNING_SCHEME not in names:
        raise invalid(f"{HEADER_SIGNING_SCHEME} must be a critical header")
    signing_time = times.get(HEADER_SIGNING_TIME)
    authentic = times.get(HEADER_AUTHENTIC_SIGNING_TIME)
    expiry = times.get(HEADER_EXPIRY)
    if expiry is not None and HEADER_EXPIRY not in names:
        raise invalid(f"{HEADER_EXPIRY} is present but not critical")
    if scheme == SCHEME_X509:
        if signing_time is None:
            raise invalid(f"{SCHEME_X509} signatures need {HEADER_SIGNING_TIME}")
        if authentic is not None:
            raise invalid(f"{HEADER_AUTHENTIC_SIGNING_TIME} is only for signingAuthority")
    if scheme == SCHEME_SIGNING_AUTHORITY and (
        authentic is None or HEADER_AUTHENTIC_SIGNING_TIME not in names
    ):
        raise invalid(
            f"{SCHEME_SIGNING_AUTHORITY} signatures need a critical "
            f"{HEADER_AUTHENTIC_SIGNING_TIME}"
        )
    headers = Headers(algorithm, scheme, signing_time, authentic, expiry)
    signed_at = headers.effective_signing_time
    if expiry is not None and signed_at is not None and expiry <= signed_at:
        raise invalid("the expiry is not later than the signing time")
    return headers
