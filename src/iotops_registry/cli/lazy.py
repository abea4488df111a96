"""A click group whose subcommands are imported only when one is invoked (or listed).

Why: CI scripts run one ``iotops`` process per artifact, and importing every command
module (the ARM client, signing, the portal...) cost more than the push itself. A
subcommand is named here by ``"module:attribute"`` relative to this package.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click

__all__ = ["LazyGroup"]


class LazyGroup(click.Group):
    def __init__(self, *args: Any, lazy: Mapping[str, str] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in self._lazy:
            command = self._load(cmd_name)
        return command

    def _load(self, name: str) -> click.Command:
        module_name, _, attribute = self._lazy.pop(name).partition(":")
        # __import__, not importlib.import_module: only the former shows in -X importtime.
        module = __import__(f"{__package__}.{module_name}", fromlist=[attribute])
        command = getattr(module, attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{module_name}:{attribute} is not a click command")
        self.add_command(command, name)
        return command
