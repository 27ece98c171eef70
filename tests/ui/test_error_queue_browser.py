"""The error-queue page in a real headless Chromium (the system's, driven by Playwright) against
``airflow standalone``: log in through Airflow's login page, open the page from the nav, filter, fix a mapping
and replay, ignore with and without a note.

``SHOPIFY_MAX_SCREENSHOTS=docs/images`` saves the screenshots of docs/error-queue.md there.
Skipped only where no Chromium is installed (CI installs the Debian package).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
RUN_TIMEOUT_MS = 240_000


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("no chromium binary (Debian package `chromium`)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        yield browser
        browser.close()


def shoot(page, name: str) -> None:
    if folder := os.environ.get("SHOPIFY_MAX_SCREENSHOTS"):
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"error-queue-{name}.png"))


def test_on_call_works_the_error_queue_from_the_airflow_ui(ui_stack, browser):
    from playwright.sync_api import expect

    started = time.monotonic()
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    page.goto(f"{ui_stack.base_url}/")
    page.get_by_label("Username").fill("oncall")  # Airflow's own login page
    page.get_by_label("Password").fill("oncall-password-1")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{ui_stack.base_url}/", timeout=60_000)

    # (a) The page loads from the nav entry.
    page.get_by_role("link", name="Error queue").click()
    queue = page.frame_locator("iframe")
    rows = queue.locator("#items tbody tr[data-id]")
    expect(rows).to_have_count(6, timeout=30_000)  # the six orders of the seed that cannot be mapped
    expect(queue.locator("[data-count='entity/stage:order/map']")).to_contain_text("6")
    shoot(page, "list")

    # (b) A filter narrows the list.
    queue.locator("#filter-text").fill("SKU-UNKNOWN-404")
    queue.locator("#apply").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("#1008")
    shoot(page, "filtered")

    rows.first.click()
    detail = queue.locator("#detail")
    expect(detail.locator("#detail-reason")).to_contain_text("SKU 'SKU-UNKNOWN-404'")
    expect(detail.locator("#detail-payload")).to_contain_text('"name": "#1008"')
    expect(detail.locator("#runs a").first).to_have_attribute("target", "_top")
    shoot(page, "detail")

    # (c) After the mapping is fixed, Replay resolves the item: an error_replay run, as the user who pressed it.
    with (ui_stack.mappings / "sku_to_part.csv").open("a") as handle:
        handle.write("SKU-UNKNOWN-404,PRT-00001,EA,1\n")
    detail.locator("[data-action=replay]").click()
    queue.locator("#send").click()
    run_line = queue.locator("#run-status .run").first
    expect(run_line.locator("a")).to_have_attribute("href", _run_href())
    expect(run_line.locator(".run-state")).to_have_text("success", timeout=RUN_TIMEOUT_MS)
    expect(detail.locator("#detail-status")).to_have_text("resolved")
    run_id = run_line.get_attribute("data-run-id")
    with ui_stack.client("oncall") as api:
        run = api.get(f"/api/v2/dags/error_replay/dagRuns/{run_id}").json()
    assert run["triggering_user_name"] == "oncall", run
    assert run["conf"]["action"] == "replay" and run["conf"]["status"] == "open"

    # (d) Ignore needs a note: refused without one, done with one.
    queue.locator("#clear-filters").click()
    expect(rows).to_have_count(5)
    queue.locator("tr[data-id]", has_text="#1013").click()
    expect(detail.locator("h2")).to_contain_text("#1013")  # the detail shown is the item clicked
    detail.locator("[data-action=ignore]").click()
    queue.locator("#send").click()
    expect(queue.locator("#dialog-error")).to_contain_text("A note is required")
    queue.locator("#note").fill("")
    shoot(page, "note")
    expect(queue.locator("#run-status .run")).to_have_count(1)  # nothing was triggered
    queue.locator("#note").fill("Test customer's address; MAX keeps it by hand")
    queue.locator("#send").click()
    expect(queue.locator("#run-status .run")).to_have_count(2)
    expect(queue.locator("#run-status .run").first.locator(".run-state")).to_have_text(
        "success", timeout=RUN_TIMEOUT_MS)
    expect(detail.locator("#detail-status")).to_have_text("ignored")
    expect(detail.locator("h2")).to_contain_text("#1013")
    assert ui_stack.store.list_errors(entity="order", status="ignored")[0].record_key == "#1013"
    expect(rows).to_have_count(4)
    print(f"browser test: {time.monotonic() - started:.0f} s after the stack was up")
    page.close()


def _run_href():
    import re

    return re.compile(r"^/dags/error_replay/runs/manual__")
