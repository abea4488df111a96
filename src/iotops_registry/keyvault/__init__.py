"""The one way the project talks to a vault: ``azure-keyvault-secrets``.

The same code talks to the embedded vault and to a real Azure Key Vault; only the URL and
the credential differ.
"""

from __future__ import annotations

from .client import KeyVaultSecrets, SecretUnavailable

__all__ = ["KeyVaultSecrets", "SecretUnavailable"]
