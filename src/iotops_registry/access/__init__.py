"""Reaching registries through endpoints: the one switch over authentication methods, shared
clients, the connection test and the health monitor. Sits above ``services`` (it reads
endpoints and resolves pull secrets) and below ``api``."""

from __future__ import annotations

from .authenticators import AuthenticatorFactory, CredentialPlan, IdentityFactory, plan_for
from .connection_test import STEPS, run_connection_test
from .health_monitor import HealthMonitor
from .registry_access import ConnectionSettings, EndpointTarget, RegistryAccess

__all__ = [
    "STEPS",
    "AuthenticatorFactory",
    "ConnectionSettings",
    "CredentialPlan",
    "EndpointTarget",
    "HealthMonitor",
    "IdentityFactory",
    "RegistryAccess",
    "plan_for",
    "run_connection_test",
]
