"""Registry credentials: who a pull authenticates as. No I/O, no transport."""

from __future__ import annotations

from .basic import BasicCredential

__all__ = ["BasicCredential"]
