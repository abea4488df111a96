"""Akri connector templates: the request body's wire model (ARM 2025-10-01 and later).

The image of an ``ImageConfiguration`` template is pulled either through a registry endpoint
of the same instance (``registrySettings`` of type ``RegistryEndpointRef``, checked by the
service) or from a named registry with pull secrets (``ContainerRegistry``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from ..errors import ValidationError
from .models import ExtendedLocation, _Wire

__all__ = [
    "ConnectorTemplateBody",
    "check_template",
    "template_endpoint_ref",
]


class AioMetadata(_Wire):
    aioMinVersion: str | None = Field(default=None, max_length=64)
    aioMaxVersion: str | None = Field(default=None, max_length=64)


class InboundEndpointType(_Wire):
    endpointType: str = Field(min_length=1, max_length=253)
    version: str | None = Field(default=None, max_length=64)
    displayName: str | None = Field(default=None, max_length=253)
    configurationSchemaRefs: dict[str, Any] | None = None  # sent by az iot ops from metadata


class _LogLevel(_Wire):
    level: str = Field(min_length=1, max_length=32)


class TemplateDiagnostics(_Wire):
    logs: _LogLevel | None = None


class Tag(_Wire):
    tagDigestType: Literal["Tag"]
    tag: str = Field(min_length=1, max_length=128, pattern=r"^[\w][\w.-]{0,127}$")


class Digest(_Wire):
    tagDigestType: Literal["Digest"]
    digest: str = Field(min_length=1, max_length=200, pattern=r"^[a-z0-9]+:[a-fA-F0-9]{32,}$")


class ImagePullSecret(_Wire):
    secretRef: str = Field(min_length=1, max_length=253)


class ContainerRegistrySettings(_Wire):
    registry: str = Field(min_length=1, max_length=512)
    imagePullSecrets: list[ImagePullSecret] | None = Field(default=None, max_length=32)


class ContainerRegistry(_Wire):
    registrySettingsType: Literal["ContainerRegistry"]
    containerRegistrySettings: ContainerRegistrySettings


class EndpointRef(_Wire):
    registrySettingsType: Literal["RegistryEndpointRef"]
    registryEndpointRef: str = Field(min_length=1, max_length=63)


class ExecAction(_Wire):
    command: list[str] = Field(min_length=1, max_length=64)


class ReadinessProbe(_Wire):
    exec: ExecAction | None = None
    failureThreshold: int | None = Field(default=None, ge=1)
    initialDelaySeconds: int | None = Field(default=None, ge=0)
    periodSeconds: int | None = Field(default=None, ge=1)
    successThreshold: int | None = Field(default=None, ge=1)
    timeoutSeconds: int | None = Field(default=None, ge=1)


class ImageSettings(_Wire):
    imageName: str = Field(min_length=1, max_length=512)
    imagePullPolicy: Literal["Always", "IfNotPresent", "Never"] | None = None
    replicas: int | None = Field(default=None, ge=1, le=100)
    readinessProbe: ReadinessProbe | None = None
    tagDigestSettings: Annotated[Tag | Digest, Field(discriminator="tagDigestType")] | None = None
    registrySettings: Annotated[
        ContainerRegistry | EndpointRef, Field(discriminator="registrySettingsType")
    ] | None = None


class Allocation(_Wire):
    policy: Literal["Bucketized"]
    bucketSize: int = Field(ge=1, le=100)


class VolumeClaim(_Wire):
    claimName: str = Field(min_length=1, max_length=253)
    mountPath: str = Field(min_length=1, max_length=4096)


class TemplateSecret(_Wire):
    secretAlias: str = Field(min_length=1, max_length=253)
    secretKey: str = Field(min_length=1, max_length=253)
    secretRef: str = Field(min_length=1, max_length=253)


class TrustList(_Wire):
    trustListSecretRef: str = Field(min_length=1, max_length=253)


class _Managed(_Wire):
    additionalConfiguration: dict[str, str] | None = None
    allocation: Allocation | None = None
    persistentVolumeClaims: list[VolumeClaim] | None = Field(default=None, max_length=32)
    persistentVolumeClaimTemplates: list[dict[str, Any]] | None = Field(default=None, max_length=32)
    secrets: list[TemplateSecret] | None = Field(default=None, max_length=64)
    trustSettings: TrustList | None = None


class ImageConfiguration(_Managed):
    managedConfigurationType: Literal["ImageConfiguration"]
    imageConfigurationSettings: ImageSettings


class StatefulSetConfiguration(_Managed):
    managedConfigurationType: Literal["StatefulSetConfiguration"]
    statefulSetConfigurationSettings: dict[str, Any]


class ManagedConfiguration(_Wire):
    runtimeConfigurationType: Literal["ManagedConfiguration"]
    managedConfigurationSettings: Annotated[
        ImageConfiguration | StatefulSetConfiguration,
        Field(discriminator="managedConfigurationType"),
    ]


class ConnectorTemplateProperties(_Wire):
    connectorMetadataRef: str | None = Field(default=None, min_length=1, max_length=1024)
    aioMetadata: AioMetadata | None = None
    deviceInboundEndpointTypes: list[InboundEndpointType] = Field(min_length=1, max_length=64)
    diagnostics: TemplateDiagnostics | None = None
    mqttConnectionConfiguration: dict[str, Any] | None = None
    runtimeConfiguration: ManagedConfiguration


class ConnectorTemplateBody(_Wire):
    extendedLocation: ExtendedLocation | None = None
    properties: ConnectorTemplateProperties


_IMAGE = "properties.runtimeConfiguration.managedConfigurationSettings.imageConfigurationSettings"


def check_template(properties: ConnectorTemplateProperties) -> None:
    """Unique endpoint types; an image name without registry, tag or digest when the image
    comes through a registry endpoint (the endpoint's host says where)."""
    seen: set[tuple[str, str | None]] = set()
    for i, t in enumerate(properties.deviceInboundEndpointTypes):
        key = (t.endpointType, t.version)
        if key in seen:
            raise ValidationError(
                f"The device inbound endpoint type '{t.endpointType}' is listed more than once.",
                code="DuplicateEndpointType",
                target=f"properties.deviceInboundEndpointTypes[{i}].endpointType",
            )
        seen.add(key)
    settings = properties.runtimeConfiguration.managedConfigurationSettings
    if isinstance(settings, ImageConfiguration):
        name = settings.imageConfigurationSettings.imageName
        if "@" in name or ":" in name.rsplit("/", 1)[-1]:
            raise ValidationError(
                f"The imageName '{name[:200]}' carries a tag or digest; put it in "
                "tagDigestSettings instead.",
                code="InvalidImageName",
                target=f"{_IMAGE}.imageName",
            )


def template_endpoint_ref(properties: dict[str, Any]) -> str | None:
    """The registry endpoint the image of a stored template is pulled through, if any."""
    settings = properties["runtimeConfiguration"]["managedConfigurationSettings"]
    image = settings.get("imageConfigurationSettings") or {}
    registry = image.get("registrySettings") or {}
    if registry.get("registrySettingsType") == "RegistryEndpointRef":
        return str(registry["registryEndpointRef"])
    return None
