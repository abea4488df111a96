"""The HTTP surface: the ARM API, discovery documents and OpenAPI."""

from __future__ import annotations

from .app import create_app
from .context import SUPPORTED_API_VERSIONS, ApiContext

__all__ = ["SUPPORTED_API_VERSIONS", "ApiContext", "create_app"]
