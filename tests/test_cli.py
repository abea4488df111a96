"""The ``iotops instance`` and ``iotops registry`` commands, run as real subprocesses against
the session's ``iotops serve``. Each test works in its own resource group."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from iotops_registry.cli.client import ArmClient, endpoint_path, endpoints_path, resolve_target
from iotops_registry.cli.endpoint_body import EndpointChange
from iotops_registry.cli.errors import ArmError
from iotops_registry.cli.options import ConnectionOptions
from iotops_registry.cli.registry import update_endpoint
from tests.conftest import API_VERSION
from tests.support.server import ServerProcess

CLIENT_ID = "11111111-2222-3333-4444-555555555555"
TENANT_ID = "66666666-7777-8888-9999-000000000000"
SCOPE = "https://containerregistry.azure.net/.default"
AUDIENCE = "https://management.azure.com/"


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "iotops_registry", *args],
        env=env,
        stdin=subprocess.DEVNULL,  # no terminal: prompts must not hang
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


@dataclass
class Cli:
    """The CLI bound to one server and one fresh resource group with one instance."""

    server: ServerProcess
    env: dict[str, str]
    rg: str
    instance: str

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run(self.env, *args)

    def ok(self, *args: str) -> Any:
        """Run, expect success, parse stdout as JSON (the default output)."""
        proc = self(*args)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout) if proc.stdout.strip() else None

    def fail(self, *args: str, code: int = 1) -> str:
        """Run, expect failure with ``code``; return stderr."""
        proc = self(*args)
        assert proc.returncode == code, (proc.stdout, proc.stderr)
        assert proc.stdout == ""
        return proc.stderr

    def ep(self, name: str) -> list[str]:
        """The ``-n -i -g`` arguments of an endpoint in this scope."""
        return ["-n", name, "-i", self.instance, "-g", self.rg]

    def create(self, name: str, *flags: str, host: str = "myacr.azurecr.io") -> Any:
        return self.ok("registry", "create", *self.ep(name), "--host", host, *flags)

    @property
    def ig(self) -> list[str]:
        return ["-i", self.instance, "-g", self.rg]


@pytest.fixture
def cli(server: ServerProcess) -> Cli:
    suffix = uuid.uuid4().hex[:8]
    c = Cli(server, server.cli_env(), f"rg-cli-{suffix}", f"inst-{suffix}")
    c.ok("instance", "create", "-n", c.instance, "-g", c.rg, "--description", "cli test")
    return c


@pytest.fixture
def client(server: ServerProcess) -> Iterator[ArmClient]:
    """The CLI's own client, in-process, for what a subprocess cannot interleave."""
    target = resolve_target(ConnectionOptions(data_dir=server.data_dir))
    with ArmClient(target, "iotops registry update") as c:
        yield c


def _auth(doc: dict[str, Any]) -> dict[str, Any]:
    auth: dict[str, Any] = doc["properties"]["authentication"]
    return auth


# --- instances ----------------------------------------------------------------------------


def test_instance_create_show_list_delete(cli: Cli) -> None:
    shown = cli.ok("instance", "show", "-n", cli.instance, "-g", cli.rg)
    assert shown["name"] == cli.instance
    assert shown["location"] == "local"
    assert shown["properties"]["description"] == "cli test"
    assert shown["extendedLocation"] == {
        "name": f"/subscriptions/{cli.server.subscription}/resourceGroups/{cli.rg}/providers/"
        f"Microsoft.ExtendedLocation/customLocations/{cli.instance}-cl",
        "type": "CustomLocation",
    }

    other = f"inst-{uuid.uuid4().hex[:6]}"
    created = cli.ok("instance", "create", "-n", other, "-g", cli.rg, "--location", "eastus",
                     "--custom-location", "/custom/cl")
    assert created["location"] == "eastus"
    assert created["extendedLocation"]["name"] == "/custom/cl"
    assert "description" not in created["properties"]

    err = cli.fail("instance", "create", "-n", other, "-g", cli.rg)
    assert err.startswith("ERROR: (PreconditionFailed)") and "already exists" in err

    listed = cli("instance", "list", "-g", cli.rg, "-o", "table")
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["Name", "Location", "ResourceGroup", "ProvisioningState",
                                "Description"]
    rows = sorted(line.split() for line in lines[2:])
    assert rows == sorted([[cli.instance, "local", cli.rg, "Succeeded", "cli", "test"],
                           [other, "eastus", cli.rg, "Succeeded"]])

    everywhere = cli.ok("instance", "list", "--query", "[].name")
    assert {cli.instance, other} <= set(everywhere)

    # No terminal and no -y: refuse rather than hang on the prompt.
    err = cli.fail("instance", "delete", "-n", other, "-g", cli.rg)
    assert "-y" in err
    assert cli.ok("instance", "delete", "-n", other, "-g", cli.rg, "-y") is None
    err = cli.fail("instance", "show", "-n", other, "-g", cli.rg)
    assert "(ResourceNotFound)" in err


# --- registry endpoints: authentication -----------------------------------------------------


def test_registry_create_each_auth_method_by_inference(cli: Cli) -> None:
    cli.create("sami-default")  # no auth flags: system-assigned managed identity
    cli.create("anon", "--no-auth", host="mcr.microsoft.com")
    cli.create("aps", "--secret-ref", "acr-pull", host="ghcr.io/myorg")
    created = cli.create(
        "uami", "--cid", CLIENT_ID, "--tid", TENANT_ID, "--scope", SCOPE,
        "--cs-config-map-refs", "ca-one", "ca-two", "--cs-secret-refs", "ca-three",
    )
    assert created["properties"]["codeSigningCas"] == [
        {"type": "ConfigMap", "configMapRef": "ca-one"},
        {"type": "ConfigMap", "configMapRef": "ca-two"},
        {"type": "Secret", "secretRef": "ca-three"},
    ]
    cli.create("sami-aud", "--aud", AUDIENCE, "--cs-secret-refs", "notary")

    docs = {d["name"]: d for d in cli.ok("registry", "list", *cli.ig)}
    assert set(docs) == {"default", "sami-default", "anon", "aps", "uami", "sami-aud"}
    assert _auth(docs["sami-default"]) == {
        "method": "SystemAssignedManagedIdentity", "systemAssignedManagedIdentitySettings": {}
    }
    assert _auth(docs["anon"]) == {"method": "Anonymous", "anonymousSettings": {}}
    assert _auth(docs["aps"]) == {
        "method": "ArtifactPullSecret", "artifactPullSecretSettings": {"secretRef": "acr-pull"}
    }
    assert _auth(docs["sami-aud"]) == {
        "method": "SystemAssignedManagedIdentity",
        "systemAssignedManagedIdentitySettings": {"audience": AUDIENCE},
    }
    assert docs["sami-aud"]["properties"]["codeSigningCas"] == [
        {"type": "Secret", "secretRef": "notary"}
    ]
    assert "codeSigningCas" not in docs["anon"]["properties"]

    shown = cli.ok("registry", "show", *cli.ep("uami"))
    assert shown["properties"]["host"] == "myacr.azurecr.io"
    assert _auth(shown) == {
        "method": "UserAssignedManagedIdentity",
        "userAssignedManagedIdentitySettings": {
            "clientId": CLIENT_ID, "tenantId": TENANT_ID, "scope": SCOPE,
        },
    }
    assert shown["properties"]["codeSigningCas"] == created["properties"]["codeSigningCas"]
    # Endpoints live where their instance lives.
    instance = cli.ok("instance", "show", "-n", cli.instance, "-g", cli.rg)
    assert shown["extendedLocation"] == instance["extendedLocation"]


def test_registry_create_with_explicit_auth_type(cli: Cli) -> None:
    # --auth-type is case-insensitive, as in az.
    anon = cli.create("explicit-anon", "--auth-type", "anonymous")
    assert _auth(anon) == {"method": "Anonymous", "anonymousSettings": {}}
    uami = cli.create("explicit-uami", "--auth-type", "UserAssignedManagedIdentity",
                      "--client-id", CLIENT_ID, "--tenant-id", TENANT_ID)
    assert _auth(uami)["userAssignedManagedIdentitySettings"] == {
        "clientId": CLIENT_ID, "tenantId": TENANT_ID,
    }


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--secret-ref", "s", "--cid", CLIENT_ID],
         "ERROR: Parameters --client-id are not compatible with authentication type "
         "'ArtifactPullSecret'."),
        (["--auth-type", "UserAssignedManagedIdentity", "--cid", CLIENT_ID],
         "ERROR: Authentication type 'UserAssignedManagedIdentity' requires the following "
         "parameters: --tenant-id"),
        (["--no-auth", "--aud", AUDIENCE],
         "ERROR: The --no-auth parameter cannot be used with other authentication parameters."),
    ],
    ids=["incompatible", "missing", "no-auth"],  # the full matrix: test_cli_units.py
)
def test_registry_auth_flag_errors(server: ServerProcess, flags: list[str], message: str) -> None:
    # Flag errors come before any request, so no instance is needed.
    proc = run(server.cli_env(), "registry", "create", "-n", "never", "-i", "no-inst",
               "-g", "no-rg", "--host", "x.azurecr.io", *flags)
    assert proc.returncode == 1
    assert proc.stderr.strip() == message


# --- registry endpoints: update -------------------------------------------------------------


def test_registry_update(cli: Cli) -> None:
    cli.create("upd", "--aud", AUDIENCE, "--cs-config-map-refs", "cm-a",
               "--cs-secret-refs", "sec-a", "sec-b")

    moved = cli.ok("registry", "update", *cli.ep("upd"), "--host", "other.azurecr.io")
    assert moved["properties"]["host"] == "other.azurecr.io"
    assert _auth(moved) == {  # unchanged
        "method": "SystemAssignedManagedIdentity",
        "systemAssignedManagedIdentitySettings": {"audience": AUDIENCE},
    }
    assert len(moved["properties"]["codeSigningCas"]) == 3

    # An empty --cs-secret-refs removes the secrets and keeps the config maps.
    cleared = cli.ok("registry", "update", *cli.ep("upd"), "--cs-secret-refs")
    assert cleared["properties"]["codeSigningCas"] == [{"type": "ConfigMap",
                                                        "configMapRef": "cm-a"}]
    # New secret refs replace only the secrets; "=" works for the first value too.
    replaced = cli.ok("registry", "update", *cli.ep("upd"), "--cs-secret-refs=sec-c", "sec-d")
    assert [c.get("configMapRef") or c.get("secretRef")
            for c in replaced["properties"]["codeSigningCas"]] == ["cm-a", "sec-c", "sec-d"]

    # Authentication flags rebuild the authentication; both empty flags clear all CAs.
    rebuilt = cli.ok("registry", "update", *cli.ep("upd"), "--secret-ref", "pull",
                     "--cs-config-map-refs", "--cs-secret-refs")
    assert _auth(rebuilt) == {"method": "ArtifactPullSecret",
                              "artifactPullSecretSettings": {"secretRef": "pull"}}
    assert "codeSigningCas" not in rebuilt["properties"]
    assert rebuilt["properties"]["host"] == "other.azurecr.io"

    err = cli.fail("registry", "update", *cli.ep("upd"))
    assert err.startswith("ERROR: Nothing to update")
    err = cli.fail("registry", "update", *cli.ep("missing-ep"), "--host", "x.azurecr.io")
    assert "(ResourceNotFound)" in err


def test_update_refuses_to_overwrite_a_concurrent_change(
    cli: Cli, client: ArmClient, http: httpx.Client
) -> None:
    cli.create("race", "--no-auth")
    path = endpoint_path(client.subscription, cli.rg, cli.instance, "race")
    params = {"api-version": API_VERSION}

    def concurrent_writer() -> None:
        doc = http.get(path, params=params).json()
        body = {"extendedLocation": doc["extendedLocation"],
                "properties": {"host": "theirs.azurecr.io",
                               "authentication": doc["properties"]["authentication"]}}
        assert http.put(path, params=params, json=body).status_code == 200

    change = EndpointChange(host="mine.azurecr.io")
    with pytest.raises(ArmError) as err:
        update_endpoint(client, cli.rg, cli.instance, "race", change, before_put=concurrent_writer)
    assert err.value.status == 412
    assert err.value.format_lines() == [
        "ERROR: (PreconditionFailed) Registry endpoint 'race' was changed by someone else "
        "since it was read; run the command again."
    ]
    assert http.get(path, params=params).json()["properties"]["host"] == "theirs.azurecr.io"

    # Run again (no interleaving): it reads the new version and succeeds.
    done = update_endpoint(client, cli.rg, cli.instance, "race", change)
    assert done["properties"]["host"] == "mine.azurecr.io"


def test_list_follows_next_links(cli: Cli, client: ArmClient, http: httpx.Client) -> None:
    names = ["page-a", "page-b", "page-c"]
    path = endpoints_path(client.subscription, cli.rg, cli.instance)
    for name in names:  # straight to the API: this test is about reading
        body = {"properties": {"host": "x.azurecr.io",
                               "authentication": {"method": "Anonymous", "anonymousSettings": {}}}}
        r = http.put(f"{path}/{name}", params={"api-version": API_VERSION}, json=body)
        assert r.status_code == 201, r.text
    first = http.get(path, params={"api-version": API_VERSION, "$top": "1"}).json()
    assert len(first["value"]) == 1 and first["nextLink"]  # the server does page
    paged = client.list(path, page_size=1)
    assert [d["name"] for d in paged] == ["default", *names]
    # The command itself (default page size) returns them all too.
    assert cli.ok("registry", "list", *cli.ig, "--query", "[].name") == ["default", *names]


# --- output formats -------------------------------------------------------------------------


def test_output_formats_and_query(cli: Cli) -> None:
    cli.create("fmt-ep", "--secret-ref", "pull")

    tsv = cli("registry", "list", *cli.ig, "--query", "[].name", "-o", "tsv")
    assert tsv.returncode == 0 and tsv.stdout == "default\nfmt-ep\n"

    # tsv of an object: its scalar values in order, nested objects left out.
    shown = cli("registry", "show", *cli.ep("fmt-ep"), "-o", "tsv")
    assert shown.stdout.rstrip("\n").split("\t") == [
        f"/subscriptions/{cli.server.subscription}/resourceGroups/{cli.rg}/providers/"
        f"Microsoft.IoTOperations/instances/{cli.instance}/registryEndpoints/fmt-ep",
        "fmt-ep",
        "Microsoft.IoTOperations/instances/registryEndpoints",
    ]

    as_yaml = run({**cli.env, "IOTOPS_OUTPUT": "yaml"}, "registry", "list", *cli.ig)
    parsed = yaml.safe_load(as_yaml.stdout)
    assert [d["name"] for d in parsed] == ["default", "fmt-ep"]
    assert parsed[1]["properties"]["authentication"]["method"] == "ArtifactPullSecret"

    table = cli("registry", "list", *cli.ig, "-o", "table").stdout.splitlines()
    assert table[0].split() == ["Name", "Host", "Authentication", "ProvisioningState",
                                "HealthState", "ResourceGroup"]
    # HealthState: Unknown until the background check (no network here: Unavailable).
    health = ("Unknown", "Unavailable")
    row2, row3 = table[2].split(), table[3].split()
    assert row2[:4] + row2[5:] == ["default", "mcr.microsoft.com", "Anonymous", "Succeeded",
                                   cli.rg] and row2[4] in health
    assert row3[:4] + row3[5:] == ["fmt-ep", "myacr.azurecr.io", "ArtifactPullSecret",
                                   "Succeeded", cli.rg] and row3[4] in health

    # With --query, the table shows the query result's fields.
    queried = cli("registry", "show", *cli.ep("fmt-ep"), "-o", "table",
                  "--query", "{Endpoint: name, Secret: properties.authentication."
                             "artifactPullSecretSettings.secretRef}").stdout.splitlines()
    assert queried[0].split() == ["Endpoint", "Secret"]
    assert queried[2].split() == ["fmt-ep", "pull"]

    none = cli("registry", "show", *cli.ep("fmt-ep"), "-o", "none")
    assert none.returncode == 0 and none.stdout == ""


# --- errors ---------------------------------------------------------------------------------


def test_errors_are_one_clean_message(cli: Cli) -> None:
    err = cli.fail("registry", "show", *cli.ep("nope"))
    assert err.startswith("ERROR: (ResourceNotFound) The Resource ")
    assert "registryEndpoints/nope" in err

    err = cli.fail("registry", "create", *cli.ep("bad-host"), "--host", "https://x.io")
    assert err.splitlines() == [
        "ERROR: (InvalidHost) The host must not include a scheme. Drop 'https://' and use "
        "'x.io'.",
        "Target: properties.host",
    ]

    cli.create("dup", "--no-auth")
    err = cli.fail("registry", "create", *cli.ep("dup"), "--host", "y.azurecr.io")
    assert "(PreconditionFailed)" in err and "already exists" in err
    assert "iotops registry update" in err
    assert cli.ok("registry", "show", *cli.ep("dup"))["properties"]["host"] == "myacr.azurecr.io"

    err = cli.fail("registry", "create", "-n", "x-ep", "-i", "no-such-inst", "-g", cli.rg,
                   "--host", "x.azurecr.io")
    assert "(ResourceNotFound)" in err and "no-such-inst" in err

    assert "-y" in cli.fail("registry", "delete", *cli.ep("dup"))  # no terminal, no -y
    assert cli.ok("registry", "delete", *cli.ep("dup"), "-y") is None
    assert "(ResourceNotFound)" in cli.fail("registry", "show", *cli.ep("dup"))


def test_delete_asks_on_a_terminal(cli: Cli, http: httpx.Client) -> None:
    cli.create("asked", "--no-auth")
    path = endpoint_path(cli.server.subscription, cli.rg, cli.instance, "asked")
    for answer, code, status in ((b"n\n", 1, 200), (b"y\n", 0, 404)):
        master, slave = pty.openpty()
        try:
            os.write(master, answer)  # typed ahead; the terminal buffers it
            proc = subprocess.run(
                [sys.executable, "-m", "iotops_registry", "registry", "delete",
                 *cli.ep("asked")],
                env=cli.env, stdin=slave, capture_output=True, text=True, timeout=60,
            )
        finally:
            os.close(slave)
            os.close(master)
        assert proc.returncode == code, proc.stderr
        assert "Delete registry endpoint 'asked'" in proc.stdout
        assert http.get(path, params={"api-version": API_VERSION}).status_code == status


# --- connecting to a remote server ----------------------------------------------------------


def test_remote_server_flags(cli: Cli, tmp_path: Path) -> None:
    token = cli("token", "--data-dir", str(cli.server.data_dir)).stdout.strip()
    remote = {k: v for k, v in cli.env.items() if k != "IOTOPS_DATA_DIR"}
    remote["HOME"] = str(tmp_path)  # no default data directory to fall back on
    remote["XDG_DATA_HOME"] = str(tmp_path / "share")
    remote["IOTOPS_TOKEN"] = token
    flags = ["--server", cli.server.arm, "--ca-file", cli.server.ca,
             "--subscription", cli.server.subscription]

    proc = run(remote, "registry", "list", *cli.ig, *flags, "--query", "[].name", "-o", "tsv")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "default\n"

    by_env = {**remote, "IOTOPS_SERVER": cli.server.arm, "IOTOPS_CA_FILE": cli.server.ca,
              "IOTOPS_SUBSCRIPTION": cli.server.subscription}
    proc = run(by_env, "instance", "show", "-n", cli.instance, "-g", cli.rg, "-o", "tsv",
               "--query", "name")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"{cli.instance}\n"

    plain = cli.server.arm.replace("https://", "http://")
    proc = run(remote, "registry", "list", *cli.ig, "--server", plain,
               "--subscription", cli.server.subscription)
    assert proc.returncode == 1
    assert proc.stderr.startswith("ERROR: --server must be an https:// URL")

    # The system trust store does not know the local CA: one clear line, no traceback.
    proc = run(remote, "registry", "list", *cli.ig, "--server", cli.server.arm,
               "--subscription", cli.server.subscription)
    assert proc.returncode == 1
    assert proc.stderr.startswith("ERROR: TLS certificate verification failed")
    assert len(proc.stderr.splitlines()) == 1

    proc = run({**remote, "IOTOPS_TOKEN": "not-a-token"}, "registry", "list", *cli.ig, *flags)
    assert proc.returncode == 1 and proc.stderr.startswith("ERROR: (")


def test_help_texts(server: ServerProcess) -> None:
    proc = run(server.cli_env(), "registry", "create", "--help")
    assert proc.returncode == 0
    assert "Examples:" in proc.stdout
    for flag in ("--no-auth", "--auth-type", "--aud, --audience", "--cid, --client-id",
                 "--tid, --tenant-id", "--scope", "--secret-ref", "--cs-config-map-refs",
                 "--cs-secret-refs", "--server", "--ca-file", "--subscription", "--query",
                 "-o, --output"):
        assert flag in proc.stdout
