"""Manifest reads and writes.

A manifest is small, so it is read whole (capped at 4 MiB, like containerd) and its digest
computed over the exact bytes served. Verification: against the reference when that is a
digest, and against ``Docker-Content-Digest`` when the registry sends one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import httpx

from ..errors import DigestMismatch, InvalidReference, RegistryHTTPError
from ..oci import Descriptor, Digest, Index, Manifest, check_tag, mediatypes, parse_manifest
from ..transport import pull, push, read_bounded
from .session import Session

__all__ = [
    "FetchedManifest",
    "PutManifest",
    "delete_manifest",
    "get_manifest",
    "head_manifest",
    "put_manifest",
    "put_manifest_detail",
    "reference_of",
]

MANIFEST_LIMIT = 4 << 20


class FetchedManifest(NamedTuple):
    """The bytes as served, their media type (``Content-Type``) and digest."""

    data: bytes
    media_type: str
    digest: Digest

    def parse(self) -> Manifest | Index:
        return parse_manifest(self.data, self.media_type)


class PutManifest(NamedTuple):
    """What storing a manifest told us: its digest and, from a registry that indexes
    ``subject`` itself (OCI 1.1), the ``OCI-Subject`` it acknowledged."""

    digest: Digest
    subject: Digest | None


def reference_of(ref: str | Digest) -> str | Digest:
    """A digest (``algo:hex``) or a tag, validated."""
    if isinstance(ref, Digest):
        return ref
    if ":" in ref:
        return Digest.parse(ref)
    return check_tag(ref)


def _media_type(response: httpx.Response) -> str:
    value: str = response.headers.get("Content-Type", "")
    return value.split(";", 1)[0].strip()


def _served_digest(response: httpx.Response) -> Digest | None:
    value = response.headers.get("Docker-Content-Digest")
    if not value:
        return None
    try:
        return Digest.parse(value.strip())
    except InvalidReference:
        return None


async def get_manifest(
    session: Session,
    repository: str,
    ref: str | Digest,
    accept: Sequence[str] = mediatypes.ALL_MANIFEST_TYPES,
) -> FetchedManifest:
    reference = reference_of(ref)
    url = session.url(f"/v2/{repository}/manifests/{reference}")
    headers = {"Accept": ", ".join(accept)}
    async with session.open("GET", url, scopes=(pull(repository),), headers=headers) as response:
        data, truncated = await read_bounded(response, MANIFEST_LIMIT)
        media_type = _media_type(response)
        served = _served_digest(response)
    if truncated:
        raise RegistryHTTPError(
            f"manifest {repository}:{reference} is larger than 4 MiB", status=response.status_code
        )
    what = f"manifest {repository}@{reference}"
    expected = reference if isinstance(reference, Digest) else served
    if expected is not None:
        digest = Digest.of(data, expected.algorithm)
        if digest != expected:
            raise DigestMismatch(expected=str(expected), actual=str(digest), what=what)
    else:
        digest = Digest.of(data)
    if not media_type or media_type == "application/json":
        media_type = parse_manifest(data).media_type
    return FetchedManifest(data, media_type, digest)


async def head_manifest(
    session: Session,
    repository: str,
    ref: str | Digest,
    accept: Sequence[str] = mediatypes.ALL_MANIFEST_TYPES,
) -> Descriptor:
    """Describe a manifest without fetching it (falls back to GET without a served digest)."""
    reference = reference_of(ref)
    url = session.url(f"/v2/{repository}/manifests/{reference}")
    headers = {"Accept": ", ".join(accept)}
    async with session.open("HEAD", url, scopes=(pull(repository),), headers=headers) as response:
        digest = _served_digest(response)
        media_type = _media_type(response)
        length = response.headers.get("Content-Length", "")
    if digest is None or not length.isdigit() or not media_type:
        fetched = await get_manifest(session, repository, reference, accept)
        return Descriptor(fetched.media_type, fetched.digest, len(fetched.data))
    if isinstance(reference, Digest) and digest != reference:
        raise DigestMismatch(expected=str(reference), actual=str(digest), what="manifest")
    return Descriptor(media_type, digest, int(length))


async def delete_manifest(session: Session, repository: str, digest: Digest) -> None:
    """Delete a manifest by digest (registries refuse deleting by tag, or answer 405 when
    deletion is disabled)."""
    url = session.url(f"/v2/{repository}/manifests/{digest}")
    async with session.open(
        "DELETE", url, scopes=(f"repository:{repository}:delete",), ok=(202, 200, 204)
    ):
        pass


async def put_manifest(
    session: Session,
    repository: str,
    ref: str | Digest,
    data: bytes | Manifest | Index,
    media_type: str | None = None,
) -> Digest:
    """Store a manifest under a tag or its digest; returns the digest of the bytes sent."""
    return (await put_manifest_detail(session, repository, ref, data, media_type)).digest


async def put_manifest_detail(
    session: Session,
    repository: str,
    ref: str | Digest,
    data: bytes | Manifest | Index,
    media_type: str | None = None,
) -> PutManifest:
    """:func:`put_manifest`, also reporting the registry's ``OCI-Subject`` answer."""
    if isinstance(data, Manifest | Index):
        media_type = media_type or data.media_type
        data = data.to_json()
    if not media_type:
        media_type = parse_manifest(data).media_type
    reference = reference_of(ref)
    digest = Digest.of(data, reference.algorithm if isinstance(reference, Digest) else "sha256")
    if isinstance(reference, Digest) and digest != reference:
        raise DigestMismatch(expected=str(reference), actual=str(digest), what="manifest to push")
    url = session.url(f"/v2/{repository}/manifests/{reference}")
    headers = {"Content-Type": media_type}
    async with session.open(
        "PUT", url, scopes=(push(repository),), ok=(201, 200), headers=headers, content=data
    ) as response:
        served = _served_digest(response)
        subject = _subject_header(response)
    if served is not None and served.algorithm == digest.algorithm and served != digest:
        raise DigestMismatch(expected=str(digest), actual=str(served), what="stored manifest")
    return PutManifest(digest, subject)


def _subject_header(response: httpx.Response) -> Digest | None:
    value = response.headers.get("OCI-Subject")
    if not value:
        return None
    try:
        return Digest.parse(value.strip())
    except InvalidReference:
        return None
