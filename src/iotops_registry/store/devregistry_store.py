"""The development registry's authorization data: roles, repository tokens, settings.

Token passwords arrive here already hashed (salted scrypt); this module never sees one in
clear. Assignees are lower-cased client ids (or object ids).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from .schema import devregistry_role_assignments, devregistry_settings, devregistry_tokens
from .store import Store, StoreConflict

__all__ = ["DevRegistryStore", "RoleAssignment", "TokenRecord"]

_roles = devregistry_role_assignments
_tokens = devregistry_tokens
_settings = devregistry_settings


@dataclass(frozen=True)
class RoleAssignment:
    assignee: str
    role: str
    created_at: int


@dataclass(frozen=True)
class TokenRecord:
    name: str
    password_hash: str
    scopes: list[dict[str, Any]]  # [{"repository": pattern, "actions": [...]}]
    created_at: int


def _token(r: Any) -> TokenRecord:
    return TokenRecord(r.name, r.password_hash, json.loads(r.scopes), r.created_at)


class DevRegistryStore:
    """Tables of the development registry, in the resource provider's database."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # --- role assignments --------------------------------------------------------------

    def roles_of(self, assignee: str) -> set[str]:
        with self.store.read() as tx:
            rows = tx.conn.execute(
                select(_roles.c.role).where(_roles.c.assignee == assignee.lower())
            ).all()
        return {r.role for r in rows}

    def list_roles(self) -> list[RoleAssignment]:
        with self.store.read() as tx:
            rows = tx.conn.execute(
                select(_roles.c.assignee, _roles.c.role, _roles.c.created_at).order_by(
                    _roles.c.assignee, _roles.c.role
                )
            ).all()
        return [RoleAssignment(r.assignee, r.role, r.created_at) for r in rows]

    def add_role(self, assignee: str, role: str, now: int) -> bool:
        """Assign ``role``; ``False`` if it was assigned already."""
        try:
            with self.store.write() as tx:
                exists = tx.conn.execute(
                    select(_roles.c.pk).where(
                        _roles.c.assignee == assignee.lower(), _roles.c.role == role
                    )
                ).first()
                if exists is not None:
                    return False
                tx.conn.execute(
                    insert(_roles).values(assignee=assignee.lower(), role=role, created_at=now)
                )
        except IntegrityError:
            return False  # a concurrent writer assigned it first
        return True

    def remove_role(self, assignee: str, role: str) -> bool:
        with self.store.write() as tx:
            res = tx.conn.execute(
                delete(_roles).where(_roles.c.assignee == assignee.lower(), _roles.c.role == role)
            )
        return bool(res.rowcount)

    # --- repository tokens -------------------------------------------------------------

    def token(self, name: str) -> TokenRecord | None:
        with self.store.read() as tx:
            r = tx.conn.execute(select(_tokens).where(_tokens.c.name == name)).first()
        return _token(r) if r else None

    def list_tokens(self) -> list[TokenRecord]:
        with self.store.read() as tx:
            rows = tx.conn.execute(select(_tokens).order_by(_tokens.c.name)).all()
        return [_token(r) for r in rows]

    def insert_token(self, record: TokenRecord) -> None:
        """Add a token; :class:`StoreConflict` if the name is taken."""
        try:
            with self.store.write() as tx:
                tx.conn.execute(
                    insert(_tokens).values(
                        name=record.name,
                        password_hash=record.password_hash,
                        scopes=json.dumps(record.scopes, separators=(",", ":")),
                        created_at=record.created_at,
                    )
                )
        except IntegrityError:
            raise StoreConflict(f"a token named '{record.name}' exists") from None

    def delete_token(self, name: str) -> bool:
        with self.store.write() as tx:
            res = tx.conn.execute(delete(_tokens).where(_tokens.c.name == name))
        return bool(res.rowcount)

    # --- settings ----------------------------------------------------------------------

    def setting(self, name: str) -> str | None:
        with self.store.read() as tx:
            value = tx.conn.execute(
                select(_settings.c.value).where(_settings.c.name == name)
            ).scalar_one_or_none()
        return None if value is None else str(value)

    def set_setting(self, name: str, value: str) -> None:
        for _ in range(3):  # two first writers may race on the insert: retry as an update
            try:
                with self.store.write() as tx:
                    res = tx.conn.execute(
                        update(_settings).where(_settings.c.name == name).values(value=value)
                    )
                    if not res.rowcount:
                        tx.conn.execute(insert(_settings).values(name=name, value=value))
                return
            except IntegrityError:
                continue
        raise StoreConflict(f"could not store the setting '{name}'")
