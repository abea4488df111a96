"""Envelope encryption of secret values at rest.

Every version gets its own random 256-bit data key and 96-bit nonce, and its value is sealed
with AES-256-GCM. The data key is then wrapped with the vault's key-encryption key (KEK),
also with AES-256-GCM and a fresh nonce. Both layers authenticate associated data naming the
format, the secret, the version and the KEK id, so a sealed value copied into another row
fails to open instead of decrypting as the wrong secret.

``wrapped_key`` is ``nonce (12) || AES-GCM(KEK, data key) (32 + 16-byte tag)``.
The KEK id (16 hex digits) and the check value are HMAC-SHA256 of fixed labels under the
KEK: they identify the key without revealing it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..errors import UnsealError

__all__ = ["KEY_BYTES", "Envelope", "Sealer"]

KEY_BYTES = 32
_NONCE_BYTES = 12
_FORMAT = b"iotops-vault-v1"


@dataclass(frozen=True)
class Envelope:
    kek_id: str
    nonce: bytes
    wrapped_key: bytes
    ciphertext: bytes


def _aad(layer: bytes, name_key: str, version: str, kek_id: str) -> bytes:
    return b"\x00".join((_FORMAT, layer, name_key.encode(), version.encode(), kek_id.encode()))


class Sealer:
    """Seal and open secret values under one KEK."""

    def __init__(self, kek: bytes) -> None:
        if len(kek) != KEY_BYTES:
            raise ValueError(f"the vault key must be {KEY_BYTES} bytes")
        self._kek = AESGCM(kek)
        self.kek_id = hmac.new(kek, b"iotops-kek-id", hashlib.sha256).hexdigest()[:16]
        self.check_value = hmac.new(kek, b"iotops-kek-check", hashlib.sha256).hexdigest()

    def seal(self, name_key: str, version: str, plaintext: bytes) -> Envelope:
        data_key = AESGCM.generate_key(bit_length=256)
        nonce = os.urandom(_NONCE_BYTES)
        ciphertext = AESGCM(data_key).encrypt(
            nonce, plaintext, _aad(b"value", name_key, version, self.kek_id)
        )
        wrap_nonce = os.urandom(_NONCE_BYTES)
        wrapped = wrap_nonce + self._kek.encrypt(
            wrap_nonce, data_key, _aad(b"key", name_key, version, self.kek_id)
        )
        return Envelope(self.kek_id, nonce, wrapped, ciphertext)

    def open(self, name_key: str, version: str, envelope: Envelope) -> bytes:
        if envelope.kek_id != self.kek_id:
            raise UnsealError(f"sealed with vault key {envelope.kek_id}, not {self.kek_id}")
        wrap_nonce, wrapped = (
            envelope.wrapped_key[:_NONCE_BYTES],
            envelope.wrapped_key[_NONCE_BYTES:],
        )
        try:
            data_key = self._kek.decrypt(
                wrap_nonce, wrapped, _aad(b"key", name_key, version, self.kek_id)
            )
            return AESGCM(data_key).decrypt(
                envelope.nonce, envelope.ciphertext, _aad(b"value", name_key, version, self.kek_id)
            )
        except InvalidTag:
            raise UnsealError("the sealed value failed authentication") from None
