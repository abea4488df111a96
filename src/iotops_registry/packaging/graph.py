"""Validate a data flow graph definition (GA format, schema 1.0.0 and 1.1.0) before it is pushed.

The rules are those of the published schema (``aio-wasm-graph-config-1.0.0/1.1.0``) plus what
a schema cannot say and the runtime refuses or silently mishandles: connections between
operations that exist, sources without inputs and sinks without outputs, branch arms as the
*strings* ``"True"``/``"False"``, module references that parse, unique parameter keys. Each
:class:`~iotops_registry.errors.Problem` names the file, the line, the YAML path and the fix.

A preview-format file (``moduleRequirements.hostlibVersion``, no ``metadata``) is refused with
the steps to migrate: the GA runtime does not run it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidArtifact, InvalidReference, Problem
from .modref import ModuleRef
from .source import Document, child, load_yaml
from .templating import fill

__all__ = [
    "GRAPH_SCHEMAS",
    "OPERATION_TYPES",
    "GraphDefinition",
    "ModuleUse",
    "Parameter",
    "graph_parameters",
    "validate_graph",
    "validate_graph_text",
]

OPERATION_TYPES = (
    "source", "map", "filter", "branch", "concatenate", "accumulate", "delay", "sink"
)
# Operation types that run a WASM operator (source, sink and concatenate are built in).
_NEEDS_MODULE = frozenset({"map", "filter", "branch", "accumulate", "delay"})
GRAPH_SCHEMAS: dict[str, str] = {
    f"https://{host}/aio-wasm-graph-config-{version}.json": version
    for host in ("www.schemastore.org", "json.schemastore.org")
    for version in ("1.0.0", "1.1.0")
}
"""``metadata.$schema`` values the GA runtime accepts (both SchemaStore hosts circulate)."""
_CURRENT_SCHEMA = "https://www.schemastore.org/aio-wasm-graph-config-1.1.0.json"
_TOP = ("metadata", "moduleRequirements", "operations", "connections")
_TOP_OPTIONAL = ("moduleConfigurations", "schemas")
_METADATA = {"$schema", "name", "version", "description", "vendor"}
_REQUIREMENTS = {"apiVersion", "runtimeVersion", "features"}

MIGRATION = (
    "this is the preview graph format (moduleRequirements.hostlibVersion, no metadata), "
    "which the GA runtime does not run"
)
MIGRATION_FIX = (
    "add a 'metadata' section ($schema: "
    f"{_CURRENT_SCHEMA.replace('1.1.0', '1.0.0')}, name, version), replace "
    "moduleRequirements.hostlibVersion with runtimeVersion: \"1.1.0\", set apiVersion: "
    "\"1.1.0\", and rebuild the modules with the GA WASM SDK"
)


@dataclass(frozen=True)
class ModuleUse:
    """One operation's ``module``: where it is written and what it names."""

    operation: str
    path: str
    line: int | None
    ref: ModuleRef


@dataclass
class GraphDefinition:
    """A valid graph: what publishing needs, and the warnings found on the way."""

    file: str
    text: str
    schema_version: str
    name: str
    version: str
    description: str | None
    vendor: str | None
    runtime_version: str
    modules: list[ModuleUse] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def module_refs(self) -> list[ModuleRef]:
        """Each distinct module reference, in order of first use."""
        seen: dict[str, ModuleRef] = {}
        for use in self.modules:
            seen.setdefault(str(use.ref), use.ref)
        return list(seen.values())


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return "a string" if isinstance(value, str) else type(value).__name__


class _Checker:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.errors: list[Problem] = []
        self.warnings: list[Problem] = []

    def error(self, path: str, message: str, fix: str = "") -> None:
        self.errors.append(self.doc.problem(path, message, fix))

    def warn(self, path: str, message: str, fix: str = "") -> None:
        self.warnings.append(self.doc.problem(path, message, fix, warning=True))

    def mapping(self, value: Any, path: str, what: str) -> dict[str, Any] | None:
        if isinstance(value, dict):
            return value
        self.error(path, f"{what} must be a mapping, not {_type_name(value)}",
                   f"write {path or 'the document'} as key: value pairs")
        return None

    def closed(self, obj: dict[str, Any], path: str, allowed: Iterable[str]) -> None:
        allowed = set(allowed)
        for key in obj:
            if key not in allowed:
                self.error(child(path, str(key)), f"unknown property {key!r}",
                           f"remove it or use one of: {', '.join(sorted(allowed))}")

    def string(self, obj: dict[str, Any], key: str, path: str, *, required: bool,
               nullable: bool = False) -> str | None:
        where = child(path, key)
        if key not in obj:
            if required:
                self.error(path, f"missing required property {key!r}", f"add {key}: ...")
            return None
        value = obj[key]
        if value is None and nullable:
            return None
        if not isinstance(value, str):
            shown = str(value).lower() if isinstance(value, bool) else value
            self.error(where, f"must be a string, not {_type_name(value)}",
                       f'quote the value: {key}: "{shown}"')
            return None
        return value

    def items(self, obj: dict[str, Any], key: str, path: str, *, required: bool) -> list[Any]:
        value = obj.get(key)
        if value is None:
            if required:
                self.error(path, f"missing required property {key!r}", f"add a {key} list")
            return []
        if not isinstance(value, list):
            self.error(child(path, key), f"must be a list, not {_type_name(value)}",
                       "write it as a YAML list ('- ...' items)")
            return []
        return value


def _is_preview(value: dict[str, Any]) -> bool:
    requirements = value.get("moduleRequirements")
    if isinstance(requirements, dict) and "hostlibVersion" in requirements:
        return True
    return "metadata" not in value and any(k in value for k in _TOP[1:])


def validate_graph_text(text: str, file: str) -> GraphDefinition:
    """Validate a graph definition (placeholders already filled); raise on any error."""
    doc = load_yaml(text, file)
    check = _Checker(doc)
    for path, line in doc.duplicates:
        check.errors.append(Problem(file, path, "duplicate key: only the last one would count",
                                    "remove or rename one of them", line))
    top = check.mapping(doc.value, "", "a graph definition")
    if top is None:
        raise InvalidArtifact(check.errors)
    if _is_preview(top):
        path = "moduleRequirements.hostlibVersion" if "hostlibVersion" in (
            top.get("moduleRequirements") or {}) else ""
        raise InvalidArtifact([doc.problem(path, MIGRATION, MIGRATION_FIX)])
    if not any(k in top for k in _TOP):
        raise InvalidArtifact([doc.problem(
            "", "not a graph definition (no metadata, moduleRequirements, operations or "
            "connections)", "pass a graph definition file (see aio-wasm-graph-config-1.0.0)")])
    check.closed(top, "", (*_TOP, *_TOP_OPTIONAL))
    for key in _TOP:
        if key not in top:
            check.error("", f"missing required property {key!r}", f"add a {key} section")

    schema_version, name, version, description, vendor = _metadata(check, top)
    runtime = _requirements(check, top)
    schemas = _schemas(check, top)
    operations, modules = _operations(check, top, schema_version)
    _connections(check, top, operations, schemas)
    _configurations(check, top, operations, schema_version)
    if check.errors:
        raise InvalidArtifact(check.errors)
    return GraphDefinition(
        file, text, schema_version, name or "", version or "", description, vendor,
        runtime or "", modules, check.warnings,
    )


def validate_graph(text: str, file: str, settings: dict[str, str] | None = None) -> GraphDefinition:
    """Fill ``${NAME}`` placeholders from ``settings``, then validate."""
    return validate_graph_text(fill(text, settings or {}, file), file)


def _metadata(check: _Checker, top: dict[str, Any]) -> tuple[str, str | None, str | None,
                                                             str | None, str | None]:
    meta = check.mapping(top.get("metadata"), "metadata", "metadata") if "metadata" in top else None
    if meta is None:
        return "1.0.0", None, None, None, None
    check.closed(meta, "metadata", _METADATA)
    schema = check.string(meta, "$schema", "metadata", required=True)
    schema_version = "1.0.0"
    if schema is not None:
        known = GRAPH_SCHEMAS.get(schema.strip())
        if known is None:
            check.error("metadata.$schema", f"unknown graph schema {schema!r}",
                        f"use {_CURRENT_SCHEMA} (or the 1.0.0 one)")
        else:
            schema_version = known
    name = check.string(meta, "name", "metadata", required=True)
    if name is not None and not name.strip():
        check.error("metadata.name", "must not be empty", "give the graph a name")
    version = check.string(meta, "version", "metadata", required=True)
    if version is not None and not version.strip():
        check.error("metadata.version", "must not be empty", 'e.g. version: "1.0.0"')
    description = check.string(meta, "description", "metadata", required=False, nullable=True)
    vendor = check.string(meta, "vendor", "metadata", required=False, nullable=True)
    return schema_version, name, version, description, vendor


def _requirements(check: _Checker, top: dict[str, Any]) -> str | None:
    if "moduleRequirements" not in top:
        return None
    req = check.mapping(top["moduleRequirements"], "moduleRequirements", "moduleRequirements")
    if req is None:
        return None
    check.closed(req, "moduleRequirements", _REQUIREMENTS)
    check.string(req, "apiVersion", "moduleRequirements", required=True)
    runtime = check.string(req, "runtimeVersion", "moduleRequirements", required=True)
    features = req.get("features")
    if features is not None:
        if not isinstance(features, list):
            check.error("moduleRequirements.features", "must be a list of {name, value}",
                        "write features as '- name: wasi-nn'")
        else:
            for i, feature in enumerate(features):
                path = child("moduleRequirements.features", i)
                item = check.mapping(feature, path, "a feature")
                if item is not None:
                    check.closed(item, path, ("name", "value"))
                    check.string(item, "name", path, required=True)
                    check.string(item, "value", path, required=False, nullable=True)
    return runtime


def _schemas(check: _Checker, top: dict[str, Any]) -> set[str]:
    names: set[str] = set()
    for i, entry in enumerate(check.items(top, "schemas", "", required=False)):
        path = child("schemas", i)
        item = check.mapping(entry, path, "a schema")
        if item is None:
            continue
        name = check.string(item, "name", path, required=True)
        check.string(item, "format", path, required=True)
        check.string(item, "schema", path, required=True)
        if name is not None:
            if name in names:
                check.error(child(path, "name"), f"schema {name!r} is defined twice",
                            "give each schema a unique name")
            names.add(name)
    return names


def _arity(check: _Checker, op: dict[str, Any], path: str, schema_version: str) -> None:
    if "arity" not in op:
        return
    where = child(path, "arity")
    if schema_version == "1.0.0":
        check.error(where, "'arity' needs graph schema 1.1.0",
                    f"set metadata.$schema to {_CURRENT_SCHEMA}, or remove arity")
        return
    value = op["arity"]
    if value == "unbounded":
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        check.error(where, f"arity must be an integer of at least 1 or \"unbounded\", not "
                    f"{value!r}", "e.g. arity: 2")


def _operations(check: _Checker, top: dict[str, Any], schema_version: str
                ) -> tuple[dict[str, str], list[ModuleUse]]:
    operations: dict[str, str] = {}
    modules: list[ModuleUse] = []
    items = check.items(top, "operations", "", required=False)
    if "operations" in top and isinstance(top["operations"], list) and not items:
        check.error("operations", "a graph needs at least a source and a sink",
                    "add a source and a sink operation")
    allowed = ("name", "operationType", "module", "arity")
    for i, entry in enumerate(items):
        path = child("operations", i)
        op = check.mapping(entry, path, "an operation")
        if op is None:
            continue
        check.closed(op, path, allowed)
        name = check.string(op, "name", path, required=True)
        kind = check.string(op, "operationType", path, required=True)
        if kind is not None and kind not in OPERATION_TYPES:
            check.error(child(path, "operationType"), f"unknown operation type {kind!r}",
                        f"use one of: {', '.join(OPERATION_TYPES)}")
            kind = None
        if name is not None:
            if name in operations:
                check.error(child(path, "name"), f"operation {name!r} is defined twice",
                            "give each operation a unique name")
            operations[name] = kind or ""
        _arity(check, op, path, schema_version)
        module = check.string(op, "module", path, required=False, nullable=True)
        if module is None:
            if kind in _NEEDS_MODULE and not check_has_error(check, child(path, "module")):
                check.error(path, f"a {kind} operation runs a WASM module, but none is named",
                            "add module: <repo>:<tag>")
            continue
        if kind in ("source", "sink"):
            check.error(child(path, "module"), f"a {kind} operation takes no module",
                        "remove the module line")
            continue
        try:
            ref = ModuleRef.parse(module)
        except InvalidReference as exc:
            check.error(child(path, "module"), f"module reference {module!r}: {exc}",
                        "write it as <repo>:<tag>, e.g. temperature:1.0.0")
            continue
        if ref.tag is None and ref.digest is None:
            check.warn(child(path, "module"), f"module {module!r} has no tag, so 'latest' is "
                       "pulled", f"pin a version: {module}:<tag>")
        modules.append(ModuleUse(name or "", child(path, "module"),
                                 check.doc.line(child(path, "module")), ref))
    kinds = set(operations.values())
    if items:
        for needed in ("source", "sink"):
            if needed not in kinds:
                check.error("operations", f"the graph has no {needed} operation",
                            f"add '- operationType: {needed}' with a name")
    return operations, modules


def check_has_error(check: _Checker, path: str) -> bool:
    return any(p.path == path for p in check.errors)


def _connections(check: _Checker, top: dict[str, Any], operations: dict[str, str],
                 schemas: set[str]) -> None:
    incoming: dict[str, int] = dict.fromkeys(operations, 0)
    outgoing: dict[str, int] = dict.fromkeys(operations, 0)
    arms: dict[str, set[str]] = {}
    for i, entry in enumerate(check.items(top, "connections", "", required=False)):
        path = child("connections", i)
        conn = check.mapping(entry, path, "a connection")
        if conn is None:
            continue
        check.closed(conn, path, ("from", "to"))
        ends: dict[str, str | None] = {}
        for end in ("from", "to"):
            if end not in conn:
                check.error(path, f"missing required property {end!r}", f"add {end}: {{name: ...}}")
                ends[end] = None
                continue
            point = check.mapping(conn[end], child(path, end), f"'{end}'")
            if point is None:
                ends[end] = None
                continue
            check.closed(point, child(path, end),
                         ("name", "arm", "schemaName") if end == "from" else ("name",))
            name = check.string(point, "name", child(path, end), required=True)
            if name is not None and name not in operations:
                check.error(child(path, f"{end}.name"), f"no operation is named {name!r}",
                            "use the name of an operation in 'operations'")
                name = None
            ends[end] = name
        source, target = ends["from"], ends["to"]
        if source is not None:
            outgoing[source] += 1
            if operations[source] == "sink":
                check.error(child(path, "from.name"), f"{source!r} is a sink: nothing flows "
                            "out of a sink", "connect from another operation")
        if target is not None:
            incoming[target] += 1
            if operations[target] == "source":
                check.error(child(path, "to.name"), f"{target!r} is a source: nothing flows "
                            "into a source", "connect to another operation")
        raw_from = conn.get("from")
        start: dict[str, Any] = raw_from if isinstance(raw_from, dict) else {}
        _arm(check, start, child(path, "from"), source, operations, arms)
        schema_name = start.get("schemaName")
        if schema_name is not None:
            if not isinstance(schema_name, str):
                check.error(child(path, "from.schemaName"), "must be a string",
                            "quote the schema name")
            elif schema_name not in schemas:
                check.error(child(path, "from.schemaName"), f"no schema is named {schema_name!r}",
                            "define it under 'schemas' or remove schemaName")
    for name, kind in operations.items():
        if kind == "source" and outgoing[name] == 0:
            check.error("connections", f"the source {name!r} is connected to nothing",
                        f"add a connection from {name}")
        elif kind == "sink" and incoming[name] == 0:
            check.error("connections", f"nothing is connected to the sink {name!r}",
                        f"add a connection to {name}")
        elif kind not in ("source", "sink", "") and incoming[name] == 0:
            check.warn("connections", f"nothing flows into operation {name!r}",
                       "connect it or remove it")
    for name, seen in arms.items():
        if seen and seen != {"True", "False"} and outgoing[name] >= 1:
            missing = ({"True", "False"} - seen).pop()
            check.warn("connections", f"branch {name!r} has no connection for arm "
                       f"\"{missing}\"", f"add a connection from {name} with arm: \"{missing}\"")


def _arm(check: _Checker, point: dict[str, Any], path: str, source: str | None,
         operations: dict[str, str], arms: dict[str, set[str]]) -> None:
    where = child(path, "arm")
    arm = point.get("arm")
    is_branch = source is not None and operations.get(source) == "branch"
    if arm is None:
        if is_branch and "arm" not in point:
            check.error(path, f"{source!r} is a branch: each connection from it needs an arm",
                        'add arm: "True" or arm: "False"')
        return
    if isinstance(arm, bool):
        text = "true" if arm else "false"
        check.error(where, f'Unsupported value: {text}: supported values: "False", "True" '
                    "(an unquoted YAML boolean)", f'quote it: arm: "{arm!s}"')
        return
    if arm not in ("True", "False"):
        check.error(where, f'Unsupported value: {arm!r}: supported values: "False", "True"',
                    'use arm: "True" or arm: "False"')
        return
    if source is not None and not is_branch:
        check.error(where, f"{source!r} is not a branch operation, so it has no arms",
                    "remove the arm, or connect from a branch")
        return
    if source is not None:
        seen = arms.setdefault(source, set())
        seen.add(arm)


def _configurations(check: _Checker, top: dict[str, Any], operations: dict[str, str],
                    schema_version: str) -> None:
    configured: set[str] = set()
    allowed = {"name", "description", "default", "required"}
    if schema_version != "1.0.0":
        allowed.add("schema")
    for i, entry in enumerate(check.items(top, "moduleConfigurations", "", required=False)):
        path = child("moduleConfigurations", i)
        conf = check.mapping(entry, path, "a module configuration")
        if conf is None:
            continue
        name = check.string(conf, "name", path, required=True)
        if name is not None:
            if name not in operations:
                check.error(child(path, "name"), f"no operation is named {name!r}",
                            "use the name of the operation these parameters are for")
            elif name in configured:
                check.error(child(path, "name"), f"operation {name!r} is configured twice",
                            "merge the two parameter lists")
            configured.add(name)
        if "parameters" not in conf:
            check.error(path, "missing required property 'parameters'", "add parameters: {...}")
            continue
        params = check.mapping(conf["parameters"], child(path, "parameters"), "parameters")
        if params is None:
            continue
        for key, value in params.items():
            ppath = child(child(path, "parameters"), str(key))
            param = check.mapping(value, ppath, f"parameter {key!r}")
            if param is None:
                continue
            for extra in param:
                if extra not in allowed:
                    fix = ("needs graph schema 1.1.0" if extra == "schema" else
                           f"use one of: {', '.join(sorted(allowed))}")
                    check.error(child(ppath, str(extra)), f"unknown property {extra!r}", fix)
            check.string(param, "name", ppath, required=True)
            check.string(param, "description", ppath, required=False, nullable=True)
            check.string(param, "default", ppath, required=False, nullable=True)
            if "required" in param and not isinstance(param["required"], bool):
                check.error(child(ppath, "required"), "must be true or false",
                            "write required: true or required: false")


@dataclass(frozen=True)
class Parameter:
    """One ``moduleConfigurations`` parameter: the key a graph node's configuration uses."""

    operation: str
    key: str
    required: bool
    default: str | None


def graph_parameters(definition: GraphDefinition) -> list[Parameter]:
    """Every parameter of a valid graph, in file order (for the resolver and the portal)."""
    top = load_yaml(definition.text, definition.file).value
    out: list[Parameter] = []
    for conf in top.get("moduleConfigurations") or []:
        for key, param in (conf.get("parameters") or {}).items():
            default = param.get("default")
            out.append(Parameter(str(conf["name"]), str(key), param.get("required") is True,
                                 None if default is None else str(default)))
    return out
