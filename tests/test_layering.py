"""The package's import direction, enforced: each layer may import exactly the layers and the
third-party packages the table below allows (docs/architecture.md draws the same table).
Anything not listed is refused, so a new dependency between layers is a decision made here.

    cli ─► server ─► api/web ─► access ─► services ─► store, domain, security ─► config, errors
                └─► vault, identity, devregistry (stand-ins)     remote ─► transport ─► authn
    every layer may use errors, netutil and _version; the HTTP surfaces share asgi
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from types import ModuleType

import pytest

import iotops_registry

ROOT = Path(iotops_registry.__file__).parent

BASE = {"errors", "netutil", "_version", "_lean"}  # below everything
# layer -> the layers of ours it may import (besides BASE and itself)
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "netutil": set(),
    "_version": set(),
    "_lean": set(),
    "config": set(),
    "oci": set(),
    "authn": set(),
    "transport": {"authn", "oci"},
    "remote": {"transport", "authn", "oci"},
    # Notary Project signatures: a pure core (oci, errors; see test_notary_core_is_pure) and
    # notary/registry.py, which alone reaches registries, through remote.
    "notary": {"oci", "remote"},
    # Publishing: artifacts built, validated, pushed; above the registry client, knows
    # nothing of the resource provider.
    "packaging": {"oci", "remote", "transport", "authn"},
    # domain may use the pure OCI model (reference grammar) and nothing else of ours.
    "domain": {"oci"},
    # The catalog's pure core: classification (reusing packaging's), summaries, queries.
    "catalog": {"oci", "packaging"},
    "security": {"config"},
    "store": set(),
    "keyvault": {"domain"},
    "services": {"domain", "store", "security", "authn", "catalog"},
    # access verifies signatures (notary) of what it pulls through endpoints, syncs the
    # catalog (its pure core) and resolves what graphs and templates name with the
    # publishing rules (packaging)
    "access": {"services", "domain", "remote", "transport", "authn", "oci", "notary",
               "catalog", "packaging"},
    "asgi": set(),
    "vault": {"asgi", "config", "security", "store"},
    "identity": {"asgi", "config", "security", "store", "domain"},
    "devregistry": {"asgi", "config", "security", "store", "domain", "identity"},
    "api": {"asgi", "services", "domain", "security"},
    "web": {"api", "domain", "security", "config"},
    # The server console (log levels, the access log): the standard library only.
    "console": set(),
    "server": {
        "access", "api", "config", "console", "devregistry", "identity", "keyvault",
        "security", "services", "store", "vault", "web",
    },
    "cli": {
        "config", "console", "domain", "keyvault", "security", "server", "web", "packaging",
        "notary", "remote", "oci", "authn",
    },
    "__init__": {"security"},
    "__main__": {"cli"},
}
# layer -> the third-party packages it may import (the standard library is always allowed)
ALLOWED_EXTERNAL: dict[str, set[str]] = {
    "errors": set(),
    "netutil": set(),
    "_version": set(),
    "_lean": {"httpx"},
    "config": set(),
    "oci": set(),
    "authn": set(),
    "transport": {"httpx", "httpcore", "h11"},
    "remote": {"httpx"},
    "notary": {"cryptography", "cbor2"},
    "packaging": {"jsonschema", "yaml"},
    "domain": {"pydantic", "pydantic_core", "cryptography"},
    "catalog": {"yaml"},
    "security": {"cryptography", "jwt", "azure", "httpx"},
    "store": {"sqlalchemy", "alembic", "psycopg"},
    "keyvault": {"azure"},
    "services": set(),
    "access": {"httpx", "azure", "jwt"},
    "asgi": {"starlette"},
    "vault": {"starlette", "cryptography"},
    "identity": {"starlette"},
    "devregistry": {"starlette", "jwt", "cryptography", "yaml"},
    "api": {"starlette", "pydantic"},
    "web": {"starlette", "jinja2", "jwt"},
    "console": set(),
    "server": {"uvicorn", "uvloop", "httpx", "azure"},
    "cli": {"click", "rich", "jmespath", "yaml", "httpx", "azure"},
    "__init__": set(),
    "__main__": set(),
}
# notary's pure modules: these packages of ours, these third-party ones, and the stdlib.
NOTARY_IO_MODULES = {"notary/registry.py", "notary/__init__.py"}
NOTARY_PURE_OURS = {"oci", "errors", "notary", "_version"}
NOTARY_PURE_THIRD_PARTY = {"cryptography", "cbor2"}
# authn/azure.py is the one module of the OCI client that talks to Azure: azure-identity and
# azure-core for the Entra token, httpx for the ACR exchange.
ALLOWED_EXTERNAL_IN_MODULE: dict[str, set[str]] = {"authn/azure.py": {"azure", "httpx"}}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    rel = path.relative_to(ROOT).with_suffix("")
    package_parts = list(rel.parts[:-1])
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package_parts[: len(package_parts) - node.level + 1]
                module = ".".join(
                    ["iotops_registry", *base, *(node.module or "").split(".")]
                ).rstrip(".")
                found.add(module)
                if not node.module:
                    found |= {f"{module}.{a.name}" for a in node.names}
            elif node.module:
                found.add(node.module)
    return found


def _layer(path: Path) -> str:
    return path.relative_to(ROOT).parts[0].removesuffix(".py")


@pytest.mark.parametrize("path", sorted(ROOT.rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_import_direction(path: Path) -> None:
    layer = _layer(path)
    assert layer in ALLOWED, f"{layer} is a new layer: give it a row in ALLOWED"
    ours = ALLOWED[layer] | BASE | {layer}
    theirs = ALLOWED_EXTERNAL[layer] | ALLOWED_EXTERNAL_IN_MODULE.get(
        path.relative_to(ROOT).as_posix(), set()
    )
    for module in _imports(path):
        parts = module.split(".")
        if parts[0] == "iotops_registry":
            if len(parts) > 1:
                assert parts[1] in ours, f"{layer} may not import {module}"
        elif parts[0] not in sys.stdlib_module_names and parts[0] != "__future__":
            assert parts[0] in theirs, f"{layer} may not import {module}"


@pytest.mark.parametrize(
    "path",
    sorted(p for p in (ROOT / "notary").glob("*.py")
           if p.relative_to(ROOT).as_posix() not in NOTARY_IO_MODULES),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_notary_core_is_pure(path: Path) -> None:
    """Envelopes, crypto, chain rules and verdicts: oci, errors, cryptography, cbor2 and
    the standard library only, so they can be used (and tested) without any I/O."""
    for module in _imports(path):
        parts = module.split(".")
        if parts[0] == "iotops_registry":
            assert len(parts) > 1 and parts[1] in NOTARY_PURE_OURS, f"{path.name}: {module}"
        else:
            assert parts[0] in NOTARY_PURE_THIRD_PARTY | set(sys.stdlib_module_names), (
                f"{path.name} imports {module}"
            )


def test_the_table_is_a_hierarchy() -> None:
    """No two layers may import each other, directly or through others."""

    def reachable(layer: str, seen: set[str]) -> set[str]:
        for other in ALLOWED.get(layer, set()) - seen:
            seen.add(other)
            reachable(other, seen)
        return seen

    for layer in ALLOWED:
        assert layer not in reachable(layer, set()), f"{layer} reaches itself"
    for base in BASE:
        assert ALLOWED[base] == set()


def test_public_api() -> None:
    for name in iotops_registry.__all__:
        assert hasattr(iotops_registry, name)
    # Subpackages are reached by their own names; everything else public is in __all__.
    public = {
        n
        for n in dir(iotops_registry)
        if not n.startswith("_") and not isinstance(getattr(iotops_registry, n), ModuleType)
    } - {"annotations", "Any", "TYPE_CHECKING"}
    assert public <= set(iotops_registry.__all__)


def test_one_exception_tree() -> None:
    from iotops_registry import errors

    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, errors.IotopsError)


def _exception_classes(path: Path) -> list[str]:
    """Classes in ``path`` whose bases name an exception (``...Error``, ``Exception``)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ClassDef):
            for base in node.bases:
                name = base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", "")
                if name in ("Exception", "BaseException") or name.endswith("Error"):
                    found.append(node.name)
    return found


def test_exceptions_live_in_errors_py() -> None:
    """Every exception class of ours is defined in errors.py, under IotopsError. The one
    exception: the CLI's, which must also be click exceptions (click prints them)."""
    from iotops_registry import errors
    from iotops_registry.cli.errors import ArmError, CliError

    stray = {
        str(path.relative_to(ROOT)): names
        for path in sorted(ROOT.rglob("*.py"))
        if path.relative_to(ROOT).as_posix() not in ("errors.py", "cli/errors.py")
        if (names := _exception_classes(path))
    }
    assert stray == {}
    assert issubclass(CliError, errors.IotopsError) and issubclass(ArmError, CliError)
