"""Admin routes for managed identities: ``{arm}/-/dev/identities`` and the system identity.

``iotops identity create|show|list|delete`` call these; they stand in for
``az identity create`` and for reading an extension's system-assigned identity.
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidRequestError
from .service import IdentityService
from .web import AdminRouter, Call

__all__ = ["add_identity_routes"]

_UAI = "Microsoft.ManagedIdentity/userAssignedIdentities/"


def add_identity_routes(router: AdminRouter, service: IdentityService) -> None:
    def list_(_: Call) -> tuple[int, Any]:
        return 200, {"value": [i.to_dict() for i in service.list()]}

    def create(call: Call) -> tuple[int, Any]:
        name = call.body.get("name")
        if not isinstance(name, str):
            raise InvalidRequestError("The body needs a string 'name'.", target="name")
        identity, created = service.create(name)
        return (201 if created else 200), identity.to_dict()

    def show(call: Call) -> tuple[int, Any]:
        return 200, service.get(call.params["name"]).to_dict()

    def delete(call: Call) -> tuple[int, Any]:
        return (200 if service.delete(call.params["name"]) else 204), None

    def system(_: Call) -> tuple[int, Any]:
        return 200, service.system().to_dict()

    router.add("GET", "/identities", list_, action=_UAI + "read")
    router.add("POST", "/identities", create, action=_UAI + "write")
    router.add("GET", "/identities/{name}", show, action=_UAI + "read")
    router.add("DELETE", "/identities/{name}", delete, action=_UAI + "delete")
    router.add(
        "GET", "/system-identity", system, action="Microsoft.ManagedIdentity/identities/read"
    )
