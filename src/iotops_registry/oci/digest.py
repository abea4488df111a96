"""Content digests: the ``algorithm:hex`` names every blob and manifest is addressed by.

A digest is the only thing that makes registry content trustworthy, so parsing is strict
(lowercase hex of the algorithm's exact length) and every download is hashed as it streams.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ..errors import DigestMismatch, InvalidReference

__all__ = ["ALGORITHMS", "Digest", "Hasher"]

ALGORITHMS: dict[str, int] = {"sha256": 64, "sha512": 128}
"""Supported algorithms and the length of their hex encoding."""

_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True, slots=True)
class Digest:
    """``sha256:<64 lowercase hex>`` (or sha512), validated on construction."""

    algorithm: str
    hex: str

    def __post_init__(self) -> None:
        length = ALGORITHMS.get(self.algorithm)
        if length is None:
            raise InvalidReference(f"unsupported digest algorithm {self.algorithm!r}")
        if len(self.hex) != length or not _HEX.issuperset(self.hex):
            raise InvalidReference(
                f"a {self.algorithm} digest is {length} lowercase hex characters"
            )

    @classmethod
    def parse(cls, text: str) -> Digest:
        algorithm, sep, hex_ = text.partition(":")
        if not sep:
            raise InvalidReference(f"digest {text[:80]!r} is not of the form algorithm:hex")
        return cls(algorithm, hex_)

    @classmethod
    def of(cls, data: bytes | bytearray | memoryview, algorithm: str = "sha256") -> Digest:
        """The digest of ``data``."""
        hasher = Hasher(algorithm)
        hasher.update(data)
        return hasher.digest()

    @property
    def referrers_tag(self) -> str:
        """The tag of the referrers index in the OCI 1.1 fallback ("tag schema")."""
        return f"{self.algorithm}-{self.hex}"[:128]

    def hasher(self) -> Hasher:
        """A streaming hasher of this digest's algorithm."""
        return Hasher(self.algorithm)

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"


class Hasher:
    """A streaming digest: feed chunks as they arrive, then compare with what was asked for."""

    __slots__ = ("_hash", "algorithm", "size")

    def __init__(self, algorithm: str = "sha256") -> None:
        if algorithm not in ALGORITHMS:
            raise InvalidReference(f"unsupported digest algorithm {algorithm!r}")
        self.algorithm = algorithm
        self._hash = hashlib.new(algorithm)
        self.size = 0

    def update(self, chunk: bytes | bytearray | memoryview) -> None:
        self._hash.update(chunk)
        self.size += len(chunk)

    def digest(self) -> Digest:
        return Digest(self.algorithm, self._hash.hexdigest())

    def verify(self, expected: Digest, what: str = "content") -> Digest:
        """Return the digest, or raise :class:`DigestMismatch` if it is not ``expected``."""
        actual = self.digest()
        if actual != expected:
            raise DigestMismatch(expected=str(expected), actual=str(actual), what=what)
        return actual
