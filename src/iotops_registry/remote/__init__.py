"""WHAT is done with a registry: the OCI distribution verbs, on top of ``transport``.

:class:`RegistryClient` is the entry point; the modules behind it hold one group of verbs
each (``manifests``, ``blobs``, ``upload``, ``listing``, ``referrers``) as functions of a
:class:`~.session.Session`, so they are testable alone and the client stays a thin facade.
"""

from __future__ import annotations

from .client import RegistryClient
from .manifests import FetchedManifest
from .session import Session
from .sink import BlobSink

__all__ = ["BlobSink", "FetchedManifest", "RegistryClient", "Session"]
