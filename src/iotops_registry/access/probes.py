"""Network probes for the first connection-test steps: DNS, TCP and TLS.

Each probe answers with a :class:`StepResult`: a stable code and a hint that says what to fix,
never a bare boolean. They use only the standard library so that a failure is attributed to
the exact layer that failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import socket
import ssl
import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["StepResult", "probe_dns", "probe_tcp", "probe_tls"]


@dataclass
class StepResult:
    name: str
    status: str  # Succeeded | Failed | Skipped | Warning
    code: str
    message: str
    hint: str = ""
    duration_ms: int = 0
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
            "durationMs": self.duration_ms,
        }


class _Timer:
    def __enter__(self) -> _Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.ms = int((time.perf_counter() - self.start) * 1000)


async def probe_dns(name: str, port: int) -> tuple[StepResult, list[str]]:
    why: str | None = None
    addresses: list[str] = []
    with _Timer() as t:
        try:
            infos = await asyncio.wait_for(
                asyncio.get_running_loop().getaddrinfo(name, port, type=socket.SOCK_STREAM),
                5.0,
            )
            addresses = sorted({str(info[4][0]) for info in infos})
        except socket.gaierror as exc:
            why = exc.strerror
        except TimeoutError:
            why = "DNS timed out"
    if why is not None or not addresses:
        why = why or "no address"
        return StepResult(
            "DnsResolution",
            "Failed",
            "DnsResolutionFailed",
            f"The host name '{name}' could not be resolved ({why}).",
            "Check the endpoint's host for typos, and that this machine's DNS can resolve it.",
            t.ms,
        ), []
    return StepResult(
        "DnsResolution",
        "Succeeded",
        "Resolved",
        f"'{name}' resolves to {', '.join(addresses[:4])}.",
        "",
        t.ms,
    ), addresses


async def probe_tcp(name: str, port: int, timeout: float) -> StepResult:
    with _Timer() as t:
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(name, port), timeout)
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            problem = None
        except TimeoutError:
            problem = (
                "TcpConnectTimeout",
                f"Connecting to {name}:{port} timed out after {timeout:g} s.",
            )
        except ConnectionRefusedError:
            problem = ("TcpConnectionRefused", f"{name}:{port} refused the connection.")
        except OSError as exc:
            problem = (
                "TcpConnectFailed",
                f"Cannot connect to {name}:{port}: {exc.strerror or exc}.",
            )
    if problem:
        return StepResult(
            "TcpConnect",
            "Failed",
            problem[0],
            problem[1],
            "Check that the registry is running and listening on this port, and that no "
            "firewall or network policy blocks it.",
            t.ms,
        )
    return StepResult(
        "TcpConnect", "Succeeded", "Connected", f"Connected to {name}:{port}.", "", t.ms
    )


async def probe_tls(name: str, port: int, context: ssl.SSLContext, timeout: float) -> StepResult:
    """Handshake with full verification: chain, expiry and host name."""
    with _Timer() as t:
        peer: dict[str, Any] | None = None
        failure: tuple[str, str, str] | None = None
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(name, port, ssl=context, server_hostname=name), timeout
            )
            ssl_object = writer.get_extra_info("ssl_object")
            peer = ssl_object.getpeercert() if ssl_object else None
            writer.close()
            with contextlib.suppress(OSError, ssl.SSLError):
                await writer.wait_closed()
        except ssl.SSLCertVerificationError as exc:
            failure = _classify_verify_error(exc, name)
        except ssl.SSLError as exc:
            failure = (
                "TlsHandshakeFailed",
                f"The TLS handshake with {name}:{port} failed: {exc.reason or exc}.",
                "Check that the registry serves HTTPS on this port. A loopback registry that "
                "serves plain HTTP must be marked so in the endpoint's connection settings.",
            )
        except TimeoutError:
            failure = (
                "TlsHandshakeTimeout",
                f"The TLS handshake with {name}:{port} timed out.",
                "Check that the port serves TLS.",
            )
        except OSError as exc:
            failure = (
                "TlsHandshakeFailed",
                f"The TLS connection to {name}:{port} failed: {exc}.",
                "Check the network path to the registry.",
            )
    if failure:
        return StepResult("TlsHandshake", "Failed", failure[0], failure[1], failure[2], t.ms)
    expires = ""
    if peer and peer.get("notAfter"):
        when = dt.datetime.fromtimestamp(ssl.cert_time_to_seconds(peer["notAfter"]), dt.UTC)
        expires = f" The certificate is valid until {when:%Y-%m-%d}."
    return StepResult(
        "TlsHandshake",
        "Succeeded",
        "Verified",
        f"The certificate of {name} is trusted and matches the host name.{expires}",
        "",
        t.ms,
    )


def _classify_verify_error(exc: ssl.SSLCertVerificationError, name: str) -> tuple[str, str, str]:
    reason = exc.verify_message or str(exc)
    code = exc.verify_code
    if code == 10 or "expired" in reason:
        return (
            "TlsCertificateExpired",
            f"The certificate of {name} has expired ({reason}).",
            "Ask the registry's owner to renew its certificate.",
        )
    if code == 62 or "Hostname mismatch" in reason or "doesn't match" in reason:
        return (
            "TlsHostnameMismatch",
            f"The certificate of {name} is not valid for that name ({reason}).",
            "Use the host name the certificate was issued for.",
        )
    return (
        "TlsUntrustedCertificate",
        f"The certificate of {name} is not signed by a trusted CA ({reason}).",
        "If the registry uses a private CA, add its CA bundle to the endpoint: "
        "iotops registry connection set --registry-ca-file <ca.pem>.",
    )
