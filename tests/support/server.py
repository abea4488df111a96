"""Start and stop real ``iotops serve`` processes for tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def database_backend() -> str:
    return os.environ.get("IOTOPS_TEST_DATABASE", "sqlite")


def create_pg_database(prefix: str = "iotops_test") -> str:
    """A fresh PostgreSQL database; returns its SQLAlchemy URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class ServerProcess:
    data_dir: Path
    database_url: str | None = None
    extra_args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    endpoints: dict[str, Any] = field(default_factory=dict)

    @property
    def endpoints_file(self) -> Path:
        return self.data_dir / "endpoints.json"

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / f"{self.data_dir.name}.log"

    def start(self, timeout: float = 60.0, *, keep_endpoints: bool = False) -> ServerProcess:
        """``keep_endpoints``: leave an ``endpoints.json`` in place (a crashed server's) and
        wait for the one this process writes."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not keep_endpoints:
            (self.data_dir / "endpoints.json").unlink(missing_ok=True)
        args = [
            sys.executable,
            "-m",
            "iotops_registry",
            "serve",
            "--data-dir",
            str(self.data_dir),
            "--port",
            "0",
            *self.extra_args,
        ]
        if self.database_url:
            args += ["--database-url", self.database_url]
        # A server finds its own identity endpoint unless the test says otherwise: a value
        # another test left in this process would send its managed identities elsewhere.
        inherited = {
            k: v for k, v in os.environ.items() if k != "AZURE_POD_IDENTITY_AUTHORITY_HOST"
        }
        env = {**inherited, **self.env}
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout
        path = self.data_dir / "endpoints.json"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log_path.read_text()[-4000:]}")
            if path.exists():
                try:
                    self.endpoints = json.loads(path.read_text())
                except (json.JSONDecodeError, FileNotFoundError):
                    pass
                else:
                    if not keep_endpoints or self.endpoints.get("pid") == self.proc.pid:
                        return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"server did not start:\n{self.log_path.read_text()[-4000:]}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self) -> None:
        """Crash the server: SIGKILL, no cleanup at all."""
        self.stop(signal.SIGKILL)

    # Convenience accessors
    @property
    def arm(self) -> str:
        return str(self.endpoints["arm"])

    @property
    def subscription(self) -> str:
        return str(self.endpoints["subscription"])

    @property
    def ca(self) -> str:
        return str(self.endpoints["ca"])

    def cli_env(self) -> dict[str, str]:
        """Environment for running the ``iotops`` CLI against this server."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("IOTOPS_")}
        # pytest-xdist workers inherit COLUMNS=80; tables use the width a test asks for.
        env.pop("COLUMNS", None)
        env["IOTOPS_DATA_DIR"] = str(self.data_dir)
        return env
