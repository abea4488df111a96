"""An endpoint's code-signing CAs: ``codeSigningCas`` entries resolved to PEM certificates.

    {"type": "ConfigMap", "configMapRef": N}  ─► the instance's ConfigMap N: every value that
                                                 holds PEM CA certificates
    {"type": "Secret", "secretRef": N}        ─► the synced secret N ─► its Key Vault secrets'
                                                 values (PEM)

The entries are loaded with the endpoint (``EndpointTarget.ca_sources``, one read); the vault
is read here. A reference that does not resolve, or holds no CA certificate, is a
:class:`CaProblem`, never silently skipped. Certificates are not secret, but a Secret entry's
values pass only as PEM text to the verifier: problems name keys and sources, never values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..domain.config_maps import ca_certificates
from ..domain.connection import ConnectionSettings
from ..domain.secrets import split_source
from ..errors import IotopsError
from .ports import SecretSource

__all__ = [
    "CaProblem",
    "CaSource",
    "CodeSigningCaService",
    "CodeSigningCas",
    "resolve_code_signing_cas",
    "save_warnings",
    "sources_from",
]


@dataclass(frozen=True)
class CaSource:
    """One ``codeSigningCas`` entry and what it named, as read with the endpoint."""

    index: int
    kind: str  # ConfigMap | Secret
    name: str
    found: bool
    data: Mapping[str, str] = field(default_factory=dict)  # a ConfigMap's data
    mapping: tuple[tuple[str, str], ...] = ()  # a synced secret's (sourcePath, targetKey)

    @property
    def label(self) -> str:
        return f"{self.kind} '{self.name}'"

    @property
    def target(self) -> str:
        ref = "configMapRef" if self.kind == "ConfigMap" else "secretRef"
        return f"properties.codeSigningCas[{self.index}].{ref}"


@dataclass(frozen=True)
class CaProblem:
    index: int
    code: str
    message: str
    target: str

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "target": self.target}


@dataclass(frozen=True)
class CodeSigningCas:
    """What an endpoint's codeSigningCas resolved to."""

    configured: bool  # the endpoint lists at least one entry
    pems: tuple[str, ...] = ()  # PEM texts holding CA certificates
    subjects: tuple[str, ...] = ()  # of every CA certificate found
    problems: tuple[CaProblem, ...] = ()

    @property
    def resolved(self) -> bool:
        """At least one CA certificate: there is something to verify against."""
        return bool(self.pems)

    def policy(self, settings: ConnectionSettings) -> str:
        """The effective signature policy: the connection setting, else ``enforce`` when
        code-signing CAs are configured and ``off`` when none are."""
        return settings.signature_policy or ("enforce" if self.configured else "off")

    def to_dict(self) -> dict[str, Any]:
        return {
            "configured": self.configured,
            "certificates": list(self.subjects),
            "problems": [p.to_dict() for p in self.problems],
        }


def sources_from(
    codes: list[dict[str, Any]], config_maps: Mapping[str, Any], synced: Mapping[str, Any]
) -> tuple[CaSource, ...]:
    """The entries of ``codeSigningCas`` joined with the documents' properties they name
    (``config_maps`` / ``synced``: name -> properties)."""
    out = []
    for i, entry in enumerate(codes):
        if entry.get("type") == "ConfigMap":
            name = str(entry.get("configMapRef"))
            props = config_maps.get(name)
            out.append(
                CaSource(
                    i,
                    "ConfigMap",
                    name,
                    props is not None,
                    data=dict((props or {}).get("data") or {}),
                )
            )
        else:
            name = str(entry.get("secretRef"))
            props = synced.get(name)
            mapping = tuple(
                (str(m["sourcePath"]), str(m["targetKey"]))
                for m in ((props or {}).get("objectSecretMapping") or [])
            )
            out.append(CaSource(i, "Secret", name, props is not None, mapping=mapping))
    return tuple(out)


def _from_text(src: CaSource, where: str, text: str, pems: list[str], subjects: list[str]) -> bool:
    found = ca_certificates(text)
    if found.certificates:
        pems.append(text)
        subjects.extend(c.subject.rfc4514_string() for c in found.certificates)
        return True
    return False


def resolve_code_signing_cas(
    sources: tuple[CaSource, ...], vault: SecretSource | None, *, read_vault: bool = True
) -> CodeSigningCas:
    """Resolve every entry. ``read_vault=False`` (saving an endpoint) checks that Secret
    entries name an existing synced secret without reading the vault."""
    pems: list[str] = []
    subjects: list[str] = []
    problems: list[CaProblem] = []
    for src in sources:
        if not src.found:
            what = "ConfigMap" if src.kind == "ConfigMap" else "synced secret"
            fix = (
                "iotops configmap set --name {n} --from-file ca.crt=CA.pem"
                if src.kind == "ConfigMap"
                else "iotops secretsync set --name {n} --secret-map <kv-secret>=ca.crt"
            )
            problems.append(
                CaProblem(
                    src.index,
                    "CodeSigningCaNotFound",
                    f"The {what} '{src.name}' named in codeSigningCas does not exist in this "
                    f"instance. Create it ({fix.format(n=src.name)}).",
                    src.target,
                )
            )
            continue
        if src.kind == "ConfigMap":
            got = [_from_text(src, k, v, pems, subjects) for k, v in sorted(src.data.items())]
            if not any(got):
                problems.append(
                    CaProblem(
                        src.index,
                        "CodeSigningCaInvalid",
                        f"ConfigMap '{src.name}' holds no PEM CA certificate (keys: "
                        f"{', '.join(sorted(src.data)) or 'none'}).",
                        src.target,
                    )
                )
            continue
        if not src.mapping:
            problems.append(
                CaProblem(
                    src.index,
                    "CodeSigningCaInvalid",
                    f"Synced secret '{src.name}' maps no Key Vault secret.",
                    src.target,
                )
            )
            continue
        if not read_vault:
            continue
        if vault is None:
            problems.append(
                CaProblem(
                    src.index,
                    "CodeSigningCaUnreadable",
                    f"Synced secret '{src.name}' cannot be read: secret management is not "
                    "configured on this server.",
                    src.target,
                )
            )
            continue
        any_ca = False
        for source_path, key in src.mapping:
            kv_name, version = split_source(source_path)
            try:
                value, _ = vault.value(kv_name, version)
            except IotopsError as exc:
                why = getattr(exc, "code", None) or type(exc).__name__
                problems.append(
                    CaProblem(
                        src.index,
                        "CodeSigningCaUnreadable",
                        f"Key Vault secret '{kv_name}' (key '{key}' of synced secret "
                        f"'{src.name}') cannot be read ({why}).",
                        src.target,
                    )
                )
                continue
            any_ca = _from_text(src, key, value, pems, subjects) or any_ca
        if not any_ca and not any(p.index == src.index for p in problems):
            problems.append(
                CaProblem(
                    src.index,
                    "CodeSigningCaInvalid",
                    f"Synced secret '{src.name}' holds no PEM CA certificate (keys: "
                    f"{', '.join(k for _, k in src.mapping)}).",
                    src.target,
                )
            )
    return CodeSigningCas(
        bool(sources), tuple(pems), tuple(dict.fromkeys(subjects)), tuple(problems)
    )


def save_warnings(sources: tuple[CaSource, ...]) -> list[str]:
    """The ``Warning`` texts for a saved endpoint whose codeSigningCas do not resolve."""
    resolved = resolve_code_signing_cas(sources, None, read_vault=False)
    return [f"{p.message} ({p.target})" for p in resolved.problems]


class CodeSigningCaService:
    """Resolves an endpoint's code-signing CAs (the vault read is blocking: run it in a
    thread)."""

    def __init__(self, vault: SecretSource | None) -> None:
        self._vault = vault

    def resolve(self, sources: tuple[CaSource, ...]) -> CodeSigningCas:
        return resolve_code_signing_cas(sources, self._vault)
