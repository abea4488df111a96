"""The embedded vault: a Key Vault-compatible secrets service on its own HTTPS origin.

::

    api.VaultApp ──► service.VaultService ──► store.VaultStore (tables in the RP database)
      │ auth            │ rules, faults, model
      ▼                 ▼
    security         crypto.Sealer (AES-256-GCM envelope) ◄── kek (DIR/vault/kek or env)

``bootstrap.open_vault`` checks the key against the database and builds the service.
"""

from __future__ import annotations

from .api import SUPPORTED_API_VERSIONS, VaultApp
from .auth import VAULT_AUDIENCE, VaultAuthenticator, vault_scope
from .bootstrap import open_vault
from .kek import ENV_KEK
from .model import DeletedSecret, Page, Secret, SecretProperties, SecretUpdate
from .service import VaultService

__all__ = [
    "ENV_KEK",
    "SUPPORTED_API_VERSIONS",
    "VAULT_AUDIENCE",
    "DeletedSecret",
    "Page",
    "Secret",
    "SecretProperties",
    "SecretUpdate",
    "VaultApp",
    "VaultAuthenticator",
    "VaultService",
    "open_vault",
    "vault_scope",
]
