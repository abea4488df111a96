"""The COSE envelope (``application/cose``): ``COSE_Sign1_Tagged``, RFC 9052. Pure.

cbor2 does the CBOR; the COSE_Sign1 structure is handled here rather than with pycose
(last release 2023, no support for the text-labelled critical headers Notary uses, and it
would re-encode the protected header, which must be verified exactly as received).

``[protected: bstr, unprotected: map, payload: bstr, signature: bstr]`` under tag 18. The
to-be-signed bytes are ``["Signature1", protected (as received), h'', payload]``. Times are
tag-1 epoch integers. Encoding is canonical (RFC 7049 length-first key order), which is
what notation writes: the same headers give the same bytes.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Mapping
from typing import Any

import cbor2

from .algorithms import Algorithm, by_cose_id
from .envelope import Envelope, Headers, check_headers, invalid
from .media import (
    COSE,
    HEADER_AUTHENTIC_SIGNING_TIME,
    HEADER_EXPIRY,
    HEADER_SIGNING_AGENT,
    HEADER_SIGNING_AGENT_LEGACY,
    HEADER_SIGNING_SCHEME,
    HEADER_SIGNING_TIME,
    HEADER_TIMESTAMP,
    PAYLOAD_TYPE,
)

__all__ = ["build", "parse", "to_be_signed"]

SIGN1_TAG = 18
EPOCH_TAG = 1
LABEL_ALG, LABEL_CRIT, LABEL_CTY, LABEL_X5CHAIN = 1, 2, 3, 33
_TIMES = (HEADER_SIGNING_TIME, HEADER_AUTHENTIC_SIGNING_TIME, HEADER_EXPIRY)


def _decode(data: bytes, what: str) -> Any:
    """One CBOR item that is all of ``data``: no duplicate map keys, nothing after it."""
    stream = io.BytesIO(data)
    try:
        value = cbor2.CBORDecoder(
            stream, read_size=1, allow_duplicate_keys=False, max_depth=16
        ).decode()
    except (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError):
        raise invalid(f"the {what} is not valid CBOR") from None
    if stream.tell() != len(data):
        raise invalid(f"the {what} has bytes after its end")
    return value


def to_be_signed(protected: bytes, payload: bytes) -> bytes:
    return cbor2.dumps(["Signature1", protected, b"", payload])


def _time(value: object, name: str) -> dt.datetime:
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise invalid(f"{name} is not a CBOR epoch time (tag 1)")
    return value


def _chain(value: object) -> tuple[bytes, ...]:
    if isinstance(value, bytes):
        return (value,)
    if isinstance(value, list | tuple) and value and all(isinstance(c, bytes) for c in value):
        return tuple(value)
    raise invalid("the COSE x5chain header is not a certificate chain")


def parse(data: bytes) -> Envelope:
    """Decode and check a COSE_Sign1 envelope; the signature is verified by the caller."""
    item = _decode(data, "COSE envelope")
    if not isinstance(item, cbor2.CBORTag) or item.tag != SIGN1_TAG:
        raise invalid("a COSE envelope is a tagged COSE_Sign1 (CBOR tag 18)")
    value = item.value
    if not isinstance(value, list | tuple) or len(value) != 4:
        raise invalid("a COSE_Sign1 is an array of four items")
    protected_raw, unprotected, payload, signature = value
    if not isinstance(protected_raw, bytes) or not isinstance(unprotected, Mapping):
        raise invalid("the COSE_Sign1 headers are malformed")
    if not isinstance(payload, bytes) or not isinstance(signature, bytes):
        raise invalid("the COSE_Sign1 payload (not detached) and signature must be byte strings")
    protected = _decode(protected_raw, "COSE protected header") if protected_raw else {}
    if not isinstance(protected, Mapping):
        raise invalid("the COSE protected header is not a map")
    both = set(protected) & set(unprotected)
    if both:
        raise invalid(f"header {sorted(map(str, both))[0]!r} is both protected and unprotected")
    times = {name: _time(protected[name], name) for name in _TIMES if name in protected}
    headers = check_headers(
        protected,
        algorithm=by_cose_id(protected.get(LABEL_ALG)),
        alg_shown=protected.get(LABEL_ALG),
        content_type=protected.get(LABEL_CTY),
        crit=protected.get(LABEL_CRIT),
        times=times,
    )
    chain = protected.get(LABEL_X5CHAIN, unprotected.get(LABEL_X5CHAIN))
    if chain is None:
        raise invalid("the COSE envelope has no x5chain certificate chain")
    agent = unprotected.get(HEADER_SIGNING_AGENT, unprotected.get(HEADER_SIGNING_AGENT_LEGACY))
    timestamp = unprotected.get(HEADER_TIMESTAMP)
    if timestamp is not None and not isinstance(timestamp, bytes):
        raise invalid("the COSE timestamp countersignature is not a byte string")
    return Envelope(
        media_type=COSE,
        headers=headers,
        signing_input=to_be_signed(protected_raw, payload),
        signature=signature,
        payload=payload,
        certificates=_chain(chain),
        signing_agent=agent if isinstance(agent, str) else None,
        timestamp=timestamp,
    )


def _epoch(value: dt.datetime) -> cbor2.CBORTag:
    return cbor2.CBORTag(EPOCH_TAG, int(value.timestamp()))


def protected_header(headers: Headers) -> dict[object, object]:
    crit = [HEADER_SIGNING_SCHEME]
    out: dict[object, object] = {
        LABEL_ALG: headers.algorithm.cose,
        LABEL_CTY: PAYLOAD_TYPE,
        HEADER_SIGNING_SCHEME: headers.scheme,
    }
    if headers.signing_time is not None:
        out[HEADER_SIGNING_TIME] = _epoch(headers.signing_time)
    if headers.authentic_signing_time is not None:
        out[HEADER_AUTHENTIC_SIGNING_TIME] = _epoch(headers.authentic_signing_time)
        crit.append(HEADER_AUTHENTIC_SIGNING_TIME)
    if headers.expiry is not None:
        out[HEADER_EXPIRY] = _epoch(headers.expiry)
        crit.append(HEADER_EXPIRY)
    out[LABEL_CRIT] = crit
    return out


def build(
    headers: Headers,
    payload: bytes,
    certificates: list[bytes],
    sign: Callable[[Algorithm, bytes], bytes],
    signing_agent: str,
) -> bytes:
    """A ``COSE_Sign1_Tagged`` envelope in notation's shape (canonical CBOR)."""
    protected = cbor2.dumps(protected_header(headers), canonical=True)
    signature = sign(headers.algorithm, to_be_signed(protected, payload))
    unprotected = {LABEL_X5CHAIN: list(certificates), HEADER_SIGNING_AGENT: signing_agent}
    message = cbor2.CBORTag(SIGN1_TAG, [protected, unprotected, payload, signature])
    return cbor2.dumps(message, canonical=True)
