"""Key Vault's error bodies: ``{"error": {"code", "message", "innererror"?: {"code"}}}``.

The codes and wording follow Azure Key Vault so that clients (and people) see the same
errors. No message may contain a secret value; names are echoed, values never.
"""

from __future__ import annotations

from ..errors import (
    ApiError,
    AuthorizationFailed,
    ConflictError,
    ForbiddenError,
    InvalidRequestError,
    NotFoundError,
)

__all__ = [
    "bad_parameter",
    "deleted_but_recoverable",
    "deleted_secret_not_found",
    "forbidden",
    "forbidden_by_rbac",
    "method_not_allowed",
    "path_not_found",
    "secret_not_found",
]

_HELP = "For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"


def bad_parameter(message: str) -> InvalidRequestError:
    return InvalidRequestError(message, code="BadParameter")


def secret_not_found(name: str, version: str | None = None) -> NotFoundError:
    ident = f"{name}/{version}" if version else name
    return NotFoundError(
        f"A secret with (name/id) {ident} was not found in this key vault. If you recently "
        "deleted this secret you may be able to recover it using the correct recovery "
        f"command. {_HELP}",
        code="SecretNotFound",
    )


def deleted_secret_not_found(name: str) -> NotFoundError:
    return NotFoundError(f"Deleted Secret not found: {name}", code="SecretNotFound")


def forbidden(operation: str, inner_code: str) -> ForbiddenError:
    state = {
        "SecretDisabled": "a disabled secret",
        "SecretNotYetValid": "a secret that is not yet valid",
        "SecretExpired": "an expired secret",
    }[inner_code]
    return ForbiddenError(
        f"Operation {operation} is not allowed on {state}.", inner_code=inner_code
    )


def forbidden_by_rbac(object_id: str, action: str, scope: str) -> AuthorizationFailed:
    """Key Vault's answer when no role assignment permits a data action."""
    return AuthorizationFailed(
        object_id, action, scope, code="Forbidden", inner_code="ForbiddenByRbac",
        message="Caller is not authorized to perform action on resource. If role "
        "assignments, deny assignments or role definitions were changed recently, please "
        f"observe propagation time. Caller: oid={object_id}; Action: '{action}'; "
        f"Resource: '{scope}'; Assignment: (not found); Vault: iotops-local",
    )


def deleted_but_recoverable(name: str) -> ConflictError:
    return ConflictError(
        f"Secret {name} is currently in a deleted but recoverable state, and its name cannot "
        "be reused; in this state, the secret can only be recovered or purged.",
        inner_code="ObjectIsDeletedButRecoverable",
    )


def path_not_found() -> NotFoundError:
    return NotFoundError("The requested path is not served by this vault.", code="NotFound")


def method_not_allowed(method: str, allowed: str) -> ApiError:
    return ApiError(
        f"The method '{method[:20]}' is not allowed on this path.",
        code="MethodNotAllowed",
        status=405,
        headers={"Allow": allowed},
    )
