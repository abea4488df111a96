"""Accept ``id``, ``name`` and ``type`` in a PUT body only as an unchanged echo of a GET."""

from __future__ import annotations

from typing import Any

from ..errors import ValidationError

__all__ = ["strip_echoed_identity"]


def strip_echoed_identity(
    raw: dict[str, Any], resource_id: str, name: str, type_: str
) -> dict[str, Any]:
    expected = {"id": resource_id, "name": name, "type": type_}
    out = dict(raw)
    for prop, value in expected.items():
        if prop not in out:
            continue
        sent = out.pop(prop)
        if not isinstance(sent, str) or sent.lower() != value.lower():
            raise ValidationError(
                f"The property '{prop}' is read-only and cannot be set "
                f"(it is computed by the server as '{value}').",
                code="ReadOnlyProperty",
                target=prop,
            )
    return out
