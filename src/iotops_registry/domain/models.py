"""Wire models of the request bodies, as ARM defines them (api-version 2025-10-01 and later).

These pydantic models are the single statement of what a client may send: the API parses
with them, and the OpenAPI document is generated from them. They forbid unknown properties,
use strict types, and each value rule raises an error whose type is the ARM error code.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from ..errors import InvalidRequestError, ValidationError
from . import rules
from .auth_methods import AUTH_METHODS, SETTINGS_KEY

__all__ = [
    "AUTH_METHODS",
    "SETTINGS_KEY",
    "Authentication",
    "ExtendedLocation",
    "InstanceBody",
    "InstancePatchBody",
    "RegistryEndpointBody",
    "parse_model",
]

SIGNING_KEY_TYPES = ("ConfigMap", "Secret")
READ_ONLY = {
    "id", "name", "type", "systemData", "provisioningState", "healthState", "version", "status"
}


def _rule(code: str, problem: str | None) -> None:
    if problem:
        raise PydanticCustomError(code, problem)


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ExtendedLocation(_Wire):
    name: str = Field(min_length=1, max_length=1024)
    type: str = Field(min_length=1, max_length=64)


# --- authentication -------------------------------------------------------------------------
# One settings model and one authentication model per method of domain.auth_methods (a test
# checks that they agree: names, settings properties, fields and required fields).


class AnonymousSettings(_Wire):
    pass


class SystemAssignedManagedIdentitySettings(_Wire):
    audience: str | None = None

    @field_validator("audience")
    @classmethod
    def _audience(cls, v: str | None) -> str | None:
        if v is not None:
            _rule("InvalidAudience", rules.check_audience(v))
        return v


class UserAssignedManagedIdentitySettings(_Wire):
    clientId: str
    tenantId: str
    scope: str | None = None

    @field_validator("clientId")
    @classmethod
    def _client(cls, v: str) -> str:
        _rule("InvalidGuid", rules.check_guid(v, "client ID"))
        return v

    @field_validator("tenantId")
    @classmethod
    def _tenant(cls, v: str) -> str:
        _rule("InvalidGuid", rules.check_guid(v, "tenant ID"))
        return v

    @field_validator("scope")
    @classmethod
    def _scope(cls, v: str | None) -> str | None:
        if v is not None:
            _rule("InvalidScope", rules.check_scope(v))
        return v


class ArtifactPullSecretSettings(_Wire):
    secretRef: str

    @field_validator("secretRef")
    @classmethod
    def _ref(cls, v: str) -> str:
        _rule("InvalidSecretRef", rules.check_k8s_name(v, "secret reference"))
        return v


class AnonymousAuthentication(_Wire):
    method: Literal["Anonymous"]
    anonymousSettings: AnonymousSettings


class SystemAssignedManagedIdentityAuthentication(_Wire):
    method: Literal["SystemAssignedManagedIdentity"]
    systemAssignedManagedIdentitySettings: SystemAssignedManagedIdentitySettings


class UserAssignedManagedIdentityAuthentication(_Wire):
    method: Literal["UserAssignedManagedIdentity"]
    userAssignedManagedIdentitySettings: UserAssignedManagedIdentitySettings


class ArtifactPullSecretAuthentication(_Wire):
    method: Literal["ArtifactPullSecret"]
    artifactPullSecretSettings: ArtifactPullSecretSettings


AUTHENTICATION_MODELS: tuple[type[_Wire], ...] = (
    AnonymousAuthentication,
    SystemAssignedManagedIdentityAuthentication,
    UserAssignedManagedIdentityAuthentication,
    ArtifactPullSecretAuthentication,
)
Authentication = Annotated[
    AnonymousAuthentication
    | SystemAssignedManagedIdentityAuthentication
    | UserAssignedManagedIdentityAuthentication
    | ArtifactPullSecretAuthentication,
    Field(discriminator="method"),
]

# --- code signing CAs -----------------------------------------------------------------------


class ConfigMapSigningKey(_Wire):
    type: Literal["ConfigMap"]
    configMapRef: str

    @field_validator("configMapRef")
    @classmethod
    def _ref(cls, v: str) -> str:
        _rule("InvalidConfigMapRef", rules.check_k8s_name(v, "config map reference"))
        return v


class SecretSigningKey(_Wire):
    type: Literal["Secret"]
    secretRef: str

    @field_validator("secretRef")
    @classmethod
    def _ref(cls, v: str) -> str:
        _rule("InvalidSecretRef", rules.check_k8s_name(v, "secret reference"))
        return v


SigningKey = Annotated[ConfigMapSigningKey | SecretSigningKey, Field(discriminator="type")]


class RegistryEndpointProperties(_Wire):
    host: str
    authentication: Authentication
    codeSigningCas: list[SigningKey] | None = Field(default=None, max_length=64)

    @field_validator("host")
    @classmethod
    def _host(cls, v: str) -> str:
        _rule("InvalidHost", rules.check_host(v))
        return v

    @field_validator("codeSigningCas")
    @classmethod
    def _unique(cls, v: list[Any] | None) -> list[Any] | None:
        seen: set[tuple[str, str]] = set()
        for item in v or []:
            key = (item.type, item.configMapRef if item.type == "ConfigMap" else item.secretRef)
            if key in seen:
                raise PydanticCustomError(
                    "DuplicateCodeSigningCa",
                    f"The {key[0]} '{key[1]}' is listed more than once in codeSigningCas.",
                )
            seen.add(key)
        return v


class RegistryEndpointBody(_Wire):
    extendedLocation: ExtendedLocation | None = None
    properties: RegistryEndpointProperties


# --- instances ------------------------------------------------------------------------------


class SchemaRegistryRef(_Wire):
    resourceId: str = Field(min_length=1, max_length=1024)


class InstanceProperties(_Wire):
    description: str | None = Field(default=None, max_length=2048)
    schemaRegistryRef: SchemaRegistryRef | None = None


def _check_tags(v: dict[str, str] | None) -> dict[str, str] | None:
    if v is not None and len(v) > 50:
        raise PydanticCustomError("InvalidTags", "A resource may have at most 50 tags.")
    for key, value in (v or {}).items():
        if not 1 <= len(key) <= 512 or len(value) > 256:
            raise PydanticCustomError(
                "InvalidTags", "Tag names must be 1 to 512 characters and values at most 256."
            )
    return v


class InstanceBody(_Wire):
    location: str = Field(min_length=1, max_length=64)
    extendedLocation: ExtendedLocation
    tags: dict[str, str] | None = None
    properties: InstanceProperties | None = None

    @field_validator("tags")
    @classmethod
    def _tags(cls, v: dict[str, str] | None) -> dict[str, str] | None:
        return _check_tags(v)


class InstancePatchBody(_Wire):
    tags: dict[str, str] | None = None
    properties: InstanceProperties | None = None

    @field_validator("tags")
    @classmethod
    def _tags(cls, v: dict[str, str] | None) -> dict[str, str] | None:
        return _check_tags(v)


# --- pydantic errors -> ARM errors ----------------------------------------------------------

_TAG_PARENTS = {"authentication"}
_TYPE_NAMES = {
    "string_type": "a string",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "list_type": "an array",
    "bool_type": "a boolean",
    "int_type": "an integer",
}


_RANK = {"InvalidAuthenticationSettings": 0, "MissingRequiredProperty": 2}
# Discriminated unions put the tag value in an error's location; it is not a property.
# (list property, tag) for unions in lists, (property, tag) for unions in a property.
_LIST_UNION_TAGS = {
    *(("codeSigningCas", t) for t in SIGNING_KEY_TYPES),
    *(("nodes", t) for t in ("Source", "Graph", "Destination")),
}
_FIELD_UNION_TAGS = {
    ("runtimeConfiguration", "ManagedConfiguration"),
    ("managedConfigurationSettings", "ImageConfiguration"),
    ("managedConfigurationSettings", "StatefulSetConfiguration"),
    ("registrySettings", "ContainerRegistry"),
    ("registrySettings", "RegistryEndpointRef"),
    ("tagDigestSettings", "Tag"),
    ("tagDigestSettings", "Digest"),
}
# The discriminator of each union (by the property that holds it) and its values.
_UNION_FIELDS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "authentication": ("method", AUTH_METHODS, "InvalidAuthenticationMethod"),
    "codeSigningCas": ("type", SIGNING_KEY_TYPES, "InvalidSigningKeyType"),
    "nodes": ("nodeType", ("Source", "Graph", "Destination"), "InvalidNodeType"),
    "runtimeConfiguration": (
        "runtimeConfigurationType", ("ManagedConfiguration",), "InvalidPropertyValue"
    ),
    "managedConfigurationSettings": (
        "managedConfigurationType",
        ("ImageConfiguration", "StatefulSetConfiguration"),
        "InvalidPropertyValue",
    ),
    "registrySettings": (
        "registrySettingsType", ("ContainerRegistry", "RegistryEndpointRef"), "InvalidPropertyValue"
    ),
    "tagDigestSettings": ("tagDigestType", ("Tag", "Digest"), "InvalidPropertyValue"),
}


def _union_of(loc: tuple[Any, ...]) -> tuple[str, tuple[str, ...], str]:
    """The union an error location ends in (a list item's union names its list)."""
    leaf = loc[-1] if loc else ""
    if isinstance(leaf, int) and len(loc) > 1:
        leaf = loc[-2]
    return _UNION_FIELDS.get(str(leaf), ("type", SIGNING_KEY_TYPES, "InvalidSigningKeyType"))


def _target(loc: tuple[Any, ...], prefix: str) -> str:
    parts: list[str] = [prefix] if prefix else []
    previous: Any = None
    for i, item in enumerate(loc):
        # Discriminated unions add the tag value to the location; it is not a property.
        is_tag = previous in _TAG_PARENTS and item in AUTH_METHODS
        is_tag = is_tag or (
            isinstance(previous, int)
            and i > 1
            and (loc[i - 2], item) in _LIST_UNION_TAGS
        )
        is_tag = is_tag or (previous, item) in _FIELD_UNION_TAGS
        if not is_tag:
            if isinstance(item, int):
                parts[-1] = f"{parts[-1]}[{item}]" if parts else f"[{item}]"
            else:
                parts.append(str(item))
        previous = item
    return ".".join(parts)


def _one(err: Any, prefix: str, data: Any) -> ValidationError:
    loc: tuple[Any, ...] = tuple(err["loc"])
    target = _target(loc, prefix)
    kind: str = err["type"]
    leaf = str(loc[-1]) if loc else ""
    if kind == "missing":
        return ValidationError(
            f"The property '{target}' is required.", code="MissingRequiredProperty", target=target
        )
    if kind == "extra_forbidden":
        if leaf in READ_ONLY:
            return ValidationError(
                f"The property '{target}' is read-only and cannot be set.",
                code="ReadOnlyProperty",
                target=target,
            )
        parent = [p for p in loc[:-1] if not (isinstance(p, str) and p in AUTH_METHODS)]
        if parent and parent[-1] == "authentication" and leaf.endswith("Settings"):
            method = loc[-2] if len(loc) >= 2 else "?"
            expected = SETTINGS_KEY.get(str(method), "?")
            return ValidationError(
                f"'{leaf}' cannot be used with authentication method '{method}'; "
                f"that method takes only '{expected}'.",
                code="InvalidAuthenticationSettings",
                target=target,
            )
        return ValidationError(
            f"The property '{target}' is not a known property.",
            code="UnknownProperty",
            target=target,
        )
    if kind == "union_tag_invalid":
        field, allowed, code = _union_of(loc)
        ctx = err.get("ctx") or {}
        return ValidationError(
            f"'{ctx.get('tag', '?')}' is not a valid {field}. Use one of: {', '.join(allowed)}.",
            code=code,
            target=f"{target}.{field}",
        )
    if kind == "union_tag_not_found":
        field = _union_of(loc)[0]
        return ValidationError(
            f"The property '{target}.{field}' is required.",
            code="MissingRequiredProperty",
            target=f"{target}.{field}",
        )
    if kind in _TYPE_NAMES:
        return ValidationError(
            f"The property '{target}' must be {_TYPE_NAMES[kind]}.",
            code="InvalidPropertyType",
            target=target,
        )
    if kind in {"string_too_short", "string_too_long", "too_long", "too_short"}:
        return ValidationError(
            f"The property '{target}' has an invalid length: {err['msg']}.",
            code="InvalidPropertyValue",
            target=target,
        )
    if kind == "literal_error":
        return ValidationError(
            f"The property '{target}' has an invalid value: {err['msg']}.",
            code="InvalidPropertyValue",
            target=target,
        )
    if kind[:1].isupper():  # our own PydanticCustomError codes
        return ValidationError(str(err["msg"]), code=kind, target=target)
    return ValidationError(
        f"The property '{target}' is invalid: {err['msg']}.",
        code="InvalidPropertyValue",
        target=target,
    )


M = TypeVar("M", bound=BaseModel)


def parse_model(model: type[M], data: Any, *, prefix: str = "") -> M:
    """Validate ``data`` with ``model``; raise a ``ValidationError`` naming every problem."""
    if not isinstance(data, dict):
        raise InvalidRequestError(
            "The request body must be a JSON object.", code="InvalidRequestContent"
        )
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        errors = [_one(e, prefix, data) for e in exc.errors(include_url=False, include_input=False)]
        # Lead with the error that explains the others: wrong settings for the method
        # also make the method's own settings "missing".
        errors.sort(key=lambda e: _RANK.get(e.code, 1))
        first = errors[0]
        raise ValidationError(
            first.message, code=first.code, target=first.target, details=errors[1:] or ()
        ) from None
