"""What a new user installs is enough to run the server.

Every third-party module the package imports belongs to a distribution declared in
``[project.dependencies]`` (not only in an extra), and the built wheel, installed alone into a
fresh virtual environment, starts ``iotops serve`` and answers ``/healthz``.
"""

from __future__ import annotations

import ast
import importlib.metadata as md
import importlib.util
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import iotops_registry

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(iotops_registry.__file__).parent


def _third_party_imports() -> dict[str, set[str]]:
    """module -> the files of the package importing it (absolute imports of others only)."""
    found: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top in sys.stdlib_module_names or top in ("iotops_registry", "__future__"):
                    continue
                found.setdefault(module, set()).add(str(path.relative_to(PACKAGE)))
    return found


def _distribution_of(module: str) -> str:
    """The installed distribution whose files hold ``module`` (namespace packages such as
    ``azure`` are shared by several, so the module's own file decides)."""
    parts = module.split(".")
    origin = None
    while parts and origin is None:
        try:  # some extension submodules have no spec of their own: use their package's
            spec = importlib.util.find_spec(".".join(parts))
        except ValueError:
            spec = None
        if spec is not None and spec.origin and spec.origin not in ("built-in", "frozen"):
            origin = Path(spec.origin).resolve()
        parts.pop()
    assert origin is not None, f"{module} is not installed"
    top = module.split(".")[0]
    for name in md.packages_distributions().get(top, []):
        for file in md.distribution(name).files or []:
            if Path(str(file.locate())).resolve() == origin:
                return canonicalize_name(name)
    raise AssertionError(f"no installed distribution owns {module} ({origin})")


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = set()
    for line in project["dependencies"]:
        req = Requirement(line)
        if req.marker is None or req.marker.evaluate():
            names.add(canonicalize_name(req.name))
    return names


def test_every_imported_module_is_a_runtime_dependency() -> None:
    imports = _third_party_imports()
    # The walk really sees the package's imports, including one only the server needs.
    assert {"starlette.requests", "azure.keyvault.secrets", "uvicorn"} <= set(imports)
    declared = _declared()
    missing = {
        f"{module} ({_distribution_of(module)}, imported by {', '.join(sorted(files))})"
        for module, files in imports.items()
        if _distribution_of(module) not in declared
    }
    assert not missing, "not in [project.dependencies]: " + "; ".join(sorted(missing))


def test_the_sdk_extra_holds_the_readme_sdk_package() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert any(Requirement(r).name == "azure-mgmt-iotoperations" for r in extras["sdk"])
    readme = (ROOT / "README.md").read_text()
    assert "from azure.mgmt.iotoperations import" in readme and "[sdk]" in readme


def _run(args: list[str], cwd: Path, timeout: float = 600) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    out = "\n".join(
        line for line in (proc.stdout + proc.stderr).splitlines()
        if not line.startswith("WARNING: Location")
    )
    assert proc.returncode == 0, f"{' '.join(args)} failed:\n{out[-4000:]}"


def test_the_wheel_alone_serves(tmp_path: Path) -> None:
    """Build the wheel from a copy of the sources, install it into a fresh venv with only
    its runtime dependencies (no extras), and start ``iotops serve`` from there."""
    src = tmp_path / "src-copy"
    shutil.copytree(ROOT / "src", src / "src", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "constraints.txt"):
        shutil.copy(ROOT / name, src / name)
    wheels = tmp_path / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), "."],
         cwd=src)
    (wheel,) = wheels.glob("iotops_registry-*.whl")

    venv = tmp_path / "venv"
    base = getattr(sys, "_base_executable", sys.executable)
    _run([base, "-m", "venv", str(venv)], cwd=tmp_path)
    py = venv / "bin" / "python"
    _run([str(py), "-m", "pip", "install", "-q", "-c", str(ROOT / "constraints.txt"),
          str(wheel)], cwd=tmp_path)
    # Nothing of the test extra leaked in: the venv is really without it.
    probe = subprocess.run(
        [str(py), "-c", "import importlib.util as u; print(u.find_spec('pytest') is None, "
         "u.find_spec('azure.mgmt') is None)"],
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert probe.stdout.split() == ["True", "True"], probe.stdout + probe.stderr
    # The install check of scripts/install.sh: `iotops serve --help`, then a real start on a
    # scratch directory that must answer /healthz.
    _run([str(py), str(ROOT / "scripts" / "check-serve.py"), str(venv / "bin")],
         cwd=tmp_path, timeout=120)
