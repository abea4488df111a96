"""References: ``host[:port]/repository[:tag][@digest]``, parsed and validated.

The grammar is distribution's (``reference/regexp.go``): lowercase path components joined by
``/``, tags of at most 128 word characters, dots and dashes. Unlike Docker, a registry host is
required: artifacts for IoT Operations always name their registry, and guessing
``docker.io`` would send credentials to the wrong place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import InvalidReference
from .digest import Digest

__all__ = ["Reference", "check_registry", "check_repository", "check_tag"]

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_LABEL = r"(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])"
_HOST = re.compile(rf"(?:{_LABEL}(?:\.{_LABEL})*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{{1,5}})?")
_MAX_NAME = 255


def check_registry(host: str) -> str:
    """Return ``host`` if it is ``host[:port]`` (a DNS name, an IPv4 or a [bracketed] IPv6)."""
    if not _HOST.fullmatch(host):
        raise InvalidReference(f"registry {host[:80]!r} is not host[:port]")
    return host


def check_repository(name: str) -> str:
    """Return ``name`` if it is a valid repository path, else raise :class:`InvalidReference`."""
    if len(name) > _MAX_NAME or not _REPOSITORY.fullmatch(name):
        raise InvalidReference(
            f"repository {name[:80]!r} must be lowercase components "
            "([a-z0-9] separated by '.', '_', '__' or '-') joined by '/'"
        )
    return name


def check_tag(tag: str) -> str:
    if not _TAG.fullmatch(tag):
        raise InvalidReference(f"tag {tag[:80]!r} is not a valid tag")
    return tag


@dataclass(frozen=True, slots=True)
class Reference:
    """A parsed reference. At most one of ``tag`` and ``digest`` may be absent; with both,
    the digest is what gets pulled and the tag is informational (as in Docker)."""

    registry: str
    repository: str
    tag: str | None = None
    digest: Digest | None = None

    def __post_init__(self) -> None:
        check_registry(self.registry)
        check_repository(self.repository)
        if self.tag is not None:
            check_tag(self.tag)

    @classmethod
    def parse(cls, text: str) -> Reference:
        rest, at, digest_text = text.partition("@")
        digest = Digest.parse(digest_text) if at else None
        registry, slash, path = rest.partition("/")
        # Docker's rule for telling a host from a first path component.
        looks_like_host = "." in registry or ":" in registry or registry == "localhost"
        if not slash or not path or not looks_like_host:
            raise InvalidReference(
                f"reference {text[:120]!r} must start with a registry host: host[:port]/repo"
            )
        check_registry(registry)
        repository, colon, tag = path.rpartition(":")
        if not colon or "/" in tag:
            repository, tag = path, ""
        return cls(registry.lower(), repository, tag or None, digest)

    @property
    def ref(self) -> str:
        """What to put after ``/manifests/``: the digest if known, else the tag (``latest``)."""
        if self.digest is not None:
            return str(self.digest)
        return self.tag or "latest"

    def __str__(self) -> str:
        text = f"{self.registry}/{self.repository}"
        if self.tag:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text
