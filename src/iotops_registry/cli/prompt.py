"""The confirmation before a delete, as az's ``-y/--yes`` prompt."""

from __future__ import annotations

import sys

import click

from .errors import CliError

__all__ = ["confirm_delete"]


def confirm_delete(question: str, yes: bool) -> None:
    """Return if the user agreed (or passed ``-y``); abort otherwise."""
    if yes:
        return
    if not sys.stdin.isatty():
        # A script would hang or fail obscurely on a prompt; say what to do instead.
        raise CliError("Confirmation needed but there is no terminal to ask on; pass -y/--yes.")
    click.confirm(question, abort=True)
