"""What refers to a manifest: the OCI 1.1 referrers API, with its fallback; attaching one.

``GET /v2/<repo>/referrers/<digest>`` answers an index of the manifests whose ``subject``
is that digest. A registry that filtered by ``artifactType`` says so in
``OCI-Filters-Applied``; otherwise the filter is applied here. Registries without the API
(distribution 2.8, older ACR) answer 404: then the "tag schema" applies, an index stored
under the tag ``<alg>-<hex>`` of the subject's digest. A registry that supports the API
never answers it 404 (distribution spec), so a bare 404 (no OCI error code) is remembered
for a while and later calls go straight to the tag: one request instead of two.

:func:`attach` pushes a manifest with a ``subject``; when the registry does not confirm it
indexed the subject (no ``OCI-Subject`` header), the tag-schema index is updated as the
distribution spec asks of clients.
"""

from __future__ import annotations

import time

import httpx

from ..errors import InvalidManifest, RegistryNotFound
from ..oci import Descriptor, Digest, Index, Manifest, mediatypes, parse_manifest
from ..transport import pull, read_bounded
from .manifests import MANIFEST_LIMIT, get_manifest, put_manifest, put_manifest_detail
from .session import Session

__all__ = ["attach", "referrers"]

MAX_PAGES = 64
"""Pages of a referrers answer followed at most (each is capped at 4 MiB)."""
NO_API_MEMORY = 600.0
"""Seconds a registry's bare 404 on the referrers API is remembered."""


async def _from_api(
    session: Session, repository: str, digest: Digest, artifact_type: str | None
) -> tuple[list[Descriptor], bool]:
    params = {"artifactType": artifact_type} if artifact_type else None
    url = session.url(f"/v2/{repository}/referrers/{digest}", params)
    found: list[Descriptor] = []
    filtered = True
    seen: set[str] = set()
    next_url: httpx.URL | None = url
    while next_url is not None and str(next_url) not in seen and len(seen) < MAX_PAGES:
        seen.add(str(next_url))
        headers = {"Accept": mediatypes.OCI_INDEX}
        async with session.open(
            "GET", next_url, scopes=(pull(repository),), headers=headers
        ) as response:
            data, _ = await read_bounded(response, MANIFEST_LIMIT)
            applied = response.headers.get("OCI-Filters-Applied", "")
            filtered = filtered and "artifactType" in {f.strip() for f in applied.split(",")}
            link = response.links.get("next", {}).get("url")
        index = parse_manifest(data, mediatypes.OCI_INDEX)
        if not isinstance(index, Index):
            raise InvalidManifest("the referrers API did not answer an index")
        found.extend(index.manifests)
        next_url = None
        if link:
            candidate = response.url.join(link)
            next_url = candidate if session.same_origin(candidate) else None
    return found, filtered


async def _tag_index(session: Session, repository: str, digest: Digest) -> Index | None:
    try:
        fetched = await get_manifest(
            session, repository, digest.referrers_tag, (mediatypes.OCI_INDEX,)
        )
    except RegistryNotFound:
        return None
    index = fetched.parse()
    if not isinstance(index, Index):
        raise InvalidManifest(f"tag {digest.referrers_tag} is not a referrers index")
    return index


async def referrers(
    session: Session, repository: str, digest: Digest, artifact_type: str | None = None
) -> list[Descriptor]:
    found: list[Descriptor] | None = None
    filtered = False
    if time.monotonic() >= session.referrers_api_absent_until:
        try:
            found, filtered = await _from_api(session, repository, digest, artifact_type)
        except RegistryNotFound as exc:
            if not exc.codes:  # no route at all, not "unknown repository"
                session.referrers_api_absent_until = time.monotonic() + NO_API_MEMORY
    if found is None:
        index = await _tag_index(session, repository, digest)
        found = list(index.manifests) if index is not None else []
    if artifact_type and not filtered:
        found = [d for d in found if d.artifact_type == artifact_type]
    return found


async def attach(
    session: Session, repository: str, data: bytes, media_type: str = mediatypes.OCI_MANIFEST
) -> Descriptor:
    """Push ``data`` (a manifest with a ``subject``) by digest and make it discoverable as a
    referrer; returns its descriptor (with artifact type and annotations, as indexed)."""
    manifest = parse_manifest(data, media_type)
    if manifest.subject is None:
        raise InvalidManifest("only a manifest or index with a 'subject' can be attached")
    stored = await put_manifest_detail(session, repository, Digest.of(data), data, media_type)
    entry = Descriptor(
        manifest.media_type,
        stored.digest,
        len(data),
        artifact_type=(
            manifest.effective_type if isinstance(manifest, Manifest) else manifest.artifact_type
        ),
        annotations=dict(manifest.annotations),
    )
    if stored.subject is not None:
        return entry
    subject = manifest.subject.digest
    index = await _tag_index(session, repository, subject)
    entries = list(index.manifests) if index is not None else []
    if any(d.digest == entry.digest for d in entries):
        return entry
    # Read-modify-write: a concurrent attach to the same subject may lose its entry, a race
    # the distribution spec accepts for the tag schema.
    await put_manifest(
        session, repository, subject.referrers_tag, Index(manifests=(*entries, entry))
    )
    return entry
