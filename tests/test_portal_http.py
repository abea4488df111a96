"""The portal over plain HTTP: sign-in codes, the session cookie, CSRF and same-origin checks
on the ARM API, security headers, and no secret value in any page."""

from __future__ import annotations

import re
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from iotops_registry.security import LocalIssuer
from iotops_registry.web import SESSION_COOKIE, SIGNIN_AUDIENCE
from iotops_registry.web.sessions import SessionStore
from iotops_registry.web.signin import SigninCodes, SigninError, mint_signin_code
from tests.conftest import API_VERSION, Scope
from tests.support.portal import fresh_signin_url, issuer_for
from tests.support.server import ServerProcess

Q = {"api-version": API_VERSION}


@pytest.fixture(scope="module")
def web(server: ServerProcess) -> Iterator[httpx.Client]:
    """A client with no credentials at all: what a browser has before signing in. It keeps no
    cookies: each test sends the session cookie explicitly, or not at all."""

    def forget_cookies(response: httpx.Response) -> None:
        client.cookies.clear()

    with httpx.Client(
        base_url=server.arm,
        verify=ssl.create_default_context(cafile=server.ca),
        follow_redirects=False,
        event_hooks={"response": [forget_cookies]},
    ) as client:
        yield client


class Signed:
    def __init__(self, session_id: str, csrf: str) -> None:
        self.session_id = session_id
        self.csrf = csrf

    @property
    def cookie(self) -> dict[str, str]:
        return {"Cookie": f"{SESSION_COOKIE}={self.session_id}"}

    def headers(self, **extra: str) -> dict[str, str]:
        return {**self.cookie, "X-CSRF-Token": self.csrf, **extra}


def _cookie_value(set_cookie: str) -> str:
    m = re.match(rf"{re.escape(SESSION_COOKIE)}=([^;]+)", set_cookie)
    assert m, set_cookie
    return m.group(1)


def sign_in(web: httpx.Client, server: ServerProcess) -> Signed:
    r = web.get(fresh_signin_url(server))
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/"
    session_id = _cookie_value(r.headers["set-cookie"])
    page = web.get("/", headers={"Cookie": f"{SESSION_COOKIE}={session_id}"})
    assert page.status_code == 200
    m = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text)
    assert m
    return Signed(session_id, m.group(1))


@pytest.fixture
def signed(web: httpx.Client, server: ServerProcess) -> Signed:
    return sign_in(web, server)


# --- sign-in -------------------------------------------------------------------------------


def test_serve_prints_a_working_signin_url(server: ServerProcess, web: httpx.Client) -> None:
    deadline = time.monotonic() + 10
    url = None
    while url is None and time.monotonic() < deadline:
        m = re.search(r"(https://\S+/-/signin\?token=\S+)", server.log_path.read_text())
        url = m.group(1) if m else None
        if url is None:
            time.sleep(0.1)
    assert url is not None and url.startswith(server.arm)
    # The printed code may already have been used by another test of this session: both
    # answers show it is a real code for this server, and not an invalid one.
    r = web.get(url)
    assert r.status_code in (303, 401)
    if r.status_code == 401:
        assert "already been used" in r.text


def test_portal_url_command(server: ServerProcess, web: httpx.Client) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "iotops_registry", "portal-url", "--data-dir",
         str(server.data_dir), "--lifetime", "120"],
        capture_output=True, text=True, timeout=60, env=server.cli_env(), check=True,
    ).stdout.strip()
    assert out.startswith(f"{server.arm}/-/signin?token=")
    assert web.get(out).status_code == 303


def test_signin_sets_a_strict_session_cookie(server: ServerProcess, web: httpx.Client) -> None:
    r = web.get(fresh_signin_url(server))
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    flags = {part.strip().split("=")[0].lower(): part for part in cookie.split(";")[1:]}
    assert "secure" in flags and "httponly" in flags
    assert flags["samesite"].split("=")[1].strip().lower() == "strict"
    assert flags["path"].split("=")[1].strip() == "/"
    assert "domain" not in flags
    assert r.headers["cache-control"] == "no-store"


def test_signin_from_another_site_offers_a_link(server: ServerProcess, web: httpx.Client) -> None:
    # A SameSite=Strict cookie would not follow a redirect that started on another site.
    r = web.get(fresh_signin_url(server), headers={"Sec-Fetch-Site": "cross-site"})
    assert r.status_code == 200
    assert 'href="/"' in r.text and "Continue to the portal" in r.text
    assert r.headers["set-cookie"].startswith(f"{SESSION_COOKIE}=")


def test_signin_code_is_single_use(server: ServerProcess, web: httpx.Client) -> None:
    url = fresh_signin_url(server)
    assert web.get(url).status_code == 303
    again = web.get(url)
    assert again.status_code == 401
    assert "already been used" in again.text
    assert "set-cookie" not in again.headers


def test_expired_and_foreign_codes_are_refused(server: ServerProcess, web: httpx.Client) -> None:
    issuer = issuer_for(server)
    expired = issuer.mint(SIGNIN_AUDIENCE, lifetime=-60, extra_claims={"jti": uuid.uuid4().hex})
    r = web.get("/-/signin", params={"token": expired})
    assert r.status_code == 401 and "expired" in r.text
    # An ARM access token is not a sign-in code (wrong audience), nor is garbage.
    arm_token = issuer.mint("https://management.azure.com")
    for code in (arm_token, "not-a-jwt", expired + "x"):
        r = web.get("/-/signin", params={"token": code})
        assert r.status_code == 401 and "not valid" in r.text
    # A code from another key (another data directory) is refused too.
    other = LocalIssuer(server.data_dir.parent / f"other-{uuid.uuid4().hex[:6]}",
                        issuer.tenant_id, issuer.issuer_url)
    r = web.get("/-/signin", params={"token": mint_signin_code(other)})
    assert r.status_code == 401


def test_unauthenticated_pages_explain_how_to_sign_in(web: httpx.Client) -> None:
    r = web.get("/")
    assert r.status_code == 303 and r.headers["location"] == "/-/signin-required"
    page = web.get("/-/signin-required")
    assert page.status_code == 200
    assert "iotops portal-url --data-dir" in page.text
    assert web.get("/", headers={"Cookie": f"{SESSION_COOKIE}=forged"}).status_code == 303


def test_signout_ends_the_session(server: ServerProcess, web: httpx.Client) -> None:
    s = sign_in(web, server)
    assert web.post("/-/signout", headers=s.cookie).status_code == 403  # no CSRF token
    r = web.post("/-/signout", headers=s.headers())
    assert r.status_code == 204
    assert f"{SESSION_COOKIE}=" in r.headers["set-cookie"]
    assert web.get("/", headers=s.cookie).status_code == 303


# --- the ARM API with a session --------------------------------------------------------------


def test_session_reaches_the_api_with_csrf_header(
    web: httpx.Client, signed: Signed, scope: Scope
) -> None:
    r = web.get(f"{scope.instance_path}/registryEndpoints", params=Q, headers=signed.headers())
    assert r.status_code == 200, r.text
    assert [e["name"] for e in r.json()["value"]] == ["default"]
    body = {"properties": {"host": "portal.azurecr.io",
                           "authentication": {"method": "Anonymous", "anonymousSettings": {}}}}
    r = web.put(scope.endpoint_path("via-portal"), params=Q, json=body,
                headers=signed.headers(Origin=str(web.base_url).rstrip("/"),
                                       **{"Sec-Fetch-Site": "same-origin"}))
    assert r.status_code == 201, r.text
    # systemData names the signed-in user, as for any bearer client.
    assert r.json()["systemData"]["createdBy"].endswith("@local")


def test_cookie_without_csrf_header_is_refused(
    web: httpx.Client, signed: Signed, scope: Scope, http: httpx.Client
) -> None:
    body = {"properties": {"host": "evil.azurecr.io",
                           "authentication": {"method": "Anonymous", "anonymousSettings": {}}}}
    path = scope.endpoint_path("csrf-put")
    r = web.put(path, params=Q, json=body, headers=signed.cookie)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "CsrfCheckFailed"
    assert http.get(path, params=Q).status_code == 404  # nothing was written
    r = web.post(f"{scope.endpoint_path('default')}/resolveCredentials", params=Q,
                 headers=signed.cookie)
    assert r.status_code == 403
    r = web.delete(scope.endpoint_path("default"), params=Q,
                   headers={**signed.cookie, "X-CSRF-Token": "wrong"})
    assert r.status_code == 403
    assert http.get(scope.endpoint_path("default"), params=Q).status_code == 200
    # Reads need it too.
    assert web.get(scope.instance_path, params=Q, headers=signed.cookie).status_code == 403


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ],
    ids=["origin", "null-origin", "cross-site", "same-site"],
)
def test_cross_site_requests_are_refused(
    web: httpx.Client, signed: Signed, scope: Scope, headers: dict[str, str]
) -> None:
    body = {"properties": {"host": "evil.azurecr.io",
                           "authentication": {"method": "Anonymous", "anonymousSettings": {}}}}
    r = web.put(scope.endpoint_path("cross-site"), params=Q, json=body,
                headers=signed.headers(**headers))
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "CsrfCheckFailed"


def test_without_a_session_the_api_still_wants_a_token(
    web: httpx.Client, scope: Scope, http: httpx.Client
) -> None:
    forged = {"Cookie": f"{SESSION_COOKIE}=forged", "X-CSRF-Token": "x"}
    r = web.get(scope.instance_path, params=Q, headers=forged)
    assert r.status_code == 401
    # A bearer client is unaffected by any cookie it may carry.
    r = http.get(scope.instance_path, params=Q, headers={"Cookie": f"{SESSION_COOKIE}=forged"})
    assert r.status_code == 200


# --- pages, headers, static files -----------------------------------------------------------


def test_security_headers_and_static_files(web: httpx.Client, signed: Signed) -> None:
    page = web.get("/", headers=signed.cookie)
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-store"
    assert "<script>" not in page.text and " style=" not in page.text and "onclick" not in page.text
    scripts = re.findall(r'<script defer src="(/-/static/[^"]+\?v=[0-9a-f]{12})"></script>',
                         page.text)
    assert len(scripts) >= 5
    css = re.search(r'href="(/-/static/portal\.css\?v=[0-9a-f]{12})"', page.text)
    assert css
    for url in [*scripts, css.group(1)]:
        r = web.get(url)
        assert r.status_code == 200
        assert "immutable" in r.headers["cache-control"]
        assert r.headers["x-content-type-options"] == "nosniff"
    stale = web.get(css.group(1).split("?")[0] + "?v=000000000000")
    assert stale.headers["cache-control"] == "no-cache"
    assert web.get("/-/static/nope.js").status_code == 404
    assert web.get("/-/static/..%2f..%2fserver.py").status_code == 404


def test_no_secret_value_in_any_page(
    web: httpx.Client, signed: Signed, scope: Scope, http: httpx.Client
) -> None:
    value = f"s3cr3t-{uuid.uuid4().hex}"
    name = f"portal-leak-{uuid.uuid4().hex[:8]}"
    r = web.put(f"{scope.instance_path}/keyVaultSecrets/{name}", params=Q,
                json={"properties": {"value": value}}, headers=signed.headers())
    assert r.status_code == 201, r.text
    assert value not in r.text
    r = http.put(f"{scope.instance_path}/syncedSecrets/{name}", params=Q, json={
        "properties": {"objectSecretMapping": [
            {"sourcePath": name, "targetKey": "username"},
            {"sourcePath": name, "targetKey": "password"}]}})
    assert r.status_code == 201, r.text
    pages: list[Any] = [
        web.get("/", headers=signed.cookie),
        web.get("/-/signin-required"),
        web.get("/-/signed-out"),
        web.get(f"{scope.instance_path}/keyVaultSecrets", params=Q, headers=signed.headers()),
        web.get(f"{scope.instance_path}/keyVaultSecrets/{name}", params=Q,
                headers=signed.headers()),
    ]
    page = pages[0].text
    pages += [web.get(u) for u in re.findall(r'(?:src|href)="(/-/static/[^"]+)"', page)]
    for r in pages:
        assert r.status_code == 200
        assert value not in r.text


# --- in-process units ------------------------------------------------------------------------


def test_signin_codes_forget_used_ids_after_expiry(server: ServerProcess) -> None:
    issuer = issuer_for(server)
    codes = SigninCodes(issuer)
    code = mint_signin_code(issuer, lifetime=60)
    assert codes.redeem(code).display_name.endswith("@local")
    with pytest.raises(SigninError) as used:
        codes.redeem(code)
    assert used.value.reason == "used"
    codes._forget_expired(time.time() + 3600)
    assert codes._used == {}
    too_long = issuer.mint(SIGNIN_AUDIENCE, lifetime=7200, extra_claims={"jti": "x"})
    with pytest.raises(SigninError):
        codes.redeem(too_long)
    no_jti = issuer.mint(SIGNIN_AUDIENCE, lifetime=60)
    with pytest.raises(SigninError):
        codes.redeem(no_jti)


def test_sessions_expire_and_reuse_tokens(server: ServerProcess) -> None:
    issuer = issuer_for(server)
    minted: list[int] = []

    def tokens(session: Any) -> tuple[str, float]:
        minted.append(1)
        return f"t{len(minted)}", time.time() + 900

    store = SessionStore(tokens, lifetime=60, idle=30, max_sessions=2)
    principal = issuer.default_user()
    a = store.create(principal)
    assert store.get(a.id) is a
    assert store.bearer_token(a) == store.bearer_token(a) == "t1"
    b = store.create(principal)
    c = store.create(principal)  # the least recently used session makes room
    assert store.get(a.id) is None and store.get(b.id) is b and store.get(c.id) is c
    c.last_seen -= 31
    assert store.get(c.id) is None  # idle
    b.expires = time.time() - 1
    assert store.get(b.id) is None  # past its lifetime
    assert store.get(None) is None and store.get("x" * 500) is None
