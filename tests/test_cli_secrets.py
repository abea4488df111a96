"""Artifact secrets through the CLI: Key Vault secrets, synced secrets, an ArtifactPullSecret
endpoint, rotation, and the guard on deleting a synced secret in use."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx

from iotops_registry.domain import InstanceKey, RegistryEndpointKey
from tests.conftest import API_VERSION
from tests.support.cli import iotops
from tests.support.server import ServerProcess


def _json(out: str) -> Any:
    return json.loads(out)


def test_cli_artifact_secret_flow(server: ServerProcess, http: httpx.Client, resolver: Any) -> None:
    u = uuid.uuid4().hex[:8]
    rg, inst, user, pw, sync = f"rg-{u}", f"inst-{u}", f"user-{u}", f"pass-{u}", f"pull-{u}"
    assert iotops(server, "instance", "create", "-n", inst, "-g", rg).code == 0

    r = iotops(server, "secret", "set", "-n", user, "--value-stdin", stdin="robot\n")
    assert r.code == 0, r.stderr
    r = iotops(
        server,
        "secret",
        "set",
        "-n",
        pw,
        "--value-stdin",
        "--content-type",
        "text/plain",
        stdin="first-pass\n",
    )
    assert r.code == 0 and "first-pass" not in r.output
    v1 = _json(r.stdout)["properties"]["version"]

    listed = iotops(
        server, "secret", "list", "--query", f"[?name=='{pw}'].properties.contentType", "-o", "tsv"
    )
    assert listed.stdout.strip() == "text/plain"

    # An endpoint naming a synced secret that does not exist yet: created, with a warning.
    r = iotops(
        server,
        "registry",
        "create",
        "-n",
        "acr",
        "-i",
        inst,
        "-g",
        rg,
        "--host",
        "myacr.azurecr.io",
        "--secret-ref",
        sync,
    )
    assert r.code == 0
    assert "WARNING:" in r.stderr and sync in r.stderr

    r = iotops(
        server,
        "secretsync",
        "set",
        "-i",
        inst,
        "-g",
        rg,
        "--name",
        sync,
        "--secret-map",
        f"{user}=username",
    )
    assert r.code == 0, r.stderr
    r = iotops(
        server,
        "secretsync",
        "set",
        "-i",
        inst,
        "-g",
        rg,
        "--name",
        sync,
        "--secret-map",
        f"{pw}=password",
    )  # merges
    assert r.code == 0, r.stderr
    mapping = _json(r.stdout)["properties"]["objectSecretMapping"]
    assert mapping == [
        {"sourcePath": user, "targetKey": "username"},
        {"sourcePath": pw, "targetKey": "password"},
    ]
    r = iotops(
        server,
        "secretsync",
        "set",
        "-i",
        inst,
        "-g",
        rg,
        "--name",
        sync,
        "--secret-map",
        f"missing-{u}=password",
    )
    assert r.code == 1 and "(KeyVaultSecretNotFound)" in r.stderr
    assert "Target: properties.objectSecretMapping[1].sourcePath" in r.stderr

    r = iotops(
        server,
        "registry",
        "update",
        "-n",
        "acr",
        "-i",
        inst,
        "-g",
        rg,
        "--host",
        "myacr2.azurecr.io",
    )
    assert r.code == 0 and "WARNING" not in r.stderr

    key = RegistryEndpointKey(InstanceKey(server.subscription, rg, inst), "acr")
    assert resolver.resolve(key).credential.password == "first-pass"
    resolve = (
        f"/subscriptions/{server.subscription}/resourceGroups/{rg}/providers/"
        f"Microsoft.IoTOperations/instances/{inst}/registryEndpoints/acr/resolveCredentials"
    )
    assert (
        http.post(resolve, params={"api-version": API_VERSION}).json()["sources"]["password"]
        == f"{pw}@{v1}"
    )

    # Rotate through the CLI.
    r = iotops(server, "secret", "set", "-n", pw, "--value-stdin", stdin="second-pass")
    v2 = _json(r.stdout)["properties"]["version"]
    assert v2 != v1
    assert resolver.resolve(key).credential.password == "second-pass"
    got = http.post(resolve, params={"api-version": API_VERSION, "fresh": "true"}).json()
    assert got["sources"]["password"] == f"{pw}@{v2}"

    shown = iotops(server, "secret", "show", "-n", pw)
    assert "second-pass" not in shown.output and _json(shown.stdout)["properties"]["version"] == v2
    revealed = iotops(server, "secret", "show", "-n", pw, "--reveal")
    assert _json(revealed.stdout)["value"] == "second-pass"

    r = iotops(server, "secretsync", "delete", "-i", inst, "-g", rg, "--name", sync, "-y")
    assert r.code == 1 and "(SyncedSecretInUse)" in r.stderr and "'acr'" in r.stderr
    assert iotops(server, "secretsync", "show", "-i", inst, "-g", rg, "--name", sync).code == 0
    r = iotops(
        server, "secretsync", "delete", "-i", inst, "-g", rg, "--name", sync, "-y", "--force"
    )
    assert r.code == 0, r.stderr
    assert iotops(server, "secretsync", "list", "-i", inst, "-g", rg).stdout.strip() == "[]"

    assert iotops(server, "secret", "delete", "-n", user, "-y", "--purge").code == 0
    r = iotops(server, "secret", "show", "-n", user)
    assert r.code == 1 and "SecretNotFound" in r.stderr
    r = iotops(server, "secret", "set", "-n", "bad_name", "--value-stdin", stdin="x")
    assert r.code == 1 and "ERROR:" in r.stderr


def test_cli_secret_names_get_the_rule(server: ServerProcess) -> None:
    """A bad name is answered with Key Vault's rule, as docs/api.md promises, whichever
    command names it; the value is read but never sent."""
    rule = "is not a valid Key Vault secret name: use 1 to 127 letters, digits and hyphens."
    for args, stdin in [
        (("secret", "set", "-n", "bad_name", "--value-stdin"), "value-never-sent"),
        (("secret", "show", "-n", "bad_name"), None),
        (("secret", "show", "-n", "x" * 128, "--reveal"), None),
        (("secret", "delete", "-n", "bad.name", "-y"), None),
    ]:
        r = iotops(server, *args, stdin=stdin)
        assert r.code == 1, r.output
        assert r.stderr.startswith("ERROR: (InvalidKeyVaultSecretName) '"), r.stderr
        assert rule in r.stderr and "value-never-sent" not in r.output
    # The same rule admits 127 characters.
    longest = f"n{uuid.uuid4().hex}".ljust(127, "x")
    ok = iotops(server, "secret", "set", "-n", longest, "--value-stdin", stdin="v")
    assert ok.code == 0, ok.stderr
    assert iotops(server, "secret", "delete", "-n", longest, "--purge", "-y").code == 0
