"""The OCI data model: media types, digests, descriptors, manifests, references. Pure: no I/O.

``remote`` moves these values over HTTP; ``transport`` never needs them beyond scopes.
"""

from __future__ import annotations

from . import mediatypes
from .descriptor import Descriptor, Platform
from .digest import ALGORITHMS, Digest, Hasher
from .manifest import Index, Manifest, canonical_json, parse_manifest
from .reference import Reference, check_registry, check_repository, check_tag

__all__ = [
    "ALGORITHMS",
    "Descriptor",
    "Digest",
    "Hasher",
    "Index",
    "Manifest",
    "Platform",
    "Reference",
    "canonical_json",
    "check_registry",
    "check_repository",
    "check_tag",
    "mediatypes",
    "parse_manifest",
]
