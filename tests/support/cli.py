"""Run the real ``iotops`` CLI as a subprocess."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass

from tests.support.server import ServerProcess


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def iotops(server: ServerProcess, *args: str, stdin: str | None = None) -> CliResult:
    proc = subprocess.run(
        [sys.executable, "-m", "iotops_registry", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=server.cli_env(),
        timeout=120,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)
