"""The portal's Test button against the real registry of ``iotops serve --dev``: the report's
summary never contradicts its steps, the user can name a repository, and the list shows the
background health of an endpoint that cannot pull as Degraded, never Available."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.support.portal import (
    CHROMIUM,
    ConsoleWatch,
    chromium_args,
    fresh_signin_url,
    screenshot,
)
from tests.support.server import ServerProcess
from tests.test_access import World, world_on
from tests.test_honest_health import background_health

ANON = {"method": "Anonymous", "anonymousSettings": {}}


@pytest.fixture(scope="module")
def world(dev_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with world_on(dev_server, tmp_path_factory.mktemp("portal-health")) as w:
        w.dev.anonymous_pull(False)
        yield w


# Module scope, as in test_portal.py: the sync Playwright API keeps a loop running on this
# thread while it is open.
@pytest.fixture(scope="module")
def browser(dev_server: ServerProcess, world: World) -> Iterator[Browser]:
    pw = sync_playwright().start()
    try:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=chromium_args(dev_server))
        yield b
        b.close()
    finally:
        pw.stop()


@pytest.fixture(scope="module")
def context(browser: Browser, dev_server: ServerProcess) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    page = ctx.new_page()
    page.goto(fresh_signin_url(dev_server))
    page.wait_for_url(f"{dev_server.arm}/")
    page.close()
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    console = ConsoleWatch()
    p = context.new_page()
    p.set_default_timeout(30_000)
    console.attach(p)
    yield p
    p.close()
    assert console.unexpected() == [], "the browser console showed errors"


def test_summary_follows_the_steps(page: Page, world: World, dev_server: ServerProcess) -> None:
    world.put_endpoint("portal-anon", ANON)
    # The background check after the PUT (the registry denies anonymous pulls) is what the
    # list shows.
    assert background_health(world, "portal-anon")["state"] == "Degraded"
    page.goto(f"{dev_server.arm}/#instance={quote(world.path(), safe='')}")
    row = page.locator('#endpoint-rows tr[data-name="portal-anon"]')
    expect(row).to_contain_text("Degraded")
    expect(row).to_contain_text("pull permission is not verified")
    expect(row).not_to_contain_text("Available")

    page.get_by_role("button", name="Test connection to portal-anon").click()
    summary = page.locator("#test-summary")
    expect(summary).to_contain_text("PartiallyVerified")
    expect(summary).to_contain_text("pull permission is not verified")
    expect(summary).not_to_contain_text("every check passed")
    steps = page.locator("#test-steps > li")
    expect(steps.filter(has_text="PullPermission")).to_contain_text("PullNotVerified")
    screenshot(page, "17-test-partially-verified")

    # Naming a repository turns the unverified pull into a named denial.
    page.get_by_label("Repository to pull from (optional)").fill(world.repo)
    page.get_by_role("button", name="Run again").click()
    expect(summary).to_contain_text("Failed")
    expect(summary).to_contain_text("the PullPermission step failed")
    expect(steps.filter(has_text="PullPermission")).to_contain_text("PullDenied")
    expect(steps.filter(has_text="PullPermission")).to_contain_text(world.repo)

    # With anonymous pull enabled, the same repository proves a pull: Succeeded.
    world.dev.anonymous_pull(True)
    try:
        page.get_by_role("button", name="Run again").click()
        expect(summary).to_contain_text(re.compile(r"Succeeded.*every check passed"))
        expect(summary).to_contain_text(f"including a pull from '{world.repo}'")
    finally:
        world.dev.anonymous_pull(False)
