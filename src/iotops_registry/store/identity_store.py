"""The managed identities the IMDS-compatible endpoint serves: one row per identity.

Identities carry no secret: a token for one is minted by the issuer on request, so this
module stores names and ids only. Client ids are kept lower-cased (GUIDs compare without
case, as Entra compares them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from .schema import managed_identities
from .store import Store, StoreConflict

__all__ = ["SYSTEM_NAME_KEY", "IdentityRecord", "IdentityStore"]

_t = managed_identities
# Not a valid user-assigned name, so the system identity never collides with one.
SYSTEM_NAME_KEY = "(system)"


@dataclass(frozen=True)
class IdentityRecord:
    kind: str  # "system" | "user"
    name: str
    client_id: str
    principal_id: str
    resource_id: str
    created_at: int


def _record(r: Any) -> IdentityRecord:
    return IdentityRecord(r.kind, r.name, r.client_id, r.principal_id, r.resource_id, r.created_at)


_COLUMNS = (_t.c.kind, _t.c.name, _t.c.client_id, _t.c.principal_id, _t.c.resource_id,
            _t.c.created_at)


class IdentityStore:
    """Managed identities in the resource provider's database."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _one(self, where: Any) -> IdentityRecord | None:
        with self.store.read() as tx:
            r = tx.conn.execute(select(*_COLUMNS).where(where)).first()
        return _record(r) if r else None

    def by_name(self, name: str) -> IdentityRecord | None:
        return self._one(_t.c.name_key == name.lower())

    def by_client_id(self, client_id: str) -> IdentityRecord | None:
        return self._one(_t.c.client_id == client_id.lower())

    def by_principal_id(self, principal_id: str) -> IdentityRecord | None:
        return self._one(_t.c.principal_id == principal_id.lower())

    def by_resource_id(self, resource_id: str) -> IdentityRecord | None:
        # Resource ids compare without case in ARM; there are few identities.
        wanted = resource_id.lower()
        return next((i for i in self.list() if i.resource_id.lower() == wanted), None)

    def system(self) -> IdentityRecord | None:
        return self._one(_t.c.name_key == SYSTEM_NAME_KEY)

    def list(self) -> list[IdentityRecord]:
        with self.store.read() as tx:
            rows = tx.conn.execute(select(*_COLUMNS).order_by(_t.c.kind, _t.c.name_key)).all()
        return [_record(r) for r in rows]

    def insert(self, record: IdentityRecord) -> None:
        """Add an identity; :class:`StoreConflict` if its name or client id is taken."""
        name_key = SYSTEM_NAME_KEY if record.kind == "system" else record.name.lower()
        try:
            with self.store.write() as tx:
                tx.conn.execute(
                    insert(_t).values(
                        kind=record.kind,
                        name_key=name_key,
                        name=record.name,
                        client_id=record.client_id.lower(),
                        principal_id=record.principal_id.lower(),
                        resource_id=record.resource_id,
                        created_at=record.created_at,
                    )
                )
        except IntegrityError:
            raise StoreConflict(f"an identity named '{record.name}' exists") from None

    def delete_user_assigned(self, name: str) -> bool:
        with self.store.write() as tx:
            res = tx.conn.execute(
                delete(_t).where(_t.c.name_key == name.lower(), _t.c.kind == "user")
            )
        return bool(res.rowcount)
