"""Options shared by every command that talks to a server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from ..config import default_data_dir

__all__ = ["data_dir_option"]

F = TypeVar("F", bound=Callable[..., Any])


def data_dir_option(f: F) -> F:
    return click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=default_data_dir,
        show_default="$IOTOPS_DATA_DIR or ~/.local/share/iotops",
        help="Data directory of the embedded server.",
    )(f)
