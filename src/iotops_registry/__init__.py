"""iotops-registry: registry endpoints for Azure IoT Operations.

The public library surface. Everything else is an implementation detail.
"""

from __future__ import annotations

from ._version import __version__
from .errors import (
    ApiError,
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    InvalidRequestError,
    IotopsError,
    NotFoundError,
    PayloadTooLargeError,
    PreconditionFailedError,
    ValidationError,
)
from .security import LocalIssuerCredential

__all__ = [
    "ApiError",
    "AuthenticationError",
    "ConfigurationError",
    "ConflictError",
    "InvalidRequestError",
    "IotopsError",
    "LocalIssuerCredential",
    "NotFoundError",
    "PayloadTooLargeError",
    "PreconditionFailedError",
    "ValidationError",
    "__version__",
]
