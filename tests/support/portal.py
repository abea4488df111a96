"""Helpers for the portal tests: sign-in URLs, Debian's Chromium trusting the server's key,
console watching and screenshots."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from iotops_registry.config import DataDir
from iotops_registry.security import LocalIssuer
from iotops_registry.web import mint_signin_code, signin_url
from tests.support.server import ServerProcess

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
BASE_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def issuer_for(server: ServerProcess) -> LocalIssuer:
    dd = DataDir(server.data_dir)
    return LocalIssuer(
        dd.issuer_dir, dd.settings(create=False).tenant_id, server.endpoints["issuer"]
    )


def fresh_signin_url(server: ServerProcess, **kwargs: Any) -> str:
    return signin_url(server.arm, mint_signin_code(issuer_for(server), **kwargs))


def spki_sha256(cert_pem: Path) -> str:
    """base64(sha256(SubjectPublicKeyInfo)) of the first certificate in ``cert_pem``."""
    cert = x509.load_pem_x509_certificate(cert_pem.read_bytes())
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def chromium_args(server: ServerProcess) -> list[str]:
    # TLS stays verified, against the server's own key: Chromium accepts a chain that does
    # not lead to a known root only when the leaf's public key is this one.
    pin = spki_sha256(server.data_dir / "tls" / "server.pem")
    return [*BASE_ARGS, f"--ignore-certificate-errors-spki-list={pin}"]


_HTTP_STATUS = re.compile(r"Failed to load resource: the server responded with a status of (\d+)")


@dataclass
class ConsoleWatch:
    """Console errors and uncaught exceptions of a page. A test that provokes an API error on
    purpose (a 400, or the 404 of an action the server lacks) names the status it expects;
    Chromium logs such responses as console errors, and only those are excused."""

    errors: list[str] = field(default_factory=list)
    allowed_statuses: set[int] = field(default_factory=set)

    def attach(self, page: Any) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))

    def _console(self, message: Any) -> None:
        if message.type in ("error", "assert"):
            self.errors.append(f"console.{message.type}: {message.text}")

    def allow_status(self, *statuses: int) -> None:
        self.allowed_statuses.update(statuses)

    def unexpected(self) -> list[str]:
        out = []
        for text in self.errors:
            m = _HTTP_STATUS.search(text)
            if m and int(m.group(1)) in self.allowed_statuses:
                continue
            out.append(text)
        return out


def screenshot(page: Any, name: str, *, full_page: bool = False) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
