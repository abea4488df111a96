"""``${NAME}`` placeholders, filled from ``--set NAME=VALUE`` before a file is validated.

Real graph definitions are templates (``version: "${VERSION}"``, ``module:
"avro-to-json:${VERSION}"``) that publishing scripts run through ``envsubst '${VERSION}'``.
Only the braced form is a placeholder, as with ``envsubst`` given a list: a ``$`` elsewhere
(``$schema``) is left alone. A placeholder left unfilled is an error on its line, since the
runtime would try to pull ``avro-to-json:${VERSION}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from ..errors import InvalidArtifact, Problem

__all__ = ["PLACEHOLDER", "fill", "parse_settings"]

PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def parse_settings(pairs: Sequence[str]) -> dict[str, str]:
    """``["VERSION=1.0.0", ...]`` → a dict; a malformed pair raises ``ValueError``."""
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not _NAME.fullmatch(name):
            raise ValueError(f"--set {pair!r}: expected NAME=VALUE (NAME like VERSION)")
        if "\n" in value or "\r" in value:
            raise ValueError(f"--set {name}: the value must be on one line")
        out[name] = value
    return out


def fill(text: str, settings: Mapping[str, str], file: str) -> str:
    """``text`` with every ``${NAME}`` replaced; unknown names raise :class:`InvalidArtifact`."""
    problems: list[Problem] = []
    for number, line in enumerate(text.splitlines(), start=1):
        for match in PLACEHOLDER.finditer(line):
            if match.group(1) not in settings:
                problems.append(
                    Problem(
                        file,
                        "",
                        f"placeholder {match.group(0)} is not filled",
                        f"pass --set {match.group(1)}=VALUE",
                        number,
                    )
                )
    if problems:
        raise InvalidArtifact(problems)
    return PLACEHOLDER.sub(lambda m: settings[m.group(1)], text)
