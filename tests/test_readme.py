"""The README's CLI walkthrough ("Using it"), run command by command, as written, against a
real server: every command succeeds (a connection test to a host that does not resolve here
reports its failure, which is the one exit status 1 allowed), and the end state is what the
walkthrough says."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

from tests.support.server import ServerProcess

README = Path(__file__).resolve().parents[1] / "README.md"


def walkthrough() -> list[str]:
    """The shell commands of the README's "Using it" section, continuations joined."""
    text = README.read_text()
    section = text[text.index("## Using it"):text.index("Signing and verifying artifacts")]
    commands: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.strip()
            if line and not line.startswith(("#", ". ")):
                commands.append(line)
    return commands


def test_readme_walkthrough_runs_as_written(tmp_path: Path) -> None:
    commands = walkthrough()
    assert any("connection set -n private" in c for c in commands)
    srv = ServerProcess(tmp_path / "readme").start()
    try:
        u = uuid.uuid4().hex[:6]
        rg, inst = f"rg-{u}", f"inst-{u}"
        work = tmp_path / "work"
        work.mkdir()
        shutil.copy(srv.ca, work / "ca.pem")  # stands for "your own CA"
        env = {
            **srv.cli_env(),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "ACR_USER": "robot",
            "ACR_PASSWORD": f"pw-{u}",
        }
        for command in commands:
            command = re.sub(r"\bmy-rg\b", rg, re.sub(r"\bmy-instance\b", inst, command))
            done = subprocess.run(["bash", "-o", "pipefail", "-c", command], cwd=work, env=env,
                                  capture_output=True, text=True, timeout=120)
            out = done.stdout + done.stderr
            assert "Traceback" not in out, f"{command}\n{out}"
            if " registry test " in f" {command} ":
                # myacr.azurecr.io does not resolve on this machine: a failed test, told so.
                assert done.returncode == 1 and "DnsResolution" in done.stdout, out
            else:
                assert done.returncode == 0, f"{command}\n{out}"

        def show(*args: str) -> dict[str, object]:
            r = subprocess.run(["iotops", *args, "-i", inst, "-g", rg], env=env,
                               capture_output=True, text=True, timeout=60)
            assert r.returncode == 0, r.stderr
            doc: dict[str, object] = json.loads(r.stdout)
            return doc

        uami = show("registry", "show", "-n", "uami")["properties"]
        assert isinstance(uami, dict)
        assert uami["authentication"]["userAssignedManagedIdentitySettings"] == {
            "clientId": "33333333-3333-3333-3333-333333333333",
            "tenantId": "22222222-2222-2222-2222-222222222222",
        }
        settings = show("registry", "connection", "show", "-n", "private")["properties"]
        assert isinstance(settings, dict) and "BEGIN CERTIFICATE" in str(settings["caBundle"])
    finally:
        srv.stop()
