"""Request counters and injected faults for the development stand-ins.

Tests (and people chasing a token storm) need to know how often a client called the
identity endpoint, the exchange and the token endpoint, and need to make those endpoints
fail on demand (429 with Retry-After, 503) to see that a client backs off and retries.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

from ..errors import ValidationError
from ..identity import InjectedFault

__all__ = ["FAULT_TARGETS", "Instruments"]

FAULT_TARGETS = ("identity", "exchange", "token")


@dataclass
class _Plan:
    fault: InjectedFault
    remaining: int


class Instruments:
    """Thread-safe counters per target and key, and a queue of faults per target."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, Counter[str]] = {t: Counter() for t in FAULT_TARGETS}
        self._faults: dict[str, _Plan] = {}

    def hit(self, target: str, key: str) -> InjectedFault | None:
        with self._lock:
            self._counts.setdefault(target, Counter())[key] += 1
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

    def faults(self) -> dict[str, Any]:
        with self._lock:
            return {
                t: {"status": p.fault.status, "retryAfter": p.fault.retry_after,
                    "remaining": p.remaining}
                for t, p in self._faults.items()
            }

    def inject(self, target: str, status: int, retry_after: int | None, count: int) -> None:
        if target not in FAULT_TARGETS:
            raise ValidationError(
                f"target must be one of {', '.join(FAULT_TARGETS)}.", target="target"
            )
        if not 400 <= status <= 599:
            raise ValidationError("status must be an HTTP error status (400-599).",
                                  target="status")
        if retry_after is not None and not 0 <= retry_after <= 3600:
            raise ValidationError("retryAfter must be 0 to 3600 seconds.", target="retryAfter")
        if not 1 <= count <= 1000:
            raise ValidationError("count must be 1 to 1000.", target="count")
        with self._lock:
            self._faults[target] = _Plan(InjectedFault(status, retry_after), count)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
