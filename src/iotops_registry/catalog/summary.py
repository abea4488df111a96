"""What the index keeps of a graph definition or a connector metadata document.

Lenient on purpose: registries hold preview-format graphs, templated ones and incomplete
metadata, and a catalog that hides them cannot say why they will not run. Each summary
carries the verdict of the publishing rules (``packaging``) as ``problems``.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from typing import Any

import yaml

from ..errors import InvalidArtifact

__all__ = ["connector_summary", "graph_summary", "looks_like", "parse_content"]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _untar(data: bytes) -> bytes | None:
    """A tar (or tar.gz) holding ``connector-metadata.json``: that file (else the first .json)."""
    raw = data
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError):
            return None
    try:
        with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
            members = [m for m in tar.getmembers() if m.isfile() and m.name.endswith(".json")]
            members.sort(key=lambda m: (not m.name.endswith("connector-metadata.json"), m.name))
            for member in members[:1]:
                handle = tar.extractfile(member)
                return handle.read(1 << 20) if handle else None
    except (tarfile.TarError, OSError, EOFError):
        return None
    return None


def parse_content(data: bytes) -> Any:
    """YAML (which includes JSON), a tarred JSON document, or None."""
    if data[:2] == b"\x1f\x8b" or (len(data) > 262 and data[257:262] == b"ustar"):
        inner = _untar(data)
        if inner is None:
            return None
        data = inner
    try:
        return yaml.safe_load(data.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError):
        return None


def looks_like(value: Any) -> str | None:
    """``graph`` or ``connector`` for a document with that shape, else None."""
    if not isinstance(value, dict):
        return None
    if "operations" in value and "connections" in value:
        return "graph"
    if "inboundEndpoints" in value or ("imageConfigurationSettings" in value and "name" in value):
        return "connector"
    return None


def graph_summary(value: dict[str, Any], text: str) -> dict[str, Any]:
    from ..packaging.graph import validate_graph_text

    meta = _mapping(value.get("metadata"))
    req = _mapping(value.get("moduleRequirements"))
    operations = []
    for op in value.get("operations") or []:
        if isinstance(op, dict):
            operations.append({"name": _text(op.get("name")) or "",
                               "operationType": _text(op.get("operationType")) or "",
                               "module": _text(op.get("module"))})
    connections = []
    for conn in value.get("connections") or []:
        if not isinstance(conn, dict):
            continue
        start, end = _mapping(conn.get("from")), _mapping(conn.get("to"))
        arm = start.get("arm")
        connections.append({"from": _text(start.get("name")) or "",
                            "to": _text(end.get("name")) or "",
                            "arm": None if arm is None else str(arm)})
    parameters = []
    for conf in value.get("moduleConfigurations") or []:
        if not isinstance(conf, dict) or not isinstance(conf.get("parameters"), dict):
            continue
        for key, raw in conf["parameters"].items():
            param = _mapping(raw)
            parameters.append({
                "operation": _text(conf.get("name")) or "",
                "key": str(key),
                "name": _text(param.get("name")) or str(key),
                "description": _text(param.get("description")),
                "default": _text(param.get("default")),
                "required": param.get("required") is True,
            })
    problems: list[str] = []
    try:
        definition = validate_graph_text(text, "graph.yaml")
        problems = [f"warning: {p.path or '(top)'}: {p.message}" for p in definition.warnings]
        valid = True
    except InvalidArtifact as exc:
        valid = False
        problems = [f"{p.path or '(top)'}: {p.message}" for p in exc.problems[:10]]
    modules = sorted({op["module"] for op in operations if op["module"]})
    return {
        "name": _text(meta.get("name")) or "",
        "version": _text(meta.get("version")) or "",
        "description": _text(meta.get("description")),
        "vendor": _text(meta.get("vendor")),
        "runtimeVersion": _text(req.get("runtimeVersion")) or _text(req.get("hostlibVersion")),
        "apiVersion": _text(req.get("apiVersion")),
        "schema": _text(meta.get("$schema")),
        "operations": operations,
        "operationTypes": sorted({op["operationType"] for op in operations if op["operationType"]}),
        "connections": connections,
        "parameters": parameters,
        "modules": modules,
        "valid": valid,
        "problems": problems,
    }


def connector_summary(value: dict[str, Any], data: bytes) -> dict[str, Any]:
    from ..packaging.connector import validate_metadata

    raw_image = value.get("imageConfigurationSettings")
    image: dict[str, Any] = raw_image if isinstance(raw_image, dict) else {}
    endpoints = []
    for ep in value.get("inboundEndpoints") or []:
        if isinstance(ep, dict) and ep.get("endpointType") is not None:
            endpoints.append({"endpointType": str(ep["endpointType"]),
                              "version": _text(ep.get("version"))})
    arches = value.get("supportedArchitectures")
    arches = [str(a) for a in arches] if isinstance(arches, list) else []
    reference = _text(image.get("imageName")) or ""
    if image.get("digest"):
        reference += f"@{image['digest']}"
    elif image.get("tag"):
        reference += f":{image['tag']}"
    problems: list[str] = []
    valid: bool | None
    try:
        text = json.dumps(value)
        meta = validate_metadata(text, "connector-metadata.json")
        problems = [f"warning: {p.path or '(top)'}: {p.message}" for p in meta.warnings]
        valid = True
    except InvalidArtifact as exc:
        valid = False
        problems = [f"{p.path or '(top)'}: {p.message}" for p in exc.problems[:10]]
    except Exception:  # a schema the validator cannot load is a verdict not reached
        valid = None
        problems = ["not validated"]
    vendor = _text(value.get("vendor")) or _text(value.get("maintainer"))
    return {
        "name": _text(value.get("name")) or "",
        "version": _text(value.get("version")) or "",
        "description": _text(value.get("description")),
        "vendor": vendor,
        "endpointTypes": endpoints,
        "architectures": arches,
        "image": reference or None,
        "isPreview": value.get("isPreview") is True,
        "valid": valid,
        "problems": problems,
    }
