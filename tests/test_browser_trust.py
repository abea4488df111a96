"""The README's steps that make Chromium trust ``DIR/tls/ca.pem``, run as written.

The block is taken from the README, pointed at the session server's data directory and run
with a scratch ``$HOME``; then Debian's Chromium, with no certificate exception at all, opens
the portal. The same browser with an untouched ``$HOME`` refuses the certificate.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Error, Playwright, sync_playwright

from tests.support.portal import BASE_ARGS, CHROMIUM, fresh_signin_url
from tests.support.server import ServerProcess

README = Path(__file__).resolve().parents[1] / "README.md"


def chromium_block() -> str:
    blocks = re.findall(r"```sh\n(.*?)```", README.read_text(), re.S)
    (block,) = [b for b in blocks if "certutil -d sql:$HOME/.pki/nssdb -A" in b]
    return block


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    pw = sync_playwright().start()
    yield pw
    pw.stop()


def _open(playwright: Playwright, home: Path, url: str) -> str:
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, args=BASE_ARGS, env={**os.environ, "HOME": str(home)}
    )
    try:
        page = browser.new_page()
        response = page.goto(url)
        assert response is not None and response.ok, response
        return page.title()
    finally:
        browser.close()


def test_readme_steps_make_chromium_trust_the_server(
    server: ServerProcess, playwright: Playwright, tmp_path: Path
) -> None:
    block = chromium_block()
    assert re.search(r"^DIR=", block, re.M)
    script = re.sub(r"^DIR=.*$", f"DIR={shlex.quote(str(server.data_dir))}", block,
                    count=1, flags=re.M)
    home = tmp_path / "home"
    home.mkdir()
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script],
                          env={**os.environ, "HOME": str(home)},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    listed = subprocess.run(["certutil", "-d", f"sql:{home}/.pki/nssdb", "-L"],
                            capture_output=True, text=True, check=True).stdout
    assert "iotops-registry local CA" in listed

    # Without the import, the same browser refuses the server's certificate.
    untouched = tmp_path / "untouched"
    untouched.mkdir()
    with pytest.raises(Error, match="ERR_CERT_AUTHORITY_INVALID"):
        _open(playwright, untouched, f"{server.arm}/healthz")

    title = _open(playwright, home, fresh_signin_url(server))
    assert "Registry endpoints" in title
