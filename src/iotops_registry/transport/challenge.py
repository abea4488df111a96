"""Parse ``WWW-Authenticate`` (RFC 7235 §4.1, RFC 6750 §3) into :class:`Challenge` values.

A header may carry several challenges, and parameter values may be quoted strings with
commas and escapes (``scope="repository:a:pull,push"``), so splitting on commas is wrong.
This is a small scanner over ``challenge = scheme [ params ]`` lists. Unknown schemes and
token68 forms are tolerated and skipped by :func:`select_challenge`.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..authn import Challenge

__all__ = ["parse_challenges", "select_challenge"]

_TCHAR = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_MAX_HEADER = 16 * 1024


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def skip(self, chars: str) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in chars:
            self.pos += 1

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def token(self) -> str:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] in _TCHAR:
            self.pos += 1
        return self.text[start : self.pos]

    def value(self) -> str:
        if self.peek() != '"':
            return self.token()
        self.pos += 1
        out: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            self.pos += 1
            if char == "\\" and self.pos < len(self.text):
                out.append(self.text[self.pos])
                self.pos += 1
            elif char == '"':
                break
            else:
                out.append(char)
        return "".join(out)


def _build(scheme: str, params: dict[str, str]) -> Challenge:
    return Challenge(
        scheme=scheme,
        realm=params.get("realm", ""),
        service=params.get("service"),
        scope=tuple(params.get("scope", "").split()),
        error=params.get("error"),
    )


def parse_challenges(header: str) -> list[Challenge]:
    """Every challenge in one header value, in order; schemes lowercased."""
    scan = _Scanner(header[:_MAX_HEADER])
    found: list[Challenge] = []
    scheme: str | None = None
    params: dict[str, str] = {}
    while scan.pos < len(scan.text):
        scan.skip(" \t,")
        name = scan.token()
        if not name:
            scan.pos += 1  # stray character: skip it rather than loop
            continue
        scan.skip(" \t")
        if scan.peek() == "=" and scheme is not None:
            scan.pos += 1
            scan.skip(" \t")
            params[name.lower()] = scan.value()
            continue
        if scheme is not None:
            found.append(_build(scheme, params))
        scheme, params = name.lower(), {}
    if scheme is not None:
        found.append(_build(scheme, params))
    return found


def select_challenge(headers: Iterable[str]) -> Challenge | None:
    """The challenge to answer: Bearer with a realm if offered, else Basic, else None."""
    challenges = [c for header in headers for c in parse_challenges(header)]
    for challenge in challenges:
        if challenge.is_bearer and challenge.realm:
            return challenge
    for challenge in challenges:
        if challenge.is_basic:
            return challenge
    return None
