"""The CLI's pieces in-process, with no server: flag logic, output formats, option parsing and
the HTTP client against a fake transport."""

from __future__ import annotations

import json
from typing import Any

import click
import httpx
import pytest
from click.testing import CliRunner

from iotops_registry.cli import cli
from iotops_registry.cli.client import ArmClient, Target
from iotops_registry.cli.endpoint_body import (
    AUTH_TYPES,
    SETTINGS_KEY,
    AuthParams,
    EndpointChange,
    apply_update,
    build_authentication,
)
from iotops_registry.cli.errors import ArmError, CliError
from iotops_registry.cli.options import GreedyOption, OutputOptions
from iotops_registry.cli.output import REGISTRY_COLUMNS, render
from iotops_registry.cli.registry import registry
from iotops_registry.domain import models

GUID = "11111111-2222-3333-4444-555555555555"


def test_wire_names_match_the_domain() -> None:
    assert set(AUTH_TYPES) == set(models.AUTH_METHODS)
    assert SETTINGS_KEY == models.SETTINGS_KEY


# --- authentication inference ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (
            AuthParams(),
            {
                "method": "SystemAssignedManagedIdentity",
                "systemAssignedManagedIdentitySettings": {},
            },
        ),
        (AuthParams(no_auth=True), {"method": "Anonymous", "anonymousSettings": {}}),
        (
            AuthParams(secret_ref="s"),
            {"method": "ArtifactPullSecret", "artifactPullSecretSettings": {"secretRef": "s"}},
        ),
        (
            AuthParams(audience="https://a/"),
            {
                "method": "SystemAssignedManagedIdentity",
                "systemAssignedManagedIdentitySettings": {"audience": "https://a/"},
            },
        ),
        (
            AuthParams(client_id=GUID, tenant_id=GUID),
            {
                "method": "UserAssignedManagedIdentity",
                "userAssignedManagedIdentitySettings": {"clientId": GUID, "tenantId": GUID},
            },
        ),
        (
            AuthParams(auth_type="SystemAssignedManagedIdentity"),
            {
                "method": "SystemAssignedManagedIdentity",
                "systemAssignedManagedIdentitySettings": {},
            },
        ),
        (AuthParams(auth_type="anonymous"), {"method": "Anonymous", "anonymousSettings": {}}),
        # An empty value counts as given; the server says what is wrong with it.
        (
            AuthParams(secret_ref=""),
            {"method": "ArtifactPullSecret", "artifactPullSecretSettings": {"secretRef": ""}},
        ),
    ],
)
def test_inference(params: AuthParams, expected: dict[str, Any]) -> None:
    assert build_authentication(params) == expected


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            AuthParams(scope="x/.default"),
            "Authentication type 'UserAssignedManagedIdentity' requires the following "
            "parameters: --client-id, --tenant-id",
        ),
        (
            AuthParams(secret_ref="s", audience="https://a/", scope="x"),
            "Parameters --audience, --scope are not compatible with authentication type "
            "'ArtifactPullSecret'.",
        ),
        (
            AuthParams(auth_type="SystemAssignedManagedIdentity", client_id=GUID),
            "Parameters --client-id are not compatible with authentication type "
            "'SystemAssignedManagedIdentity'.",
        ),
        (
            AuthParams(auth_type="UserAssignedManagedIdentity"),
            "Authentication type 'UserAssignedManagedIdentity' requires the following "
            "parameters: --client-id, --tenant-id",
        ),
        (
            AuthParams(no_auth=True, auth_type="Anonymous"),
            "The --no-auth parameter cannot be used with other authentication parameters.",
        ),
        (
            AuthParams(no_auth=True, secret_ref="s"),
            "The --no-auth parameter cannot be used with other authentication parameters.",
        ),
        (
            AuthParams(auth_type="Basic"),
            "'Basic' is not an authentication type. Use one of: Anonymous, ArtifactPullSecret, "
            "SystemAssignedManagedIdentity, UserAssignedManagedIdentity.",
        ),
    ],
)
def test_inference_errors(params: AuthParams, message: str) -> None:
    with pytest.raises(CliError) as err:
        build_authentication(params)
    assert err.value.message == message


# --- update bodies --------------------------------------------------------------------------

DOC: dict[str, Any] = {
    "id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.IoTOperations/instances/i/"
    "registryEndpoints/e",
    "name": "e",
    "type": "Microsoft.IoTOperations/instances/registryEndpoints",
    "extendedLocation": {"name": "cl", "type": "CustomLocation"},
    "properties": {
        "host": "a.io",
        "authentication": {"method": "Anonymous", "anonymousSettings": {}},
        "codeSigningCas": [
            {"type": "Secret", "secretRef": "s1"},
            {"type": "Future", "ref": "f"},
            {"type": "ConfigMap", "configMapRef": "c1"},
        ],
        "provisioningState": "Succeeded",
        "healthState": "Unknown",
    },
    "systemData": {"createdBy": "x"},
}


def test_update_body_changes_only_what_was_asked() -> None:
    body = apply_update(DOC, EndpointChange(host="b.io"))
    assert body == {
        "extendedLocation": DOC["extendedLocation"],
        "properties": {
            "host": "b.io",
            "authentication": DOC["properties"]["authentication"],
            "codeSigningCas": DOC["properties"]["codeSigningCas"],
        },
    }
    assert DOC["properties"]["host"] == "a.io"  # the input is not modified


def test_update_body_code_signing_kinds() -> None:
    body = apply_update(DOC, EndpointChange(secrets=("s2", "s3")))
    assert body["properties"]["codeSigningCas"] == [
        {"type": "ConfigMap", "configMapRef": "c1"},
        {"type": "Secret", "secretRef": "s2"},
        {"type": "Secret", "secretRef": "s3"},
        {"type": "Future", "ref": "f"},  # a kind this CLI does not know is kept
    ]
    body = apply_update(DOC, EndpointChange(config_maps=(), secrets=()))
    assert body["properties"]["codeSigningCas"] == [{"type": "Future", "ref": "f"}]
    plain = {**DOC, "properties": {**DOC["properties"], "codeSigningCas": []}}
    assert "codeSigningCas" not in apply_update(plain, EndpointChange(secrets=()))["properties"]


def test_update_keeps_the_settings_the_flags_leave_out() -> None:
    uami = {**DOC, "properties": {**DOC["properties"], "authentication": {
        "method": "UserAssignedManagedIdentity",
        "userAssignedManagedIdentitySettings": {"clientId": GUID, "tenantId": "t-1",
                                                "scope": "s/.default"},
    }}}
    new = "99999999-9999-9999-9999-999999999999"
    body = apply_update(uami, EndpointChange(auth=AuthParams(client_id=new)))
    assert body["properties"]["authentication"] == {
        "method": "UserAssignedManagedIdentity",
        "userAssignedManagedIdentitySettings": {"clientId": new, "tenantId": "t-1",
                                                "scope": "s/.default"},
    }
    assert uami["properties"]["authentication"]["userAssignedManagedIdentitySettings"][
        "clientId"] == GUID  # the input is not modified
    # Another method starts afresh, and so does an explicit --auth-type.
    with pytest.raises(CliError, match="requires the following parameters: --tenant-id"):
        apply_update(DOC, EndpointChange(auth=AuthParams(client_id=new)))
    with pytest.raises(CliError, match="--tenant-id"):
        apply_update(uami, EndpointChange(auth=AuthParams(
            auth_type="UserAssignedManagedIdentity", client_id=new)))
    body = apply_update(uami, EndpointChange(auth=AuthParams(secret_ref="pull")))
    assert body["properties"]["authentication"] == {
        "method": "ArtifactPullSecret", "artifactPullSecretSettings": {"secretRef": "pull"},
    }


def test_empty_change() -> None:
    assert EndpointChange().empty()
    assert not EndpointChange(secrets=()).empty()
    assert not EndpointChange(auth=AuthParams(no_auth=True)).empty()


# --- option parsing -------------------------------------------------------------------------


@click.command()
@click.option("--refs", cls=GreedyOption)
@click.option("--other")
@click.option("-f", "--flag", is_flag=True)
def _greedy(refs: tuple[str, ...] | None, other: str | None, flag: bool) -> None:
    click.echo(json.dumps({"refs": refs, "other": other, "flag": flag}))


@pytest.mark.parametrize(
    ("args", "refs", "other"),
    [
        ([], None, None),
        (["--refs"], [], None),
        (["--refs", "a", "b"], ["a", "b"], None),
        (["--refs", "a", "b", "--other", "o"], ["a", "b"], "o"),
        (["--refs", "--other", "o"], [], "o"),
        (["--refs=a", "b", "-f"], ["a", "b"], None),
        (["--refs", "a", "--refs", "b"], ["a", "b"], None),
    ],
)
def test_greedy_option(args: list[str], refs: list[str] | None, other: str | None) -> None:
    result = CliRunner().invoke(_greedy, args)
    assert result.exit_code == 0, result.output
    parsed = json.loads(result.output)
    assert parsed["refs"] == refs and parsed["other"] == other


def _walk(command: click.Command, path: str) -> list[tuple[str, click.Command]]:
    found = [(path, command)]
    if isinstance(command, click.Group):
        context = click.Context(command)
        for name in command.list_commands(context):  # loads the lazily imported ones
            sub = command.get_command(context, name)
            assert sub is not None, name
            found += _walk(sub, f"{path} {name}")
    return found


def test_every_command_and_option_has_help() -> None:
    commands = _walk(cli, "iotops")
    assert {
        "iotops registry create",
        "iotops secretsync set",
        "iotops secret set",
        "iotops instance create",
        "iotops serve",
        "iotops token",
    } <= {p for p, _ in commands}
    for path, command in commands:
        assert command.help, path
        for param in command.params:
            if isinstance(param, click.Option) and param.name != "help" and not param.hidden:
                assert param.help, f"{path} {param.name}"


def test_usage_errors_exit_2() -> None:
    runner = CliRunner()
    group = registry
    result = runner.invoke(group, ["create", "-n", "a", "-i", "b", "-g", "c"])
    assert result.exit_code == 2 and "Missing option '--host'" in result.output
    result = runner.invoke(group, ["show", "-n", "a", "-i", "b", "-g", "c", "--query", "[?a=="])
    assert result.exit_code == 2 and "Invalid value for '--query'" in result.output


# --- output ---------------------------------------------------------------------------------

ROWS = [
    {"name": "a", "n": 1, "ok": True, "none": None, "nested": {"x": 1}, "list": [1]},
    {"name": "b", "n": 2, "ok": False, "none": None, "nested": {}, "list": []},
]


def test_tsv() -> None:
    assert render(ROWS, OutputOptions("tsv")) == "a\t1\ttrue\t\nb\t2\tfalse\t\n"
    assert render("x", OutputOptions("tsv")) == "x\n"
    assert render(ROWS, OutputOptions("tsv", "[].name")) == "a\nb\n"


def test_json_yaml_none() -> None:
    assert json.loads(render(ROWS, OutputOptions("json"))) == ROWS
    assert render(ROWS, OutputOptions("yaml", "[0].name")).startswith("a\n")
    assert render(ROWS, OutputOptions("none")) == ""


def test_table_prints_values_literally(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)  # not a terminal: one line per row
    doc = {
        "name": "[bold]x[/bold]",
        "id": "/subscriptions/s/resourceGroups/My-RG/providers/p",
        "properties": {"host": "h.io", "authentication": {"method": "Anonymous"}},
    }
    lines = render(doc, OutputOptions("table"), REGISTRY_COLUMNS).splitlines()
    assert lines[0].split() == [c for c, _ in REGISTRY_COLUMNS]
    assert lines[2].split() == ["[bold]x[/bold]", "h.io", "Anonymous", "My-RG"]
    generic = render(ROWS, OutputOptions("table", "[].{N: name, K: n}")).splitlines()
    assert generic[0].split() == ["N", "K"] and generic[3].split() == ["b", "2"]


def test_query_runtime_error_is_clean() -> None:
    with pytest.raises(CliError) as err:
        render({"name": "x"}, OutputOptions("json", "abs(name)"))
    assert err.value.message.startswith("The --query failed: In function abs()")


# --- the client, against a fake server ------------------------------------------------------

BASE = "https://arm.test"


def _client(handler: Any) -> ArmClient:
    target = Target(BASE, None, "sub", lambda: "tok")
    return ArmClient(target, "iotops test", transport=httpx.MockTransport(handler))


def test_client_sends_headers_and_follows_next_links() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if "$skipToken" not in request.url.params:
            link = f"{BASE}/items?api-version=2026-07-01&$top=1&$skipToken=t1"
            return httpx.Response(200, json={"value": [{"name": "a"}], "nextLink": link})
        return httpx.Response(200, json={"value": [{"name": "b"}]})

    with _client(handler) as c:
        assert c.list("/items", page_size=1) == [{"name": "a"}, {"name": "b"}]
    assert [dict(r.url.params) for r in seen] == [
        {"api-version": "2026-07-01", "$top": "1"},
        {"api-version": "2026-07-01", "$top": "1", "$skipToken": "t1"},
    ]
    assert seen[0].headers["authorization"] == "Bearer tok"
    assert seen[0].headers["commandname"] == "iotops test"


def test_client_never_follows_a_next_link_elsewhere() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"value": [], "nextLink": "https://evil.test/x"})

    with _client(handler) as c, pytest.raises(CliError) as err:
        c.list("/items")
    assert "another origin" in err.value.message


def test_client_errors() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/html":
            return httpx.Response(502, text="<html>bad gateway</html>")
        return httpx.Response(
            400,
            json={
                "error": {
                    "code": "InvalidX",
                    "message": "X is bad.",
                    "target": "properties.x",
                    "details": [
                        {"code": "InvalidY", "message": "Y too.", "target": "properties.y"}
                    ],
                }
            },
        )

    with _client(handler) as c:
        with pytest.raises(ArmError) as err:
            c.get("/html")
        assert err.value.format_lines() == [
            "ERROR: (HttpError) The server answered 502 Bad Gateway."
        ]
        with pytest.raises(ArmError) as err:
            c.get("/arm")
        assert err.value.format_lines() == [
            "ERROR: (InvalidX) X is bad.",
            "Target: properties.x",
            "  (InvalidY) Y too. [target: properties.y]",
        ]


def test_client_network_error_is_one_line() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    with _client(handler) as c, pytest.raises(CliError) as err:
        c.get("/x")
    assert err.value.message == (f"Cannot connect to {BASE}: [Errno 111] Connection refused.")
