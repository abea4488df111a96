"""Registries to select: the resource provider lists the container registries it knows
(``Microsoft.ContainerRegistry/registries`` under the subscription), ``iotops acr`` registers
them, and the wizard's "Select a registry" offers them (a real Chromium, against
``iotops serve --dev``): picking the dev registry fills the host, and the endpoint created
with it passes the connection test."""

from __future__ import annotations

import re
import ssl
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest
from azure.mgmt.iotoperations import IoTOperationsMgmtClient
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from iotops_registry import LocalIssuerCredential
from tests.conftest import API_VERSION, Scope
from tests.support.cli import iotops
from tests.support.dev import Dev, dev_clients, unique
from tests.support.portal import CHROMIUM, ConsoleWatch, chromium_args, fresh_signin_url
from tests.support.server import ServerProcess

ACR_VERSION = {"api-version": "2023-07-01"}


@pytest.fixture(scope="module")
def dev(dev_server: ServerProcess) -> Iterator[Dev]:
    with dev_clients(dev_server) as clients:
        yield clients


@pytest.fixture(scope="module")
def dev_sdk(dev_server: ServerProcess) -> Iterator[IoTOperationsMgmtClient]:
    client = IoTOperationsMgmtClient(
        LocalIssuerCredential(dev_server.data_dir), dev_server.subscription,
        base_url=dev_server.arm, connection_verify=dev_server.ca, retry_total=0,
    )
    yield client
    client.close()


def registries(dev: Dev, rg: str | None = None) -> list[dict[str, object]]:
    base = f"/subscriptions/{dev.server.subscription}"
    if rg:
        base += f"/resourceGroups/{rg}"
    r = dev.admin.get(f"{base}/providers/Microsoft.ContainerRegistry/registries",
                      params=ACR_VERSION)
    assert r.status_code == 200, r.text
    return list(r.json()["value"])


def test_the_rp_lists_dev_registered_and_endpoint_registries(
    dev: Dev, dev_sdk: IoTOperationsMgmtClient, dev_server: ServerProcess
) -> None:
    listed = {str(r["properties"]["loginServer"]): r for r in registries(dev)}  # type: ignore[index]
    mine = listed[dev.registry]
    assert mine["type"] == "Microsoft.ContainerRegistry/registries"
    assert mine["properties"]["source"] == "devRegistry"  # type: ignore[index]
    assert str(mine["id"]).startswith(
        f"/subscriptions/{dev.server.subscription}/resourceGroups/iotops-local/providers/"
        "Microsoft.ContainerRegistry/registries/")
    # iotops acr register / list / delete
    name = unique("contoso").replace("-", "")
    added = iotops(dev_server, "acr", "register", "--name", name, "--login-server",
                   f"{name}.azurecr.io", "-g", "acr-rg")
    assert added.code == 0, added.output
    shown = iotops(dev_server, "acr", "list", "-o", "table")
    assert name in shown.stdout and f"{name}.azurecr.io" in shown.stdout
    assert [r["name"] for r in registries(dev, "acr-rg")] == [name]
    one = dev.admin.get(f"/subscriptions/{dev.server.subscription}/resourceGroups/acr-rg/"
                        f"providers/Microsoft.ContainerRegistry/registries/{name}",
                        params=ACR_VERSION)
    assert one.status_code == 200 and one.json()["properties"]["source"] == "registered"
    bad = dev.admin.put(f"/subscriptions/{dev.server.subscription}/resourceGroups/acr-rg/"
                        "providers/Microsoft.ContainerRegistry/registries/x",
                        params=ACR_VERSION, json={"properties": {"loginServer": "a.io"}})
    assert bad.status_code == 400
    assert iotops(dev_server, "acr", "delete", "--name", name, "-g", "acr-rg").code == 0
    assert registries(dev, "acr-rg") == []
    # The host of an endpoint is offered too.
    scope = Scope(dev_sdk, dev_server.subscription)
    r = dev.admin.put(scope.endpoint_path("ghcr"), params={"api-version": API_VERSION},
                      json={"properties": {"host": "ghcr.io/azure-samples", "authentication": {
                          "method": "Anonymous", "anonymousSettings": {}}}})
    assert r.status_code == 201, r.text
    hosts = {r["properties"]["loginServer"]: r for r in registries(dev)}  # type: ignore[index]
    assert hosts["ghcr.io"]["properties"]["source"] == "endpoint"  # type: ignore[index]
    # Authorization: the listing needs a token like every ARM route.
    bare = httpx.get(f"{dev.server.arm}/subscriptions/{dev.server.subscription}/providers/"
                     "Microsoft.ContainerRegistry/registries", params=ACR_VERSION,
                     verify=ssl.create_default_context(cafile=dev.server.ca))
    assert bare.status_code == 401


# --- the wizard ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def portal(dev_server: ServerProcess) -> Iterator[BrowserContext]:
    pw = sync_playwright().start()
    browser: Browser | None = None
    try:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=chromium_args(dev_server))
        ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
        page = ctx.new_page()
        page.goto(fresh_signin_url(dev_server))
        page.wait_for_url(f"{dev_server.arm}/")
        page.close()
        yield ctx
        ctx.close()
    finally:
        if browser is not None:
            browser.close()
        pw.stop()


@pytest.fixture
def page(portal: BrowserContext) -> Iterator[Page]:
    console = ConsoleWatch()
    p = portal.new_page()
    p.set_default_timeout(20_000)
    console.attach(p)
    yield p
    p.close()
    assert console.unexpected() == [], "the browser console showed errors"


def test_wizard_picks_the_dev_registry_and_the_endpoint_passes_its_test(
    page: Page, dev: Dev, dev_sdk: IoTOperationsMgmtClient, dev_server: ServerProcess
) -> None:
    dev.assign(dev.system_identity()["clientId"], "AcrPull")
    scope = Scope(dev_sdk, dev_server.subscription)
    page.goto(f"{dev_server.arm}/#instance={quote(scope.instance_path, safe='')}")
    expect(page.get_by_label("Instance")).to_have_value(
        re.compile(re.escape(scope.instance), re.IGNORECASE))
    page.locator("#cmd-create").click()
    expect(page.get_by_role("dialog", name="Create registry endpoint")).to_be_visible()
    picker = page.get_by_label("Select a registry")
    option = picker.locator("option", has_text=dev.registry)
    expect(option).to_have_count(1)
    page.get_by_label("Registry endpoint name").fill("devreg")
    picker.select_option(dev.registry)
    expect(page.get_by_label("Host name")).to_have_value(dev.registry)
    # Free text still works, and a typed host that is a known one selects it again.
    page.get_by_label("Host name").fill("example.io")
    expect(picker).to_have_value("")
    page.get_by_label("Host name").fill(dev.registry)
    expect(picker).to_have_value(dev.registry)
    page.locator("#wizard").get_by_role("button", name="Next", exact=True).click()
    page.get_by_label("System managed identity").check()
    page.locator("#wizard").get_by_role("button", name="Next", exact=True).click()
    expect(page.locator("#review-json")).to_contain_text(f'"host": "{dev.registry}"')
    page.locator("#wizard").get_by_role("button", name="Create", exact=True).click()
    expect(page.locator("#wizard")).to_be_hidden()
    row = page.locator('#endpoint-rows tr[data-name="devreg"]')
    expect(row).to_be_visible()
    # The background check reaches the dev registry through its one origin: Available.
    expect(row).to_contain_text("Available", timeout=30_000)
    page.get_by_role("button", name="Test connection to devreg").click()
    expect(page.locator("#test-summary")).to_contain_text("Succeeded", timeout=30_000)
    steps = page.locator("#test-steps > li")
    expect(steps.filter(has_text="TokenExchange")).to_contain_text("Succeeded")
