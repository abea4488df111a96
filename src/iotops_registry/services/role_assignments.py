"""``Microsoft.Authorization/roleAssignments`` and ``roleDefinitions``: Azure RBAC's resources,
as ``az role assignment`` and ``az role definition`` see them.

An assignment is (scope, principal object id, built-in role). Every change clears the
authorizer's cache, so it applies to the next request.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from typing import Any

from ..errors import ConflictError, InvalidRequestError, NotFoundError, ValidationError
from ..security import (
    BUILTIN_ROLES,
    Authorizer,
    Principal,
    RoleDefinition,
    find_role,
    normalize_scope,
)
from ..store import StoreConflict
from ..store.roles_store import RoleAssignmentRecord, RoleAssignmentStore
from .common import now_iso

__all__ = [
    "ASSIGNMENT_TYPE",
    "DEFINITION_TYPE",
    "RoleAssignmentService",
    "authorization_id",
    "check_scope",
]

ASSIGNMENT_TYPE = "Microsoft.Authorization/roleAssignments"
DEFINITION_TYPE = "Microsoft.Authorization/roleDefinitions"
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_PRINCIPAL_TYPES = ("User", "Group", "ServicePrincipal", "ForeignGroup", "Device")
_SCOPE = re.compile(r"^/(subscriptions/[^/]+(/.*)?)?$", re.IGNORECASE)


def authorization_id(scope: str, kind: str, name: str) -> str:
    """``{scope}/providers/Microsoft.Authorization/{kind}/{name}`` (no ``//`` at ``/``)."""
    base = "" if scope == "/" else scope
    return f"{base}/providers/Microsoft.Authorization/{kind}/{name}"


def _subscription_of(scope: str) -> str:
    parts = scope.split("/")
    return f"/subscriptions/{parts[2]}" if len(parts) > 2 else "/"


def check_scope(scope: str) -> str:
    scope = normalize_scope(scope)
    if len(scope) > 1024 or not _SCOPE.match(scope) or "/providers/microsoft.authorization" in (
        scope.lower()
    ):
        raise InvalidRequestError(
            f"The scope '{scope[:200]}' is not valid for a role assignment.",
            code="InvalidScope",
        )
    return scope


class RoleAssignmentService:
    def __init__(self, store: RoleAssignmentStore, authorizer: Authorizer) -> None:
        self._store = store
        self.authorizer = authorizer

    # --- documents ------------------------------------------------------------------------

    @staticmethod
    def definition_document(role: RoleDefinition, scope: str = "/") -> dict[str, Any]:
        return {
            "id": authorization_id(_subscription_of(scope), "roleDefinitions", role.id),
            "name": role.id,
            "type": DEFINITION_TYPE,
            "properties": {
                "roleName": role.name,
                "type": "BuiltInRole",
                "description": role.description,
                "assignableScopes": ["/"],
                "permissions": [{
                    "actions": list(role.actions),
                    "notActions": list(role.not_actions),
                    "dataActions": list(role.data_actions),
                    "notDataActions": list(role.not_data_actions),
                }],
            },
        }

    @staticmethod
    def document(r: RoleAssignmentRecord) -> dict[str, Any]:
        return {
            "id": authorization_id(r.scope, "roleAssignments", r.name),
            "name": r.name,
            "type": ASSIGNMENT_TYPE,
            "properties": {
                "roleDefinitionId": authorization_id(
                    _subscription_of(r.scope), "roleDefinitions", r.role_definition_id
                ),
                "principalId": r.principal_id,
                "principalType": r.principal_type,
                "scope": r.scope,
                "condition": None,
                "conditionVersion": None,
                "createdOn": r.created_on,
                "updatedOn": r.created_on,
                "createdBy": r.created_by,
                "updatedBy": r.created_by,
                "delegatedManagedIdentityResourceId": None,
                "description": None,
            },
        }

    # --- definitions ----------------------------------------------------------------------

    def definitions(self, scope: str, role_name: str | None = None) -> list[dict[str, Any]]:
        return [
            self.definition_document(r, scope)
            for r in BUILTIN_ROLES
            if role_name is None or r.name.lower() == role_name.lower()
        ]

    def definition(self, scope: str, role_id: str) -> dict[str, Any]:
        role = find_role(role_id)
        if role is None:
            raise NotFoundError(
                f"The role definition '{role_id[:80]}' does not exist.",
                code="RoleDefinitionDoesNotExist",
            )
        return self.definition_document(role, scope)

    # --- assignments ----------------------------------------------------------------------

    def get(self, scope: str, name: str) -> dict[str, Any]:
        r = self._store.get(name) if _GUID.match(name) else None
        if r is None or r.scope.lower() != normalize_scope(scope).lower():
            raise NotFoundError(
                f"The role assignment '{name[:80]}' is not found.", code="RoleAssignmentNotFound"
            )
        return self.document(r)

    def list(
        self, scope: str, *, principal_id: str | None = None, at_scope: bool = False
    ) -> list[dict[str, Any]]:
        """Assignments that apply at ``scope`` (at it and above) and, unless ``at_scope``,
        those below it, as ``az role assignment list --scope`` shows them."""
        scope = normalize_scope(scope)
        ancestors = _ancestors(scope)
        under = None if at_scope else scope.lower()
        if under == "/":
            records = self._store.list(principal_id=principal_id)
        else:
            records = self._store.list(
                scope_keys=[a.lower() for a in ancestors], under=under, principal_id=principal_id
            )
        return [self.document(r) for r in records]

    def put(
        self, scope: str, name: str, body: dict[str, Any], caller: Principal
    ) -> tuple[dict[str, Any], bool]:
        scope = check_scope(scope)
        if not _GUID.match(name):
            raise InvalidRequestError(
                "The role assignment name must be a GUID.", code="InvalidRoleAssignmentId"
            )
        props = body.get("properties")
        if not isinstance(props, dict):
            raise InvalidRequestError("The body needs 'properties'.", target="properties")
        role_ref, principal_id = props.get("roleDefinitionId"), props.get("principalId")
        if not isinstance(principal_id, str) or not _GUID.match(principal_id):
            raise ValidationError(
                "properties.principalId must be an object id (a GUID).",
                code="InvalidPrincipalId", target="properties.principalId",
            )
        role = find_role(role_ref) if isinstance(role_ref, str) else None
        if role is None:
            raise ValidationError(
                f"The role definition '{str(role_ref)[:120]}' does not exist. Built-in roles: "
                f"{', '.join(r.name for r in BUILTIN_ROLES)}.",
                code="RoleDefinitionDoesNotExist", target="properties.roleDefinitionId",
            )
        principal_type = props.get("principalType") or "User"
        if principal_type not in _PRINCIPAL_TYPES:
            raise ValidationError(
                f"properties.principalType must be one of {', '.join(_PRINCIPAL_TYPES)}.",
                target="properties.principalType",
            )
        record = RoleAssignmentRecord(
            name.lower(), scope, principal_id.lower(), principal_type, role.id, now_iso(),
            caller.object_id,
        )
        return self._insert(record)

    def _insert(self, record: RoleAssignmentRecord) -> tuple[dict[str, Any], bool]:
        existing = self._store.get(record.name)
        if existing is not None:
            same = (existing.scope.lower(), existing.principal_id, existing.role_definition_id)
            if same == (record.scope.lower(), record.principal_id, record.role_definition_id):
                return self.document(existing), False
            raise ConflictError(
                "Tenant ID, application ID, principal ID, and scope are not allowed to be "
                "updated.", code="RoleAssignmentUpdateNotPermitted",
            )
        try:
            self._store.insert(record)
        except StoreConflict:
            raise ConflictError(
                "The role assignment already exists.", code="RoleAssignmentExists"
            ) from None
        finally:
            self.authorizer.invalidate()
        return self.document(record), True

    def delete(self, scope: str, name: str) -> dict[str, Any] | None:
        """The deleted assignment's document; None when there was none."""
        r = self._store.get(name) if _GUID.match(name) else None
        if r is None or r.scope.lower() != normalize_scope(scope).lower():
            return None
        self._store.delete(r.name)
        self.authorizer.invalidate()
        return self.document(r)

    def ensure(self, scope: str, principal_id: str, role_name: str, principal_type: str) -> None:
        """The bootstrap: this grant exists (a fixed name, so a restart adds nothing)."""
        role = find_role(role_name)
        assert role is not None
        if self._store.find(scope, principal_id, role.id) is not None:
            return
        name = str(uuid.uuid5(uuid.NAMESPACE_URL, f"iotops-rbac:{scope}:{principal_id}:{role.id}"))
        record = RoleAssignmentRecord(
            name, scope, principal_id.lower(), principal_type, role.id, now_iso(), "iotops-serve"
        )
        with contextlib.suppress(ConflictError):  # another server on the same database
            self._insert(record)


def _ancestors(scope: str) -> list[str]:
    """``/a/b/c`` → ``/``, ``/a``, ``/a/b``, ``/a/b/c``."""
    parts = [p for p in scope.split("/") if p]
    return ["/"] + ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]

