"""The authentication methods of a registry endpoint: one object per method, asked by every
other module. The ONE place (with the wire models in ``domain.models``) that names them.

Each :class:`AuthMethod` says everything the rest of the product needs to know:

- its wire name and settings property (``domain.models`` holds the matching pydantic model;
  a test checks that both agree);
- its settings fields, with the CLI flags, portal labels and validation rule of each;
- the *credential kind* it authenticates with (:data:`NO_CREDENTIAL`,
  :data:`MANAGED_IDENTITY`, :data:`PULL_SECRET`) and which settings feed it. Code that must
  act differently per method switches over these three kinds (``access.authenticators`` is
  the one that builds authenticators), never over method names;
- whether its secret rotates (the shared client re-reads it before each use);
- what the connection test says at each step where methods differ, and the hints.

Adding a method that authenticates like an existing kind is a new :class:`AuthMethod` here
and a settings model in ``domain.models``; the CLI flags, the portal's radio buttons, panes
and error targets, the connection test and the OpenAPI document follow from them.

Pure data and standard library only: the CLI imports it without pydantic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "ANONYMOUS",
    "ARTIFACT_PULL_SECRET",
    "AUTH_METHODS",
    "DEFAULT_METHOD",
    "MANAGED_IDENTITY",
    "METHODS",
    "NO_CREDENTIAL",
    "PULL_SECRET",
    "SETTINGS_KEY",
    "SYSTEM_ASSIGNED_IDENTITY",
    "USER_ASSIGNED_IDENTITY",
    "AuthMethod",
    "CredentialKind",
    "CredentialPlan",
    "SettingField",
    "TestTexts",
    "method",
    "plan_for",
    "portal_ids",
    "portal_table",
    "scope_for",
]

CredentialKind = Literal["none", "managed_identity", "pull_secret"]
NO_CREDENTIAL: CredentialKind = "none"
MANAGED_IDENTITY: CredentialKind = "managed_identity"
PULL_SECRET: CredentialKind = "pull_secret"

# What a setting means to the credential it feeds.
Role = Literal["client_id", "tenant_id", "scope", "secret_ref", ""]
# Validation rules by name: domain.rules in Python, P.rules in the portal.
Rule = Literal["guid", "audience", "scope", "k8sName"]

ARM_SCOPE = "https://management.azure.com/.default"


def _kebab(name: str) -> str:
    return "".join(f"-{c.lower()}" if c.isupper() else c for c in name)


@dataclass(frozen=True)
class SettingField:
    """One property of a method's settings object."""

    name: str  # the wire property: clientId
    label: str  # portal label: Client ID
    rule: Rule
    what: str = ""  # how rule messages name it: "client ID"
    required: bool = False
    role: Role = ""
    flags: tuple[str, ...] = ()  # CLI option names, long last: ("--cid", "--client-id")
    metavar: str | None = None
    cli_help: str = ""
    help: str = ""  # portal help text
    placeholder: str = ""
    input_id: str = ""  # the portal input's id, when not derived from the name

    @property
    def param(self) -> str:
        """The CLI parameter name: the last flag, as a Python identifier."""
        return self.flags[-1].lstrip("-").replace("-", "_")

    @property
    def portal_id(self) -> str:
        """The portal input's id: ``f-`` + the property in kebab case (f-client-id)."""
        return self.input_id or f"f-{_kebab(self.name)}"


@dataclass(frozen=True)
class TestTexts:
    """What the connection test says where methods differ. ``{registry}``, ``{realm}``,
    ``{status}``, ``{secret_ref}``, ``{identity}`` and ``{short}`` are filled in."""

    # CredentialAcquisition, when this method needs none: (code, message)
    no_credential: tuple[str, str] | None = None
    # CredentialAcquisition succeeded: (code, message); None: the kind's own step says it
    credential_ok: tuple[str, str] | None = None
    # TokenExchange refused the credentials: (code, message, hint)
    token_refused: tuple[str, str, str] = ("CredentialsRejected", "", "")
    # PullPermission denied: hint
    pull_denied_hint: str = "Grant pull on this repository to the endpoint's credentials."
    # CredentialAcquisition failed with an error code: hint (``""`` key: any other code)
    failure_hints: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one object per method
class AuthMethod:
    name: str
    settings_key: str
    label: str  # as the portal lists it
    credential: CredentialKind
    description: str  # the portal pane's lead text, the CLI's help
    fields: tuple[SettingField, ...] = ()
    rotates: bool = False  # its secret may change under a live client
    texts: TestTexts = TestTexts()

    def field(self, role: Role) -> SettingField | None:
        return next((f for f in self.fields if f.role == role), None)

    def settings(self, authentication: Mapping[str, Any]) -> dict[str, Any]:
        return dict(authentication.get(self.settings_key) or {})

    def authentication(self, settings: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The wire ``authentication`` object for these settings."""
        return {"method": self.name, self.settings_key: dict(settings or {})}

    def setting(self, authentication: Mapping[str, Any], role: Role) -> str | None:
        f = self.field(role)
        value = self.settings(authentication).get(f.name) if f else None
        return str(value) if value else None


_GUID = "00000000-0000-0000-0000-000000000000"

ANONYMOUS = AuthMethod(
    "Anonymous",
    "anonymousSettings",
    "Anonymous",
    NO_CREDENTIAL,
    "No credentials are sent. The registry must allow anonymous pulls.",
    texts=TestTexts(
        no_credential=("Anonymous", "Anonymous access: no credential is needed."),
        token_refused=(
            "AnonymousAccessDenied",
            "The token service at {realm} refused anonymous access ({status}).",
            "The registry needs credentials: choose an authentication method.",
        ),
        pull_denied_hint="The registry does not allow anonymous pulls: choose an "
        "authentication method for this endpoint.",
    ),
)

_IDENTITY_TEXTS = TestTexts(
    token_refused=(
        "IdentityNotAuthorized",
        "The registry's token service refused identity {short}: it has no AcrPull role on "
        "{registry}.",
        "Assign AcrPull to {identity} on the registry "
        "(iotops dev registry role-assign --assignee {identity} --role AcrPull).",
    ),
)

SYSTEM_ASSIGNED_IDENTITY = AuthMethod(
    "SystemAssignedManagedIdentity",
    "systemAssignedManagedIdentitySettings",
    "System managed identity",
    MANAGED_IDENTITY,
    "The IoT Operations extension's system-assigned managed identity, exchanged for "
    "registry tokens.",
    fields=(
        SettingField(
            "audience",
            "Audience (optional)",
            "audience",
            role="scope",
            flags=("--aud", "--audience"),
            metavar="URI",
            cli_help="Audience for the system-assigned managed identity, "
            "e.g. https://management.azure.com/.",
            help="An absolute https URI, for example https://management.azure.com/. "
            "Leave empty to let the runtime infer it.",
        ),
    ),
    texts=_IDENTITY_TEXTS,
)

USER_ASSIGNED_IDENTITY = AuthMethod(
    "UserAssignedManagedIdentity",
    "userAssignedManagedIdentitySettings",
    "User managed identity",
    MANAGED_IDENTITY,
    "A user-assigned managed identity, by client and tenant ID.",
    fields=(
        SettingField(
            "clientId",
            "Client ID",
            "guid",
            "client ID",
            required=True,
            role="client_id",
            flags=("--cid", "--client-id"),
            metavar="GUID",
            cli_help="Client id of the user-assigned managed identity.",
            help="The managed identity's client ID, a GUID.",
            placeholder=_GUID,
        ),
        SettingField(
            "tenantId",
            "Tenant ID",
            "guid",
            "tenant ID",
            required=True,
            role="tenant_id",
            flags=("--tid", "--tenant-id"),
            metavar="GUID",
            cli_help="Tenant id of the user-assigned managed identity.",
            help="The Microsoft Entra tenant ID, a GUID.",
            placeholder=_GUID,
        ),
        SettingField(
            "scope",
            "Scope (optional)",
            "scope",
            role="scope",
            flags=("--scope",),
            cli_help="Scope for the user-assigned managed identity, ending in /.default.",
            help="A resource identifier ending in /.default, for example "
            "https://containerregistry.azure.net/.default.",
        ),
    ),
    texts=_IDENTITY_TEXTS,
)

ARTIFACT_PULL_SECRET = AuthMethod(
    "ArtifactPullSecret",
    "artifactPullSecretSettings",
    "Artifact secret",
    PULL_SECRET,
    "A username and password from Key Vault, through a synced secret.",
    fields=(
        SettingField(
            "secretRef",
            "Synced secret name",
            "k8sName",
            "synced secret name",
            required=True,
            role="secret_ref",
            flags=("--secret-ref",),
            metavar="NAME",
            cli_help="Kubernetes secret holding the artifact pull secret.",
            input_id="f-sync-name",
            help="The Kubernetes secret that receives the username and password from Key "
            "Vault: lowercase letters, digits, '-' and '.'.",
        ),
    ),
    rotates=True,
    texts=TestTexts(
        credential_ok=(
            "PullSecretResolved",
            "Read the username and password of synced secret '{secret_ref}' from the vault.",
        ),
        token_refused=(
            "CredentialsRejected",
            "The token service at {realm} refused the username and password of synced "
            "secret '{secret_ref}' ({status}).",
            "Check the username and password in Key Vault; rotate them if they changed.",
        ),
        failure_hints={
            "SyncedSecretNotFound": "Create the synced secret '{secret_ref}': iotops "
            "secretsync set ... --secret-map <kv-user>=username <kv-password>=password",
            "SyncedSecretIncomplete": "Map Key Vault secrets to the keys 'username' and "
            "'password'.",
            "KeyVault": "Check that the mapped Key Vault secrets exist, are enabled and valid.",
            "": "Check the endpoint's artifact pull secret.",
        },
    ),
)

# The order the portal and the CLI list them in (az's), and the CLI's inference order:
# a method wins when one of its flags is given, earlier methods first.
METHODS: tuple[AuthMethod, ...] = (
    ANONYMOUS,
    SYSTEM_ASSIGNED_IDENTITY,
    USER_ASSIGNED_IDENTITY,
    ARTIFACT_PULL_SECRET,
)
INFERENCE_ORDER: tuple[AuthMethod, ...] = (
    ARTIFACT_PULL_SECRET,
    USER_ASSIGNED_IDENTITY,
    SYSTEM_ASSIGNED_IDENTITY,
)
DEFAULT_METHOD = SYSTEM_ASSIGNED_IDENTITY  # az's default, and the portal's preselection
NO_AUTH_METHOD = ANONYMOUS  # the CLI's --no-auth

AUTH_METHODS: tuple[str, ...] = tuple(m.name for m in METHODS)
SETTINGS_KEY: dict[str, str] = {m.name: m.settings_key for m in METHODS}
_BY_NAME = {m.name: m for m in METHODS}
_BY_LOWER = {m.name.lower(): m for m in METHODS}


def method(name: str, *, case_sensitive: bool = True) -> AuthMethod:
    """The method named ``name``; ``KeyError`` for an unknown one."""
    found = _BY_NAME.get(name) if case_sensitive else _BY_LOWER.get(name.lower())
    if found is None:
        raise KeyError(name)
    return found


def scope_for(audience_or_scope: str | None) -> str:
    """``https://x/`` or ``https://x/.default`` -> ``https://x/.default``; default ARM."""
    if not audience_or_scope:
        return ARM_SCOPE
    if audience_or_scope.endswith("/.default"):
        return audience_or_scope
    return audience_or_scope.rstrip("/") + "/.default"


@dataclass(frozen=True)
class CredentialPlan:
    """What an endpoint authenticates with, before anything is fetched."""

    method: AuthMethod
    client_id: str | None = None  # managed identities; None = system-assigned
    tenant_id: str | None = None
    scope: str | None = None  # Entra scope for managed identities
    secret_ref: str | None = None  # pull secrets

    @property
    def kind(self) -> CredentialKind:
        return self.method.credential


def plan_for(authentication: Mapping[str, Any], default_tenant: str) -> CredentialPlan:
    """The plan for a stored (validated) ``authentication`` object."""
    m = method(str(authentication["method"]))
    if m.credential == MANAGED_IDENTITY:
        return CredentialPlan(
            m,
            client_id=m.setting(authentication, "client_id"),
            tenant_id=m.setting(authentication, "tenant_id") or default_tenant,
            scope=scope_for(m.setting(authentication, "scope")),
        )
    if m.credential == PULL_SECRET:
        return CredentialPlan(m, secret_ref=m.setting(authentication, "secret_ref"))
    return CredentialPlan(m)


def portal_ids() -> dict[tuple[str, str], str]:
    """(method, property) -> the portal input's id, unique in the page: a property that an
    earlier method also has gets the method's settings key in its id."""
    ids: dict[tuple[str, str], str] = {}
    taken: set[str] = set()
    for m in METHODS:
        for f in m.fields:
            wanted = f.portal_id
            if wanted in taken:
                wanted = f"f-{_kebab(m.settings_key)}-{_kebab(f.name)}"
            taken.add(wanted)
            ids[(m.name, f.name)] = wanted
    return ids


def portal_table() -> list[dict[str, Any]]:
    """The methods as the portal's scripts read them (rendered into the page as JSON)."""
    ids = portal_ids()
    return [
        {
            "name": m.name,
            "settingsKey": m.settings_key,
            "label": m.label,
            "credential": m.credential,
            "description": m.description,
            "default": m is DEFAULT_METHOD,
            "fields": [
                {
                    "name": f.name,
                    "id": ids[(m.name, f.name)],
                    "label": f.label,
                    "rule": f.rule,
                    "what": f.what,
                    "required": f.required,
                    "role": f.role,
                    "help": f.help,
                    "placeholder": f.placeholder,
                }
                for f in m.fields
            ],
        }
        for m in METHODS
    ]
