"""Small texts a new user reads: each says what is true, in the words the user types."""

from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path

from tests.support.cli import iotops
from tests.support.server import ServerProcess


def _u() -> str:
    return uuid.uuid4().hex[:8]


def _ok(server: ServerProcess, *args: str, stdin: str | None = None) -> str:
    r = iotops(server, *args, stdin=stdin)
    assert r.code == 0, r.output
    return r.stdout


def test_token_service_error_is_a_sentence(dev_server: ServerProcess) -> None:
    rg, inst = f"rg-{_u()}", f"inst-{_u()}"
    ref = ["-n", "anon-500", "-i", inst, "-g", rg]
    _ok(dev_server, "instance", "create", "-n", inst, "-g", rg)
    _ok(dev_server, "registry", "create", *ref, "--host", dev_server.endpoints["registry"],
        "--no-auth")
    # The background check of the new endpoint goes first, so that it takes no fault.
    deadline = time.monotonic() + 30
    while json.loads(_ok(dev_server, "registry", "show", *ref))["properties"][
            "healthState"] == "Unknown" and time.monotonic() < deadline:
        time.sleep(0.2)
    try:
        _ok(dev_server, "dev", "fault", "--target", "token", "--status", "500", "--count", "3")
        r = iotops(dev_server, "registry", "test", *ref)
    finally:
        _ok(dev_server, "dev", "fault", "--clear")
    step = next(s for s in json.loads(r.stdout)["steps"] if s["name"] == "TokenExchange")
    host = dev_server.endpoints["token"].removeprefix("https://").split(":")[0]
    assert (step["code"], step["message"]) == (
        "TokenServiceError", f"The token service at {host} answered 500.",
    ), step


def test_synced_secret_in_use_names_the_api_and_the_cli_flag(server: ServerProcess) -> None:
    rg, inst, sync, kv = f"rg-{_u()}", f"inst-{_u()}", f"pull-{_u()}", f"kv-{_u()}"
    _ok(server, "instance", "create", "-n", inst, "-g", rg)
    _ok(server, "secret", "set", "-n", kv, "--value-stdin", stdin="v")
    _ok(server, "secretsync", "set", "-i", inst, "-g", rg, "--name", sync,
        "--secret-map", f"{kv}=username", f"{kv}=password")
    _ok(server, "registry", "create", "-n", "uses-it", "-i", inst, "-g", rg,
        "--host", "myacr.azurecr.io", "--secret-ref", sync)
    r = iotops(server, "secretsync", "delete", "-i", inst, "-g", rg, "--name", sync, "-y")
    assert r.code == 1 and "(SyncedSecretInUse)" in r.stderr
    assert "force=true" in r.stderr and "iotops secretsync delete --force" in r.stderr


def test_secret_table_shows_iso_times(server: ServerProcess) -> None:
    name = f"iso-{_u()}"
    _ok(server, "secret", "set", "-n", name, "--value-stdin", stdin="v")
    table = _ok(server, "secret", "list", "-o", "table")
    row = next(line for line in table.splitlines() if line.startswith(name + " "))
    updated = row.split()[-1]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", updated), row
    epoch = json.loads(_ok(server, "secret", "show", "-n", name))["properties"]["updated"]
    assert time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch)) == updated


def test_roles_are_spelled_as_documented(dev_server: ServerProcess) -> None:
    helped = _ok(dev_server, "dev", "registry", "role-assign", "--help")
    assert "[AcrPull|AcrPush|AcrDelete]" in helped and "acrpull" not in helped
    bad = iotops(dev_server, "dev", "registry", "role-assign", "--assignee", "x", "--role", "Acr")
    assert bad.code == 2 and "'AcrPull', 'AcrPush'" in bad.stderr
    mi = json.loads(_ok(dev_server, "identity", "create", "-n", f"role-{_u()}"))
    # Any case still works, and the role is stored as documented.
    _ok(dev_server, "dev", "registry", "role-assign", "--assignee", mi["clientId"],
        "--role", "acrpull")
    roles = json.loads(_ok(dev_server, "dev", "registry", "role-list"))
    assert {"assignee": mi["clientId"], "role": "AcrPull"}.items() <= next(
        r for r in roles if r["assignee"] == mi["clientId"]).items()
    bad = iotops(dev_server, "registry", "create", "-n", "abc", "-i", "abc", "-g", "abc",
                 "--host", "h.io", "--auth-type", "basic")
    assert bad.code == 2 and "'UserAssignedManagedIdentity'" in bad.stderr, bad.stderr


def test_portal_url_needs_a_running_server(tmp_path: Path) -> None:
    srv = ServerProcess(tmp_path / "portal").start()
    try:
        url = _ok(srv, "portal-url").strip()
        assert url.startswith(f"{srv.arm}/-/signin?token=")
    finally:
        srv.kill()  # no clean-up: endpoints.json stays behind, as after a crash
    assert (srv.data_dir / "endpoints.json").exists()
    r = iotops(srv, "portal-url")
    assert r.code == 1 and r.stdout == "", r.output
    assert "no running server found: nothing answers at " + srv.arm in r.stderr
    assert "iotops serve --data-dir" in r.stderr
