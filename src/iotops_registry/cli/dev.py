"""``iotops dev``: the development registry of ``iotops serve --dev`` and its diagnostics.

``iotops dev registry`` stands in for ``az role assignment create --role AcrPull``,
``az acr token create`` and ``az acr update --anonymous-pull-enabled``;
``iotops dev counters`` and ``iotops dev fault`` show request counts and inject failures.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import click

from .identity import admin_get, admin_send
from .lazy import LazyGroup
from .options import (
    CanonicalChoice,
    ConnectionOptions,
    OutputOptions,
    connection_options,
    output_options,
)
from .output import Column, emit
from .prompt import confirm_delete

__all__ = ["dev"]

ROLE_COLUMNS: list[Column] = [
    ("Assignee", lambda d: d.get("assignee")),
    ("Name", lambda d: d.get("principalName")),
    ("Role", lambda d: d.get("role")),
    ("Scope", lambda d: d.get("scope")),
]
TOKEN_COLUMNS: list[Column] = [
    ("Username", lambda d: d.get("username")),
    ("Scopes", lambda d: "; ".join(
        f"{s['repository']}: {','.join(s['actions'])}" for s in d.get("scopes") or []
    )),
]
_ROLE = CanonicalChoice(["AcrPull", "AcrPush", "AcrDelete"])


def _seg(value: str) -> str:
    return quote(value, safe="")


@click.group(cls=LazyGroup, lazy={"ca": "signing:ca"})
def dev() -> None:
    """Development stand-ins of `iotops serve --dev`: registry, counters, faults."""


@dev.group()
def registry() -> None:
    """The development registry: roles, repository tokens, anonymous pull."""


@registry.command("show")
@connection_options
@output_options
def show(conn: ConnectionOptions, out: OutputOptions) -> None:
    """The registry's host, token realm and anonymous-pull setting."""
    emit(admin_get(conn, "/-/dev/registry"), out)


@registry.command("role-assign")
@click.option("--assignee", required=True, metavar="CLIENT_ID",
              help="Client id (or object id) of the principal, or a user-assigned "
                   "identity's name.")
@click.option("--role", required=True, type=_ROLE, help="AcrPull: pull; AcrPush: pull and push; "
              "AcrDelete: delete only.")
@connection_options
@output_options
def role_assign(assignee: str, role: str, conn: ConnectionOptions, out: OutputOptions) -> None:
    """Assign a registry role, like `az role assignment create --scope <registry>`."""
    body = {"assignee": assignee, "role": role}
    emit(admin_send(conn, "POST", "/-/dev/registry/role-assignments", body), out)


@registry.command("role-list")
@connection_options
@output_options
def role_list(conn: ConnectionOptions, out: OutputOptions) -> None:
    """List the registry's role assignments."""
    emit(admin_get(conn, "/-/dev/registry/role-assignments")["value"], out, ROLE_COLUMNS)


@registry.command("role-remove")
@click.option("--assignee", required=True, metavar="CLIENT_ID",
              help="Client id, object id or user-assigned identity name.")
@click.option("--role", required=True, type=_ROLE, help="The role to remove.")
@connection_options
def role_remove(assignee: str, role: str, conn: ConnectionOptions) -> None:
    """Remove a role assignment; it applies from the next token request."""
    admin_send(conn, "DELETE",
               f"/-/dev/registry/role-assignments/{_seg(assignee)}/{_seg(role)}")


@registry.group()
def token() -> None:
    """Repository-scoped tokens (`az acr token`): Basic credentials for some repositories."""


def _actions(_ctx: click.Context, _param: click.Parameter, value: str) -> list[str]:
    actions = [a.strip() for a in value.split(",") if a.strip()]
    bad = [a for a in actions if a not in ("pull", "push", "delete")]
    if not actions or bad:
        raise click.BadParameter("use a comma-separated list of pull, push and delete")
    return actions


@token.command("create")
@click.option("-n", "--name", required=True, help="Token name, also its username.")
@click.option("--repository", "repositories", required=True, multiple=True, metavar="PATTERN",
              help="Repository or pattern, e.g. team/* (repeatable).")
@click.option("--actions", default="pull", show_default=True, callback=_actions,
              help="Comma-separated: pull, push, delete.")
@connection_options
@output_options
def token_create(
    name: str,
    repositories: tuple[str, ...],
    actions: list[str],
    conn: ConnectionOptions,
    out: OutputOptions,
) -> None:
    """Create a token; its password is shown once and never again.

    \b
    Example:
      iotops dev registry token create --name ci-push --repository 'team/*' --actions pull,push
    """
    scopes = [{"repository": r, "actions": actions} for r in repositories]
    doc = admin_send(conn, "POST", "/-/dev/registry/tokens", {"name": name, "scopes": scopes})
    emit({"username": doc.get("username"), "password": doc.get("password")}, out)


@token.command("list")
@connection_options
@output_options
def token_list(conn: ConnectionOptions, out: OutputOptions) -> None:
    """List the tokens and their scopes (never their passwords)."""
    emit(admin_get(conn, "/-/dev/registry/tokens")["value"], out, TOKEN_COLUMNS)


@token.command("delete")
@click.option("-n", "--name", required=True, help="Name of the token.")
@click.option("-y", "--yes", is_flag=True, help="Do not prompt for confirmation.")
@connection_options
def token_delete(name: str, yes: bool, conn: ConnectionOptions) -> None:
    """Delete a token: its credentials stop working at once."""
    confirm_delete(f"Delete the token '{name}'?", yes)
    admin_send(conn, "DELETE", f"/-/dev/registry/tokens/{_seg(name)}")


@registry.command("anonymous-pull")
@click.option("--enable/--disable", "enabled", default=None,
              help="Allow (or stop allowing) pulls without credentials. Neither: show.")
@connection_options
@output_options
def anonymous_pull(enabled: bool | None, conn: ConnectionOptions, out: OutputOptions) -> None:
    """Enable or disable anonymous pull on every repository (`az acr update`)."""
    path = "/-/dev/registry/anonymous-pull"
    if enabled is None:
        emit(admin_get(conn, path), out)
    else:
        emit(admin_send(conn, "PUT", path, {"enabled": enabled}), out)


@dev.command()
@click.option("--registry", "registry", is_flag=True,
              help="The registry's requests instead: by kind (GET blob, HEAD manifest, "
                   "PATCH upload, ...) and by repository.")
@connection_options
@output_options
def counters(registry: bool, conn: ConnectionOptions, out: OutputOptions) -> None:
    """Requests so far to the identity endpoint, the exchange and the token endpoint."""
    emit(admin_get(conn, "/-/dev/counters/registry" if registry else "/-/dev/counters"), out)


@dev.command()
@click.option("--target",
              type=click.Choice(["identity", "exchange", "token", "registry", "upload"]),
              help="The endpoint to make fail (registry: its /v2/ requests; upload: drop "
                   "the connection of blob upload PATCHes, with --after-bytes).")
@click.option("--after-bytes", type=click.IntRange(0), metavar="N",
              help="With --target upload: drop the connection after N body bytes (the "
                   "registry keeps them).")
@click.option("--status", default=429, show_default=True, type=click.IntRange(400, 599),
              help="HTTP status of the failures.")
@click.option("--retry-after", type=click.IntRange(0, 3600), help="Retry-After seconds.")
@click.option("--count", default=1, show_default=True, type=click.IntRange(1, 1000),
              help="How many of the next requests fail.")
@click.option("--clear", is_flag=True, help="Drop every pending fault.")
@connection_options
@output_options
def fault(
    target: str | None,
    after_bytes: int | None,
    status: int,
    retry_after: int | None,
    count: int,
    clear: bool,
    conn: ConnectionOptions,
    out: OutputOptions,
) -> None:
    """Make the next COUNT requests to an endpoint fail with STATUS (or, for uploads,
    drop their connection after N bytes).

    \b
    Example:
      iotops dev fault --target exchange --status 429 --retry-after 1 --count 2
      iotops dev fault --target upload --after-bytes 25165824
    """
    if clear:
        admin_send(conn, "DELETE", "/-/dev/faults")
        return
    if target is None:
        raise click.UsageError("Give --target (or --clear).")
    body: dict[str, Any] = {"target": target, "count": count}
    if target == "upload":
        if after_bytes is None:
            raise click.UsageError("--target upload needs --after-bytes N.")
        body["afterBytes"] = after_bytes
    else:
        body["status"] = status
    if retry_after is not None:
        body["retryAfter"] = retry_after
    emit(admin_send(conn, "POST", "/-/dev/faults", body), out)
