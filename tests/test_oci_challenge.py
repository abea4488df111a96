"""WWW-Authenticate parsing (RFC 7235 / RFC 6750) and the ExpiringCache behind every token."""

from __future__ import annotations

import asyncio

import pytest

from iotops_registry.authn import Challenge, ExpiringCache
from iotops_registry.transport import merge_scopes, parse_challenges, select_challenge


def test_bearer_with_quoted_commas() -> None:
    header = (
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
        'scope="repository:samalba/my-app:pull,push"'
    )
    assert parse_challenges(header) == [
        Challenge(
            "bearer",
            "https://auth.docker.io/token",
            "registry.docker.io",
            ("repository:samalba/my-app:pull,push",),
        )
    ]


def test_several_challenges_spaces_escapes_and_case() -> None:
    header = (
        'Basic realm="a \\"quoted\\" realm" , BEARER Realm = "https://r.example/t" ,'
        ' service=svc, scope="repository:a:pull repository:b:pull", error="insufficient_scope"'
    )
    basic, bearer = parse_challenges(header)
    assert basic == Challenge("basic", 'a "quoted" realm')
    assert bearer.scheme == "bearer" and bearer.realm == "https://r.example/t"
    assert bearer.service == "svc"
    assert bearer.scope == ("repository:a:pull", "repository:b:pull")
    assert bearer.error == "insufficient_scope"


@pytest.mark.parametrize(
    "header",
    ["", "   ", ",,,", "Negotiate abc==", 'Bearer realm="unterminated', "=x", "Bearer ,,"],
)
def test_odd_headers_do_not_break(header: str) -> None:
    parse_challenges(header)  # no exception, no endless loop


def test_select_prefers_bearer_with_realm() -> None:
    headers = ['Basic realm="r"', "Negotiate", 'Bearer realm="https://x/token"']
    assert select_challenge(headers) == Challenge("bearer", "https://x/token")
    assert select_challenge(['Bearer service="no realm"', 'Basic realm="r"']) == Challenge(
        "basic", "r"
    )
    assert select_challenge(["Negotiate"]) is None


def test_merge_scopes_is_a_stable_key() -> None:
    assert merge_scopes(["repository:a:push", "repository:a:pull"], ["registry:catalog:*"]) == (
        "registry:catalog:*",
        "repository:a:pull,push",
    )
    assert merge_scopes(["repository:b:pull", "repository:a:pull"]) == merge_scopes(
        ["repository:a:pull"], ["repository:b:pull"]
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.anyio
async def test_cache_reuses_until_skew_then_refetches() -> None:
    clock = Clock()
    cache: ExpiringCache[str, str] = ExpiringCache(skew=30, clock=clock)
    calls = 0

    async def fetch() -> tuple[str, float]:
        nonlocal calls
        calls += 1
        return f"token-{calls}", 300

    assert await cache.get_or_fetch("k", fetch) == "token-1"
    clock.now += 269
    assert await cache.get_or_fetch("k", fetch) == "token-1"
    clock.now += 1  # 30 s before expiry: refresh
    assert await cache.get_or_fetch("k", fetch) == "token-2"
    # short-lived values keep half their lifetime, not zero
    cache.put("short", "s", 40)
    clock.now += 19
    assert cache.get("short") == "s"
    clock.now += 1
    assert cache.get("short") is None


@pytest.mark.anyio
async def test_cache_lru_bound_and_discard_by_value() -> None:
    cache: ExpiringCache[int, str] = ExpiringCache(max_entries=3)
    for i in range(10):
        cache.put(i, str(i), 100)
    assert len(cache) == 3 and cache.get(9) == "9" and cache.get(0) is None
    cache.discard(9, "stale")
    assert cache.get(9) == "9"
    cache.discard(9, "9")
    assert cache.get(9) is None


@pytest.mark.anyio
async def test_single_flight_shares_result_and_failure() -> None:
    cache: ExpiringCache[str, str] = ExpiringCache()
    calls = 0
    gate = asyncio.Event()

    async def fetch() -> tuple[str, float]:
        nonlocal calls
        calls += 1
        await gate.wait()
        return "v", 60

    waiters = [asyncio.ensure_future(cache.get_or_fetch("k", fetch)) for _ in range(100)]
    await asyncio.sleep(0)
    waiters[0].cancel()  # one caller leaving does not cancel the fetch for the others
    gate.set()
    results = await asyncio.gather(*waiters[1:])
    assert calls == 1 and set(results) == {"v"}

    async def broken() -> tuple[str, float]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        raise RuntimeError("token service down")

    outcomes = await asyncio.gather(
        *(cache.get_or_fetch("other", broken) for _ in range(20)), return_exceptions=True
    )
    assert calls == 2 and all(isinstance(o, RuntimeError) for o in outcomes)
    assert cache.get("other") is None  # failures are not cached
