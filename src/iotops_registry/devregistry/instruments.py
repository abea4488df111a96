"""Request counters and injected faults for the development stand-ins.

Tests (and people chasing a token storm) need to know how often a client called the
identity endpoint, the exchange and the token endpoint, and what it asked the registry
(manifest and blob GETs, HEADs, uploads), and need to make those endpoints fail on demand
(429 with Retry-After, 503, a connection dropped mid-upload) to see that a client backs off,
retries and resumes.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

from ..errors import ValidationError
from ..identity import InjectedFault

__all__ = ["COUNTED", "FAULT_TARGETS", "Instruments"]

COUNTED = ("identity", "exchange", "token")
"""The targets of ``GET /-/dev/counters``; the registry front's are at ``…/counters/registry``."""
FAULT_TARGETS = ("identity", "exchange", "token", "registry", "upload")
_MAX_REPOSITORIES = 10_000  # counted one by one; beyond, under "(other)"
_MAX_AFTER_BYTES = 1 << 40


@dataclass
class _Plan:
    fault: InjectedFault
    remaining: int


class Instruments:
    """Thread-safe counters per target and key, and a queue of faults per target."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, Counter[str]] = {t: Counter() for t in COUNTED}
        self._registry: Counter[str] = Counter()
        self._by_repository: dict[str, Counter[str]] = {}
        self._faults: dict[str, _Plan] = {}

    def hit(self, target: str, key: str) -> InjectedFault | None:
        with self._lock:
            self._counts.setdefault(target, Counter())[key] += 1
            return self._take(target)

    def registry_hit(self, kind: str, repository: str | None) -> InjectedFault | None:
        """Count one request at the registry's front (``kind``: "GET blob", "HEAD
        manifest", ...); a status fault to answer with, if one is pending."""
        with self._lock:
            self._registry[kind] += 1
            if repository is not None:
                if (
                    repository not in self._by_repository
                    and len(self._by_repository) >= _MAX_REPOSITORIES
                ):
                    repository = "(other)"
                self._by_repository.setdefault(repository, Counter())[kind] += 1
            return self._take("registry")

    def upload_fault(self) -> int | None:
        """After how many body bytes to drop this upload's connection, if a fault is due."""
        with self._lock:
            fault = self._take("upload")
        return fault.after_bytes if fault is not None else None

    def _take(self, target: str) -> InjectedFault | None:
        plan = self._faults.get(target)
        if plan is None:
            return None
        plan.remaining -= 1
        if plan.remaining <= 0:
            del self._faults[target]
        return plan.fault

    def counters(self) -> dict[str, Any]:
        with self._lock:
            return {
                target: {"total": sum(c.values()), "byKey": dict(sorted(c.items()))}
                for target, c in self._counts.items()
            }

    def registry_counters(self) -> dict[str, Any]:
        with self._lock:
            return {
                "total": sum(self._registry.values()),
                "byKey": dict(sorted(self._registry.items())),
                "byRepository": {
                    repo: dict(sorted(c.items()))
                    for repo, c in sorted(self._by_repository.items())
                },
            }

    def faults(self) -> dict[str, Any]:
        with self._lock:
            listed: dict[str, Any] = {}
            for t, p in self._faults.items():
                if p.fault.after_bytes is not None:
                    listed[t] = {"afterBytes": p.fault.after_bytes, "remaining": p.remaining}
                else:
                    listed[t] = {"status": p.fault.status, "retryAfter": p.fault.retry_after,
                                 "remaining": p.remaining}
            return listed

    def inject(
        self,
        target: str,
        status: int,
        retry_after: int | None,
        count: int,
        after_bytes: int | None = None,
    ) -> None:
        if target not in FAULT_TARGETS:
            raise ValidationError(
                f"target must be one of {', '.join(FAULT_TARGETS)}.", target="target"
            )
        if target == "upload":
            if after_bytes is None or not 0 <= after_bytes <= _MAX_AFTER_BYTES:
                raise ValidationError(
                    "An upload fault needs afterBytes: the request body bytes to pass "
                    "before the connection is dropped (0 or more).",
                    target="afterBytes",
                )
        elif after_bytes is not None:
            raise ValidationError("afterBytes is for the upload target only.",
                                  target="afterBytes")
        elif not 400 <= status <= 599:
            raise ValidationError("status must be an HTTP error status (400-599).",
                                  target="status")
        if retry_after is not None and not 0 <= retry_after <= 3600:
            raise ValidationError("retryAfter must be 0 to 3600 seconds.", target="retryAfter")
        if not 1 <= count <= 1000:
            raise ValidationError("count must be 1 to 1000.", target="count")
        fault = InjectedFault(status, retry_after, after_bytes)
        with self._lock:
            self._faults[target] = _Plan(fault, count)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
