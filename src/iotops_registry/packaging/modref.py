"""Module references inside a graph: ``repo:tag`` or ``org/project/repo:tag``, no host.

The runtime resolves a module against the registry endpoint the graph came through, so a
reference names a repository path and a tag (or digest) in that registry, never a host.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InvalidReference
from ..oci import Digest, check_repository, check_tag

__all__ = ["ModuleRef"]


@dataclass(frozen=True, slots=True)
class ModuleRef:
    repository: str
    tag: str | None = None
    digest: Digest | None = None

    @classmethod
    def parse(cls, text: str) -> ModuleRef:
        if not text or text != text.strip():
            raise InvalidReference("a module reference is repo:tag, without spaces")
        rest, at, digest_text = text.partition("@")
        digest = Digest.parse(digest_text) if at else None
        first = rest.split("/", 1)[0]
        if "/" in rest and ("." in first or ":" in first or first == "localhost"):
            raise InvalidReference(
                f"{text!r} names a registry host ({first}); module references are resolved "
                "in the graph's own registry, so give repo:tag or org/repo:tag"
            )
        repository, colon, tag = rest.rpartition(":")
        if not colon:
            repository, tag = rest, ""
        check_repository(repository)
        if tag:
            check_tag(tag)
        return cls(repository, tag or None, digest)

    @property
    def ref(self) -> str:
        """What goes after ``/manifests/``: the digest, else the tag (``latest`` if none)."""
        return str(self.digest) if self.digest else (self.tag or "latest")

    def __str__(self) -> str:
        text = self.repository + (f":{self.tag}" if self.tag else "")
        return text + (f"@{self.digest}" if self.digest else "")
