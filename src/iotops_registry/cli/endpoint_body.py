"""Registry endpoint bodies from command-line flags, with az's authentication inference.

Only flag logic lives here (which method, which flags fit it). Values are checked by the
server, so the CLI never disagrees with it about what is valid.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..domain import auth_methods
from .errors import CliError

__all__ = [
    "AUTH_TYPES",
    "SETTINGS_KEY",
    "AuthParams",
    "EndpointChange",
    "apply_update",
    "build_authentication",
    "code_signing_cas",
    "strip_read_only",
]

AUTH_TYPES = tuple(sorted(auth_methods.AUTH_METHODS))  # as az lists them
SETTINGS_KEY = auth_methods.SETTINGS_KEY

# parameter -> (flag, settings property), for every method's settings (shared flags once)
_PARAMS: dict[str, tuple[str, str]] = {}
for _m in auth_methods.METHODS:
    for _f in _m.fields:
        _PARAMS.setdefault(_f.param, (_f.flags[-1], _f.name))


def _required(m: auth_methods.AuthMethod) -> tuple[str, ...]:
    return tuple(f.param for f in m.fields if f.required)


def _optional(m: auth_methods.AuthMethod) -> tuple[str, ...]:
    return tuple(f.param for f in m.fields if not f.required)


class AuthParams:
    """The authentication flags as given; a value of ``None`` means "not given". The
    settings flags are those of ``domain.auth_methods`` (``secret_ref``, ``client_id`` ...)."""

    def __init__(
        self, auth_type: str | None = None, no_auth: bool = False, **values: str | None
    ) -> None:
        unknown = set(values) - set(_PARAMS)
        if unknown:
            raise TypeError(f"unknown authentication parameters: {sorted(unknown)}")
        self.auth_type = auth_type
        self.no_auth = no_auth
        self.values = {name: values.get(name) for name in _PARAMS}

    def __getattr__(self, name: str) -> str | None:
        values = self.__dict__.get("values", {})
        if name in values:
            return values[name]  # type: ignore[no-any-return]
        raise AttributeError(name)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AuthParams) and (
            (self.auth_type, self.no_auth, self.values)
            == (other.auth_type, other.no_auth, other.values)
        )

    def __hash__(self) -> int:
        return hash((self.auth_type, self.no_auth, tuple(sorted(self.values.items()))))

    def __repr__(self) -> str:
        given = {k: v for k, v in self.values.items() if v is not None}
        return f"AuthParams(auth_type={self.auth_type!r}, no_auth={self.no_auth}, {given})"

    def given(self) -> bool:
        return self.auth_type is not None or self.no_auth or bool(self.provided())

    def provided(self) -> list[str]:
        return [name for name in _PARAMS if self.values[name] is not None]


def _infer(provided: Sequence[str]) -> auth_methods.AuthMethod:
    """az's order: a secret wins, then any UAMI setting, then SAMI (also the default)."""
    for m in auth_methods.INFERENCE_ORDER:
        if {f.param for f in m.fields} & set(provided):
            return m
    return auth_methods.DEFAULT_METHOD


def _canonical(auth_type: str) -> auth_methods.AuthMethod:
    try:
        return auth_methods.method(auth_type, case_sensitive=False)
    except KeyError:
        raise CliError(
            f"'{auth_type}' is not an authentication type. Use one of: {', '.join(AUTH_TYPES)}."
        ) from None


def _flags(names: Sequence[str]) -> str:
    return ", ".join(_PARAMS[n][0] for n in names)


def build_authentication(
    p: AuthParams, *, current: dict[str, Any] | None = None, require: bool = True
) -> dict[str, Any]:
    """``{"method": ..., "<method>Settings": {...}}`` for the flags, or a ``CliError``.

    ``current`` is the endpoint's authentication (on update): when the flags keep its method
    (inferred, not named with ``--auth-type``), settings they do not name keep their stored
    values, so ``--client-id`` alone does not ask for ``--tenant-id`` again; ``--auth-type``
    starts the method afresh. ``require=False`` checks the flags only (before the current
    authentication is known).
    """
    provided = p.provided()
    if p.no_auth:
        if provided or p.auth_type is not None:
            raise CliError(
                "The --no-auth parameter cannot be used with other authentication parameters."
            )
        m = auth_methods.NO_AUTH_METHOD
    elif p.auth_type is not None:
        m = _canonical(p.auth_type)
    else:
        m = _infer(provided)
    allowed = set(_required(m)) | set(_optional(m))
    improper = [n for n in provided if n not in allowed]
    if improper:
        raise CliError(
            f"Parameters {_flags(improper)} are not compatible with authentication type "
            f"'{m.name}'."
        )
    by_param = {f.param: f.name for f in m.fields}
    settings: dict[str, Any] = {}
    if current is not None and p.auth_type is None and current.get("method") == m.name:
        settings = copy.deepcopy(m.settings(current))
    settings.update({by_param[n]: p.values[n] for n in provided})
    missing = [n for n in _required(m) if settings.get(by_param[n]) is None]
    if missing and require:
        raise CliError(
            f"Authentication type '{m.name}' requires the following parameters: "
            f"{_flags(missing)}"
        )
    return m.authentication(settings)


def code_signing_cas(
    config_maps: Sequence[str] = (), secrets: Sequence[str] = ()
) -> list[dict[str, str]]:
    """ConfigMaps first, then Secrets, as az orders them."""
    return [{"type": "ConfigMap", "configMapRef": n} for n in config_maps] + [
        {"type": "Secret", "secretRef": n} for n in secrets
    ]


_READ_ONLY = ("id", "name", "type", "systemData")
_READ_ONLY_PROPERTIES = ("provisioningState", "healthState")


def strip_read_only(doc: dict[str, Any]) -> dict[str, Any]:
    """A copy of a GET document that is a valid PUT body."""
    body = {k: copy.deepcopy(v) for k, v in doc.items() if k not in _READ_ONLY}
    props = body.get("properties")
    if isinstance(props, dict):
        for key in _READ_ONLY_PROPERTIES:
            props.pop(key, None)
    return body


@dataclass(frozen=True)
class EndpointChange:
    """What ``registry update`` was asked to change; ``None`` means "leave as is"."""

    host: str | None = None
    auth: AuthParams = field(default_factory=AuthParams)
    config_maps: Sequence[str] | None = None
    secrets: Sequence[str] | None = None

    def empty(self) -> bool:
        return (
            self.host is None
            and not self.auth.given()
            and self.config_maps is None
            and self.secrets is None
        )


def apply_update(doc: dict[str, Any], change: EndpointChange) -> dict[str, Any]:
    """The PUT body for ``doc`` changed only where a flag was given.

    Authentication flags that keep the endpoint's method change only the settings they name;
    flags that select another method replace the whole authentication. A code signing flag
    replaces the references of its kind and keeps the other kind (an empty list clears it).
    """
    body = strip_read_only(doc)
    props: dict[str, Any] = body.setdefault("properties", {})
    if change.host is not None:
        props["host"] = change.host
    if change.auth.given():
        current = props.get("authentication")
        props["authentication"] = build_authentication(
            change.auth, current=current if isinstance(current, dict) else None
        )
    if change.config_maps is not None or change.secrets is not None:
        current = [c for c in props.get("codeSigningCas") or [] if isinstance(c, dict)]
        config_maps = change.config_maps
        if config_maps is None:
            config_maps = [c["configMapRef"] for c in current if c.get("type") == "ConfigMap"]
        secrets = change.secrets
        if secrets is None:
            secrets = [c["secretRef"] for c in current if c.get("type") == "Secret"]
        # Kinds the CLI does not know (a newer server) are kept as they are.
        others = [c for c in current if c.get("type") not in ("ConfigMap", "Secret")]
        cas = code_signing_cas(config_maps, secrets) + others
        if cas:
            props["codeSigningCas"] = cas
        else:
            props.pop("codeSigningCas", None)
    return body
