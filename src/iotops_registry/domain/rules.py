"""Pure validation rules shared by the API, the CLI and the portal. Pure functions of
strings, so they are memoised: the same names come back on every request.

Each rule returns ``None`` when the value is fine, or a sentence saying what is wrong and how
to fix it. No rule ever echoes more of the value than the user needs to see.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from urllib.parse import urlsplit

from ..netutil import is_loopback

__all__ = [
    "HOST_MAX",
    "HOST_MIN",
    "NAME_PATTERN",
    "check_audience",
    "check_guid",
    "check_host",
    "check_host_port",
    "check_k8s_name",
    "check_resource_group",
    "check_resource_name",
    "check_scope",
    "check_subscription",
    "is_loopback_host",
]

NAME_PATTERN = r"^[a-z0-9][a-z0-9-]*[a-z0-9]$"
_NAME_RE = re.compile(NAME_PATTERN)
_GUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
_RG_RE = re.compile(r"^[-\w._()]+$")
_LABEL_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
# OCI distribution-spec repository path component.
_PATH_COMPONENT_RE = re.compile(r"^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*$")
_K8S_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_K8S_NAME_RE = re.compile(rf"^{_K8S_LABEL}(\.{_K8S_LABEL})*$")

HOST_MIN = 3
HOST_MAX = 63


@functools.lru_cache(maxsize=4096)
def check_resource_name(value: str) -> str | None:
    if not 3 <= len(value) <= 63:
        return f"The name must be 3 to 63 characters long; '{value[:70]}' has {len(value)}."
    if not _NAME_RE.fullmatch(value):
        return (
            f"The name '{value}' is invalid. Use lowercase letters, digits and hyphens, "
            "starting and ending with a letter or digit."
        )
    return None


@functools.lru_cache(maxsize=4096)
def check_resource_group(value: str) -> str | None:
    if not 1 <= len(value) <= 90 or not _RG_RE.fullmatch(value) or value.endswith("."):
        return (
            f"Resource group name '{value[:100]}' is invalid. It must be 1 to 90 characters of "
            "letters, digits, '_', '-', '.', '(' or ')', and must not end in a period."
        )
    return None


@functools.lru_cache(maxsize=4096)
def check_subscription(value: str) -> str | None:
    if not _GUID_RE.fullmatch(value):
        return f"The subscription id '{value[:60]}' is not a valid GUID."
    return None


@functools.lru_cache(maxsize=4096)
def check_guid(value: str, what: str) -> str | None:
    if not _GUID_RE.fullmatch(value):
        return f"The {what} must be a GUID such as 00000000-0000-0000-0000-000000000000."
    return None


def _check_hostname(host: str) -> str | None:
    if host.startswith("["):
        end = host.find("]")
        if end < 0:
            return "The IPv6 address is missing its closing ']'."
        try:
            ipaddress.IPv6Address(host[1:end])
        except ValueError:
            return f"'{host[: end + 1]}' is not a valid IPv6 address."
        rest = host[end + 1 :]
        if rest and not rest.startswith(":"):
            return "Only ':port' may follow an IPv6 address."
        return _check_port(rest[1:]) if rest else None
    name, sep, port = host.partition(":")
    if sep:
        problem = _check_port(port)
        if problem:
            return problem
    if not name:
        return "The host name is empty."
    if all(part.isdigit() for part in name.split(".")):
        try:
            ipaddress.IPv4Address(name)
        except ValueError:
            return f"'{name}' is not a valid IPv4 address."
        return None
    if len(name) > 253:
        return "The host name is longer than 253 characters."
    for label in name.rstrip(".").split("."):
        if not _LABEL_RE.fullmatch(label):
            return (
                f"'{name}' is not a valid host name: each dot-separated label must be 1 to 63 "
                "letters, digits or hyphens, not starting or ending with a hyphen."
            )
    return None


def _check_port(port: str) -> str | None:
    # isascii: str.isdigit and int() also take other scripts' digits ('١٩٥١٠').
    if not (port.isascii() and port.isdigit()) or not 1 <= int(port) <= 65535:
        return f"The port '{port[:10]}' must be a number from 1 to 65535."
    return None


_NOT_ASCII = (
    "The host must be ASCII: write an internationalised name in its 'xn--' form and the port "
    "in the digits 0-9."
)


@functools.lru_cache(maxsize=4096)
def check_host_port(value: str) -> str | None:
    """A bare ``name[:port]`` or ``[v6][:port]`` (no path): an allowed realm host."""
    if not 1 <= len(value) <= 261:
        return "The host must be 1 to 261 characters long."
    if not value.isascii():
        return _NOT_ASCII
    if any(ch in value for ch in "/@?# ") or any(ch.isspace() for ch in value):
        return "The host must be a name or address with an optional ':port', nothing else."
    return _check_hostname(value)


@functools.lru_cache(maxsize=4096)
def check_host(value: str) -> str | None:
    """A registry host: ``name[:port][/path/prefix]`` with no scheme, userinfo or query."""
    if "://" in value:
        scheme, _, rest = value.partition("://")
        return (
            f"The host must not include a scheme. Drop '{scheme}://' and use '{rest.rstrip('/')}'."
        )
    if not HOST_MIN <= len(value) <= HOST_MAX:
        return f"The host must be {HOST_MIN} to {HOST_MAX} characters long."
    if any(ch.isspace() for ch in value):
        return "The host must not contain whitespace."
    if not value.isascii():
        return _NOT_ASCII
    if "@" in value:
        return "The host must not contain user information ('user@'); use authentication settings."
    if "?" in value or "#" in value:
        return "The host must not contain a query string or fragment."
    host, slash, path = value.partition("/")
    problem = _check_hostname(host)
    if problem:
        return problem
    if slash:
        if not path or path.endswith("/"):
            return "The path prefix after the host must not be empty or end with '/'."
        for component in path.split("/"):
            if not _PATH_COMPONENT_RE.fullmatch(component):
                return (
                    f"The path segment '{component}' is not a valid repository name component: "
                    "use lowercase letters and digits, separated by '.', '_', '__' or '-'."
                )
    return None


@functools.lru_cache(maxsize=4096)
def check_scope(value: str) -> str | None:
    if any(ch.isspace() for ch in value) or not value.endswith("/.default") or len(value) < 10:
        return (
            "The scope must be a resource identifier ending in '/.default', for example "
            "'https://containerregistry.azure.net/.default'."
        )
    return None


@functools.lru_cache(maxsize=4096)
def check_audience(value: str) -> str | None:
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.netloc or any(ch.isspace() for ch in value):
        return (
            "The audience must be an absolute https URI, for example "
            "'https://management.azure.com/'."
        )
    return None


@functools.lru_cache(maxsize=4096)
def check_k8s_name(value: str, what: str) -> str | None:
    if not 1 <= len(value) <= 253 or not _K8S_NAME_RE.fullmatch(value):
        return (
            f"The {what} '{value[:80]}' is not a valid Kubernetes name: use at most 253 "
            "lowercase letters, digits, '-' and '.', starting and ending with a letter or digit."
        )
    return None


# The one loopback rule (plain HTTP to a registry, the vault's relaxed challenge check).
is_loopback_host = is_loopback
