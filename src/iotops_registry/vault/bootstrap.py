"""Open the vault at server start: find its key, prove it matches the data, build the service.

The database remembers a check value of the key that sealed its data (``vault_meta``). A
start with a different key, or with the key file gone while data exists, stops here with a
:class:`ConfigurationError` rather than serving values it cannot open.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Mapping
from pathlib import Path

from ..errors import ConfigurationError
from ..store import StoreConflict, VaultStore
from .crypto import Sealer
from .kek import ENV_KEK, create_kek, kek_path, read_kek
from .service import VaultService

__all__ = ["open_vault"]

_CHECK = "kek_check"
_KEK_ID = "kek_id"


def open_vault(
    store: VaultStore, data_dir: Path, environ: Mapping[str, str] | None = None
) -> VaultService:
    env = os.environ if environ is None else environ
    path = kek_path(data_dir)
    with store.read() as tx:
        stored_check, stored_id = tx.meta(_CHECK), tx.meta(_KEK_ID)
        has_data = stored_check is not None or tx.has_secrets()
    material = read_kek(path, env)
    if material is None:
        if has_data:
            raise ConfigurationError(
                f"the vault key does not match the data in {store.location}: {path} is "
                f"missing and {ENV_KEK} is not set, but that data was sealed with vault key "
                f"{stored_id or '(unknown)'}. Restore the key file or set {ENV_KEK}."
            )
        material = create_kek(path)
    sealer = Sealer(material.key)
    if stored_check is None:
        stored_check, stored_id = _remember(store, sealer)
    if not hmac.compare_digest(stored_check, sealer.check_value):
        raise ConfigurationError(
            f"the vault key from {material.source} (id {sealer.kek_id}) does not match the "
            f"data in {store.location}, which was sealed with vault key {stored_id}. Start "
            f"with the original key (the {path} file or {ENV_KEK})."
        )
    service = VaultService(store, sealer)
    service.purge_due()
    return service


def _remember(store: VaultStore, sealer: Sealer) -> tuple[str, str]:
    """Record the key's check value, unless a concurrent first start recorded its own."""
    for _ in range(3):
        try:
            with store.write() as tx:
                check = tx.init_meta(_CHECK, sealer.check_value)
                kek_id = tx.init_meta(_KEK_ID, sealer.kek_id)
            return check, kek_id
        except StoreConflict:
            continue
    raise ConfigurationError(f"cannot record the vault key's check value in {store.location}")
