"""The server console at the default level: the banner, one line per request served, and
warnings. Not the libraries' own request logs, not uvicorn's start line once per listener."""

from __future__ import annotations

import json
import logging
import re
import ssl
import uuid
from pathlib import Path

import httpx

from iotops_registry import LocalIssuerCredential
from iotops_registry.console import QUIET_LOGGERS, configure_logging
from tests.support.cli import iotops
from tests.support.server import (
    ServerProcess,
    create_pg_database,
    database_backend,
    drop_pg_database,
)

RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (?P<level>[A-Z]+) (?P<logger>\S+): ")
# The INFO lines other than access lines a start and a stop may print, each at most once.
ONCE = ("created a new vault key", "Started server process", "Shutting down",
        "Waiting for connections to close",
        "Finished server process")


def test_console_shows_one_line_per_request_and_warnings(tmp_path: Path) -> None:
    db = create_pg_database() if database_backend() == "postgresql" else None
    srv = ServerProcess(tmp_path / "console", database_url=db, extra_args=["--dev"])
    srv.start()
    marker = f"console-{uuid.uuid4().hex[:8]}"
    try:
        rg, inst = f"rg-{marker}", f"inst-{marker}"

        def ok(*args: str) -> str:
            r = iotops(srv, *args)
            assert r.code == 0, r.output
            return r.stdout

        # A light session that makes the server talk to its stand-ins: an identity with
        # AcrPull, a user-assigned endpoint, a connection test (IMDS, exchange, registry).
        ok("instance", "create", "-n", inst, "-g", rg)
        mi = json.loads(ok("identity", "create", "-n", f"mi-{marker}"))
        ok("dev", "registry", "role-assign", "--assignee", mi["clientId"], "--role", "AcrPull")
        ok("registry", "create", "-n", "uami", "-i", inst, "-g", rg,
           "--host", srv.endpoints["registry"], "--client-id", mi["clientId"],
           "--tenant-id", srv.endpoints["tenant"])
        tested = iotops(srv, "registry", "test", "-n", "uami", "-i", inst, "-g", rg)
        assert iotops(srv, "secret", "set", "-n", f"kv-{marker}", "--value-stdin",
                      stdin="v").code == 0
        # Five requests of our own, each to be logged exactly once.
        token = LocalIssuerCredential(srv.data_dir).mint("https://management.azure.com")
        with httpx.Client(verify=ssl.create_default_context(cafile=srv.ca)) as client:
            for _ in range(5):
                client.get(f"{srv.arm}/-/{marker}?secret=hunter2&api-version=1",
                           headers={"Authorization": f"Bearer {token}"})
    finally:
        srv.stop()
        if db:
            drop_pg_database(db)

    lines = srv.log_path.read_text().splitlines()
    records = [(m, line) for line in lines if (m := RECORD.match(line))]
    banner = [line for line in lines if not RECORD.match(line)]
    assert any(line.startswith("iotops-registry is serving on") for line in banner)
    assert len(banner) <= 16, banner  # the start-up banner, nothing else untimestamped

    access = [line for m, line in records if m["logger"] == "iotops_registry.access"]
    ours = [line for line in access if f"/-/{marker}" in line]
    assert len(ours) == 5, access
    # The query is shown with its values redacted, except harmless ones.
    assert all("?secret=REDACTED&api-version=1 " in line for line in ours), ours
    assert not any("hunter2" in line for line in lines)
    assert sum("/registryEndpoints/uami/test" in line for line in access) == 1
    # The token service's lines and the IMDS's.
    assert any("/oauth2/exchange" in line for line in access), tested.output
    assert any("/metadata/identity/oauth2/token" in line for line in access), tested.output

    other_info = [line for m, line in records
                  if m["level"] in ("INFO", "DEBUG") and m["logger"] != "iotops_registry.access"]
    for line in other_info:
        assert any(text in line for text in ONCE), f"unexpected console line: {line}"
    for text in ONCE:
        assert sum(text in line for line in other_info) <= 1, text
    assert sum("Started server process" in line for line in other_info) == 1
    # Nothing from the libraries below WARNING: no httpx request lines, no azure-core
    # header dumps, no Alembic steps.
    for m, line in records:
        if m["level"] in ("INFO", "DEBUG"):
            assert not m["logger"].startswith(QUIET_LOGGERS), line
    assert not any("HTTP Request:" in line or "Request headers:" in line for line in lines)
    assert len(lines) <= len(banner) + len(access) + 8, "\n".join(lines)


def test_debug_lets_the_libraries_speak() -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level,
             {name: logging.getLogger(name).level for name in QUIET_LOGGERS})
    try:
        configure_logging("info")
        assert all(logging.getLogger(n).getEffectiveLevel() == logging.WARNING
                   for n in QUIET_LOGGERS)
        configure_logging("error")
        assert logging.getLogger("httpx").getEffectiveLevel() == logging.ERROR
        configure_logging("debug")
        assert all(logging.getLogger(n).getEffectiveLevel() == logging.DEBUG
                   for n in QUIET_LOGGERS)
    finally:
        handlers, level, levels = saved
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, value in levels.items():
            logging.getLogger(name).setLevel(value)
