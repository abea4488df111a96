"""Resolve a pull-secret endpoint to a registry username and password.

endpoint.secretRef ──► synced secret (instance) ──► Key Vault secret names[@version] ──► values

Values are read from the vault through a short cache (TTL) so a rotated secret is picked up
without a restart; ``fresh=True`` (the connection test) always reads the vault.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..authn import BasicCredential
from ..domain.auth_methods import PULL_SECRET
from ..domain.secrets import DOCKER_CONFIG_KEY, PASSWORD_KEY, USERNAME_KEY, split_source
from ..errors import PullSecretError
from .ports import SecretSource

if TYPE_CHECKING:
    from .endpoints import EndpointTarget

__all__ = ["PullSecretError", "PullSecretResolver", "ResolvedCredential"]


@dataclass(frozen=True)
class ResolvedCredential:
    credential: BasicCredential
    # target key -> "kvName@version": where each part came from (never a value)
    sources: dict[str, str]
    synced_secret: str


def _registry_host(host: str) -> str:
    return host.split("/", 1)[0].lower()


def _from_docker_config(raw: str, host: str) -> BasicCredential | None:
    """Find the entry for ``host`` in a Docker config JSON (``auths``)."""
    try:
        config = json.loads(raw)
    except ValueError:
        return None
    auths = config.get("auths") if isinstance(config, dict) else None
    if not isinstance(auths, dict):
        return None
    wanted = _registry_host(host)
    aliases = {wanted}
    if wanted in ("docker.io", "index.docker.io", "registry-1.docker.io"):
        aliases |= {"docker.io", "index.docker.io", "registry-1.docker.io"}
    for server, entry in auths.items():
        name = str(server).lower()
        for prefix in ("https://", "http://"):
            name = name.removeprefix(prefix)
        name = name.split("/", 1)[0]
        if name not in aliases or not isinstance(entry, dict):
            continue
        user, password = entry.get("username"), entry.get("password")
        if (not user or not password) and entry.get("auth"):
            try:
                user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return None
        if user and password:
            return BasicCredential(str(user), str(password))
    return None


class PullSecretResolver:
    def __init__(
        self,
        source: SecretSource,
        *,
        ttl: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[tuple[str, str | None], tuple[float, str, str | None]] = {}
        self._lock = threading.Lock()

    def _value(self, source_path: str, fresh: bool) -> tuple[str, str | None]:
        name, version = split_source(source_path)
        key = (name, version)
        now = self._clock()
        if not fresh:
            with self._lock:
                hit = self._cache.get(key)
            if hit is not None and hit[0] > now:
                return hit[1], hit[2]
        value, got_version = self._source.value(name, version)
        with self._lock:
            self._cache[key] = (now + self._ttl, value, got_version)
        return value, got_version

    def resolve(self, target: EndpointTarget, *, fresh: bool = False) -> ResolvedCredential:
        """The credentials of a pull-secret endpoint (loaded by the endpoint service, with
        its synced secret)."""
        key, host = target.key, target.host
        secret_ref = target.plan.secret_ref
        if target.plan.kind != PULL_SECRET or secret_ref is None:
            raise PullSecretError(
                f"The registry endpoint '{key.name}' uses {target.method.name}, not an "
                "artifact pull secret.",
                code="NotAnArtifactPullSecretEndpoint",
            )
        props = target.synced_secret
        if props is None:
            raise PullSecretError(
                f"The synced secret '{secret_ref}' named by registry endpoint '{key.name}' does "
                f"not exist. Create it with: iotops secretsync set -i {key.parent.instance} "
                f"-g {key.parent.resource_group} --name {secret_ref} "
                "--secret-map <kv-user>=username --secret-map <kv-password>=password",
                code="SyncedSecretNotFound",
                target=secret_ref,
            )
        mapping = {m["targetKey"]: m["sourcePath"] for m in props["objectSecretMapping"]}
        if USERNAME_KEY in mapping and PASSWORD_KEY in mapping:
            user, user_version = self._value(mapping[USERNAME_KEY], fresh)
            password, password_version = self._value(mapping[PASSWORD_KEY], fresh)
            sources = {
                USERNAME_KEY: _source_label(mapping[USERNAME_KEY], user_version),
                PASSWORD_KEY: _source_label(mapping[PASSWORD_KEY], password_version),
            }
            return ResolvedCredential(BasicCredential(user, password), sources, secret_ref)
        if DOCKER_CONFIG_KEY in mapping:
            raw, version = self._value(mapping[DOCKER_CONFIG_KEY], fresh)
            cred = _from_docker_config(raw, host)
            if cred is None:
                raise PullSecretError(
                    f"The {DOCKER_CONFIG_KEY} in synced secret '{secret_ref}' has no "
                    f"credentials for '{_registry_host(host)}'.",
                    code="DockerConfigHasNoEntry",
                    target=secret_ref,
                )
            return ResolvedCredential(
                cred,
                {DOCKER_CONFIG_KEY: _source_label(mapping[DOCKER_CONFIG_KEY], version)},
                secret_ref,
            )
        raise PullSecretError(
            f"The synced secret '{secret_ref}' must map the keys 'username' and 'password' "
            f"(or '{DOCKER_CONFIG_KEY}'); it maps {', '.join(sorted(mapping))}.",
            code="SyncedSecretIncomplete",
            target=secret_ref,
        )


def _source_label(source_path: str, version: str | None) -> str:
    name, _ = split_source(source_path)
    return f"{name}@{version}" if version else name


def pull_secret_warning(secret_ref: str, props: dict[str, Any] | None) -> str | None:
    """Why a pull-secret endpoint cannot pull yet, or ``None`` if it looks complete."""
    if props is None:
        return (
            f"The synced secret '{secret_ref}' does not exist yet; pulls through this endpoint "
            "fail until it is created."
        )
    keys = {m["targetKey"] for m in props["objectSecretMapping"]}
    if {USERNAME_KEY, PASSWORD_KEY} <= keys or DOCKER_CONFIG_KEY in keys:
        return None
    return (
        f"The synced secret '{secret_ref}' does not map 'username' and 'password' (or "
        f"'{DOCKER_CONFIG_KEY}'); pulls through this endpoint will fail."
    )
