"""Signatures in a registry: discover and verify an artifact's, and attach new ones.

The only module of ``notary`` that does I/O, all of it through ``remote.RegistryClient``:

- discovery is one referrers request filtered on ``application/vnd.cncf.notary.signature``
  (the referrers API, or the ``sha256-<hex>`` tag-schema index where the registry has no
  API; ``remote`` remembers which);
- each signature tried costs one manifest GET and one blob GET; signatures whose thumbprint
  annotation names a trusted certificate are tried first, and the first that verifies ends
  the search (as in notation), so a signed artifact usually costs three requests;
- failures to *reach* the registry are raised (``RegistryError``), never turned into a
  verdict: a check that could not be done is not a failed (or passed) check.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import (
    DigestMismatch,
    RegistryNotFound,
    RegistryUnreachable,
    SignatureVerificationFailed,
)
from ..oci import Descriptor, Digest, mediatypes
from ..remote import RegistryClient
from . import sigmanifest
from .media import ARTIFACT_TYPE, JWS
from .signer import SignedEnvelope, SigningIdentity, sign_descriptor
from .truststore import TrustStore
from .verdict import Code, SignatureResult, Verdict, select
from .verifier import verify_envelope

__all__ = ["AttachedSignature", "list_signatures", "sign", "verify"]

MAX_SIGNATURES = 50
"""Signatures tried at most per artifact (notation: 100)."""
BYTE_BUDGET = 64 << 20
"""Envelope bytes fetched at most per verification."""
TIMEOUT = 120.0


async def list_signatures(
    client: RegistryClient, repository: str, digest: Digest
) -> list[Descriptor]:
    """The Notary Project signature manifests that refer to ``digest``."""
    return await client.referrers(repository, digest, ARTIFACT_TYPE)


def _order(candidates: Sequence[Descriptor], trust_store: TrustStore) -> list[Descriptor]:
    trusted = trust_store.fingerprints()

    def announced_trust(entry: Descriptor) -> bool:
        return bool(trusted.intersection(sigmanifest.thumbprints(entry.annotations)))

    return sorted(candidates, key=lambda e: not announced_trust(e))  # stable


async def _attempt(
    client: RegistryClient,
    repository: str,
    entry: Descriptor,
    artifact: Descriptor,
    trust_store: TrustStore,
    now: dt.datetime,
    budget: list[int],
) -> SignatureResult:
    if entry.media_type != mediatypes.OCI_MANIFEST:
        return SignatureResult(
            Code.ENVELOPE_INVALID,
            f"signature {entry.digest} is a {entry.media_type}, not an OCI image manifest",
            manifest=entry.digest,
        )
    try:
        fetched = await client.get_manifest(repository, entry.digest, (mediatypes.OCI_MANIFEST,))
        layer = sigmanifest.envelope_layer(fetched.data, artifact)
        if layer.size > budget[0]:
            return SignatureResult(
                Code.ENVELOPE_INVALID,
                f"signature {entry.digest}: envelope of {layer.size} bytes is over what is "
                "left of this verification's byte budget",
                manifest=entry.digest,
            )
        budget[0] -= layer.size
        envelope = await client.get_blob(repository, layer.digest, size=layer.size)
    except SignatureVerificationFailed as exc:
        return SignatureResult(Code(exc.code), exc.message, manifest=entry.digest)
    except RegistryNotFound:
        return SignatureResult(
            Code.SIGNATURE_MISSING,
            f"signature {entry.digest} is listed as a referrer, but it or its envelope is "
            "not in the repository",
            manifest=entry.digest,
        )
    except DigestMismatch as exc:
        return SignatureResult(
            Code.INTEGRITY, f"signature {entry.digest}: {exc}", manifest=entry.digest
        )
    return verify_envelope(
        envelope, layer.media_type, artifact, trust_store, now, manifest=entry.digest
    )


async def verify(
    client: RegistryClient,
    repository: str,
    artifact: Descriptor | Digest,
    trust_store: TrustStore,
    now: dt.datetime | None = None,
    *,
    max_signatures: int = MAX_SIGNATURES,
    timeout: float = TIMEOUT,
) -> Verdict:
    """The verdict on the manifest ``artifact`` in ``repository``.

    Pass the artifact's :class:`Descriptor` when it is known (it was resolved or pulled):
    a bare digest costs one more request (a manifest HEAD) to learn its size and media type.
    Raises ``RegistryError`` when the registry cannot be asked.
    """
    checked_at = now or dt.datetime.now(dt.UTC)
    digest = artifact if isinstance(artifact, Digest) else artifact.digest
    try:
        async with asyncio.timeout(timeout):
            if isinstance(artifact, Digest):
                artifact = await client.head_manifest(repository, artifact)
            candidates = _order(
                await list_signatures(client, repository, artifact.digest), trust_store
            )
            attempts: list[SignatureResult] = []
            budget = [BYTE_BUDGET]
            for entry in candidates[:max_signatures]:
                result = await _attempt(
                    client, repository, entry, artifact, trust_store, checked_at, budget
                )
                attempts.append(result)
                if result.ok:
                    break
    except TimeoutError:
        raise RegistryUnreachable(
            f"verifying {repository}@{digest} took longer than {timeout:g} s", kind="timeout"
        ) from None
    return select(
        artifact,
        attempts,
        now=checked_at,
        trusted_cas=trust_store.subjects(),
        reference=f"{client.registry}/{repository}@{artifact.digest}",
    )


@dataclass(frozen=True, slots=True)
class AttachedSignature:
    """A signature pushed by :func:`sign`."""

    manifest: Descriptor
    """The signature manifest, as the referrers index lists it."""
    envelope: SignedEnvelope
    subject: Descriptor
    signer: str


async def sign(
    client: RegistryClient,
    repository: str,
    artifact: Descriptor,
    identity: SigningIdentity,
    *,
    envelope: str = JWS,
    expiry: dt.timedelta | None = None,
    now: dt.datetime | None = None,
) -> AttachedSignature:
    """Sign the manifest ``artifact`` and push the signature as its referrer."""
    signed = sign_descriptor(artifact, identity, envelope=envelope, expiry=expiry, now=now)
    await client.push_blob(repository, signed.data, media_type=signed.media_type)
    await client.push_blob(repository, mediatypes.OCI_EMPTY_JSON, media_type=mediatypes.OCI_EMPTY)
    entry = await client.attach_referrer(repository, signed.manifest(artifact))
    return AttachedSignature(entry, signed, artifact, identity.subject)
