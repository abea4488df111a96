"""Admin routes of the development registry, under ``{arm}/-/dev`` (ARM bearer auth).

They stand in for ``az role assignment create --role AcrPull``, ``az acr token create`` and
``az acr update --anonymous-pull-enabled``, and expose the counters and fault injection
that tests use. ``iotops dev ...`` calls them.
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidRequestError
from ..identity import AdminRouter, Call
from .accounts import RegistryAccounts
from .instruments import Instruments

__all__ = ["add_devregistry_routes"]

_ACR = "Microsoft.ContainerRegistry/registries/"
_ROLES = "Microsoft.Authorization/roleAssignments/"  # AcrPull and AcrPush, at the registry
# The stand-ins' own instruments (no Azure counterpart).
_DEV = "Microsoft.IoTOperations/devStandIns/"


def _int(body: dict[str, Any], key: str, default: int | None) -> int | None:
    value = body.get(key, default)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise InvalidRequestError(f"'{key}' must be an integer.", target=key)
    return value


def add_devregistry_routes(
    router: AdminRouter,
    accounts: RegistryAccounts,
    instruments: Instruments,
    info: dict[str, Any],
) -> None:
    """``info``: what ``GET /-/dev/registry`` reports besides the anonymous-pull flag."""

    def show(_: Call) -> tuple[int, Any]:
        return 200, {**info, "anonymousPull": accounts.anonymous_pull()}

    def list_roles(_: Call) -> tuple[int, Any]:
        return 200, {"value": accounts.list_roles()}

    def assign(call: Call) -> tuple[int, Any]:
        body, created = accounts.assign_role(call.body.get("assignee"), call.body.get("role"))
        return (201 if created else 200), body

    def unassign(call: Call) -> tuple[int, Any]:
        removed = accounts.remove_role(call.params["assignee"], call.params["role"])
        return (200 if removed else 204), None

    def list_tokens(_: Call) -> tuple[int, Any]:
        return 200, {"value": accounts.list_tokens()}

    def create_token(call: Call) -> tuple[int, Any]:
        return 201, accounts.create_token(call.body.get("name"), call.body.get("scopes"))

    def delete_token(call: Call) -> tuple[int, Any]:
        accounts.delete_token(call.params["name"])
        return 200, None

    def get_anonymous(_: Call) -> tuple[int, Any]:
        return 200, {"enabled": accounts.anonymous_pull()}

    def set_anonymous(call: Call) -> tuple[int, Any]:
        enabled = call.body.get("enabled")
        if not isinstance(enabled, bool):
            raise InvalidRequestError("'enabled' must be true or false.", target="enabled")
        accounts.set_anonymous_pull(enabled)
        return 200, {"enabled": enabled}

    def counters(_: Call) -> tuple[int, Any]:
        return 200, instruments.counters()

    def registry_counters(_: Call) -> tuple[int, Any]:
        return 200, instruments.registry_counters()

    def faults(_: Call) -> tuple[int, Any]:
        return 200, instruments.faults()

    def inject(call: Call) -> tuple[int, Any]:
        target = call.body.get("target")
        status = _int(call.body, "status", 429)
        count = _int(call.body, "count", 1)
        instruments.inject(
            str(target), status or 429, _int(call.body, "retryAfter", None), count or 0,
            _int(call.body, "afterBytes", None),
        )
        return 200, instruments.faults()

    def clear(_: Call) -> tuple[int, Any]:
        instruments.clear_faults()
        return 204, None

    router.add("GET", "/registry", show, action=_ACR + "read")
    router.add("GET", "/registry/role-assignments", list_roles, action=_ROLES + "read")
    router.add("POST", "/registry/role-assignments", assign, action=_ROLES + "write")
    router.add(
        "DELETE", "/registry/role-assignments/{assignee}/{role}", unassign,
        action=_ROLES + "delete",
    )
    router.add("GET", "/registry/tokens", list_tokens, action=_ACR + "tokens/read")
    router.add("POST", "/registry/tokens", create_token, action=_ACR + "tokens/write")
    router.add("DELETE", "/registry/tokens/{name}", delete_token, action=_ACR + "tokens/delete")
    router.add("GET", "/registry/anonymous-pull", get_anonymous, action=_ACR + "read")
    router.add("PUT", "/registry/anonymous-pull", set_anonymous, action=_ACR + "write")
    router.add("GET", "/counters", counters, action=_DEV + "counters/read")
    router.add("GET", "/counters/registry", registry_counters, action=_DEV + "counters/read")
    router.add("GET", "/faults", faults, action=_DEV + "faults/read")
    router.add("POST", "/faults", inject, action=_DEV + "faults/write")
    router.add("DELETE", "/faults", clear, action=_DEV + "faults/delete")
