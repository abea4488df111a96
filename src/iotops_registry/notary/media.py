"""Names the Notary Project signature specification fixes: media types, header names, limits.

Kept in one place so parsing, signing and the docs cannot drift apart. Values are those of
the specification (notaryproject/specifications, signature-specification.md and the JWS and
COSE envelope documents); the limits are notation-go's.
"""

from __future__ import annotations

__all__ = [
    "ARTIFACT_TYPE",
    "COSE",
    "CRIT_ALLOWED",
    "ENVELOPE_LIMIT",
    "ENVELOPE_TYPES",
    "HEADER_AUTHENTIC_SIGNING_TIME",
    "HEADER_EXPIRY",
    "HEADER_SIGNING_AGENT",
    "HEADER_SIGNING_AGENT_LEGACY",
    "HEADER_SIGNING_SCHEME",
    "HEADER_SIGNING_TIME",
    "HEADER_TIMESTAMP",
    "HEADER_VERIFICATION_PLUGIN",
    "HEADER_VERIFICATION_PLUGIN_MIN_VERSION",
    "JWS",
    "PAYLOAD_TYPE",
    "SCHEME_SIGNING_AUTHORITY",
    "SCHEME_X509",
    "SIGNING_SCHEMES",
    "THUMBPRINT_ANNOTATION",
]

ARTIFACT_TYPE = "application/vnd.cncf.notary.signature"
"""``artifactType`` of a signature manifest; in the legacy form, its config media type."""
JWS = "application/jose+json"
COSE = "application/cose"
ENVELOPE_TYPES = (JWS, COSE)
PAYLOAD_TYPE = "application/vnd.cncf.notary.payload.v1+json"
"""The ``cty`` of every envelope: the payload is ``{"targetArtifact": <descriptor>}``."""

THUMBPRINT_ANNOTATION = "io.cncf.notary.x509chain.thumbprint#S256"
"""Signature manifest annotation: a JSON array, as a string, of the chain's SHA-256
fingerprints (lowercase hex), leaf first. Not signed: a hint for choosing candidates."""

SCHEME_X509 = "notary.x509"
SCHEME_SIGNING_AUTHORITY = "notary.x509.signingAuthority"
SIGNING_SCHEMES = (SCHEME_X509, SCHEME_SIGNING_AUTHORITY)

HEADER_SIGNING_SCHEME = "io.cncf.notary.signingScheme"
HEADER_SIGNING_TIME = "io.cncf.notary.signingTime"
HEADER_AUTHENTIC_SIGNING_TIME = "io.cncf.notary.authenticSigningTime"
HEADER_EXPIRY = "io.cncf.notary.expiry"
HEADER_VERIFICATION_PLUGIN = "io.cncf.notary.verificationPlugin"
HEADER_VERIFICATION_PLUGIN_MIN_VERSION = "io.cncf.notary.verificationPluginMinVersion"
HEADER_SIGNING_AGENT = "io.cncf.notary.signingAgent"
HEADER_SIGNING_AGENT_LEGACY = "io.cncf.notary.SigningAgent"
HEADER_TIMESTAMP = "io.cncf.notary.timestampSignature"

CRIT_ALLOWED = frozenset({HEADER_SIGNING_SCHEME, HEADER_EXPIRY, HEADER_AUTHENTIC_SIGNING_TIME})
"""The critical header names this verifier implements. Any other critical name (extended
attributes, verification plugins) makes a signature fail, as the specification demands."""

ENVELOPE_LIMIT = 32 << 20
"""notation-go's cap on an envelope blob (a signature manifest is capped at 4 MiB by remote)."""
