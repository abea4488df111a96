"""The connection test: every step between this server and a pull, each with a stable code
and a hint that says what to fix (after ``az acr check-health``).

    DnsResolution → TcpConnect → TlsHandshake → RegistryPing → CredentialAcquisition
      → TokenExchange → PullPermission → CatalogPermission

A step that fails stops the ones that depend on it (they are reported as Skipped). The test
always reads credentials fresh: a rotated secret or a new role shows at once. Credentials
go only to the endpoint's host and its token realm (another realm host must be allowed in
the endpoint's connection settings).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import jwt

from ..authn import ANONYMOUS, Authenticator, Challenge
from ..domain.auth_methods import MANAGED_IDENTITY, NO_CREDENTIAL
from ..errors import (
    ApiError,
    RegistryAuthError,
    RegistryError,
    RegistryHTTPError,
    RegistryNotFound,
    RegistryUnreachable,
    TokenEndpointError,
)
from ..netutil import split_endpoint_host, split_host_port
from ..services import EndpointTarget
from ..transport import RealmPolicy, build_transport, fetch_token, ping
from ..transport.backoff import RetryPolicy
from .probes import StepResult, probe_dns, probe_tcp, probe_tls
from .registry_access import RegistryAccess

__all__ = ["STEPS", "run_connection_test"]

STEPS = (
    "DnsResolution",
    "TcpConnect",
    "TlsHandshake",
    "RegistryPing",
    "CredentialAcquisition",
    "TokenExchange",
    "PullPermission",
    "CatalogPermission",
)
_TIMEOUT = 10.0


class _Report:
    def __init__(self, target: EndpointTarget, repository: str | None) -> None:
        self.target = target
        self.repository = repository
        self.steps: list[StepResult] = []
        self.identity: str | None = None  # the managed identity's client id, once known
        self.started = time.perf_counter()

    def add(self, step: StepResult) -> bool:
        self.steps.append(step)
        return step.status in ("Succeeded", "Skipped", "Warning")

    def step(
        self, name: str, status: str, code: str, message: str, hint: str = "", t0: float = 0.0
    ) -> bool:
        ms = int((time.perf_counter() - t0) * 1000) if t0 else 0
        return self.add(StepResult(name, status, code, message, hint, ms))

    def finish(self) -> dict[str, Any]:
        done = {s.name for s in self.steps}
        for name in STEPS:
            if name not in done:
                self.steps.append(
                    StepResult(name, "Skipped", "NotRun", "Not run: an earlier step failed.")
                )
        order = {n: i for i, n in enumerate(STEPS)}
        self.steps.sort(key=lambda s: order[s.name])
        failed = any(s.status == "Failed" for s in self.steps)
        return {
            "status": "Failed" if failed else "Succeeded",
            "registry": self.target.registry,
            "repository": self.repository,
            "authenticationMethod": self.target.method.name,
            "durationMs": int((time.perf_counter() - self.started) * 1000),
            "steps": [s.to_dict() for s in self.steps],
        }


def _short(identity: str) -> str:
    return identity[:8] + "…" if len(identity) > 12 else identity


async def run_connection_test(
    access: RegistryAccess, target: EndpointTarget, repository: str | None = None
) -> dict[str, Any]:
    """Test ``target`` (loaded by ``services.RegistryEndpointService.target``)."""
    # Without a repository, the permission steps pick one from the catalog, under the
    # host's path prefix.
    report = _Report(target, repository)
    try:
        await _run(access, target, report)
    except Exception as exc:  # a bug must still give a report, not a 500
        report.step(
            "RegistryPing",
            "Failed",
            "InternalError",
            f"The test stopped unexpectedly ({type(exc).__name__}).",
        )
    return report.finish()


async def _run(access: RegistryAccess, target: EndpointTarget, report: _Report) -> None:
    name, port, _ = split_endpoint_host(target.host)
    plain = access.plain_http(target)
    port = port or (80 if plain else 443)
    dns, _addresses = await probe_dns(name, port)
    if not report.add(dns):
        return
    if not report.add(await probe_tcp(name, port, _TIMEOUT)):
        return
    context = access.ssl_context(target.settings)
    if plain:
        report.step(
            "TlsHandshake",
            "Skipped",
            "PlainHttp",
            "Plain HTTP to a loopback registry, as its connection settings allow.",
        )
    elif not report.add(await probe_tls(name, port, context, _TIMEOUT)):
        return

    base = f"{'http' if plain else 'https'}://{target.registry}"
    async with httpx.AsyncClient(
        transport=build_transport(verify=context, retry=RetryPolicy(attempts=2)),
        timeout=_TIMEOUT,
        trust_env=False,
    ) as http:
        # RegistryPing
        t0 = time.perf_counter()
        try:
            challenge = await ping(http, base)
        except RegistryUnreachable as exc:
            report.step(
                "RegistryPing",
                "Failed",
                "RegistryUnreachable",
                str(exc),
                "Check that the registry is up.",
                t0,
            )
            return
        except RegistryError as exc:
            report.step(
                "RegistryPing",
                "Failed",
                "NotARegistry",
                f"{target.registry} did not answer GET /v2/ like an OCI registry ({exc}).",
                "Check the host and port: is this a registry?",
                t0,
            )
            return
        if challenge is None:
            report.step(
                "RegistryPing",
                "Succeeded",
                "Open",
                "The registry answers /v2/ without authentication.",
                "",
                t0,
            )
        else:
            where = f" (realm {httpx.URL(challenge.realm).host})" if challenge.realm else ""
            report.step(
                "RegistryPing",
                "Succeeded",
                f"{challenge.scheme.title()}Challenge",
                f"The registry asks for {challenge.scheme} authentication{where}.",
                "",
                t0,
            )

        authenticator = await _credential_step(access, target, report)
        if authenticator is None:
            return
        if (
            challenge is not None
            and challenge.is_bearer
            and not await _token_step(http, target, challenge, authenticator, report)
        ):
            return

    # Permissions, through the endpoint's own client as pulls will use it.
    client = access.new_client(target, authenticator, fresh=True)
    try:
        await _permission_steps(client, target, report)
    finally:
        await client.aclose()


async def _credential_step(
    access: RegistryAccess, target: EndpointTarget, report: _Report
) -> Authenticator | None:
    plan, texts = target.plan, target.method.texts
    t0 = time.perf_counter()
    if plan.kind == NO_CREDENTIAL:
        code, message = texts.no_credential or ("NoCredential", "No credential is needed.")
        report.step("CredentialAcquisition", "Skipped", code, message, "", t0)
        return ANONYMOUS
    if plan.kind == MANAGED_IDENTITY:
        who = plan.client_id or "the system-assigned identity"
        try:
            credential = access.factory.credential(plan.client_id)
            token = await asyncio.to_thread(credential.get_token, plan.scope or "")
        except Exception as exc:  # azure-identity raises several types; none carry secrets
            report.step(
                "CredentialAcquisition",
                "Failed",
                "IdentityTokenFailed",
                f"No Entra token for {who} ({type(exc).__name__}: "
                f"{str(exc).splitlines()[0][:200] if str(exc) else ''}).",
                "Check that the managed identity exists (client id), and that the identity "
                "endpoint is reachable from the server.",
                t0,
            )
            return None
        claims = jwt.decode(token.token, options={"verify_signature": False})
        identity = str(claims.get("appid") or claims.get("azp") or claims.get("oid") or who)
        report.identity = identity
        report.step(
            "CredentialAcquisition",
            "Succeeded",
            "IdentityToken",
            f"Got an Entra token for identity {identity} (scope {plan.scope}).",
            "",
            t0,
        )
    try:
        authenticator = await access.factory.build(target, fresh=True)
    except ApiError as exc:
        report.step(
            "CredentialAcquisition",
            "Failed",
            exc.code,
            exc.message,
            _failure_hint(target, exc.code),
            t0,
        )
        return None
    if texts.credential_ok is not None:
        code, message = texts.credential_ok
        report.step(
            "CredentialAcquisition", "Succeeded", code, _fill(message, target), "", t0
        )
    return authenticator


def _fill(text: str, target: EndpointTarget, **more: object) -> str:
    return text.format(
        registry=target.registry, secret_ref=target.plan.secret_ref or "", **more
    )


def _failure_hint(target: EndpointTarget, code: str) -> str:
    hints = target.method.texts.failure_hints
    for prefix, hint in hints.items():
        if prefix and (code == prefix or (prefix == "KeyVault" and code.startswith(prefix))):
            return _fill(hint, target)
    return _fill(hints.get("", ""), target)


async def _token_step(
    http: httpx.AsyncClient,
    target: EndpointTarget,
    challenge: Challenge,
    authenticator: Authenticator,
    report: _Report,
) -> bool:
    t0 = time.perf_counter()
    registry_host, _ = split_host_port(target.registry)  # [::1]:5000 -> ::1
    policy = RealmPolicy(registry_host, target.settings.allowed_realm_hosts)
    with_credentials = authenticator is not ANONYMOUS
    try:
        realm = policy.check(challenge.realm or "", with_credentials=with_credentials)
    except TokenEndpointError as exc:
        report.step(
            "TokenExchange",
            "Failed",
            "RealmNotAllowed",
            str(exc),
            "Allow the realm host in the endpoint's connection settings only if you "
            "trust it with the credentials.",
            t0,
        )
        return False
    identity = report.identity
    try:
        config = await authenticator.authorization(challenge)
        await fetch_token(
            http, realm, challenge.service, [], config, policy=RetryPolicy(attempts=3)
        )
    except RegistryAuthError as exc:
        code, message, hint = target.method.texts.token_refused
        words = {
            "realm": realm.host,
            "status": exc.status,
            "identity": identity or "",
            "short": _short(identity or ""),
        }
        report.step(
            "TokenExchange",
            "Failed",
            code,
            _fill(message, target, **words),
            _fill(hint, target, **words),
            t0,
        )
        return False
    except (TokenEndpointError, RegistryUnreachable) as exc:
        report.step(
            "TokenExchange",
            "Failed",
            "TokenServiceError",
            str(exc),
            "Check that the registry's token service is reachable and healthy.",
            t0,
        )
        return False
    what = "exchanged the Entra token and " if config.identity_token else ""
    report.step(
        "TokenExchange",
        "Succeeded",
        "TokenIssued",
        f"The token service at {realm.host} {what}issued a registry token.",
        "",
        t0,
    )
    return True


async def _permission_steps(client: Any, target: EndpointTarget, report: _Report) -> None:
    repository = report.repository
    t0 = time.perf_counter()
    catalog: list[str] | None = None
    catalog_step: StepResult | None = None
    try:
        catalog = await client.catalog(page_size=100)
        catalog_step = StepResult(
            "CatalogPermission",
            "Succeeded",
            "CatalogListed",
            f"Listed {len(catalog)} repositories.",
        )
    except RegistryAuthError:
        catalog_step = StepResult(
            "CatalogPermission",
            "Warning",
            "CatalogDenied",
            "The credentials cannot list the registry's repositories (normal for "
            "repository-scoped tokens).",
            "Name a repository to test pull permission.",
        )
    except RegistryNotFound:
        catalog_step = StepResult(
            "CatalogPermission",
            "Warning",
            "CatalogUnsupported",
            "The registry does not offer a catalog.",
        )
    except RegistryError as exc:
        catalog_step = StepResult("CatalogPermission", "Warning", "CatalogFailed", str(exc))
    catalog_step.duration_ms = int((time.perf_counter() - t0) * 1000)
    if repository is None and catalog:
        under = [r for r in catalog if not target.prefix or r.startswith(target.prefix + "/")]
        repository = under[0] if under else None
        report.repository = repository
    t0 = time.perf_counter()
    if repository is None:
        report.step(
            "PullPermission",
            "Skipped",
            "NoRepository",
            "No repository was named and none could be listed.",
            "Pass a repository to test pull permission.",
            t0,
        )
    else:
        try:
            tags = await client.list_tags(repository, page_size=10)
            report.step(
                "PullPermission",
                "Succeeded",
                "PullAllowed",
                f"Can pull from '{repository}' ({len(tags)} tags seen).",
                "",
                t0,
            )
        except RegistryAuthError as exc:
            report.step(
                "PullPermission",
                "Failed",
                "PullDenied",
                f"Not allowed to pull from '{repository}' ({exc.status}).",
                target.method.texts.pull_denied_hint,
                t0,
            )
        except RegistryNotFound:
            report.step(
                "PullPermission",
                "Failed",
                "RepositoryNotFound",
                f"The repository '{repository}' does not exist on {target.registry}.",
                "Check the repository name.",
                t0,
            )
        except RegistryHTTPError as exc:
            report.step("PullPermission", "Failed", "PullFailed", str(exc), "", t0)
    report.add(catalog_step)
