"""Match a path against the route table: fixed segments case-insensitively (as ARM does),
parameters as sent. Routes are indexed by segment count, so a request compares a handful."""

from __future__ import annotations

from collections import defaultdict

from .table import Route

__all__ = ["Router"]


class Router:
    def __init__(self, routes: tuple[Route, ...]) -> None:
        self.routes = routes
        by_length: dict[int, list[tuple[Route, tuple[tuple[int, str], ...]]]] = defaultdict(list)
        for route in routes:
            literals = tuple(
                (i, s.literal.lower()) for i, s in enumerate(route.segments) if s.literal
            )
            by_length[len(route.segments)].append((route, literals))
        self._by_length = dict(by_length)

    def match(self, path: str) -> tuple[Route, list[str]] | None:
        """The route and the path's segments, or ``None`` when no resource type matches."""
        segments = path.strip("/").split("/")
        candidates = self._by_length.get(len(segments))
        if not candidates:
            return None
        lowered = [s.lower() for s in segments]
        for route, literals in candidates:
            if all(lowered[i] == literal for i, literal in literals):
                return route, segments
        return None
