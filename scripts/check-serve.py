"""Install check: start the installed ``iotops`` the way a user does, and see it serve.

    python scripts/check-serve.py [BIN_DIR]

Runs ``iotops serve --help``, then ``iotops serve`` on a scratch data directory with every
port picked free, waits for it to answer ``GET /healthz`` over HTTPS (verified against the
scratch CA), and stops it. Importing the package is not enough: a module that only the
server imports (and a dependency missing from the install) shows up only when it starts.
Standard library only, so it checks the install rather than relying on it.
"""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

START_TIMEOUT = 60.0


def fail(message: str, output: str = "") -> None:
    print(f"install check FAILED: {message}", file=sys.stderr)
    if output:
        print(output[-4000:], file=sys.stderr)
    sys.exit(1)


def main() -> None:
    bin_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(sys.executable).parent
    iotops = str(bin_dir / "iotops")
    env = {k: v for k, v in os.environ.items() if not k.startswith("IOTOPS_")}
    env.pop("PYTHONPATH", None)
    helped = subprocess.run(
        [iotops, "serve", "--help"], capture_output=True, text=True, env=env, timeout=60
    )
    if helped.returncode != 0 or "Usage:" not in helped.stdout:
        fail("`iotops serve --help` did not work", helped.stdout + helped.stderr)
    with tempfile.TemporaryDirectory(prefix="iotops-check-") as tmp:
        data_dir = Path(tmp) / "data"
        log_path = Path(tmp) / "serve.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [iotops, "serve", "--data-dir", str(data_dir), "--port", "0",
                 "--health-interval", "0"],
                stdout=log, stderr=subprocess.STDOUT, env=env,
            )
        try:
            status = _wait_healthy(proc, data_dir, log_path)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        if status != 200:
            fail(f"GET /healthz answered {status}", log_path.read_text(errors="replace"))
        if proc.returncode != 0:
            fail(f"`iotops serve` exited with {proc.returncode} when stopped",
                 log_path.read_text(errors="replace"))
    print("install check: `iotops serve` started and answered /healthz")


def _wait_healthy(proc: subprocess.Popen[bytes], data_dir: Path, log_path: Path) -> int:
    deadline = time.monotonic() + START_TIMEOUT
    endpoints_path = data_dir / "endpoints.json"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            fail(f"`iotops serve` exited with {proc.returncode} at start",
                 log_path.read_text(errors="replace"))
        if endpoints_path.exists():
            try:
                endpoints = json.loads(endpoints_path.read_text())
            except json.JSONDecodeError:
                endpoints = None  # being written
            if endpoints:
                context = ssl.create_default_context(cafile=endpoints["ca"])
                url = f"{endpoints['arm']}/healthz"
                try:
                    with urllib.request.urlopen(url, context=context, timeout=10) as response:
                        return int(response.status)
                except urllib.error.HTTPError as exc:
                    return exc.code
        time.sleep(0.1)
    fail(f"`iotops serve` did not start within {START_TIMEOUT:.0f} s",
         log_path.read_text(errors="replace"))
    return 0


if __name__ == "__main__":
    main()
