"""What refers to a manifest: the OCI 1.1 referrers API, with its fallback.

``GET /v2/<repo>/referrers/<digest>`` answers an index of the manifests whose ``subject``
is that digest. A registry that filtered by ``artifactType`` says so in
``OCI-Filters-Applied``; otherwise the filter is applied here. Registries without the API
(distribution 2.8, older ACR) answer 404: then the "tag schema" applies, an index stored
under the tag ``<alg>-<hex>`` of the subject's digest.
"""

from __future__ import annotations

import httpx

from ..errors import InvalidManifest, RegistryNotFound
from ..oci import Descriptor, Digest, Index, Manifest, mediatypes, parse_manifest
from ..transport import pull, read_bounded
from .manifests import MANIFEST_LIMIT, get_manifest, put_manifest, put_manifest_with_headers
from .session import Session

__all__ = ["put_referrer", "referrers"]


async def _from_api(
    session: Session, repository: str, digest: Digest, artifact_type: str | None
) -> tuple[list[Descriptor], bool]:
    params = {"artifactType": artifact_type} if artifact_type else None
    url = session.url(f"/v2/{repository}/referrers/{digest}", params)
    found: list[Descriptor] = []
    filtered = True
    seen: set[str] = set()
    next_url: httpx.URL | None = url
    while next_url is not None and str(next_url) not in seen:
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


async def _from_tag(session: Session, repository: str, digest: Digest) -> list[Descriptor]:
    try:
        fetched = await get_manifest(
            session, repository, digest.referrers_tag, (mediatypes.OCI_INDEX,)
        )
    except RegistryNotFound:
        return []
    index = fetched.parse()
    if not isinstance(index, Index):
        raise InvalidManifest(f"tag {digest.referrers_tag} is not a referrers index")
    return list(index.manifests)


async def referrers(
    session: Session, repository: str, digest: Digest, artifact_type: str | None = None
) -> list[Descriptor]:
    try:
        found, filtered = await _from_api(session, repository, digest, artifact_type)
    except RegistryNotFound:
        found, filtered = await _from_tag(session, repository, digest), False
    if artifact_type and not filtered:
        found = [d for d in found if d.artifact_type == artifact_type]
    return found


async def put_referrer(
    session: Session, repository: str, data: bytes, media_type: str
) -> Digest:
    """Store a manifest that has a ``subject``, by digest, so that its subject's referrers
    list it: a registry with the referrers API says so with ``OCI-Subject``; for one without,
    the referrers index under the subject's fallback tag is updated (read, add, write)."""
    parsed = parse_manifest(data, media_type)
    if parsed.subject is None:
        raise InvalidManifest("a referrer needs a 'subject'")
    digest, headers = await put_manifest_with_headers(
        session, repository, Digest.of(data), data, media_type
    )
    if headers.get("OCI-Subject"):
        return digest
    subject = parsed.subject.digest
    existing = await _from_tag(session, repository, subject)
    if any(d.digest == digest for d in existing):
        return digest
    annotations = parsed.annotations
    entry = Descriptor(
        media_type,
        digest,
        len(data),
        artifact_type=parsed.effective_type if isinstance(parsed, Manifest) else None,
        annotations=annotations,
    )
    index = Index(manifests=(*existing, entry))
    await put_manifest(session, repository, subject.referrers_tag, index)
    return digest
