"""Authorization: may this principal perform this action at this scope?

The :class:`Authorizer` asks an :class:`AssignmentSource` (the store) for a principal's role
assignments, keeps them in a small cache (cleared by :meth:`Authorizer.invalidate` whenever
an assignment changes, and after a few seconds in any case, for a second server on the same
database) and evaluates them with :mod:`security.rbac`. A principal of another tenant has
no assignments here, whatever its object id.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Protocol

from ..errors import AuthorizationFailed
from .issuer import Principal
from .rbac import RoleDefinition, find_role, permits

__all__ = ["AssignmentSource", "Authorizer"]

_CACHE_SIZE = 1024


class AssignmentSource(Protocol):
    def grants_of(self, principal_id: str) -> list[tuple[str, str]]:
        """(scope, role definition id) of every assignment of a principal."""
        ...


Grants = tuple[tuple[str, RoleDefinition], ...]


class Authorizer:
    def __init__(self, source: AssignmentSource, tenant_id: str, *, ttl: float = 5.0) -> None:
        self._source = source
        self.tenant_id = tenant_id
        self._ttl = ttl
        self._cache: OrderedDict[str, tuple[float, int, Grants]] = OrderedDict()
        self._generation = 0
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        with self._lock:
            self._generation += 1
            self._cache.clear()

    def grants(self, principal: Principal) -> Grants:
        if principal.tenant_id.lower() != self.tenant_id.lower():
            return ()
        oid = principal.object_id.lower()
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(oid)
            generation = self._generation
            if hit is not None and hit[1] == generation and now - hit[0] < self._ttl:
                self._cache.move_to_end(oid)
                return hit[2]
        found: list[tuple[str, RoleDefinition]] = []
        for scope, role_id in self._source.grants_of(oid):
            role = find_role(role_id)
            if role is not None:
                found.append((scope, role))
        grants = tuple(found)
        with self._lock:
            if generation == self._generation:  # no change raced the read
                self._cache[oid] = (now, generation, grants)
                self._cache.move_to_end(oid)
                while len(self._cache) > _CACHE_SIZE:
                    self._cache.popitem(last=False)
        return grants

    def allowed(
        self, principal: Principal, action: str, scope: str, *, data: bool = False
    ) -> bool:
        return permits(self.grants(principal), action, scope, data=data)

    def check(
        self, principal: Principal, action: str, scope: str, *, data: bool = False
    ) -> None:
        """Raise :class:`AuthorizationFailed` (403) unless ``action`` is permitted."""
        if not self.allowed(principal, action, scope, data=data):
            raise AuthorizationFailed(principal.object_id, action, scope)
