"""Role assignments: one row per (scope, principal, role). Names and principal ids are kept
lower-cased (GUIDs compare without case); scopes as given, with a lower-cased key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, or_, select
from sqlalchemy.exc import IntegrityError

from .schema import role_assignments
from .store import Store, StoreConflict

__all__ = ["RoleAssignmentRecord", "RoleAssignmentStore"]

_t = role_assignments


@dataclass(frozen=True)
class RoleAssignmentRecord:
    name: str
    scope: str
    principal_id: str
    principal_type: str
    role_definition_id: str
    created_on: str
    created_by: str


_COLUMNS = (_t.c.name, _t.c.scope, _t.c.principal_id, _t.c.principal_type,
            _t.c.role_definition_id, _t.c.created_on, _t.c.created_by)


def _record(r: Any) -> RoleAssignmentRecord:
    return RoleAssignmentRecord(r.name, r.scope, r.principal_id, r.principal_type,
                                r.role_definition_id, r.created_on, r.created_by)


class RoleAssignmentStore:
    """Role assignments in the resource provider's database (``security.AssignmentSource``)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def grants_of(self, principal_id: str) -> list[tuple[str, str]]:
        q = select(_t.c.scope, _t.c.role_definition_id).where(
            _t.c.principal_id == principal_id.lower()
        )
        with self.store.read() as tx:
            return [(r.scope, r.role_definition_id) for r in tx.conn.execute(q)]

    def get(self, name: str) -> RoleAssignmentRecord | None:
        with self.store.read() as tx:
            r = tx.conn.execute(select(*_COLUMNS).where(_t.c.name == name.lower())).first()
        return _record(r) if r else None

    def find(self, scope: str, principal_id: str, role_id: str) -> RoleAssignmentRecord | None:
        q = select(*_COLUMNS).where(
            _t.c.scope_key == scope.lower(),
            _t.c.principal_id == principal_id.lower(),
            _t.c.role_definition_id == role_id.lower(),
        )
        with self.store.read() as tx:
            r = tx.conn.execute(q).first()
        return _record(r) if r else None

    def list(
        self, scope_keys: list[str] | None = None, under: str | None = None,
        principal_id: str | None = None,
    ) -> list[RoleAssignmentRecord]:
        """Assignments at one of ``scope_keys`` or below ``under`` (lower-cased scopes);
        every assignment when neither is given."""
        q = select(*_COLUMNS)
        conditions: list[Any] = []
        if scope_keys is not None:
            conditions.append(_t.c.scope_key.in_(scope_keys))
        if under is not None:
            prefix = under.rstrip("/") + "/"
            conditions.append(_t.c.scope_key.startswith(prefix, autoescape=True))
        if conditions:
            q = q.where(or_(*conditions))
        if principal_id is not None:
            q = q.where(_t.c.principal_id == principal_id.lower())
        with self.store.read() as tx:
            rows = tx.conn.execute(q.order_by(_t.c.pk)).all()
        return [_record(r) for r in rows]

    def insert(self, record: RoleAssignmentRecord) -> None:
        """:class:`StoreConflict` when the name, or the same grant, exists."""
        try:
            with self.store.write() as tx:
                tx.conn.execute(insert(_t).values(
                    name=record.name.lower(), scope=record.scope, scope_key=record.scope.lower(),
                    principal_id=record.principal_id.lower(),
                    principal_type=record.principal_type,
                    role_definition_id=record.role_definition_id.lower(),
                    created_on=record.created_on, created_by=record.created_by,
                ))
        except IntegrityError:
            raise StoreConflict("the role assignment exists") from None

    def delete(self, name: str) -> bool:
        with self.store.write() as tx:
            done = tx.conn.execute(delete(_t).where(_t.c.name == name.lower()))
        return bool(done.rowcount)
