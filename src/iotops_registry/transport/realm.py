"""Which token services may receive what: the credential-leak guard.

A registry names its token service in the challenge (``realm``). A malicious or
compromised registry could name any URL, so:

- credentials (Basic to the realm, refresh tokens, and whatever an authenticator sends
  while producing them, like an Entra token) go only to the registry's own host or to a
  host listed in ``allowed_realm_hosts``;
- anonymous token requests may go anywhere over HTTPS (Docker Hub's registry and token
  service live on different hosts);
- plain HTTP is accepted for loopback realms only.
"""

from __future__ import annotations

from collections.abc import Iterable

import httpx

from ..errors import TokenEndpointError
from ..netutil import is_loopback

__all__ = ["RealmPolicy"]


class RealmPolicy:
    def __init__(self, registry_host: str, allowed_hosts: Iterable[str] = ()) -> None:
        self.registry_host = registry_host.strip("[]").lower()
        self.allowed_hosts = frozenset(h.strip("[]").lower() for h in allowed_hosts)

    def check(self, realm: str, *, with_credentials: bool) -> httpx.URL:
        """The realm as a URL, or :class:`TokenEndpointError` if policy forbids using it."""
        try:
            url = httpx.URL(realm)
        except (httpx.InvalidURL, TypeError):
            raise TokenEndpointError("The registry's challenge has an invalid realm URL.") from None
        host = url.host.lower()
        if not host or url.scheme not in ("https", "http"):
            raise TokenEndpointError("The registry's challenge has an invalid realm URL.")
        if url.scheme == "http" and not is_loopback(host):
            raise TokenEndpointError(f"Refusing the plain-HTTP token service at {host}.")
        if with_credentials and host != self.registry_host and host not in self.allowed_hosts:
            raise TokenEndpointError(
                f"The registry {self.registry_host} sends clients to the token service at "
                f"{host}; credentials are not sent there unless the endpoint's connection "
                "settings allow that host (allowedRealmHosts, --allow-realm-host)."
            )
        return url
