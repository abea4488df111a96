"""Semantic versions as the catalog sorts and filters them: a sortable key, and ranges
(``>=1.0.0 <2.0.0``, ``^1.2``, ``~1.2.3``, ``1.x``, ``1.2.3``) as key bounds, so the store
compares strings in SQL instead of parsing versions per row."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import InvalidRequestError

__all__ = ["VersionRange", "parse_range", "parse_version", "version_key"]

_VERSION = re.compile(
    r"^v?(\d{1,8})(?:\.(\d{1,8}))?(?:\.(\d{1,8}))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$"
)
# Keys: "MMMMMMMM.mmmmmmmm.pppppppp.R<pre>" where R is 1 for a release, 0 for a prerelease,
# so a prerelease sorts before its release. A string that is no version sorts first.
_NOT_A_VERSION = "0"


def parse_version(text: str) -> tuple[int, int, int, str] | None:
    match = _VERSION.match(text.strip()) if text else None
    if match is None:
        return None
    major, minor, patch, pre = match.groups()
    return int(major), int(minor or 0), int(patch or 0), pre or ""


def _key(major: int, minor: int, patch: int, pre: str = "", release: bool = True) -> str:
    return f"{major:08d}.{minor:08d}.{patch:08d}.{'1' if release else '0' + pre}"


def version_key(text: str) -> str:
    """The sortable key of a version (a non-version sorts before every version)."""
    parsed = parse_version(text)
    if parsed is None:
        return _NOT_A_VERSION
    major, minor, patch, pre = parsed
    return _key(major, minor, patch, pre, release=not pre)


@dataclass(frozen=True)
class VersionRange:
    """``low <= key < high`` (either bound may be open)."""

    low: str | None = None
    high: str | None = None
    low_inclusive: bool = True

    def contains(self, key: str) -> bool:
        if self.low is not None and (
                key < self.low or (key == self.low and not self.low_inclusive)):
            return False
        return self.high is None or key < self.high


def _bad(text: str) -> InvalidRequestError:
    return InvalidRequestError(
        f"'{text}' is not a version range: use e.g. '>=1.0.0 <2.0.0', '^1.2', '~1.2.3', "
        "'1.x' or '1.2.3'.", code="InvalidVersionRange", target="versionRange")


def _partial(text: str) -> tuple[int, int | None, int | None]:
    parts = text.removeprefix("v").split(".")
    if not 1 <= len(parts) <= 3:
        raise ValueError(text)
    nums: list[int | None] = []
    for part in parts:
        if part in ("x", "X", "*"):
            nums.append(None)
        elif part.isdigit() and len(part) <= 8:
            nums.append(int(part))
        else:
            raise ValueError(text)
    while len(nums) < 3:
        nums.append(None)
    major = nums[0]
    if major is None:
        raise ValueError(text)
    return major, nums[1], nums[2]


def _next(major: int, minor: int | None, patch: int | None) -> str:
    """The first version after the partial version ``major[.minor[.patch]]``."""
    if minor is None:
        return _key(major + 1, 0, 0, release=False)
    if patch is None:
        return _key(major, minor + 1, 0, release=False)
    return _key(major, minor, patch + 1, release=False)


def parse_range(text: str) -> VersionRange:
    text = text.strip()
    if not text or len(text) > 100:
        raise _bad(text)
    low: str | None = None
    high: str | None = None
    low_inclusive = True
    try:
        for term in text.replace(",", " ").split():
            op = re.match(r"^(>=|<=|>|<|=|\^|~)?(.*)$", term)
            assert op is not None
            sign, rest = op.group(1) or "", op.group(2)
            major, minor, patch = _partial(rest)
            floor = _key(major, minor or 0, patch or 0, release=False)
            exact = _key(major, minor or 0, patch or 0)
            if sign in ("", "="):
                low, high = floor, _next(major, minor, patch)
            elif sign == "^":
                low = floor
                if major > 0 or minor is None:
                    high = _key(major + 1, 0, 0, release=False)
                elif minor > 0 or patch is None:
                    high = _key(0, minor + 1, 0, release=False)
                else:
                    high = _key(0, 0, (patch or 0) + 1, release=False)
            elif sign == "~":
                low = floor
                high = _next(major, minor if minor is not None else None, None) \
                    if minor is not None else _next(major, None, None)
            elif sign == ">=":
                low = exact if minor is not None and patch is not None else floor
            elif sign == ">":
                low, low_inclusive = (exact, False) if patch is not None else (
                    _next(major, minor, patch), True)
            elif sign == "<":
                high = floor
            elif sign == "<=":
                high = _next(major, minor, patch) if patch is None else _key(
                    major, minor or 0, patch + 1, release=False)
    except (ValueError, AssertionError):
        raise _bad(text) from None
    return VersionRange(low, high, low_inclusive)
