"""A connector template from connector metadata, as ``az iot ops connector template create``
fills it (aio-registry-endpoints §6.2), except that the image is pulled through a registry
endpoint (``RegistryEndpointRef``) instead of ``ContainerRegistry`` settings, so any of the
four authentication methods works. Pure functions: the CLI fetches, these map."""

from __future__ import annotations

import re
from typing import Any

__all__ = [
    "METADATA_REF",
    "image_name_of",
    "template_from_metadata",
    "update_problem",
    "version_of",
]

# The CLI's own check of a metadata reference (az iot ops).
METADATA_REF = re.compile(r"^[a-zA-Z0-9\-\.:]+/[\w\-\./]+-metadata:[a-zA-Z0-9\.\-_]+$")


def image_name_of(ref: str) -> str:
    """The image a metadata reference implies: the path after the registry, without the tag
    and the ``-metadata`` suffix (``mcr.microsoft.com/a/rest-metadata:1.0.6`` -> ``a/rest``)."""
    path = ref.split("/", 1)[1] if "/" in ref else ref
    path = path.rsplit(":", 1)[0]
    return path.removesuffix("-metadata")


def version_of(ref: str) -> str:
    return ref.rsplit(":", 1)[1] if ":" in ref.rsplit("/", 1)[-1] else ""


def template_from_metadata(
    ref: str,
    metadata: dict[str, Any],
    endpoint: str,
    *,
    replicas: int | None = None,
    log_level: str | None = None,
    image_pull_policy: str | None = None,
    connector_config: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The PUT body (``properties``) of a template made from ``metadata`` found at ``ref``."""
    settings = metadata.get("imageConfigurationSettings") or {}
    if settings.get("digest"):
        pin = {"tagDigestType": "Digest", "digest": str(settings["digest"])}
    else:
        pin = {"tagDigestType": "Tag",
               "tag": str(settings.get("tag") or metadata.get("version") or "latest")}
    image: dict[str, Any] = {
        "imageName": image_name_of(ref),
        "tagDigestSettings": pin,
        "registrySettings": {"registrySettingsType": "RegistryEndpointRef",
                             "registryEndpointRef": endpoint},
    }
    count = replicas if replicas is not None else metadata.get("recommendedReplicas")
    if count is not None:
        image["replicas"] = int(count)
    if image_pull_policy:
        image["imagePullPolicy"] = image_pull_policy
    managed: dict[str, Any] = {
        "managedConfigurationType": "ImageConfiguration",
        "imageConfigurationSettings": image,
    }
    if connector_config:
        managed["additionalConfiguration"] = dict(connector_config)
    types = []
    for ep in metadata.get("inboundEndpoints") or []:
        entry: dict[str, Any] = {"endpointType": str(ep["endpointType"])}
        if ep.get("version") is not None:
            entry["version"] = str(ep["version"])
        if ep.get("configurationSchemaRefs"):
            entry["configurationSchemaRefs"] = ep["configurationSchemaRefs"]
        types.append(entry)
    props: dict[str, Any] = {
        "connectorMetadataRef": ref,
        "deviceInboundEndpointTypes": types,
        "diagnostics": {"logs": {"level": log_level or "info"}},
        "runtimeConfiguration": {"runtimeConfigurationType": "ManagedConfiguration",
                                 "managedConfigurationSettings": managed},
    }
    if metadata.get("aioMetadata"):
        props["aioMetadata"] = dict(metadata["aioMetadata"])
    return props


def _semver(text: str) -> tuple[int, int, int] | None:
    match = re.match(r"^v?(\d+)\.(\d+)\.(\d+)", text)
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def update_problem(old: dict[str, Any], new: dict[str, Any]) -> str | None:
    """The update rules of ``az iot ops connector template update``: the same major version,
    no downgrade, the same endpoint types. ``old`` and ``new``: template properties."""
    old_ref, new_ref = old.get("connectorMetadataRef") or "", new.get("connectorMetadataRef") or ""
    before, after = _semver(version_of(old_ref)), _semver(version_of(new_ref))
    if before and after:
        if after[0] != before[0]:
            return (f"The metadata goes from version {version_of(old_ref)} to "
                    f"{version_of(new_ref)}: a new major version needs a new template.")
        if after < before:
            return (f"The metadata would go back from version {version_of(old_ref)} to "
                    f"{version_of(new_ref)}; a template is never downgraded.")
    kinds = sorted(t["endpointType"] for t in old.get("deviceInboundEndpointTypes") or [])
    now = sorted(t["endpointType"] for t in new.get("deviceInboundEndpointTypes") or [])
    if kinds != now:
        return (f"The endpoint types would change from {', '.join(kinds)} to "
                f"{', '.join(now)}; a template keeps its endpoint types.")
    return None
