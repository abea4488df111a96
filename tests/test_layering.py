"""The package's import direction, enforced: lower layers never import upper ones.

cli ─► server ─► api ─► services ─► store ─► (sqlalchemy)
                              └──► domain, security ─► config, errors
"""

from __future__ import annotations

import ast
from pathlib import Path

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
}
# third-party packages each layer may not touch
FORBIDDEN_EXTERNAL: dict[str, set[str]] = {
    "domain": {"sqlalchemy", "starlette", "httpx", "click", "uvicorn"},
    "store": {"starlette", "httpx", "click", "uvicorn", "pydantic"},
    "services": {"starlette", "httpx", "click", "uvicorn", "sqlalchemy", "azure"},
    "authn": {"sqlalchemy", "starlette", "httpx", "click", "uvicorn", "azure"},
    "keyvault": {"sqlalchemy", "starlette", "click", "uvicorn"},
    "security": {"sqlalchemy", "starlette", "click", "uvicorn"},
    "api": {"sqlalchemy", "click", "uvicorn", "azure"},
    "vault": {"sqlalchemy", "alembic", "click", "uvicorn", "httpx", "pydantic"},
}


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
    ours = FORBIDDEN.get(layer, set())
    theirs = FORBIDDEN_EXTERNAL.get(layer, set())
    for module in _imports(path):
        parts = module.split(".")
        if parts[0] == "iotops_registry" and len(parts) > 1:
            assert parts[1] not in ours, f"{layer} must not import {module}"
        else:
            assert parts[0] not in theirs, f"{layer} must not import {module}"


def test_public_api() -> None:
    for name in iotops_registry.__all__:
        assert hasattr(iotops_registry, name)
    public = {n for n in dir(iotops_registry) if not n.startswith("_")} - {
        "api",
        "cli",
        "config",
        "domain",
        "errors",
        "security",
        "server",
        "services",
        "store",
        "annotations",
        "Any",
        "TYPE_CHECKING",
        "authn",
        "keyvault",
        "vault",
    }
    assert public <= set(iotops_registry.__all__)


def test_one_exception_tree() -> None:
    from iotops_registry import errors

    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, errors.IotopsError)
