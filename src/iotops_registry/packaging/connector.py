"""Validate Akri connector metadata against the published JSON schema its ``$schema`` names.

The schemas (5.0- to 11.0-preview, from SchemaStore) ship with the package. The version is
taken from ``$schema`` (any URL ending in ``aio-connector-metadata-N.0-preview.json``), else
from the pre-8.0 property ``aioConnectorMetadataSchemaVersion``; a version we do not have
is validated against the nearest one. A file that says nothing is validated against the
newest version it satisfies. Both cases add a warning, so the choice is never silent.

On top of the schema: a semver ``version``, no placeholder in the image name, and — at push
time — the image named in ``imageConfigurationSettings`` is the image being pushed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from ..errors import InvalidArtifact, Problem
from ..oci import Digest, Reference
from .source import Document, child, load_json

__all__ = [
    "SCHEMA_VERSIONS",
    "ConnectorMetadata",
    "check_image",
    "metadata_text",
    "validate_metadata",
]

SCHEMA_VERSIONS = ("5.0", "6.0", "7.0", "8.0", "9.0", "10.0", "11.0")
_SCHEMA_URL = re.compile(r"aio-connector-metadata-(\d+)\.(\d+)-preview(?:\.json)?$")
_VERSION_PROPERTY = re.compile(r"^(\d+)\.(\d+)(?:-preview)?$")
# semver.org's regular expression (the schemas use the same one).
SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
_MAX_SHOWN = 160


@dataclass
class ConnectorMetadata:
    file: str
    data: dict[str, Any]
    schema_version: str
    warnings: list[Problem] = field(default_factory=list)

    @property
    def name(self) -> str:
        return str(self.data.get("name", ""))

    @property
    def version(self) -> str:
        return str(self.data.get("version", ""))

    @property
    def image(self) -> dict[str, Any]:
        value = self.data.get("imageConfigurationSettings")
        return value if isinstance(value, dict) else {}

    @property
    def architectures(self) -> list[str]:
        value = self.data.get("supportedArchitectures")
        return [str(v) for v in value] if isinstance(value, list) else []


@cache
def _schema(version: str) -> dict[str, Any]:
    name = f"aio-connector-metadata-{version}-preview.json"
    text = resources.files(__package__).joinpath("schemas", name).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def _number(version: str) -> float:
    major, minor = version.split(".")
    return int(major) + int(minor) / 100


def _nearest(major: int, minor: int) -> str:
    wanted = major + minor / 100
    return min(SCHEMA_VERSIONS, key=lambda v: (abs(_number(v) - wanted), -_number(v)))


def _declared(doc: Document) -> tuple[str | None, str]:
    """(the version asked for, how it was asked) — None when nothing says."""
    data = doc.value
    declared = data.get("$schema")
    if isinstance(declared, str):
        match = _SCHEMA_URL.search(declared.strip())
        if match:
            return f"{match.group(1)}.{match.group(2)}", "$schema"
        return None, f"$schema {declared!r} names no schema version"
    legacy = data.get("aioConnectorMetadataSchemaVersion")
    if isinstance(legacy, str) and (match := _VERSION_PROPERTY.match(legacy.strip())):
        return f"{match.group(1)}.{match.group(2)}", "aioConnectorMetadataSchemaVersion"
    return None, "the file has no $schema"


def _shorten(text: str) -> str:
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + "…"


def _fix_for(error: Any) -> str:
    kind = error.validator
    if kind == "required":
        missing = re.findall(r"'([^']+)' is a required property", error.message)
        return f"add {missing[0]!r}" if missing else "add the missing property"
    if kind == "additionalProperties":
        return "remove the property (or check its spelling against the schema)"
    if kind == "enum":
        return "use one of: " + ", ".join(json.dumps(v) for v in error.validator_value)
    if kind == "type":
        return f"use a value of type {error.validator_value}"
    if kind == "pattern":
        return f"match the pattern {error.validator_value}"
    if kind in ("minItems", "minLength"):
        return f"give at least {error.validator_value}"
    if kind == "uniqueItems":
        return "remove the duplicate entries"
    return "see the schema for this property"


def _schema_errors(doc: Document, version: str) -> list[Problem]:
    from jsonschema import Draft7Validator
    from jsonschema.exceptions import best_match

    validator = Draft7Validator(_schema(version))
    problems: list[Problem] = []
    for error in sorted(validator.iter_errors(doc.value), key=lambda e: list(e.absolute_path)):
        if error.validator in ("oneOf", "anyOf") and error.context:
            error = best_match(error.context)  # the branch that came closest explains it best
        path = ""
        for part in error.absolute_path:
            path = child(path, part)
        if error.validator == "additionalProperties":
            unexpected = re.findall(r"'([^']+)'", error.message.partition("(")[2])
            if unexpected:  # point at the property itself, on its own line
                path = child(path, unexpected[0])
        problems.append(doc.problem(path, _shorten(error.message), _fix_for(error)))
    return problems


def _extra_rules(doc: Document) -> list[Problem]:
    data = doc.value
    problems: list[Problem] = []
    version = data.get("version")
    if isinstance(version, str) and not SEMVER.match(version):
        problems.append(doc.problem("version", f"{version!r} is not a semantic version",
                                    'write it as MAJOR.MINOR.PATCH, e.g. "1.0.0"'))
    image = data.get("imageConfigurationSettings")
    name = image.get("imageName") if isinstance(image, dict) else None
    if isinstance(name, str) and ("<" in name or ">" in name or " " in name):
        problems.append(doc.problem("imageConfigurationSettings.imageName",
                                    f"{name!r} is a placeholder, not an image name",
                                    "write the repository of the connector image"))
    for path, line in doc.duplicates:
        problems.append(Problem(doc.file, path, "duplicate key: only the last one would count",
                                "remove one of them", line))
    return problems


def validate_metadata(text: str, file: str) -> ConnectorMetadata:
    """Validate a connector metadata document; raise :class:`InvalidArtifact` on errors."""
    doc = load_json(text, file)
    if not isinstance(doc.value, dict):
        raise InvalidArtifact([doc.problem("", "connector metadata must be a JSON object",
                                           "see aio-connector-metadata-11.0-preview.json")])
    wanted, how = _declared(doc)
    warnings: list[Problem] = []
    if wanted is not None:
        major, minor = (int(p) for p in wanted.split("."))
        version = _nearest(major, minor)
        if version != wanted:
            warnings.append(doc.problem("$schema" if how == "$schema" else how,
                                        f"schema {wanted}-preview is not known here; validated "
                                        f"against {version}-preview, the nearest",
                                        "", warning=True))
        errors = _schema_errors(doc, version)
    else:
        version, errors = SCHEMA_VERSIONS[-1], []
        for candidate in reversed(SCHEMA_VERSIONS):
            found = _schema_errors(doc, candidate)
            if not found:
                version, errors = candidate, []
                break
            if candidate == SCHEMA_VERSIONS[-1]:
                errors = found
        url = f"https://json.schemastore.org/aio-connector-metadata-{version}-preview.json"
        warnings.append(doc.problem("$schema", f"{how}; validated against {version}-preview",
                                    f'add "$schema": "{url}"', warning=True))
    errors += _extra_rules(doc)
    if errors:
        raise InvalidArtifact(errors)
    return ConnectorMetadata(file, doc.value, version, warnings)


def check_image(meta: ConnectorMetadata, target: Reference, digest: Digest) -> list[Problem]:
    """Problems if the metadata's image is not ``target`` (pushed with ``digest``)."""
    image = meta.image
    name = str(image.get("imageName", ""))
    path = "imageConfigurationSettings"
    first, _, rest = name.partition("/")
    has_host = bool(rest) and ("." in first or ":" in first or first == "localhost")
    repository = rest if has_host else name
    wanted = f"{target.registry}/{target.repository}" if has_host else target.repository
    problems: list[Problem] = []
    matches = repository == target.repository or (
        not has_host and target.repository.endswith("/" + repository)
    )
    if has_host and first.lower() != target.registry:
        matches = False
    if not matches:
        problems.append(Problem(meta.file, child(path, "imageName"),
                                f"names the image {name!r}, but the image goes to "
                                f"{target.registry}/{target.repository}",
                                f'set "imageName": "{wanted}" (or push to {name})'))
    tag = image.get("tag")
    if isinstance(tag, str) and target.tag and tag != target.tag:
        problems.append(Problem(meta.file, child(path, "tag"),
                                f"names tag {tag!r}, but the image is pushed as {target.tag!r}",
                                f'set "tag": "{target.tag}"'))
    pinned = image.get("digest")
    if isinstance(pinned, str) and pinned != str(digest):
        problems.append(Problem(meta.file, child(path, "digest"),
                                f"names digest {pinned}, but the pushed image is {digest}",
                                f'set "digest": "{digest}"'))
    return problems


METADATA_FILE = "connector-metadata.json"
MAX_METADATA_BYTES = 4 << 20


def metadata_text(blob: bytes) -> str:
    """The metadata document in a pulled blob: raw JSON, or a tar / tar.gz holding
    ``connector-metadata.json`` (as ``az iot ops`` reads it). Only that member is read, and
    never written to disk."""
    import gzip
    import io
    import tarfile

    data = blob
    if data[:2] == b"\x1f\x8b":
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as gz:
            data = gz.read(MAX_METADATA_BYTES + 1)
        if len(data) > MAX_METADATA_BYTES:
            raise InvalidArtifact([Problem("(blob)", "", "the metadata archive is too large")])
    if data.lstrip()[:1] in (b"{", b"["):
        return data.decode("utf-8")
    try:
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            for member in tar.getmembers():
                if member.isfile() and member.name.rsplit("/", 1)[-1] == METADATA_FILE:
                    if member.size > MAX_METADATA_BYTES:
                        break
                    extracted = tar.extractfile(member)
                    if extracted is not None:
                        return extracted.read().decode("utf-8")
    except (tarfile.TarError, UnicodeDecodeError):
        pass
    raise InvalidArtifact([Problem(
        "(blob)", "", f"the layer is neither JSON nor a tar archive holding {METADATA_FILE}",
        f"push the metadata JSON as the layer (oras push ... {METADATA_FILE}:application/json)")])
