"""What the publishing commands (``graph``, ``connector``, ``artifact``) share: registry
options, the credential chain, TLS trust, running a coroutine, turning errors into messages.

Credentials for a registry, first that answers (``authn.resolve_credentials``):

1. ``--username U --password-stdin``;
2. the user's Docker configuration (``$DOCKER_CONFIG/config.json`` or
   ``~/.docker/config.json``: ``auths``, ``credHelpers``, ``credsStore``);
3. for ``*.azurecr.io``: ``DefaultAzureCredential``, exchanged at ``/oauth2/exchange``;
4. otherwise anonymous.

Trust: the system's roots, the CA of the local development registry (``iotops serve --dev``
in ``--data-dir``) for that registry, and every ``--ca-file``. Plain HTTP (``--plain-http``)
only for loopback registries.
"""

from __future__ import annotations

import functools
import json
import ssl
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from ..config import default_data_dir
from ..errors import ConfigurationError, InvalidArtifact, InvalidReference, IotopsError
from ..netutil import split_host_port
from .errors import ArtifactError, CliError

if TYPE_CHECKING:
    import httpx

    from ..authn import CredentialSource
    from ..oci import Reference
    from ..remote import RegistryClient

__all__ = [
    "ArtifactError",
    "RegistryOptions",
    "open_client",
    "parse_reference",
    "registry_options",
    "run",
]

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


@dataclass(frozen=True)
class RegistryOptions:
    username: str | None = None
    password_stdin: bool = False
    ca_files: tuple[Path, ...] = ()
    plain_http: bool = False
    concurrency: int = 4
    data_dir: Path | None = None
    progress: bool | None = None

    def password(self) -> str:
        if not self.password_stdin:
            raise click.UsageError("--username needs --password-stdin (the password is never "
                                   "taken from the command line)")
        text = sys.stdin.readline()
        return text.rstrip("\r\n")


def registry_options(f: F) -> F:
    """``--username/--password-stdin/--ca-file/--plain-http/--concurrency/--data-dir``."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        kwargs["reg"] = RegistryOptions(
            username=kwargs.pop("username"),
            password_stdin=kwargs.pop("password_stdin"),
            ca_files=tuple(kwargs.pop("ca_files")),
            plain_http=kwargs.pop("plain_http"),
            concurrency=kwargs.pop("concurrency"),
            data_dir=kwargs.pop("data_dir"),
            progress=kwargs.pop("progress"),
        )
        return f(*args, **kwargs)

    options = [
        click.option("-u", "--username", metavar="USER", envvar="IOTOPS_REGISTRY_USERNAME",
                     help="Registry username; the password comes from --password-stdin. "
                          "Without it: the Docker config, then Entra ID for *.azurecr.io."),
        click.option("--password-stdin", is_flag=True,
                     help="Read the registry password (or token) from standard input."),
        click.option("--ca-file", "ca_files", multiple=True,
                     type=click.Path(dir_okay=False, exists=True, path_type=Path),
                     help="PEM CA bundle to trust for the registry (repeatable)."),
        click.option("--plain-http", is_flag=True,
                     help="Use HTTP, not HTTPS (loopback registries only)."),
        click.option("--concurrency", default=4, show_default=True,
                     type=click.IntRange(1, 32), help="Blobs transferred at once."),
        click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path),
                     default=None, show_default="$IOTOPS_DATA_DIR or ~/.local/share/iotops",
                     help="Data directory of `iotops serve --dev`, whose registry CA is "
                          "trusted for that registry."),
        click.option("--progress/--no-progress", default=None,
                     help="Show a progress bar [default: on a terminal only]."),
    ]
    for option in reversed(options):
        wrapper = option(wrapper)
    return cast(F, wrapper)


def parse_reference(text: str, what: str = "reference") -> Reference:
    from ..oci import Reference

    try:
        return Reference.parse(text)
    except InvalidReference as exc:
        raise click.BadParameter(f"{text!r}: {exc}", param_hint=what) from None


def _dev_ca(registry: str, data_dir: Path | None) -> str | None:
    """The development registry's CA, if ``registry`` is that registry."""
    path = (data_dir or default_data_dir()) / "endpoints.json"
    try:
        endpoints = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if isinstance(endpoints, dict) and str(endpoints.get("registry", "")).lower() == registry:
        ca = endpoints.get("ca")
        return str(ca) if ca else None
    return None


def ssl_context(registry: str, reg: RegistryOptions) -> ssl.SSLContext:
    context = ssl.create_default_context()
    dev = _dev_ca(registry, reg.data_dir)
    for ca in ([dev] if dev else []) + [str(p) for p in reg.ca_files]:
        try:
            context.load_verify_locations(cafile=ca)
        except (OSError, ssl.SSLError) as exc:
            raise CliError(f"Cannot load the CA bundle {ca}: {exc}") from None
    return context


class _Clients:
    """Clients opened for one command, closed together."""

    def __init__(self) -> None:
        self.closers: list[Callable[[], Coroutine[Any, Any, None]]] = []

    async def aclose(self) -> None:
        for close in reversed(self.closers):
            await close()


_OPEN = _Clients()


def credential_sources(registry: str, reg: RegistryOptions, verify: ssl.SSLContext | bool
                       ) -> list[CredentialSource]:
    from ..authn import BasicCredential, StaticBasic, StaticSource
    from ..authn.docker_config import DockerConfig

    sources: list[CredentialSource] = []
    if reg.username:
        sources.append(StaticSource(
            "--username", StaticBasic(BasicCredential(reg.username, reg.password()))))
    elif reg.password_stdin:
        raise click.UsageError("--password-stdin needs --username")
    try:
        docker = DockerConfig.load()
    except ConfigurationError as exc:
        raise CliError(str(exc)) from None
    if docker is not None:
        sources.append(_DockerSource(docker))
    if split_host_port(registry)[0].lower().endswith((".azurecr.io", ".azurecr.cn", ".azurecr.us")):
        import httpx

        from ..authn.azure import EntraSource

        http: httpx.AsyncClient = httpx.AsyncClient(verify=verify, timeout=30, trust_env=False)
        _OPEN.closers.append(http.aclose)
        sources.append(EntraSource(http))
    return sources


class _DockerSource:
    def __init__(self, config: Any) -> None:
        self._config = config

    @property
    def name(self) -> str:
        return f"docker config ({self._config.path})"

    def lookup(self, registry: str) -> Any:
        try:
            return self._config.authenticator(registry)
        except ConfigurationError as exc:
            raise CliError(str(exc)) from None


def open_client(registry: str, reg: RegistryOptions) -> RegistryClient:
    """A client for ``registry`` with the first credentials that answer (closed by
    :func:`run`)."""
    from ..authn import resolve_credentials
    from ..remote import RegistryClient

    # Plain HTTP needs no TLS context: loading the trusted roots costs ~40 ms of start-up.
    # (A redirect to an HTTPS blob store would still be verified, with httpx's roots.)
    verify: ssl.SSLContext | bool = True if reg.plain_http else ssl_context(registry, reg)
    authenticator, _ = resolve_credentials(registry, credential_sources(registry, reg, verify))
    try:
        client = RegistryClient(
            registry, authenticator=authenticator, verify=verify, plain_http=reg.plain_http,
            max_connections=max(8, reg.concurrency * 2),
        )
    except ConfigurationError as exc:
        raise CliError(str(exc)) from None
    _OPEN.closers.append(client.aclose)
    return client


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine; known errors become ``ERROR:`` lines, not tracebacks."""

    async def main() -> T:
        try:
            return await coroutine
        finally:
            await _OPEN.aclose()
            _OPEN.closers.clear()

    import asyncio

    try:
        return asyncio.run(main())
    except (IotopsError, BaseExceptionGroup) as exc:
        errors = _flatten(exc)
        problems = [p for e in errors if isinstance(e, InvalidArtifact) for p in e.problems]
        if problems:
            raise ArtifactError(InvalidArtifact(problems)) from None
        known = [e for e in errors if isinstance(e, IotopsError)]
        if len(known) != len(errors):
            raise
        raise CliError("; ".join(dict.fromkeys(str(e) for e in known))) from None


def _flatten(exc: BaseException) -> list[BaseException]:
    """The errors inside (nested) exception groups, as a task group raises them."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _flatten(inner)]
    return [exc]
