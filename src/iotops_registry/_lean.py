"""Start-up cost: keep httpx from importing its command-line client on ``import httpx``.

httpx's ``__init__`` imports ``httpx._main`` (its own CLI: click, rich, pygments) only to
expose ``httpx.main``; that is about 40 % of the cost of ``import httpx`` and every ``iotops``
process would pay it. This installs, before httpx is first imported, a stand-in
``httpx._main`` whose ``main`` loads the real one on demand. Nothing else changes: the
stand-in is only used if no one imported ``httpx`` before us.
"""

from __future__ import annotations

import sys
import types
from typing import Any

__all__ = ["skip_httpx_cli"]


def _main(*args: Any, **kwargs: Any) -> Any:
    sys.modules.pop("httpx._main", None)
    from httpx._main import main

    return main(*args, **kwargs)


def skip_httpx_cli() -> None:
    if "httpx" in sys.modules or "httpx._main" in sys.modules:
        return
    stand_in = types.ModuleType("httpx._main")
    stand_in.main = _main  # type: ignore[attr-defined]
    sys.modules["httpx._main"] = stand_in
