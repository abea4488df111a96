"""A transfer display for publishing commands: a rich progress bar on a terminal, else nothing.

rich is imported only when stderr is a terminal (it costs more to import than a small push
takes), and the bar goes to stderr so that ``-o json`` output on stdout stays clean.
"""

from __future__ import annotations

import os
import sys
from types import TracebackType
from typing import Any

__all__ = ["TransferDisplay", "show_progress"]


def show_progress(enabled: bool | None = None) -> bool:
    if enabled is not None:
        return enabled
    return sys.stderr.isatty() and os.environ.get("TERM") != "dumb" and not os.environ.get("CI")


class TransferDisplay:
    """A :class:`~iotops_registry.packaging.Progress` (and a context manager)."""

    def __init__(self, label: str, enabled: bool | None = None) -> None:
        self._label = label
        self._total = 0
        self._done = 0
        self._bar: Any = None
        self._task: Any = None
        if show_progress(enabled):
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TransferSpeedColumn,
            )

            self._bar = Progress(
                "[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                TransferSpeedColumn(), console=Console(stderr=True), transient=True,
            )

    def __enter__(self) -> TransferDisplay:
        if self._bar is not None:
            self._bar.start()
            self._task = self._bar.add_task(self._label, total=None)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.stop()

    def expect(self, nbytes: int) -> None:
        self._total += nbytes
        if self._bar is not None:
            self._bar.update(self._task, total=self._total)

    def advance(self, nbytes: int) -> None:
        self._done += nbytes
        if self._bar is not None:
            self._bar.update(self._task, completed=self._done)
