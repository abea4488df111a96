"""The one exception tree of iotops-registry.

::

    IotopsError
    ├── ConfigurationError          bad settings, unreadable data dir, wrong key material
    └── ApiError                    an error body: status, code, message, target, details,
        │                           inner code (Key Vault's ``innererror``)
        ├── InvalidRequestError     400  (malformed body, bad api-version, unknown property ...)
        │   └── ValidationError     400  a property value breaks a rule; ``target`` names it
        ├── AuthenticationError     401  missing or unacceptable bearer token
        ├── ForbiddenError          403  authenticated, but the operation is not allowed
        ├── NotFoundError           404
        ├── ConflictError           409
        ├── PreconditionFailedError 412  If-Match / If-None-Match did not hold
        └── PayloadTooLargeError    413

Every message is written for the person who made the request. None of them may contain a
secret value: they are echoed to API clients, logs and terminals.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "ApiError",
    "AuthenticationError",
    "ConfigurationError",
    "ConflictError",
    "ForbiddenError",
    "InvalidRequestError",
    "IotopsError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PreconditionFailedError",
    "ValidationError",
]


class IotopsError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigurationError(IotopsError):
    """The server or CLI cannot start or run with the settings it was given."""


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


class ForbiddenError(ApiError):
    status = 403
    default_code = "Forbidden"


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
