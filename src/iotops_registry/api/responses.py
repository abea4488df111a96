"""Response helpers: JSON bodies that are already text, and the ARM error envelope."""

from __future__ import annotations

import json

from starlette.responses import Response

from ..errors import ApiError

__all__ = ["error_response", "json_text_response", "warning_header"]


def warning_header(warnings: list[str]) -> str:
    """RFC 7234 ``Warning`` values (code 299: persistent warning), one per message."""
    parts = []
    for text in warnings:
        clean = text.replace("\\", "").replace('"', "'").replace("\r", " ").replace("\n", " ")
        parts.append(f'299 iotops "{clean[:500]}"')
    return ", ".join(parts)


def json_text_response(
    body: str, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """Serve a document that is already JSON text, without parsing it again."""
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def error_response(exc: ApiError, headers: dict[str, str] | None = None) -> Response:
    merged = dict(exc.headers)
    merged.update(headers or {})
    merged["x-ms-failure-cause"] = "service" if exc.status >= 500 else "gateway"
    return Response(
        json.dumps(exc.envelope()),
        status_code=exc.status,
        media_type="application/json",
        headers=merged,
    )
