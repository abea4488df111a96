"""The authentication methods are named in one place: ``domain/auth_methods.py`` (and the
wire models of ``domain/models.py``). Everything else asks the method table."""

from __future__ import annotations

import ast
import re
import typing
from pathlib import Path

import pytest

import iotops_registry
from iotops_registry.domain import auth_methods, models

ROOT = Path(iotops_registry.__file__).parent
ALLOWED = {"domain/auth_methods.py", "domain/models.py"}
WORDS = [*auth_methods.AUTH_METHODS, *auth_methods.SETTINGS_KEY.values()]
# Also the names as they are today, so a table that lost one still fails here.
WORDS += [
    "Anonymous",
    "SystemAssignedManagedIdentity",
    "UserAssignedManagedIdentity",
    "ArtifactPullSecret",
    "anonymousSettings",
    "systemAssignedManagedIdentitySettings",
    "userAssignedManagedIdentitySettings",
    "artifactPullSecretSettings",
]
LITERAL = re.compile(r"\b(" + "|".join(sorted(set(WORDS), key=len, reverse=True)) + r")\b")


def _skipped(tree: ast.AST) -> set[int]:
    """Docstrings, and the names in ``__all__`` (identifiers, such as ``authn.Anonymous``,
    the anonymous authenticator of the OCI client)."""
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            ids |= {id(c) for c in ast.walk(node.value)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def python_literals(path: Path) -> list[str]:
    """String constants (not docstrings, not comments) that name a method or its settings."""
    tree = ast.parse(path.read_text())
    docs = _skipped(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            found += LITERAL.findall(node.value)
    return found


def _files(*suffixes: str) -> list[Path]:
    return sorted(
        p
        for p in ROOT.rglob("*")
        if p.suffix in suffixes and p.relative_to(ROOT).as_posix() not in ALLOWED
    )


@pytest.mark.parametrize("path", _files(".py"), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_method_literal_in_python(path: Path) -> None:
    assert python_literals(path) == []


@pytest.mark.parametrize(
    "path", _files(".js", ".html", ".css"), ids=lambda p: str(p.relative_to(ROOT))
)
def test_no_method_literal_in_the_portal(path: Path) -> None:
    """Scripts and templates read the method table the page carries (#auth-methods)."""
    assert LITERAL.findall(path.read_text()) == []


def test_the_literal_check_can_fail(tmp_path: Path) -> None:
    sample = tmp_path / "x.py"
    sample.write_text('"""Docstrings may say ArtifactPullSecret."""\nM = "ArtifactPullSecret"\n')
    assert python_literals(sample) == ["ArtifactPullSecret"]
    # Error codes that contain a name are stable API, not a switch over methods.
    sample.write_text('CODE = "NotAnArtifactPullSecretEndpoint"\n')
    assert python_literals(sample) == []


def _union_members() -> list[type]:
    union = typing.get_args(models.Authentication)[0]
    return list(typing.get_args(union))


def test_wire_models_match_the_table() -> None:
    """domain.models has one authentication model per method, with the same settings
    property, fields and required fields."""
    members = _union_members()
    assert members == list(models.AUTHENTICATION_MODELS)
    by_name = {}
    for model in members:
        (name,) = typing.get_args(model.model_fields["method"].annotation)
        by_name[name] = model
    assert list(by_name) == list(auth_methods.AUTH_METHODS)
    for m in auth_methods.METHODS:
        model = by_name[m.name]
        assert set(model.model_fields) == {"method", m.settings_key}
        settings = model.model_fields[m.settings_key].annotation
        fields = settings.model_fields
        assert list(fields) == [f.name for f in m.fields], m.name
        for f in m.fields:
            assert fields[f.name].is_required() == f.required, (m.name, f.name)


def test_every_method_is_complete() -> None:
    kinds = {auth_methods.NO_CREDENTIAL, auth_methods.MANAGED_IDENTITY, auth_methods.PULL_SECRET}
    for m in auth_methods.METHODS:
        assert m.credential in kinds
        assert m.label and m.description
        for f in m.fields:
            assert f.flags and f.flags[-1].startswith("--") and f.cli_help and f.label
        if m.credential == auth_methods.PULL_SECRET:
            assert m.field("secret_ref") is not None and m.rotates
        if m.credential == auth_methods.NO_CREDENTIAL:
            assert m.texts.no_credential is not None
    ids = list(auth_methods.portal_ids().values())
    assert len(ids) == len(set(ids)), "portal input ids must be unique"
    assert auth_methods.DEFAULT_METHOD in auth_methods.METHODS
    assert set(auth_methods.INFERENCE_ORDER) <= set(auth_methods.METHODS)


def test_plans() -> None:
    tenant = "11111111-2222-3333-4444-555555555555"
    system = auth_methods.SYSTEM_ASSIGNED_IDENTITY.authentication({"audience": "https://a/"})
    plan = auth_methods.plan_for(system, tenant)
    assert (plan.kind, plan.client_id, plan.tenant_id, plan.scope) == (
        "managed_identity", None, tenant, "https://a/.default"
    )
    user = auth_methods.USER_ASSIGNED_IDENTITY.authentication(
        {"clientId": "c", "tenantId": "t"}
    )
    plan = auth_methods.plan_for(user, tenant)
    assert (plan.client_id, plan.tenant_id, plan.scope) == ("c", "t", auth_methods.ARM_SCOPE)
    secret = auth_methods.ARTIFACT_PULL_SECRET.authentication({"secretRef": "s"})
    assert auth_methods.plan_for(secret, tenant).secret_ref == "s"
    assert auth_methods.plan_for(auth_methods.ANONYMOUS.authentication(), tenant).kind == "none"
