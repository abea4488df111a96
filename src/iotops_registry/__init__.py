"""iotops-registry: registry endpoints for Azure IoT Operations.

The public library surface. Everything else is an implementation detail.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._lean import skip_httpx_cli as _skip_httpx_cli
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

if TYPE_CHECKING:
    from .security import LocalIssuerCredential

_skip_httpx_cli()

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


def __getattr__(name: str) -> Any:
    # Imported lazily: it pulls in cryptography and azure-core, which every CLI start
    # would otherwise pay for.
    if name == "LocalIssuerCredential":
        from .security import LocalIssuerCredential

        return LocalIssuerCredential
    raise AttributeError(f"module 'iotops_registry' has no attribute {name!r}")
