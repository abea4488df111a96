"""Credentials from the user's Docker configuration, as ``docker login`` / ``oras login`` left them.

``$DOCKER_CONFIG/config.json`` (default ``~/.docker/config.json``):

- ``auths[host]``: ``auth`` (base64 ``user:password``), or ``username``/``password``, or
  ``identitytoken`` (an OAuth2 refresh token, e.g. ACR's after ``az acr login``);
- ``credHelpers[host]`` names a helper, ``credsStore`` the default one: the program
  ``docker-credential-<name>`` answers ``get`` with ``{"Username", "Secret"}`` (a username of
  ``<token>`` means the secret is an identity token).

Keys are matched on ``host[:port]`` (``https://`` and paths, as old Docker wrote them, are
ignored). A helper runs with a timeout and its answer is read with a cap; its errors say
which helper failed, never what it printed (it may have printed a secret).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError
from .authenticator import Authenticator, StaticBasic, StaticIdentityToken
from .basic import BasicCredential

__all__ = ["DockerConfig", "docker_config_path"]

HELPER_TIMEOUT = 30.0
_HELPER_OUTPUT_LIMIT = 64 * 1024
_CONFIG_LIMIT = 4 << 20


def docker_config_path(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    base = env.get("DOCKER_CONFIG")
    return (Path(base) if base else Path.home() / ".docker") / "config.json"


def _host_of(key: str) -> str:
    key = key.strip().lower()
    for scheme in ("https://", "http://"):
        key = key.removeprefix(scheme)
    return key.split("/", 1)[0]


class DockerConfig:
    """One parsed config file; :meth:`authenticator` answers for a registry host."""

    def __init__(self, data: Mapping[str, Any], path: Path | None = None) -> None:
        self.path = path
        auths = data.get("auths") or {}
        self._auths = {_host_of(k): v for k, v in auths.items() if isinstance(v, dict)}
        helpers = data.get("credHelpers") or {}
        self._helpers = {_host_of(k): str(v) for k, v in helpers.items() if v}
        store = data.get("credsStore")
        self._store = str(store) if store else None

    @classmethod
    def load(cls, path: Path | None = None) -> DockerConfig | None:
        """The config at ``path`` (default: :func:`docker_config_path`), None if absent."""
        path = path or docker_config_path()
        try:
            with path.open("rb") as handle:
                raw = handle.read(_CONFIG_LIMIT)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ConfigurationError(f"cannot read {path}: {exc.strerror}") from None
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            raise ConfigurationError(f"{path} is not valid JSON") from None
        if not isinstance(data, dict):
            raise ConfigurationError(f"{path} is not a JSON object")
        return cls(data, path)

    def authenticator(self, registry: str) -> Authenticator | None:
        host = registry.lower()
        helper = self._helpers.get(host)
        entry = self._auths.get(host)
        if helper is None and entry is None and self._store is None:
            return None
        if helper is not None:
            return self._from_helper(helper, host)
        if entry is not None:
            found = self._from_entry(entry, host)
            if found is not None:
                return found
        if self._store is not None:
            return self._from_helper(self._store, host)
        return None

    def _from_entry(self, entry: Mapping[str, Any], host: str) -> Authenticator | None:
        token = entry.get("identitytoken")
        if isinstance(token, str) and token:
            return StaticIdentityToken(token)
        auth = entry.get("auth")
        if isinstance(auth, str) and auth:
            try:
                user, sep, password = base64.b64decode(auth).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError):
                raise ConfigurationError(
                    f"the 'auth' entry for {host} in {self.path} is not base64 user:password"
                ) from None
            if sep:
                return StaticBasic(BasicCredential(user, password))
        name, secret = entry.get("username"), entry.get("password")
        if isinstance(name, str) and isinstance(secret, str) and name:
            return StaticBasic(BasicCredential(name, secret))
        return None

    def _from_helper(self, helper: str, host: str) -> Authenticator | None:
        program = f"docker-credential-{helper}"
        try:
            done = subprocess.run(
                [program, "get"], input=host.encode(), capture_output=True,
                timeout=HELPER_TIMEOUT, check=False,
            )
        except FileNotFoundError:
            raise ConfigurationError(
                f"{self.path} names the credential helper {program}, which is not installed"
            ) from None
        except subprocess.TimeoutExpired:
            raise ConfigurationError(f"{program} did not answer within "
                                     f"{HELPER_TIMEOUT:.0f} s") from None
        if done.returncode != 0:
            return None  # "credentials not found in native keychain": none for this host
        try:
            answer = json.loads(done.stdout[:_HELPER_OUTPUT_LIMIT])
        except ValueError:
            raise ConfigurationError(f"{program} answered something that is not JSON") from None
        user, secret = answer.get("Username"), answer.get("Secret")
        if not isinstance(secret, str) or not secret:
            return None
        if user == "<token>":
            return StaticIdentityToken(secret)
        return StaticBasic(BasicCredential(str(user or ""), secret))
