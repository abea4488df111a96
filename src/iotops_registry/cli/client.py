"""A small synchronous ARM client for the CLI: HTTPS only, ARM errors become ``ArmError``."""

from __future__ import annotations

import logging
import os
import re
import ssl
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import click
import httpx

from .._version import __version__
from ..config import DataDir
from ..errors import ConfigurationError
from .errors import ArmError, CliError
from .options import ConnectionOptions

__all__ = [
    "API_VERSION",
    "ArmClient",
    "Reply",
    "Target",
    "connect",
    "endpoint_path",
    "endpoints_path",
    "instance_path",
    "instances_path",
    "resolve_target",
]

API_VERSION = "2026-07-01"
ARM_RESOURCE = "https://management.azure.com"
ENV_TOKEN = "IOTOPS_TOKEN"
_PROVIDER = "Microsoft.IoTOperations"


_WARNING = re.compile(r'\d{3} \S+ "((?:[^"\\]|\\.)*)"')


def server_warnings(values: list[str]) -> list[str]:
    """The texts of RFC 7234 ``Warning`` headers (``299 agent "text"``)."""
    return [m.group(1) for value in values for m in _WARNING.finditer(value)]


# --- resource paths ---------------------------------------------------------------------------


def _seg(value: str) -> str:
    return quote(value, safe="")


def instances_path(subscription: str, resource_group: str | None = None) -> str:
    base = f"/subscriptions/{_seg(subscription)}"
    if resource_group is not None:
        base += f"/resourceGroups/{_seg(resource_group)}"
    return f"{base}/providers/{_PROVIDER}/instances"


def instance_path(subscription: str, resource_group: str, name: str) -> str:
    return f"{instances_path(subscription, resource_group)}/{_seg(name)}"


def endpoints_path(subscription: str, resource_group: str, instance: str) -> str:
    return f"{instance_path(subscription, resource_group, instance)}/registryEndpoints"


def endpoint_path(subscription: str, resource_group: str, instance: str, name: str) -> str:
    return f"{endpoints_path(subscription, resource_group, instance)}/{_seg(name)}"


# --- where to connect -------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A resolved server: base URL, TLS trust, default subscription and a token source."""

    base_url: str
    ca_file: str | None
    subscription: str
    token: Callable[[], str] = field(repr=False)
    embedded: bool = False  # the server of a local data directory


def _require_https(url: str, what: str) -> str:
    parts = urlsplit(url)
    if parts.scheme.lower() != "https" or not parts.netloc:
        raise CliError(
            f"{what} must be an https:// URL; got '{url[:100]}'. "
            "The CLI sends bearer tokens and never uses plain HTTP."
        )
    return url.rstrip("/")


def _env_token() -> str | None:
    raw = os.environ.get(ENV_TOKEN, "").strip()
    if raw.lower().startswith("bearer "):
        raw = raw[7:].strip()
    return raw or None


def _azure_identity_token() -> str:
    # Imported lazily: azure-identity is slow to import and only remote servers need it.
    from azure.core.exceptions import ClientAuthenticationError
    from azure.identity import DefaultAzureCredential

    # The chained credential logs every failed attempt as a warning; the error below says
    # what to do in one line instead.
    logging.getLogger("azure.identity").addHandler(logging.NullHandler())
    try:
        with DefaultAzureCredential() as cred:
            return cred.get_token(f"{ARM_RESOURCE}/.default").token
    except ClientAuthenticationError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CliError(
            f"Could not get a token with DefaultAzureCredential: {first} "
            f"(sign in with `az login`, or set ${ENV_TOKEN})."
        ) from None


def _local_token(data_dir: DataDir) -> Callable[[], str]:
    def mint() -> str:
        from ..security import LocalIssuerCredential

        try:
            return LocalIssuerCredential(data_dir.path).mint(ARM_RESOURCE)
        except (ConfigurationError, OSError, KeyError, ValueError) as exc:
            raise CliError(f"Could not mint a token from {data_dir.path}: {exc}") from None

    return mint


def resolve_target(conn: ConnectionOptions) -> Target:
    """Turn the connection options into a server, trust anchor, subscription and token."""
    ca_file = str(conn.ca_file) if conn.ca_file else None
    if conn.server:
        base = _require_https(conn.server, "--server")
        if not conn.subscription:
            raise CliError("--subscription (or $IOTOPS_SUBSCRIPTION) is required with --server.")
        env_token = _env_token()
        token = (lambda: env_token) if env_token else _azure_identity_token
        return Target(base, ca_file, conn.subscription, token)
    # A data directory always uses its own issuer: a $IOTOPS_TOKEN meant for a remote
    # server would only be refused here.
    data_dir = DataDir(conn.data_dir)
    try:
        endpoints = data_dir.read_endpoints()
        base = str(endpoints["arm"])
        subscription = conn.subscription or str(endpoints["subscription"])
        ca_file = ca_file or (str(endpoints["ca"]) if endpoints.get("ca") else None)
    except ConfigurationError as exc:
        raise CliError(str(exc)) from None
    except (KeyError, ValueError, OSError) as exc:
        raise CliError(f"{data_dir.endpoints_path} is unreadable: {exc}") from None
    base = _require_https(base, f"The server URL in {data_dir.endpoints_path}")
    return Target(base, ca_file, subscription, _local_token(data_dir), embedded=True)


# --- requests ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any
    etag: str | None


def _tls_context(ca_file: str | None) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise CliError(f"Cannot use the CA file '{ca_file}': {reason}.") from None


def _same_origin(url: str, base: str) -> bool:
    try:
        a, b = httpx.URL(url), httpx.URL(base)
    except httpx.InvalidURL:
        return False
    return (a.scheme, a.host, a.port or 443) == (b.scheme, b.host, b.port or 443)


def _transport_message(exc: Exception, target: Target) -> str:
    """One line saying why the request never got an HTTP answer."""
    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, ssl.SSLError):
        cause = cause.__cause__ or cause.__context__
    if isinstance(cause, ssl.SSLCertVerificationError):
        reason = cause.verify_message or str(cause)
        return (
            f"TLS certificate verification failed for {target.base_url}: {reason}. "
            "Pass --ca-file with the CA bundle that signed the server's certificate."
        )
    text = " ".join(str(exc).split()).rstrip(".") or type(exc).__name__
    if isinstance(cause, ssl.SSLError):
        return f"TLS handshake with {target.base_url} failed: {text}."
    if isinstance(exc, httpx.TimeoutException):
        return f"The request to {target.base_url} timed out ({type(exc).__name__})."
    hint = " Is `iotops serve` still running?" if target.embedded else ""
    return f"Cannot connect to {target.base_url}: {text}.{hint}"


class ArmClient:
    """Sends ARM requests with the bearer token, ``api-version`` and ``CommandName``."""

    def __init__(
        self,
        target: Target,
        command_name: str,
        *,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,  # tests: a fake server
    ) -> None:
        self.target = target
        self.subscription = target.subscription
        self._token: str | None = None
        self._http = httpx.Client(
            base_url=target.base_url,
            verify=_tls_context(target.ca_file),
            transport=transport,
            timeout=timeout,
            headers={
                "CommandName": command_name,
                "User-Agent": f"iotops/{__version__} httpx/{httpx.__version__}",
                "Accept": "application/json",
            },
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ArmClient:
        return self

    def __exit__(self, *args: object) -> None:
        self.close()

    def _auth(self) -> str:
        if self._token is None:
            self._token = self.target.token()
        return f"Bearer {self._token}"

    def request(
        self,
        method: str,
        url: str,
        *,
        body: Any = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        as_is: bool = False,
    ) -> Reply:
        """Send one request. ``as_is`` sends ``url`` with its own query (a nextLink):
        httpx would replace the whole query string with ``params``."""
        all_headers = {"Authorization": self._auth(), "x-ms-client-request-id": str(uuid.uuid4())}
        all_headers.update(headers or {})
        query = None if as_is else {"api-version": API_VERSION, **(params or {})}
        try:
            resp = self._http.request(method, url, params=query, json=body, headers=all_headers)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise CliError(_transport_message(exc, self.target)) from None
        for text in server_warnings(resp.headers.get_list("warning")):
            click.echo(f"WARNING: {text}", err=True)
        data = _json(resp)
        if resp.status_code >= 400:
            raise ArmError.from_body(resp.status_code, resp.reason_phrase, data)
        return Reply(resp.status_code, data, resp.headers.get("etag"))

    def get(self, path: str) -> Reply:
        return self.request("GET", path)

    def put(
        self,
        path: str,
        body: dict[str, Any],
        *,
        if_match: str | None = None,
        if_none_match: str | None = None,
    ) -> Reply:
        headers = {}
        if if_match is not None:
            headers["If-Match"] = if_match
        if if_none_match is not None:
            headers["If-None-Match"] = if_none_match
        return self.request("PUT", path, body=body, headers=headers)

    def delete(self, path: str) -> None:
        self.request("DELETE", path)

    def list(self, path: str, *, page_size: int | None = None,
             params: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """Every item of a collection, following ``nextLink`` (same origin only)."""
        items: list[dict[str, Any]] = []
        params = {**(params or {}), **({"$top": str(page_size)} if page_size else {})} or None
        body = self.request("GET", path, params=params).body
        seen: set[str] = set()
        while True:
            if not isinstance(body, dict) or not isinstance(body.get("value"), list):
                raise CliError(f"The server sent an unexpected list response for {path}.")
            items.extend(body["value"])
            link = body.get("nextLink")
            if not link:
                return items
            if not isinstance(link, str) or not _same_origin(link, self.target.base_url):
                # Never send the bearer token anywhere but the server we were pointed at.
                raise CliError(f"Refusing to follow a nextLink to another origin: {link!r:.200}")
            if link in seen:
                raise CliError("The server sent the same nextLink twice; stopping.")
            seen.add(link)
            next_url = httpx.URL(link)
            if "api-version" not in next_url.params:
                next_url = next_url.copy_add_param("api-version", API_VERSION)
            body = self.request("GET", str(next_url), as_is=True).body


def _json(resp: httpx.Response) -> Any:
    if not resp.content:
        return None
    try:
        return resp.json()
    except ValueError:
        return None


def connect(conn: ConnectionOptions, ctx: click.Context | None = None) -> ArmClient:
    """An ``ArmClient`` for the current command; ``CommandName`` is its path, e.g.
    ``iotops registry create``."""
    ctx = ctx or click.get_current_context(silent=True)
    name = ctx.command_path if ctx else "iotops"
    return ArmClient(resolve_target(conn), name)
