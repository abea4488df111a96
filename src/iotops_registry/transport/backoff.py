"""When to try again: exponential backoff with jitter, and the server's ``Retry-After``."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

__all__ = ["NO_RETRY", "RetryPolicy"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """``attempts`` counts every try (1 = never retry). Delays double from ``base_delay`` up
    to ``max_delay``, each scaled by a random factor in [0.5, 1) so clients that failed
    together do not retry together. A ``Retry-After`` is obeyed up to ``max_retry_after``."""

    attempts: int = 4
    base_delay: float = 0.2
    max_delay: float = 5.0
    max_retry_after: float = 30.0
    statuses: frozenset[int] = field(default_factory=lambda: frozenset({429, 502, 503, 504}))

    def delay(self, attempt: int, server_hint: float | None = None) -> float:
        """Seconds to wait before try number ``attempt + 2``."""
        if server_hint is not None:
            return min(server_hint, self.max_retry_after)
        return min(self.max_delay, self.base_delay * (2.0**attempt)) * random.uniform(0.5, 1.0)


NO_RETRY = RetryPolicy(attempts=1)
