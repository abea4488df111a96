"""Errors the CLI reports as ``ERROR: ...`` on stderr with exit code 1, never as a traceback."""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO, Any

import click

from ..errors import InvalidArtifact, IotopsError

__all__ = ["ArmError", "ArtifactError", "CliError", "ErrorDetail"]


class CliError(click.ClickException, IotopsError):
    """An expected failure: one line (or a few) on stderr, exit code 1. A click exception
    (click prints it), and part of the one tree."""

    def format_lines(self) -> list[str]:
        return [f"ERROR: {self.message}"]

    def show(self, file: IO[Any] | None = None) -> None:
        for line in self.format_lines():
            click.echo(line, file=file, err=file is None)


@dataclass(frozen=True)
class ErrorDetail:
    code: str
    message: str
    target: str | None = None


class ArmError(CliError):
    """The server's ARM error envelope, shown with its code and message unchanged."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        target: str | None = None,
        details: list[ErrorDetail] | None = None,
    ) -> None:
        super().__init__(f"({code}) {message}")
        self.status = status
        self.code = code
        self.error_message = message
        self.target = target
        self.details = details or []

    def format_lines(self) -> list[str]:
        lines = [f"ERROR: ({self.code}) {self.error_message}"]
        if self.target:
            lines.append(f"Target: {self.target}")
        for d in self.details:
            suffix = f" [target: {d.target}]" if d.target else ""
            lines.append(f"  ({d.code}) {d.message}{suffix}")
        return lines

    @classmethod
    def from_body(cls, status: int, reason: str, body: Any) -> ArmError:
        """Parse ``{"error": {...}}``; anything else becomes a generic HTTP error."""
        err = body.get("error") if isinstance(body, dict) else None
        if not isinstance(err, dict) or not isinstance(err.get("code"), str):
            return cls(status, "HttpError", f"The server answered {status} {reason}.".strip())
        details = [
            ErrorDetail(str(d.get("code", "")), str(d.get("message", "")), _opt_str(d, "target"))
            for d in err.get("details") or []
            if isinstance(d, dict)
        ]
        return cls(status, err["code"], str(err.get("message", "")), _opt_str(err, "target"),
                   details)


def _opt_str(d: dict[str, Any], key: str) -> str | None:
    value = d.get(key)
    return value if isinstance(value, str) and value else None


class ArtifactError(CliError):
    """Every problem of an invalid artifact, one per line: ``file:line: path: message``."""

    def __init__(self, error: InvalidArtifact) -> None:
        super().__init__(str(error))
        self.problems = error.problems

    def format_lines(self) -> list[str]:
        count = len(self.problems)
        head = f"ERROR: {count} problem{'s' if count != 1 else ''} found; nothing was pushed."
        return [head, *(f"  {p}" for p in self.problems)]
