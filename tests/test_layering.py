"""The package's import direction, enforced: lower layers never import upper ones.

cli ─► server ─► api ─► services ─► store ─► (sqlalchemy)
                              └──► domain, security ─► config, errors
cli ─► packaging ─► remote ─► transport ─► authn, oci ─► errors
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from types import ModuleType

import pytest

import iotops_registry

ROOT = Path(iotops_registry.__file__).parent

# package -> packages of ours it must not import
FORBIDDEN: dict[str, set[str]] = {
    "errors": {
        "config",
        "domain",
        "security",
        "store",
        "services",
        "api",
        "server",
        "cli",
        "vault",
    },
    "config": {"domain", "security", "store", "services", "api", "server", "cli", "vault"},
    "domain": {"config", "security", "store", "services", "api", "server", "cli", "vault"},
    "security": {"domain", "store", "services", "api", "server", "cli", "vault"},
    "store": {"domain", "security", "services", "api", "server", "cli", "vault"},
    # The embedded vault: config, errors, security and store only.
    "vault": {"api", "services", "cli", "server", "domain"},
    # Registry credentials: pure values.
    "authn": {
        "config",
        "domain",
        "security",
        "store",
        "services",
        "api",
        "server",
        "cli",
        "vault",
        "keyvault",
    },
    # The Azure SDK adapter for vaults: domain values and errors only.
    "keyvault": {"config", "security", "store", "services", "api", "server", "cli", "vault"},
    # Services reach vaults through services.ports, never the adapter or the vault itself.
    "services": {"api", "server", "cli", "keyvault", "vault"},
    "api": {"store", "server", "cli", "keyvault", "vault"},
    "server": {"cli"},
    # Local stand-ins for Azure services (IMDS, the development registry): config, errors,
    # security, store and domain; the registry may use identity, never the other way round.
    "identity": {
        "api",
        "services",
        "cli",
        "server",
        "vault",
        "keyvault",
        "remote",
        "transport",
        "oci",
        "web",
        "devregistry",
    },
    "devregistry": {
        "api",
        "services",
        "cli",
        "server",
        "vault",
        "keyvault",
        "remote",
        "transport",
        "oci",
        "web",
    },
    # The web portal: pages and the session gateway. It reaches data only through the ARM API
    # (api, for its error envelope and versions), never services or the store.
    "web": {
        "store",
        "services",
        "cli",
        "server",
        "vault",
        "keyvault",
        "authn",
        "identity",
        "devregistry",
    },
}
# Only the server wires the portal in; no layer below it imports web (api takes it as a hook).
for _lower in (
    "errors",
    "config",
    "domain",
    "security",
    "store",
    "vault",
    "authn",
    "keyvault",
    "services",
    "api",
):
    FORBIDDEN[_lower] |= {"web"}
# Nothing below the stand-ins may import them: only the server wires them in.
for _lower in ("errors", "config", "domain", "security", "store", "vault", "authn", "keyvault"):
    FORBIDDEN[_lower] |= {"identity", "devregistry"}
# The registry client: oci (pure model) ◄─ authn (who) ◄─ transport (how) ◄─ remote (what).
# oci and authn core: errors and the standard library only; transport: authn, oci, errors and
# httpx; remote: transport, authn, oci, errors. None of them knows the resource provider.
_APP = {
    "config",
    "domain",
    "security",
    "store",
    "services",
    "api",
    "server",
    "cli",
    "vault",
    "keyvault",
    "devregistry",
    "identity",
    "web",
}
FORBIDDEN["oci"] = _APP | {"authn", "transport", "remote"}
FORBIDDEN["authn"] |= _APP | {"oci", "transport", "remote"}
FORBIDDEN["transport"] = _APP | {"remote"}
FORBIDDEN["remote"] = set(_APP)
for _lower in ("errors", "config", "domain", "security", "store", "vault", "keyvault"):
    FORBIDDEN[_lower] |= {"oci", "authn", "transport", "remote"}
# Registry access (the one switch over auth methods, connection test, health monitor): above
# services and the registry client, below api and the server.
FORBIDDEN["access"] = {
    "api",
    "server",
    "cli",
    "web",
    "vault",
    "keyvault",
    "devregistry",
    "identity",
}
for _lower in (
    "errors",
    "config",
    "domain",
    "security",
    "store",
    "vault",
    "authn",
    "keyvault",
    "services",
    "oci",
    "transport",
    "remote",
    "identity",
    "devregistry",
    "web",
):
    FORBIDDEN[_lower] |= {"access"}
# Notary Project signatures: the pure core (envelopes, crypto, chain rules, verdicts) knows
# only oci and errors; notary/registry.py alone talks to registries, through remote. Above
# it only access (the later wiring), api, server and cli.
FORBIDDEN["notary"] = _APP | {"access", "transport", "authn", "remote"}
# Publishing (artifact building, validation, push/copy/pull workflows): above the registry
# client (oci, transport, remote, authn), below access and the CLI; it knows nothing of the
# resource provider. Nothing below it imports it.
FORBIDDEN["packaging"] = set(_APP) | {"access"}
for _lower in (
    "errors",
    "config",
    "domain",
    "security",
    "store",
    "vault",
    "authn",
    "keyvault",
    "services",
    "oci",
    "transport",
    "remote",
    "identity",
    "devregistry",
    "web",
):
    FORBIDDEN[_lower] |= {"notary", "packaging"}
# Modules allowed one of their layer's forbidden packages of ours.
ALLOWED_IN_MODULE: dict[str, set[str]] = {"notary/registry.py": {"remote"}}
# notary's pure modules: these packages of ours, these third-party ones, and the stdlib.
NOTARY_IO_MODULES = {"notary/registry.py", "notary/__init__.py"}
NOTARY_PURE_OURS = {"oci", "errors", "notary", "_version"}
NOTARY_PURE_THIRD_PARTY = {"cryptography", "cbor2"}
# third-party packages each layer may not touch
FORBIDDEN_EXTERNAL: dict[str, set[str]] = {
    "access": {"sqlalchemy", "alembic", "starlette", "click", "uvicorn"},
    "domain": {"sqlalchemy", "starlette", "httpx", "click", "uvicorn"},
    "store": {"starlette", "httpx", "click", "uvicorn", "pydantic"},
    "services": {"starlette", "httpx", "click", "uvicorn", "sqlalchemy", "azure"},
    "authn": {"sqlalchemy", "starlette", "httpx", "click", "uvicorn", "azure"},
    "keyvault": {"sqlalchemy", "starlette", "click", "uvicorn"},
    "security": {"sqlalchemy", "starlette", "click", "uvicorn"},
    "api": {"sqlalchemy", "click", "uvicorn", "azure"},
    "vault": {"sqlalchemy", "alembic", "click", "uvicorn", "httpx", "pydantic"},
    "identity": {"sqlalchemy", "alembic", "click", "uvicorn", "httpx", "pydantic", "azure"},
    "devregistry": {"sqlalchemy", "alembic", "click", "uvicorn", "httpx", "pydantic", "azure"},
    "web": {"sqlalchemy", "alembic", "click", "uvicorn", "httpx", "pydantic", "azure"},
    "oci": {
        "sqlalchemy",
        "alembic",
        "starlette",
        "click",
        "uvicorn",
        "httpx",
        "httpcore",
        "pydantic",
        "azure",
        "jwt",
        "cryptography",
    },
    "transport": {"sqlalchemy", "alembic", "starlette", "click", "uvicorn", "pydantic", "azure"},
    "remote": {"sqlalchemy", "alembic", "starlette", "click", "uvicorn", "pydantic", "azure"},
    "notary": {
        "sqlalchemy",
        "alembic",
        "starlette",
        "click",
        "uvicorn",
        "pydantic",
        "azure",
        "jwt",
        "httpx",
        "httpcore",
    },
    # jsonschema, yaml and the standard library; the network only through remote.
    "packaging": {"sqlalchemy", "alembic", "starlette", "click", "uvicorn", "pydantic", "azure",
                  "httpx", "httpcore", "rich", "jwt", "cryptography"},
}
FORBIDDEN_EXTERNAL["authn"] |= {"httpcore", "jwt", "cryptography", "pydantic"}
# authn/azure.py is the one module of the client that talks to Azure: azure-identity/-core
# for the Entra token, httpx for the ACR exchange.
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
    ours = FORBIDDEN.get(layer, set()) - ALLOWED_IN_MODULE.get(
        path.relative_to(ROOT).as_posix(), set()
    )
    theirs = FORBIDDEN_EXTERNAL.get(layer, set()) - ALLOWED_EXTERNAL_IN_MODULE.get(
        path.relative_to(ROOT).as_posix(), set()
    )
    for module in _imports(path):
        parts = module.split(".")
        if parts[0] == "iotops_registry" and len(parts) > 1:
            assert parts[1] not in ours, f"{layer} must not import {module}"
        else:
            assert parts[0] not in theirs, f"{layer} must not import {module}"


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
