"""Key Vault's JSON: request bodies in, SecretBundle / SecretItem / DeletedSecretBundle out.

Ids are ``<vault origin>/secrets/<name>[/<version>]`` and times are unix seconds, as the
Azure SDK expects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .faults import bad_parameter
from .model import DeletedSecret, SecretProperties, SecretUpdate

__all__ = [
    "SetBody",
    "bundle",
    "deleted_bundle",
    "deleted_item",
    "item",
    "page",
    "parse_set",
    "parse_update",
]

_RECOVERY_LEVEL = "Recoverable+Purgeable"
_RECOVERABLE_DAYS = 90


@dataclass(frozen=True)
class SetBody:
    value: str = field(repr=False)
    content_type: str | None = None
    tags: dict[str, str] | None = None
    enabled: bool | None = None
    not_before: int | None = None
    expires: int | None = None


def _string(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise bad_parameter(f"The property '{key}' must be a string.")
    return value


def _tags(body: dict[str, Any]) -> dict[str, str] | None:
    tags = body.get("tags")
    if tags is None:
        return None
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        raise bad_parameter("The property 'tags' must be an object of string values.")
    return tags


def _time(attrs: dict[str, Any], key: str) -> int | None:
    value = attrs.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_parameter(f"The attribute '{key}' must be an integer (unix seconds).")
    return value


def _attributes(body: dict[str, Any]) -> tuple[bool | None, int | None, int | None]:
    attrs = body.get("attributes")
    if attrs is None:
        return None, None, None
    if not isinstance(attrs, dict):
        raise bad_parameter("The property 'attributes' must be an object.")
    enabled = attrs.get("enabled")
    if enabled is not None and not isinstance(enabled, bool):
        raise bad_parameter("The attribute 'enabled' must be true or false.")
    return enabled, _time(attrs, "nbf"), _time(attrs, "exp")


def parse_set(body: dict[str, Any]) -> SetBody:
    """The body of ``PUT /secrets/{name}``; unknown properties are ignored, as Key Vault does."""
    if "value" not in body or body["value"] is None:
        raise bad_parameter("The property 'value' is required.")
    value = _string(body, "value")
    assert value is not None
    enabled, nbf, exp = _attributes(body)
    return SetBody(value, _string(body, "contentType"), _tags(body), enabled, nbf, exp)


def parse_update(body: dict[str, Any]) -> SecretUpdate:
    """The body of ``PATCH /secrets/{name}/{version}``; a value there is not allowed."""
    if "value" in body:
        raise bad_parameter("The value of a secret version cannot be changed; set a new one.")
    enabled, nbf, exp = _attributes(body)
    return SecretUpdate(enabled, nbf, exp, _string(body, "contentType"), _tags(body))


def _id(origin: str, p: SecretProperties, *, versioned: bool = True) -> str:
    base = f"{origin}/secrets/{p.name}"
    return f"{base}/{p.version}" if versioned else base


def _attributes_json(p: SecretProperties) -> dict[str, Any]:
    attrs: dict[str, Any] = {"enabled": p.enabled}
    if p.not_before is not None:
        attrs["nbf"] = p.not_before
    if p.expires is not None:
        attrs["exp"] = p.expires
    attrs.update(
        created=p.created,
        updated=p.updated,
        recoveryLevel=_RECOVERY_LEVEL,
        recoverableDays=_RECOVERABLE_DAYS,
    )
    return attrs


def _common(doc: dict[str, Any], p: SecretProperties) -> dict[str, Any]:
    doc["attributes"] = _attributes_json(p)
    if p.content_type is not None:
        doc["contentType"] = p.content_type
    if p.tags is not None:
        doc["tags"] = p.tags
    return doc


def bundle(origin: str, p: SecretProperties, value: str | None = None) -> dict[str, Any]:
    """A SecretBundle; ``value`` only in the answers to set-secret (the caller's own value)
    and get-secret, the two responses that carry one."""
    doc: dict[str, Any] = {} if value is None else {"value": value}
    doc["id"] = _id(origin, p)
    return _common(doc, p)


def item(origin: str, p: SecretProperties, *, versioned: bool) -> dict[str, Any]:
    """A SecretItem: ids carry the version only in a list of versions."""
    return _common({"id": _id(origin, p, versioned=versioned)}, p)


def _deleted_fields(origin: str, d: DeletedSecret) -> dict[str, Any]:
    return {
        "recoveryId": f"{origin}/deletedsecrets/{d.properties.name}",
        "deletedDate": d.deleted_date,
        "scheduledPurgeDate": d.scheduled_purge_date,
    }


def deleted_bundle(origin: str, d: DeletedSecret) -> dict[str, Any]:
    return {**bundle(origin, d.properties), **_deleted_fields(origin, d)}


def deleted_item(origin: str, d: DeletedSecret) -> dict[str, Any]:
    return {**item(origin, d.properties, versioned=False), **_deleted_fields(origin, d)}


def page(values: list[dict[str, Any]], next_link: str | None) -> dict[str, Any]:
    return {"value": values, "nextLink": next_link}
