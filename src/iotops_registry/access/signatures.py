"""Signature checks through an endpoint: an artifact is verified against the endpoint's
code-signing CAs and its policy decides whether it may be used.

    policy   CAs resolved   verdict        decision
    off      any            not checked    Allowed
    audit    no             not checked    Allowed   (the reason is recorded)
    audit    yes            any            Allowed   (the verdict is recorded)
    enforce  no             not checked    Refused   (nothing to verify against)
    enforce  yes            Verified       Allowed
    enforce  yes            other          Refused   (the verdict's code)

A check that could not be made is never reported as passed: ``verification`` is
``NotChecked`` with the reason, and ``enforce`` refuses it. Callers (the verify action, the
resolution of graphs and templates, edge pulls, the catalog) use :meth:`SignatureChecker.check`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import httpx

from ..errors import (
    FailedDependencyError,
    InvalidReference,
    NotFoundError,
    RegistryAuthError,
    RegistryError,
    RegistryNotFound,
    TrustStoreInvalid,
    ValidationError,
)
from ..notary import TrustStore, Verdict, verify
from ..oci import Descriptor, Digest
from ..oci.reference import check_repository, check_tag
from ..services import CodeSigningCas, EndpointTarget
from .registry_access import RegistryAccess

__all__ = [
    "SignatureCheck",
    "SignatureChecker",
    "decided_without_verifying",
    "split_artifact",
    "trust_store_for",
]


@dataclass(frozen=True)
class SignatureCheck:
    policy: str  # enforce | audit | off
    allowed: bool
    code: str  # Verified, a verdict code, or why nothing was checked
    message: str
    verdict: Verdict | None = None
    cas: CodeSigningCas | None = None

    @property
    def checked(self) -> bool:
        return self.verdict is not None

    @property
    def badge(self) -> str:
        """How a list shows it: Signed, Unsigned, InvalidSignature or NotChecked."""
        if self.verdict is None:
            return "NotChecked"
        if self.verdict.ok:
            return "Signed"
        return "Unsigned" if self.code == "SignatureMissing" else "InvalidSignature"

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "decision": "Allowed" if self.allowed else "Refused",
            "verification": "Checked" if self.checked else "NotChecked",
            "code": self.code,
            "message": self.message,
            "badge": self.badge,
            "signer": self.verdict.signature.signer
            if self.verdict and self.verdict.signature
            else None,
            "verdict": self.verdict.to_dict() if self.verdict else None,
            "codeSigningCas": self.cas.to_dict() if self.cas else None,
        }


def trust_store_for(cas: CodeSigningCas) -> TrustStore | None:
    """The endpoint's CAs as a trust store for both Notary signing schemes (a code-signing CA
    is trusted whether a signature uses ``notary.x509`` or ``notary.x509.signingAuthority``),
    or None when nothing usable was found."""
    if not cas.pems:
        return None
    try:
        ca = TrustStore.from_pem(*cas.pems, what="the endpoint's code-signing CAs")
    except TrustStoreInvalid:
        return None
    return ca.merged(TrustStore(signing_authority=ca.ca))


def decided_without_verifying(target: EndpointTarget, cas: CodeSigningCas) -> SignatureCheck | None:
    """The decision when it does not depend on the artifact: the policy is off, or there is
    nothing to verify against. None: a signature must be verified."""
    policy = cas.policy(target.settings)
    if policy == "off":
        return SignatureCheck(
            policy,
            True,
            "PolicyOff",
            "Signature verification is off for this endpoint.",
            cas=cas,
        )
    if trust_store_for(cas) is not None:
        return None
    why = (
        "The endpoint has no code-signing CAs."
        if not cas.configured
        else "None of the endpoint's code-signing CAs resolved to a CA certificate"
        + (f": {cas.problems[0].message}" if cas.problems else ".")
    )
    code = "NoCodeSigningCas" if not cas.configured else "CodeSigningCasUnresolved"
    allowed = policy == "audit"
    suffix = (
        " Not verified; allowed by the audit policy."
        if allowed
        else " Refused by the enforce policy."
    )
    return SignatureCheck(policy, allowed, code, why + suffix, cas=cas)


class SignatureChecker:
    def __init__(self, access: RegistryAccess) -> None:
        self._access = access

    async def check(
        self,
        target: EndpointTarget,
        cas: CodeSigningCas,
        repository: str,
        artifact: Descriptor | Digest,
        *,
        now: dt.datetime | None = None,
    ) -> SignatureCheck:
        """Decide on ``repository@artifact`` pulled through ``target``. ``cas`` comes from
        ``services.CodeSigningCaService.resolve(target.ca_sources)``. Raises
        ``RegistryError`` when the registry could not be asked (never a silent pass)."""
        decided = decided_without_verifying(target, cas)
        if decided is not None:
            return decided
        policy = cas.policy(target.settings)
        store = trust_store_for(cas)
        assert store is not None
        client = await self._access.client(target)
        verdict = await verify(client, repository, artifact, store, now)
        if verdict.ok:
            return SignatureCheck(policy, True, "Verified", verdict.message, verdict, cas)
        allowed = policy == "audit"
        suffix = " Allowed by the audit policy." if allowed else " Refused by the enforce policy."
        return SignatureCheck(
            policy, allowed, str(verdict.code), verdict.message + suffix, verdict, cas
        )

    async def check_artifact(
        self, target: EndpointTarget, cas: CodeSigningCas, artifact: str
    ) -> tuple[str, Descriptor | Digest | None, SignatureCheck]:
        """Resolve ``artifact`` (relative to the endpoint's host) and decide on it:
        (repository, descriptor, check). When the policy checks nothing (``off``) the
        registry is not asked: the descriptor is the digest given, or None for a tag."""
        repository, ref = split_artifact(target, artifact)
        decided = decided_without_verifying(target, cas)
        if decided is not None:  # the registry is not asked
            return repository, ref if isinstance(ref, Digest) else None, decided
        where = f"{target.registry}/{repository}"
        try:
            client = await self._access.client(target)
            descriptor = await client.head_manifest(repository, ref)
            return repository, descriptor, await self.check(target, cas, repository, descriptor)
        except RegistryNotFound:
            raise NotFoundError(
                f"{where}:{ref} was not found through endpoint '{target.key.name}'.",
                code="ArtifactNotFound",
                target="artifact",
            ) from None
        except RegistryAuthError as exc:
            raise FailedDependencyError(
                f"The registry refused the endpoint's credentials for {where} "
                f"({exc.status}). Run the endpoint's connection test.",
                code="PullDenied",
            ) from None
        except (RegistryError, httpx.TransportError) as exc:
            raise FailedDependencyError(
                f"{target.registry} could not be asked about {repository} "
                f"({type(exc).__name__}): the signature was not checked.",
                code="RegistryUnreachable",
            ) from None


def split_artifact(target: EndpointTarget, artifact: str) -> tuple[str, str | Digest]:
    """``repo:tag`` / ``repo@sha256:…`` under the endpoint's host -> (repository, tag or
    digest); the host's path prefix is prepended, and a reference that starts with the
    endpoint's own host is accepted as well. Raises ``ValidationError`` (target
    ``artifact``)."""
    text = artifact.strip()
    host = target.host.rstrip("/")
    if text.lower().startswith(host.lower() + "/"):
        text = text[len(host) + 1 :]
    elif text.lower().startswith(target.registry.lower() + "/"):
        text = text[len(target.registry) + 1 :]
    elif target.prefix:
        text = f"{target.prefix.rstrip('/')}/{text}"
    try:
        rest, at, digest_text = text.partition("@")
        repository, colon, tag = rest.rpartition(":")
        if not colon or "/" in tag:  # no tag: the colon (if any) belonged to a port
            repository, tag = rest, ""
        if at:  # repo[:tag]@digest: the digest is what counts
            return check_repository(repository), Digest.parse(digest_text)
        if not tag:
            raise InvalidReference("a tag or digest is required (repository:tag)")
        return check_repository(repository), check_tag(tag)
    except InvalidReference as exc:
        raise ValidationError(
            f"'{artifact[:200]}' is not an artifact reference of this endpoint: {exc}. "
            "Give repository:tag or repository@sha256:<digest>.",
            code="InvalidArtifactReference",
            target="artifact",
        ) from None
