"""``GET /v2/``: is this a registry, and what authentication does it ask for?"""

from __future__ import annotations

import httpx

from ..authn import Challenge
from ..errors import RegistryHTTPError
from .challenge import select_challenge
from .failures import raise_for_status, unreachable

__all__ = ["ping"]


async def ping(http: httpx.AsyncClient, base_url: str) -> Challenge | None:
    """None if the registry answers 200 without credentials, else its challenge.

    Sent without the client's auth. A 401 without a Basic or Bearer challenge, and any
    other status, is an error: such a server is not a distribution registry we can use.
    """
    url = f"{base_url.rstrip('/')}/v2/"
    try:
        response = await http.get(url, auth=None, follow_redirects=False)
    except httpx.TransportError as exc:
        raise unreachable(exc, f"GET {httpx.URL(url).netloc.decode()}/v2/") from exc
    if response.status_code == 200:
        return None
    if response.status_code == 401:
        challenge = select_challenge(response.headers.get_list("WWW-Authenticate"))
        if challenge is not None:
            return challenge
    await raise_for_status(response)
    raise RegistryHTTPError(
        f"GET {url}: {response.status_code} is not a registry's answer",
        status=response.status_code,
    )
