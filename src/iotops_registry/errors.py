"""The one exception tree of iotops-registry.

::

    IotopsError
    ├── ConfigurationError          bad settings, unreadable data dir, wrong key material
    ├── StoreConflict               a concurrent writer created the same row first (retry)
    ├── UnsealError                 a sealed vault value does not open with this key
    ├── BodyCut                     the dev registry's front ends a relayed body early
    ├── StaleConnection             a pooled connection the peer had closed (send again)
    ├── ApiError                    an error body: status, code, message, target, details,
    │   │                           inner code (Key Vault's ``innererror``)
    │   ├── InvalidRequestError     400  (malformed body, bad api-version, unknown property ...)
    │   │   └── ValidationError     400  a property value breaks a rule; ``target`` names it
    │   ├── AuthenticationError     401  missing or unacceptable bearer token
    │   │   └── SigninError         401  a portal sign-in code was refused (``reason``)
    │   ├── ForbiddenError          403  authenticated, but the operation is not allowed
    │   │   └── AuthorizationFailed 403  no role assignment permits the action at the scope
    │   ├── NotFoundError           404
    │   ├── ConflictError           409
    │   ├── PreconditionFailedError 412  If-Match / If-None-Match did not hold
    │   ├── PayloadTooLargeError    413
    │   ├── UnsupportedMediaTypeError 415  a body that is not JSON
    │   └── FailedDependencyError   424  something the request depends on is unusable
    │       ├── PullSecretError          an endpoint's pull secret gives no credentials
    │       └── SecretUnavailable        a Key Vault secret cannot be read
    ├── RegistryError               talking to an OCI registry failed (oci, transport, remote)
    │   ├── InvalidReference        a reference, repository, tag or digest that is malformed
    │   ├── InvalidManifest         a manifest or index document that cannot be parsed
    │   ├── DigestMismatch          content does not hash to the digest it was fetched by
    │   ├── RegistryUnreachable     no HTTP answer; ``kind``: dns | connect | tls | timeout |
    │   │                           protocol
    │   ├── TokenEndpointError      the token service (realm, /oauth2/exchange) gave nothing
    │   │                           usable, or policy forbids sending credentials to it
    │   └── RegistryHTTPError       an HTTP error status with the registry's OCI error body:
    │       │                       ``status``, ``errors`` (code, message, detail)
    │       ├── RegistryAuthError   401 / 403; ``step`` ("registry" | "token") says who refused
    │       └── RegistryNotFound    404: unknown repository, manifest, tag or blob
    ├── SignatureError              Notary Project signatures (notary); ``code`` is stable
    │   ├── SignatureVerificationFailed  an artifact's signatures did not verify; ``code`` is
    │   │                           the verdict's (``UntrustedSigner``, ``SignatureExpired`` ...)
    │   ├── TrustStoreInvalid       code-signing CA certificates that cannot be used
    │   └── SigningError            a signature could not be made (key, chain, options)
    └── PackagingError              an artifact cannot be built or published (packaging)
        └── InvalidArtifact         a graph, module, metadata file or image breaks rules;
                                    ``problems``: file, line, path, message, fix each

Errors that only a bug can cause (a wrong argument, a misused object) are Python's own
``TypeError``, ``ValueError`` and ``RuntimeError``; everything a caller is meant to handle is
in this tree, and ``tests/test_layering.py`` fails on an exception class defined elsewhere.

Every message is written for the person who made the request. None of them may contain a
secret value: they are echoed to API clients, logs and terminals.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, NamedTuple

__all__ = [
    "ApiError",
    "AuthenticationError",
    "AuthorizationFailed",
    "BodyCut",
    "ConfigurationError",
    "ConflictError",
    "DigestMismatch",
    "FailedDependencyError",
    "ForbiddenError",
    "InvalidArtifact",
    "InvalidManifest",
    "InvalidReference",
    "InvalidRequestError",
    "IotopsError",
    "NotFoundError",
    "PackagingError",
    "PayloadTooLargeError",
    "PreconditionFailedError",
    "PullSecretError",
    "RegistryAuthError",
    "RegistryError",
    "RegistryHTTPError",
    "RegistryNotFound",
    "RegistryUnreachable",
    "ResolutionFailed",
    "SecretUnavailable",
    "SignatureError",
    "SignatureVerificationFailed",
    "SigninError",
    "SigningError",
    "StaleConnection",
    "StoreConflict",
    "TokenEndpointError",
    "TrustStoreInvalid",
    "UnsealError",
    "UnsupportedMediaTypeError",
    "ValidationError",
]


class IotopsError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigurationError(IotopsError):
    """The server or CLI cannot start or run with the settings it was given."""


class StoreConflict(IotopsError):
    """A concurrent writer created the same row first; the caller may retry."""


class UnsealError(IotopsError):
    """A sealed value does not open with this KEK for this secret and version."""


class ApiError(IotopsError):
    """An error with an ARM error body: ``{"error": {"code", "message", "target", "details"}}``.

    ``inner_code`` adds Key Vault's ``"innererror": {"code": ...}`` to the body.
    """

    status: int = 500
    default_code: str = "InternalServerError"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        target: str | None = None,
        details: Sequence[ApiError] = (),
        status: int | None = None,
        headers: dict[str, str] | None = None,
        inner_code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.target = target
        self.details = list(details)
        if status is not None:
            self.status = status
        self.headers = dict(headers or {})
        self.inner_code = inner_code

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.target:
            body["target"] = self.target
        if self.details:
            body["details"] = [d.to_dict() for d in self.details]
        if self.inner_code:
            body["innererror"] = {"code": self.inner_code}
        return body

    def envelope(self) -> dict[str, Any]:
        return {"error": self.to_dict()}

    def __str__(self) -> str:
        text = f"({self.code}) {self.message}"
        if self.target:
            text += f" [target: {self.target}]"
        return text


class InvalidRequestError(ApiError):
    status = 400
    default_code = "InvalidRequestContent"


class ValidationError(InvalidRequestError):
    default_code = "InvalidPropertyValue"


class AuthenticationError(ApiError):
    status = 401
    default_code = "AuthenticationFailed"


class SigninError(AuthenticationError):
    """A portal sign-in code was refused; ``reason`` is ``invalid``, ``expired`` or ``used``."""

    default_code = "SigninRefused"

    def __init__(self, reason: str) -> None:
        super().__init__(f"The sign-in code was refused ({reason}).")
        self.reason = reason


class ForbiddenError(ApiError):
    status = 403
    default_code = "Forbidden"


class AuthorizationFailed(ForbiddenError):
    """No role assignment of the caller permits ``action`` at ``scope`` (ARM's wording)."""

    default_code = "AuthorizationFailed"

    def __init__(self, object_id: str, action: str, scope: str, **kwargs: Any) -> None:
        super().__init__(
            kwargs.pop("message", None)
            or f"The client '{object_id}' with object id '{object_id}' does not have "
            f"authorization to perform action '{action}' over scope '{scope}' or the scope "
            "is invalid.",
            **kwargs,
        )
        self.object_id = object_id
        self.action = action
        self.scope = scope


class NotFoundError(ApiError):
    status = 404
    default_code = "ResourceNotFound"


class ConflictError(ApiError):
    status = 409
    default_code = "Conflict"


class PreconditionFailedError(ApiError):
    status = 412
    default_code = "PreconditionFailed"


class PayloadTooLargeError(ApiError):
    status = 413
    default_code = "RequestEntityTooLarge"


class UnsupportedMediaTypeError(ApiError):
    status = 415
    default_code = "UnsupportedMediaType"


class FailedDependencyError(ApiError):
    status = 424
    default_code = "FailedDependency"


class PullSecretError(FailedDependencyError):
    """The endpoint's pull secret cannot be turned into credentials; ``code`` says why."""

    default_code = "PullSecretUnavailable"


class SecretUnavailable(FailedDependencyError):
    """A Key Vault secret could not be read: missing, disabled, expired, or no access."""

    default_code = "KeyVaultSecretUnavailable"


# --- OCI registries -------------------------------------------------------------------------


class RegistryDiagnostic(NamedTuple):
    """One entry of an OCI error body: ``{"errors": [{"code", "message", "detail"}]}``.

    Not an exception, so not in ``__all__`` (every name there is one); ``transport`` exports it.
    """

    code: str
    message: str
    detail: Any = None


class RegistryError(IotopsError):
    """Talking to an OCI registry failed. Messages name hosts and paths, never query strings,
    tokens or passwords: registries sign blob URLs in the query."""


class InvalidReference(RegistryError, ValueError):
    """A reference, repository name, tag or digest that does not follow the OCI grammar."""


class InvalidManifest(RegistryError, ValueError):
    """A manifest or index document that is not JSON of the expected shape."""


class DigestMismatch(RegistryError):
    """Content does not hash to the digest it was requested by: corrupt or tampered with."""

    def __init__(self, *, expected: str, actual: str, what: str = "content") -> None:
        super().__init__(f"{what}: expected {expected}, got {actual}")
        self.expected = expected
        self.actual = actual


UnreachableKind = Literal["dns", "connect", "tls", "timeout", "protocol"]


class RegistryUnreachable(RegistryError):
    """No usable HTTP answer: the name did not resolve, the connection or the TLS handshake
    failed, it timed out, or the peer broke the protocol. ``kind`` says which."""

    def __init__(self, message: str, *, kind: UnreachableKind) -> None:
        super().__init__(message)
        self.kind: UnreachableKind = kind


class BodyCut(IotopsError):
    """Raised by a request body iterator of the dev registry's front to end the body early
    but cleanly (chunked framing): the registry gets what was sent so far as the body."""


class StaleConnection(IotopsError):
    """A pooled connection the peer had closed meanwhile: safe to send the request again."""


class TokenEndpointError(RegistryError):
    """The token service answered nothing usable (an error status other than 401/403 after
    retries, no JSON, no token), or policy forbids sending credentials to its host."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RegistryHTTPError(RegistryError):
    """An error status, with the diagnostics from the registry's OCI error body."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        errors: Sequence[RegistryDiagnostic] = (),
    ) -> None:
        super().__init__(message)
        self.status = status
        self.errors = tuple(errors)

    @property
    def codes(self) -> tuple[str, ...]:
        """The OCI error codes (``MANIFEST_UNKNOWN``, ``DENIED`` ...), in body order."""
        return tuple(e.code for e in self.errors)


class RegistryAuthError(RegistryHTTPError):
    """401 or 403. ``step`` is ``"token"`` when the token service refused the credentials and
    ``"registry"`` when the registry refused the request (or the token it was given)."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        step: Literal["registry", "token"],
        errors: Sequence[RegistryDiagnostic] = (),
    ) -> None:
        super().__init__(message, status=status, errors=errors)
        self.step: Literal["registry", "token"] = step


class RegistryNotFound(RegistryHTTPError):
    """404: the repository, manifest, tag or blob does not exist (or is hidden from us)."""


class ResolutionFailed(IotopsError):
    """A reference of a dataflow graph or connector template did not resolve: ``reason`` is
    the code its status carries (``ArtifactNotFound``, ``ModuleNotFound`` ...)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


# --- Notary Project signatures ------------------------------------------------------------


class SignatureError(IotopsError):
    """Signing or verifying a Notary Project signature failed. ``code`` is a stable name that
    scripts and API clients may switch on; the message is for people."""

    default_code = "SignatureError"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code

    def __str__(self) -> str:
        return f"({self.code}) {self.message}"


class SignatureVerificationFailed(SignatureError):
    """No signature of the artifact verified. ``code`` is the verdict's (see
    ``notary.codes``); ``verdict`` carries the details when raised by ``Verdict``."""

    default_code = "SignatureIntegrity"

    def __init__(self, message: str, *, code: str | None = None, verdict: Any = None) -> None:
        super().__init__(message, code=code)
        self.verdict = verdict


class TrustStoreInvalid(SignatureError):
    """Code-signing CA certificates that cannot be used: not PEM/DER, not a CA or
    self-signed certificate, or none at all."""

    default_code = "TrustStoreInvalid"


class SigningError(SignatureError):
    """A signature could not be made: the key does not match the certificate, the chain
    breaks the code-signing rules, the key type is not one the specification allows."""

    default_code = "SigningError"


# --- artifacts ------------------------------------------------------------------------------


class Problem(NamedTuple):
    """One broken rule in one file: where (file, line, YAML/JSON path), what, and the fix.

    Not an exception (so not in ``__all__``); :class:`InvalidArtifact` carries a list of them.
    ``severity`` is ``"error"`` or ``"warning"``; only errors stop a push.
    """

    file: str
    path: str
    message: str
    fix: str = ""
    line: int | None = None
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        text = f"{where}: {self.path or '(document)'}: {self.message}"
        return f"{text} (fix: {self.fix})" if self.fix else text

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "path": self.path,
            "message": self.message,
            "fix": self.fix or None,
            "severity": self.severity,
        }


class PackagingError(IotopsError):
    """An artifact cannot be built or published as asked (a missing file, a bad option)."""


class InvalidArtifact(PackagingError, ValueError):
    """A graph, module, connector metadata file or image breaks one or more rules.

    ``problems`` lists every error found (warnings are not raised); the message is the first.
    """

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        first = str(self.problems[0]) if self.problems else "invalid artifact"
        more = len(self.problems) - 1
        super().__init__(first + (f" (and {more} more)" if more > 0 else ""))
