"""ConfigMaps: non-secret configuration of an instance (this project's extension, shaped as an
ARM child resource), as a Kubernetes ConfigMap holds it: string keys to string values. A
registry endpoint's ``codeSigningCas`` entry ``{"type": "ConfigMap", "configMapRef": N}``
names one; its values hold the PEM certificates of code-signing CAs.

Also here, because both kinds of ``codeSigningCas`` entries need it: which PEM certificates in
a value are CA certificates (:func:`ca_certificates`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cryptography import x509
from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from .models import _Wire

__all__ = [
    "MAX_CONFIG_MAP_BYTES",
    "CaCertificates",
    "ConfigMapBody",
    "ConfigMapProperties",
    "ca_certificates",
]

MAX_CONFIG_MAP_BYTES = 1024 * 1024  # Kubernetes' limit for one ConfigMap
_KEY = re.compile(r"^[-._a-zA-Z0-9]{1,253}$")  # a ConfigMap key, as Kubernetes allows


class ConfigMapProperties(_Wire):
    data: dict[str, str] = Field(default_factory=dict, max_length=256)

    @field_validator("data")
    @classmethod
    def _data(cls, v: dict[str, str]) -> dict[str, str]:
        for key in v:
            if not _KEY.fullmatch(key):
                raise PydanticCustomError(
                    "InvalidConfigMapKey",
                    "ConfigMap key '{key}' is not valid: use 1 to 253 letters, digits, '-', "
                    "'_' and '.'.",
                    {"key": key[:60]},
                )
        size = sum(len(k.encode()) + len(val.encode()) for k, val in v.items())
        if size > MAX_CONFIG_MAP_BYTES:
            raise PydanticCustomError(
                "ConfigMapTooLarge",
                "A ConfigMap holds at most 1 MiB of data ({size} bytes given).",
                {"size": size},
            )
        return v


class ConfigMapBody(_Wire):
    properties: ConfigMapProperties


@dataclass(frozen=True)
class CaCertificates:
    """The CA certificates found in one text, and what else was there."""

    certificates: tuple[x509.Certificate, ...]
    pem_blocks: int  # every CERTIFICATE block seen, CA or not
    not_ca: tuple[str, ...]  # subjects of certificates that are not CAs (skipped)


def ca_certificates(text: str) -> CaCertificates:
    """The PEM certificates in ``text`` that may anchor a chain: basicConstraints CA=true, or
    self-signed (notation's trust stores accept a self-signed signing certificate too)."""
    try:
        certs = x509.load_pem_x509_certificates(text.encode())
    except ValueError:
        return CaCertificates((), 0, ())
    good: list[x509.Certificate] = []
    not_ca: list[str] = []
    for cert in certs:
        try:
            is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except x509.ExtensionNotFound:
            is_ca = False
        is_ca = is_ca or cert.issuer == cert.subject
        if is_ca:
            good.append(cert)
        else:
            not_ca.append(cert.subject.rfc4514_string())
    return CaCertificates(tuple(good), len(certs), tuple(not_ca))
