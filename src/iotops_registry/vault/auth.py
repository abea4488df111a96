"""Challenge-based bearer authentication, as Key Vault does it.

Any request without an acceptable token gets ``401`` and a challenge naming the authority
(the embedded issuer's origin and tenant) and the resource ``https://vault.azure.net``; the
Azure SDK answers it by asking its credential for a token with that audience.
"""

from __future__ import annotations

from ..errors import AuthenticationError
from ..security import Principal, TokenVerifier

__all__ = ["VAULT_AUDIENCE", "VaultAuthenticator", "vault_scope"]

VAULT_AUDIENCE = "https://vault.azure.net"


def vault_scope(subscription_id: str) -> str:
    """The embedded vault's resource id: the scope its role assignments name."""
    return (
        f"/subscriptions/{subscription_id}/resourceGroups/iotops-local/providers/"
        "Microsoft.KeyVault/vaults/iotops-local"
    )


class VaultAuthenticator:
    def __init__(self, verifier: TokenVerifier, authorization_uri: str) -> None:
        self._verifier = verifier
        # No commas or '=' inside values: the SDK splits the header on both.
        self.challenge = f'Bearer authorization="{authorization_uri}", resource="{VAULT_AUDIENCE}"'

    def _refuse(self, message: str) -> AuthenticationError:
        return AuthenticationError(
            message, code="Unauthorized", headers={"WWW-Authenticate": self.challenge}
        )

    def authenticate(self, header: str | None) -> Principal:
        if not header:
            raise self._refuse("AKV10000: Request is missing a Bearer or PoP token.")
        try:
            return self._verifier.verify_header(header)
        except AuthenticationError as exc:
            raise self._refuse(exc.message) from None
