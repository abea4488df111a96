"""Every ``-o table`` output of the CLI, rendered for an 80-column terminal (``COLUMNS=80``),
splits no word across lines and no line is wider than the terminal.

The commands run in this process (click's runner) against the session's real
``iotops serve --dev``; a spy on the table renderer keeps each command's data next to its
text, so the check knows the words the table had to show. Each word of the output must be a
whole word of the data (or its header), or a word cut short with an ellipsis.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from iotops_registry.cli import cli
from iotops_registry.cli import output as output_module
from tests.support.server import ServerProcess

WIDTH = 80
DATA = Path(__file__).parent / "data"
GRAPH = DATA / "aio" / "graphs" / "explore-iot-operations__samples__wasm__graph-simple.yaml"
METADATA = DATA / "broken_metadata" / "valid.json"
_RULE = re.compile(r"^[─━\s]+$")


def _table_commands() -> set[str]:
    """Every command that takes ``-o/--output``, as "registry list"."""
    found: set[str] = set()

    def walk(cmd: click.Command, path: list[str]) -> None:
        if isinstance(cmd, click.Group):
            context = click.Context(cmd)
            for name in cmd.list_commands(context):  # loads the lazily imported ones
                sub = cmd.get_command(context, name)
                assert sub is not None, name
                walk(sub, [*path, name])
        elif any("--output" in p.opts for p in cmd.params):
            found.add(" ".join(path))

    walk(cli, [])
    return found


class Tables:
    """Runs commands with ``-o table`` and keeps (command, data, columns, text) per table."""

    def __init__(self, server: ServerProcess, monkeypatch: pytest.MonkeyPatch,
                 docker_config: Path) -> None:
        self.runner = CliRunner()
        env: dict[str, str | None] = {k: None for k in server.cli_env() if k.startswith("IOTOPS_")}
        self.env = {**env, "IOTOPS_DATA_DIR": str(server.data_dir), "COLUMNS": str(WIDTH),
                    "DOCKER_CONFIG": str(docker_config)}
        self.seen: list[tuple[str, Any, Any, str]] = []
        real = output_module._table

        def spy(data: Any, columns: Any) -> str:
            text = real(data, columns)
            command = click.get_current_context().command_path.removeprefix("iotops ")
            self.seen.append((command, data, columns, text))
            return text

        monkeypatch.setattr(output_module, "_table", spy)

    def invoke(self, args: list[str], stdin: str | None) -> Any:
        """The CLI in this process, in a thread of its own: publishing commands run their own
        event loop, and a test elsewhere in the session may leave one on the main thread."""
        from concurrent.futures import ThreadPoolExecutor

        def call() -> Any:
            return self.runner.invoke(cli, args, env=self.env, input=stdin, prog_name="iotops",
                                      catch_exceptions=False)

        with ThreadPoolExecutor(1) as pool:
            return pool.submit(call).result()

    def __call__(self, *args: str, stdin: str | None = None) -> str:
        result = self.invoke([*args, "-o", "table"], stdin)
        # `registry test` exits 1 for a failed test; anything else must succeed.
        assert result.exit_code in ((0, 1) if "test" in args else (0,)), result.output
        return str(result.output)

    def json(self, *args: str) -> Any:
        """A command's JSON, for the test's own use (no table is rendered)."""
        result = self.invoke([*args, "-o", "json"], None)
        assert result.exit_code == 0, result.output
        return json.loads(result.output)


def _words(data: Any, columns: Any) -> set[str]:
    rows = data if isinstance(data, list) else [data]
    cols = list(columns) if columns is not None else output_module._generic_columns(rows)
    words = {w for header, _ in cols for w in header.split()}
    for row in rows:
        for _, get in cols:
            words |= set(output_module._text(get(row)).split())
    return words


def split_words(text: str, words: set[str]) -> list[str]:
    """Tokens of ``text`` that are neither a word of ``words`` nor one cut with "…"."""
    bad = []
    for line in text.splitlines():
        if _RULE.match(line):
            continue
        for token in line.split():
            if token in words:
                continue
            if token.endswith("…") and any(w.startswith(token[:-1]) for w in words):
                continue
            bad.append(token)
    return bad


def test_split_words_catches_a_folded_word() -> None:
    folded = "Step            Code\nTokenExchange   DnsResolutionF\n                ailed\n"
    assert split_words(folded, {"Step", "Code", "TokenExchange", "DnsResolutionFailed"}) == [
        "DnsResolutionF", "ailed",
    ]
    cut = "Code\nDnsResolu…\n"
    assert split_words(cut, {"Code", "DnsResolutionFailed"}) == []


@pytest.fixture
def tables(
    dev_server: ServerProcess, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Tables]:
    (tmp_path / "docker").mkdir()
    t = Tables(dev_server, monkeypatch, tmp_path / "docker")
    yield t
    t.runner.invoke(cli, ["dev", "fault", "--clear"], env=t.env)


def test_every_table_fits_80_columns_without_splitting_a_word(
    tables: Tables, dev_server: ServerProcess, tmp_path: Path
) -> None:
    rg = f"rg-{uuid.uuid4().hex[:6]}"
    inst = f"inst-{uuid.uuid4().hex[:6]}"
    ref = ["-i", inst, "-g", rg]
    registry = str(dev_server.endpoints["registry"])
    tables("instance", "create", "-n", inst, "-g", rg,
           "--description", "An instance whose description is long enough to need wrapping "
           "in a narrow terminal, with a-very-long-hyphenated-word-that-cannot-wrap-anywhere")
    tables("instance", "show", "-n", inst, "-g", rg)
    tables("instance", "list", "-g", rg)
    tables("registry", "create", "-n", "anon", *ref, "--host", registry, "--no-auth")
    tables("registry", "create", "-n", "uami", *ref, "--host", f"{registry}/team/graphs",
           "--client-id", "11111111-2222-3333-4444-555555555555",
           "--tenant-id", "66666666-7777-8888-9999-000000000000")
    tables("registry", "update", "-n", "anon", *ref, "--cs-secret-refs", "ca-one")
    tables("registry", "show", "-n", "uami", *ref)
    tables("registry", "list", *ref)
    tables("registry", "test", "-n", "anon", *ref)
    tables("registry", "test", "-n", "uami", *ref)
    tables("registry", "connection", "show", "-n", "anon", *ref)
    ca = tmp_path / "ca.pem"
    ca.write_text(Path(dev_server.ca).read_text())
    tables("registry", "connection", "set", "-n", "anon", *ref, "--registry-ca-file", str(ca),
           "--allow-realm-host", "login.example.com")
    kv = f"tbl-{uuid.uuid4().hex[:6]}"
    tables("secret", "set", "-n", kv, "--value-stdin", "--content-type", "text/plain",
           stdin="robot")
    tables("secret", "list")
    tables("secret", "show", "-n", kv)
    tables("secretsync", "set", *ref, "--name", "pull", "--secret-map", f"{kv}=username",
           f"{kv}=password")
    tables("secretsync", "list", *ref)
    tables("secretsync", "show", *ref, "--name", "pull")
    tables("configmap", "set", *ref, "--name", "signing-cas", "--from-file", f"ca.crt={ca}",
           "--from-literal", "a-rather-long-key-name.for-wrapping=value")
    tables("configmap", "list", *ref)
    tables("configmap", "show", *ref, "--name", "signing-cas")
    mi = f"tbl-{uuid.uuid4().hex[:6]}"
    tables("identity", "create", "-n", mi)
    tables("identity", "show", "--system")
    tables("identity", "list")
    tables("dev", "registry", "show")
    tables("dev", "registry", "role-assign", "--assignee", mi, "--role", "AcrPull")
    tables("dev", "registry", "role-list")
    tables("dev", "registry", "token", "create", "-n", f"tok-{uuid.uuid4().hex[:6]}",
           "--repository", "team/*", "--actions", "pull,push")
    tables("dev", "registry", "token", "list")
    tables("dev", "registry", "anonymous-pull")
    tables("dev", "counters")
    tables("dev", "fault", "--target", "identity", "--status", "503", "--count", "1")
    acr = f"tbl{uuid.uuid4().hex[:8]}"
    tables("acr", "register", "--name", acr, "--login-server", f"{acr}.azurecr.io")
    tables("acr", "list")
    team = _publishing_and_signing(tables, registry, tmp_path)
    # The catalog of what was just pushed, through a system-assigned identity endpoint.
    system = tables.json("identity", "show", "--system")
    tables("dev", "registry", "role-assign", "--assignee", system["clientId"], "--role",
           "AcrPull")
    tables("registry", "create", "-n", "cat", *ref, "--host", f"{registry}/{team}",
           "--auth-type", "SystemAssignedManagedIdentity")
    tables("catalog", "sync", *ref)
    tables("catalog", "status", *ref)
    tables("graph", "list", *ref)
    tables("graph", "show", "graph-simple:1.0.0", *ref, "--endpoint", "cat")
    tables("module", "list", *ref)
    tables("connector", "list", *ref)
    tables("connector", "show", "connectors/rest-connector-metadata:1.0.0", *ref)
    # The resources that pull through the endpoint.
    tables("connector", "template", "create", "-n", "tbl-template", *ref,
           "--connector-metadata-ref",
           f"{registry}/{team}/connectors/rest-connector-metadata:1.0.0",
           "--registry-endpoint", "cat")
    tables("connector", "template", "update", "-n", "tbl-template", *ref, "--replicas", "2")
    tables("connector", "template", "show", "-n", "tbl-template", *ref)
    tables("connector", "template", "list", *ref)
    from tests.support.pulling import graph_body

    graph_file = tmp_path / "graph.json"
    graph_file.write_text(json.dumps(graph_body("cat", "graph-simple:1.0.0")))
    tables("dataflow", "graph", "apply", "-n", "tbl-graph", *ref, "--config-file",
           str(graph_file))
    tables("dataflow", "graph", "show", "-n", "tbl-graph", *ref)
    tables("dataflow", "graph", "list", *ref)
    # Who may do what.
    reader = str(uuid.uuid4())
    shown = tables.json("instance", "show", "-n", inst, "-g", rg)
    scope = "/subscriptions/" + shown["id"].split("/")[2]
    tables("role", "assignment", "create", "--assignee", reader, "--role", "Reader",
           "--scope", scope)
    tables("role", "assignment", "list", "--scope", scope)
    tables("role", "definition", "list")

    commands = {c for c, *_ in tables.seen}
    assert commands == _table_commands(), f"not rendered: {_table_commands() - commands}"
    problems = []
    for command, data, columns, text in tables.seen:
        wide = [line for line in text.splitlines() if len(line) > WIDTH]
        bad = split_words(text, _words(data, columns))
        if wide or bad:
            problems.append(f"{command}: split {bad}, too wide {wide}\n{text}")
    assert not problems, "\n".join(problems)
    # The layout really was for 80 columns: some table had to wrap or cut.
    assert any("…" in text or len(text.splitlines()) > len(data) + 2
               for _, data, _, text in tables.seen if isinstance(data, list))


def _publishing_and_signing(tables: Tables, registry: str, tmp_path: Path) -> str:
    """Validate, push, inspect, copy, pull, sign, verify and delete on the dev registry."""
    team = f"tbl-{uuid.uuid4().hex[:6]}"
    token = tables.json("dev", "registry", "token", "create", "-n", team,
                        "--repository", f"{team}/*", "--actions", "pull,push,delete")
    auth = ["-u", token["username"], "--password-stdin"]
    pw = token["password"] + "\n"

    def ref(path: str) -> str:
        return f"{registry}/{team}/{path}"

    ca = tmp_path / "ca"
    tables("dev", "ca", "create", "--out-dir", str(ca))
    graph = tmp_path / "graph.yaml"
    graph.write_text(GRAPH.read_text().replace(
        "azure-samples/explore-iot-operations/temperature", f"{team}/temperature"))
    module = tmp_path / "temperature.wasm"
    module.write_bytes(b"\0asm\x01\x00\x00\x00")
    tables("graph", "validate", str(graph))
    tables("connector", "validate", str(METADATA))
    tables("graph", "push", str(graph), "--to", ref("graph-simple:1.0.0"), "--module",
           f"{team}/temperature:1.0.0={module}", *auth, "--no-progress", stdin=pw)
    blob = tmp_path / "blob.bin"
    blob.write_bytes(b"a blob with a name long enough to matter")
    tables("artifact", "push", ref("blob:1.0.0"), f"{blob}:application/octet-stream",
           "-a", "org.opencontainers.image.description=a description of some length", *auth,
           "--no-progress", stdin=pw)
    tables("artifact", "inspect", ref("graph-simple:1.0.0"), *auth, stdin=pw)
    tables("artifact", "tags", ref("graph-simple"), *auth, stdin=pw)
    tables("artifact", "pull", ref("blob:1.0.0"), "-O", str(tmp_path / "pulled"), *auth,
           "--no-progress", stdin=pw)
    tables("artifact", "copy", ref("blob:1.0.0"), ref("blob-copy:1.0.0"), *auth,
           "--no-progress", stdin=pw)
    tables("artifact", "sign", ref("blob:1.0.0"), "--key", str(ca / "signer.key"),
           "--cert", str(ca / "chain.pem"), *auth, stdin=pw)
    tables("artifact", "verify", ref("blob:1.0.0"), "--ca-file", str(ca / "ca.pem"), *auth,
           stdin=pw)
    root = tmp_path / "connector"
    (root / "app").mkdir(parents=True)
    (root / "app" / "connector").write_text("#!/bin/sh\nexec echo connector\n")
    tables("connector", "push", "--metadata", str(METADATA), "--from-dir", str(root),
           "--entrypoint", "/app/connector", "--to", ref("connectors/rest-connector:1.0.0"), *auth,
           "--no-progress", stdin=pw)
    tables("artifact", "delete", ref("blob-copy:1.0.0"), "-y", *auth, stdin=pw)
    return team


def test_registry_test_table_fits_100_columns(dev_server: ServerProcess) -> None:
    """The real process, its width from $COLUMNS: every step on lines of at most 100."""
    rg, inst = f"rg-{uuid.uuid4().hex[:6]}", f"inst-{uuid.uuid4().hex[:6]}"
    env = {**dev_server.cli_env(), "COLUMNS": "100"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "iotops_registry", *args], env=env,
                              capture_output=True, text=True, timeout=60)

    assert run("instance", "create", "-n", inst, "-g", rg).returncode == 0
    host = str(dev_server.endpoints["registry"])
    assert run("registry", "create", "-n", "pull-ep", "-i", inst, "-g", rg, "--host", host,
               "--secret-ref", "missing").returncode == 0
    table = run("registry", "test", "-n", "pull-ep", "-i", inst, "-g", rg, "-o", "table")
    report = json.loads(run("registry", "test", "-n", "pull-ep", "-i", inst, "-g", rg).stdout)
    lines = table.stdout.splitlines()
    assert lines and max(len(line) for line in lines) <= 100, table.stdout
    for step in report["steps"]:
        assert any(line.startswith(step["name"] + " ") for line in lines), table.stdout
        assert step["code"] in table.stdout
    words = {w for s in report["steps"] for k in ("name", "status", "code", "message", "hint")
             for w in str(s.get(k) or "").split()} | {"Step", "Status", "Code", "Message",
                                                      "Ms", "Hint:", "Status:",
                                                      report["status"]}
    assert lines[-1] == f"Status: {report['status']}", table.stdout
    bad = [t for t in split_words(table.stdout, words) if not t.isdigit()]
    assert not bad, table.stdout
