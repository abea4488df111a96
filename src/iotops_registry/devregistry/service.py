"""The ACR-compatible token service's logic: the exchange and the token endpoint.

``exchange`` turns an Entra access token (e.g. a managed identity's, from the identity
endpoint) into a 3-hour refresh token, as ACR's ``/oauth2/exchange`` does, after checking
the token's signature, audience, tenant and the holder's role on the registry. ``token``
turns a refresh token, repository-token credentials or nothing (anonymous) into a registry
access token for the intersection of the requested and the allowed scopes.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from ..errors import AuthenticationError, InvalidRequestError
from ..security import TokenVerifier
from .accounts import REFRESH_TOKEN_USERNAME, RegistryAccounts
from .policy import anonymous_allowed, role_allowed, token_allowed
from .scopes import Allowed, grant, parse_scopes
from .signing import TokenSigner

__all__ = ["ANONYMOUS", "EXCHANGE_AUDIENCES", "DevRegistryService", "Form"]

# Entra audiences ACR accepts for the exchange (ARM, unless "authentication as ARM" is off).
EXCHANGE_AUDIENCES = (
    "https://management.azure.com",
    "https://management.core.windows.net",
    "https://containerregistry.azure.net",
)
ANONYMOUS = "anonymous"

Form = dict[str, list[str]]


def _one(form: Form, name: str, *, required: bool = True) -> str:
    values = form.get(name) or []
    if not values or not values[0]:
        if required:
            raise InvalidRequestError(f"The parameter '{name}' is required.", code="UNSUPPORTED")
        return ""
    return values[0]


def _unauthorized(message: str) -> AuthenticationError:
    return AuthenticationError(message, code="UNAUTHORIZED")


def _basic(authorization: str) -> tuple[str, str]:
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "basic":
        raise _unauthorized("Only Basic credentials are accepted here.")
    try:
        raw = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise _unauthorized("The Basic credentials are malformed.") from None
    user, sep, password = raw.partition(":")
    if not sep:
        raise _unauthorized("The Basic credentials are malformed.")
    return user, password


class DevRegistryService:
    """Token issuing for one development registry."""

    def __init__(
        self,
        accounts: RegistryAccounts,
        signer: TokenSigner,
        verifier: TokenVerifier,
        tenant_id: str,
    ) -> None:
        self.accounts = accounts
        self._signer = signer
        self._verifier = verifier
        self.tenant_id = tenant_id

    @property
    def service(self) -> str:
        """The registry's service name (its host), as the registry's challenge names it."""
        return self._signer.service

    def _check_service(self, form: Form, *, required: bool) -> None:
        service = _one(form, "service", required=required)
        if service and service != self.service:
            raise InvalidRequestError(
                f"The service '{service[:100]}' is not this registry ('{self.service}').",
                code="INVALID_SERVICE",
            )

    # --- /oauth2/exchange ------------------------------------------------------------------

    def exchange(self, form: Form) -> dict[str, Any]:
        grant_type = _one(form, "grant_type")
        if grant_type != "access_token":
            raise InvalidRequestError(
                f"The grant_type '{grant_type[:50]}' is not supported; use 'access_token'.",
                code="UNSUPPORTED",
            )
        self._check_service(form, required=True)
        # ``tenant`` is optional, as on ACR (azure-containerregistry never sends it); when
        # given it must be the token's and the registry's.
        tenant = _one(form, "tenant", required=False)
        try:
            principal = self._verifier.verify(_one(form, "access_token"))
        except AuthenticationError as exc:
            raise _unauthorized(f"The access token was rejected: {exc.message}") from None
        claims = principal.claims
        token_tenant = str(claims.get("tid", ""))
        if tenant and tenant != token_tenant:
            raise _unauthorized(
                f"The tenant '{tenant[:40]}' does not match the access token's tenant."
            )
        tenant = token_tenant
        if tenant != self.tenant_id:
            raise _unauthorized(
                f"The tenant '{tenant[:40]}' does not match the access token's tenant or "
                "the registry's."
            )
        client_id = str(claims.get("appid") or claims.get("azp") or principal.object_id)
        roles = self.accounts.roles_of(client_id, principal.object_id)
        if not roles:
            raise _unauthorized(
                f"{self.accounts.describe(client_id)} is not authorized on registry "
                f"{self.service}: it has no AcrPull (or AcrPush) role assignment on the "
                "registry. Assign one with `iotops dev registry role-assign --assignee "
                f"{client_id} --role AcrPull`."
            )
        refresh = self._signer.refresh_token(
            client_id, tenant, sorted(roles),
            extra={"oid": principal.object_id, "appid": client_id},
        )
        return {"refresh_token": refresh}

    # --- /oauth2/token ---------------------------------------------------------------------

    def token(self, form: Form, authorization: str | None) -> dict[str, Any]:
        """A registry token; ``form`` is the query (GET) or the form body (POST)."""
        grant_type = _one(form, "grant_type", required=False)
        self._check_service(form, required=grant_type == "refresh_token")
        scopes = parse_scopes(form.get("scope") or [])
        subject, allowed = self._authorize(form, grant_type, authorization)
        return self._signer.access_token(subject, grant(scopes, allowed))

    def _authorize(
        self, form: Form, grant_type: str, authorization: str | None
    ) -> tuple[str, Allowed]:
        if grant_type == "refresh_token":
            return self._from_refresh(_one(form, "refresh_token"))
        if grant_type == "password":
            username = _one(form, "username", required=False)
            if not username and not authorization:
                # ACR's anonymous exchange (azure-containerregistry without a credential):
                # grant_type=password with neither user nor password.
                return ANONYMOUS, anonymous_allowed(self.accounts.anonymous_pull())
            if not username and authorization:
                return self._from_password(*_basic(authorization))
            return self._from_password(username, _one(form, "password"))
        if grant_type:
            raise InvalidRequestError(
                f"The grant_type '{grant_type[:50]}' is not supported.", code="UNSUPPORTED"
            )
        if authorization:
            return self._from_password(*_basic(authorization))
        return ANONYMOUS, anonymous_allowed(self.accounts.anonymous_pull())

    def _from_refresh(self, refresh_token: str) -> tuple[str, Allowed]:
        claims = self._signer.verify_refresh(refresh_token)
        subject = str(claims["sub"])
        # Roles are read now, not from the token: a removed role stops the next token.
        roles = self.accounts.roles_of(subject, str(claims.get("oid") or ""))
        return subject, role_allowed(roles)

    def _from_password(self, user: str, password: str) -> tuple[str, Allowed]:
        if user == REFRESH_TOKEN_USERNAME:
            return self._from_refresh(password)
        scopes = self.accounts.token_scopes(user, password)
        if scopes is None:
            raise _unauthorized("The username or password is wrong.")
        return user, token_allowed(scopes)
