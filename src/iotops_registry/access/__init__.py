"""Reaching registries through endpoints: authenticators (the one switch over credential
kinds), shared clients, the connection test and the health monitor. Sits above ``services``
(which load endpoints and resolve pull secrets; ``access`` never reads the store) and below
``api``."""

from __future__ import annotations

from .authenticators import AuthenticatorFactory, IdentityFactory
from .catalog_sync import CatalogSync, ReferenceProvider
from .connection_test import STEPS, run_connection_test
from .health_monitor import HealthMonitor
from .registry_access import RegistryAccess
from .resolver import ReferenceResolver
from .signatures import SignatureCheck, SignatureChecker, split_artifact, trust_store_for

__all__ = [
    "STEPS",
    "AuthenticatorFactory",
    "CatalogSync",
    "HealthMonitor",
    "IdentityFactory",
    "ReferenceProvider",
    "ReferenceResolver",
    "RegistryAccess",
    "SignatureCheck",
    "SignatureChecker",
    "run_connection_test",
    "split_artifact",
    "trust_store_for",
]
