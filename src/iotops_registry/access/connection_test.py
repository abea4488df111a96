"""The connection test: every step between this server and a pull, each with a stable code
and a hint that says what to fix (after ``az acr check-health``).

    DnsResolution → TcpConnect → TlsHandshake → RegistryPing → CredentialAcquisition
      → TokenExchange → PullPermission → CatalogPermission [→ CodeSigningCas]

``CodeSigningCas`` is reported only for an endpoint that lists code-signing CAs: whether
each reference resolved to CA certificates (a failure leaves the endpoint Degraded).

A step that fails stops the ones that depend on it (they are reported as Skipped). The
report's status is ``Succeeded`` only when a pull was proven; ``PartiallyVerified`` when no
step failed but pull permission could not be tested (no repository to pull from); else
``Failed``. The test always reads credentials fresh: a rotated secret or a new role shows
at once. Credentials go only to the endpoint's host and its token realm (another realm host
must be allowed in the endpoint's connection settings).
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
from ..services import CodeSigningCas, EndpointTarget
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
    "CodeSigningCas",
)
_OPTIONAL = {"CodeSigningCas"}  # only for endpoints that configure it
_TIMEOUT = 10.0
_FROM_CATALOG = 3  # catalog repositories tried when none is named


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

    def status(self) -> str:
        """Succeeded only when a pull was proven; PartiallyVerified when nothing failed but
        pull permission could not be tested."""
        if any(s.status == "Failed" for s in self.steps):
            return "Failed"
        pulled = any(s.name == "PullPermission" and s.status == "Succeeded" for s in self.steps)
        return "Succeeded" if pulled else "PartiallyVerified"

    def finish(self) -> dict[str, Any]:
        done = {s.name for s in self.steps}
        for name in STEPS:
            if name not in done and name not in _OPTIONAL:
                self.steps.append(
                    StepResult(name, "Skipped", "NotRun", "Not run: an earlier step failed.")
                )
        order = {n: i for i, n in enumerate(STEPS)}
        self.steps.sort(key=lambda s: order[s.name])
        return {
            "status": self.status(),
            "registry": self.target.registry,
            "repository": self.repository,
            "authenticationMethod": self.target.method.name,
            "durationMs": int((time.perf_counter() - self.started) * 1000),
            "steps": [s.to_dict() for s in self.steps],
        }


def _short(identity: str) -> str:
    return identity[:8] + "…" if len(identity) > 12 else identity


async def run_connection_test(
    access: RegistryAccess,
    target: EndpointTarget,
    repository: str | None = None,
    cas: CodeSigningCas | None = None,
) -> dict[str, Any]:
    """Test ``target`` (loaded by ``services.RegistryEndpointService.target``); ``cas``:
    its code-signing CAs, resolved (checked as the last step when configured)."""
    # Without a repository, the permission steps pick one: the host's path prefix, the
    # probe repository of the connection settings, then the catalog (see _candidates).
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
    if cas is not None and cas.configured:
        _code_signing_step(cas, report)
    return report.finish()


def _code_signing_step(cas: CodeSigningCas, report: _Report) -> None:
    count = _plural(len(cas.subjects), "CA certificate")
    found = f"{count} ({'; '.join(cas.subjects)})" if cas.subjects else count
    if not cas.problems:
        report.step("CodeSigningCas", "Succeeded", "CodeSigningCasResolved",
                    f"Code-signing CAs resolved: {found}.")
        return
    first = cas.problems[0]
    more = f" ({len(cas.problems) - 1} more problem(s))" if len(cas.problems) > 1 else ""
    hint = "Fix the codeSigningCas references: until then artifacts are verified only " \
        "against the CAs that resolved." if cas.resolved else \
        "Until a reference resolves, the enforce policy refuses every artifact."
    report.step(
        "CodeSigningCas",
        "Failed",
        first.code,
        f"{first.message}{more} Resolved: {found}.",
        hint,
    )


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


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _candidates(
    target: EndpointTarget, named: str | None, catalog: list[str] | None
) -> list[tuple[str, str]]:
    """Repositories that can prove pull permission, in order, each with where it came from:
    the one named; else those the instance's graphs and templates pull through it, the host's
    path prefix, the connection settings' probe repository, then the catalog's first
    repositories under the prefix."""
    if named is not None:
        return [(named, "named")]
    # What the instance's graphs and templates actually pull through this endpoint first.
    found: list[tuple[str, str]] = [
        (repository, f"used by {user}") for repository, user in target.used_repositories
    ]
    if target.prefix:
        found.append((target.prefix, "the host's path prefix"))
    if target.settings.probe_repository:
        found.append((target.settings.probe_repository, "the probe repository"))
    prefix = target.prefix + "/" if target.prefix else ""
    found += [(r, "the catalog") for r in (catalog or []) if r.startswith(prefix)][:_FROM_CATALOG]
    unique: dict[str, str] = {}
    for repository, source in found:
        unique.setdefault(repository, source)
    return list(unique.items())


async def _catalog_step(client: Any, anonymous: bool) -> tuple[StepResult, list[str] | None]:
    t0 = time.perf_counter()
    catalog: list[str] | None = None
    try:
        catalog = await client.catalog(page_size=100)
        step = StepResult(
            "CatalogPermission",
            "Succeeded",
            "CatalogListed",
            f"Listed {_repositories(catalog)}.",
        )
    except RegistryAuthError:
        who = "Requests without credentials" if anonymous else "The credentials"
        step = StepResult(
            "CatalogPermission",
            "Warning",
            "CatalogDenied",
            f"{who} cannot list the registry's repositories; this is normal for "
            "repository-scoped tokens and for registries that only list to their users.",
        )
    except RegistryNotFound:
        step = StepResult(
            "CatalogPermission", "Warning", "CatalogUnsupported",
            "The registry does not offer a catalog.",
        )
    except RegistryError as exc:
        step = StepResult("CatalogPermission", "Warning", "CatalogFailed", str(exc))
    step.duration_ms = int((time.perf_counter() - t0) * 1000)
    return step, catalog


def _repositories(catalog: list[str]) -> str:
    return "1 repository" if len(catalog) == 1 else f"{len(catalog)} repositories"


async def _permission_steps(client: Any, target: EndpointTarget, report: _Report) -> None:
    """Pull permission is proven only by a pull (a tags list) from a real repository; when
    no repository can be found, the step says so and the report is PartiallyVerified."""
    catalog_step, catalog = await _catalog_step(client, target.plan.kind == NO_CREDENTIAL)
    named = report.repository
    t0 = time.perf_counter()
    missing: list[str] = []
    for repository, source in _candidates(target, named, catalog):
        try:
            tags = await client.list_tags(repository, page_size=10)
        except RegistryAuthError as exc:
            report.repository = repository
            via = "" if source == "named" else f" ({source})"
            report.step(
                "PullPermission",
                "Failed",
                "PullDenied",
                f"Not allowed to pull from '{repository}'{via} ({exc.status}).",
                target.method.texts.pull_denied_hint,
                t0,
            )
            break
        except RegistryNotFound:
            if source == "named":
                report.step(
                    "PullPermission",
                    "Failed",
                    "RepositoryNotFound",
                    f"The repository '{repository}' does not exist on {target.registry}.",
                    "Check the repository name.",
                    t0,
                )
                break
            missing.append(repository)  # a guess that does not exist proves nothing
            continue
        except RegistryHTTPError as exc:
            report.repository = repository
            report.step("PullPermission", "Failed", "PullFailed", str(exc), "", t0)
            break
        report.repository = repository
        via = "" if source == "named" else f", chosen from {source}"
        report.step(
            "PullPermission",
            "Succeeded",
            "PullAllowed",
            f"Can pull from '{repository}' ({_plural(len(tags), 'tag')} seen{via}).",
            "",
            t0,
        )
        break
    else:
        report.step(
            "PullPermission",
            "Skipped",
            "PullNotVerified",
            _why_unverified(target, catalog_step, missing),
            "Name a repository to pull from (iotops registry test --repository, or the "
            "test's Repository field in the portal), or set one for every health check: "
            "iotops registry connection set --probe-repository REPO.",
            t0,
        )
    report.add(catalog_step)


def _why_unverified(target: EndpointTarget, catalog: StepResult, missing: list[str]) -> str:
    if missing:
        names = ", ".join(f"'{m}'" for m in missing)
        return f"Pull permission is not verified: {names} do not exist on {target.registry}."
    if catalog.status == "Succeeded":
        where = f" under '{target.prefix}'" if target.prefix else ""
        return f"Pull permission is not verified: the registry holds no repository{where}."
    return (
        "Pull permission is not verified: no repository was named, the connection settings "
        "name no probe repository, and the catalog could not be listed."
    )
