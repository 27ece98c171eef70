"""The go-live report in a real headless Chromium (Debian's, driven by Playwright): every section heading and the
SVG charts render, from the file on disk, through the page's app (with its CSP), and in a real
``airflow standalone`` from the "Go-live report" nav entry after Airflow's own login.

``SHOPIFY_MAX_SCREENSHOTS=docs/images`` saves screenshots there. Skipped only where no Chromium is installed.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from shopify_max.go_live import MOUNT_PREFIX
from shopify_max.go_live.app import create_app
from shopify_max.go_live.report import publish_go_live_report
from shopify_max.http_server import serve_in_thread
from tests.go_live.dry_run_reports import GENERATED_AT, HOSTILE_NAME, RUN_ID, SECTIONS, WINDOW, all_reports
from tests.live_airflow import airflow_standalone

pytestmark = pytest.mark.e2e
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


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
        page.screenshot(path=str(Path(folder) / f"go-live-{name}.png"))


def assert_sections_and_charts(page) -> None:
    from playwright.sync_api import expect

    for section_id, heading in SECTIONS.items():
        expect(page.locator(f"section#{section_id} > h2")).to_have_text(heading)
    for chart in ("chart-failures-overview", "chart-inventory-swings", "chart-coverage-kinds",
                  "chart-customer-decisions", "chart-text-rules"):
        svg = page.locator(f"svg#{chart}")
        expect(svg).to_be_visible()
        box = svg.bounding_box()
        assert box and box["width"] > 300 and box["height"] > 20, (chart, box)
    expect(page.locator("svg#chart-inventory-swings g.bar")).to_have_count(15)
    expect(page.locator("#section-customers")).to_contain_text(HOSTILE_NAME)  # text, as written
    expect(page.locator("#verdict")).to_contain_text("problems to resolve")


def test_the_report_file_opens_in_chromium_with_every_section_and_its_charts(browser, tmp_path):
    files = publish_go_live_report(all_reports(), run_id=RUN_ID, generated_at=GENERATED_AT, window=WINDOW,
                                   base=tmp_path)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(files.html.as_uri())
    assert_sections_and_charts(page)
    shoot(page, "report")
    assert requests == [files.html.as_uri()]  # self-contained: nothing else is fetched
    assert errors == []
    page.close()


def test_the_ui_page_lists_the_report_and_serves_it_and_its_csv(browser, tmp_path):
    from playwright.sync_api import expect

    publish_go_live_report(all_reports(), run_id=RUN_ID, generated_at=GENERATED_AT, window=WINDOW, base=tmp_path)
    airflow_like = FastAPI()  # Airflow's API server mounts the plugin's app the same way
    airflow_like.mount(MOUNT_PREFIX, create_app(reports_dir=lambda: tmp_path, dependencies=[]))
    with serve_in_thread(airflow_like) as base_url:
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        violations: list[str] = []
        page.on("console", lambda message: violations.append(message.text) if message.type == "error" else None)
        page.goto(f"{base_url}{MOUNT_PREFIX}/")
        expect(page.locator("#reports tbody tr")).to_have_count(1)
        shoot(page, "index")
        page.get_by_role("link", name=RUN_ID).click()
        assert_sections_and_charts(page)
        # The CSP allows the inline style: the report looks as it does from the file.
        header = page.locator("#section-overview th").first
        assert header.evaluate("th => getComputedStyle(th).backgroundColor") == "rgb(242, 242, 242)"
        with page.expect_download() as download:
            page.locator("#section-inventory").get_by_role("link", name="inventory__inventory_changes.csv").click()
        assert download.value.suggested_filename == "inventory__inventory_changes.csv"
        assert violations == []
        page.close()


def test_an_oncall_user_opens_the_report_from_the_airflow_nav_and_a_viewer_is_refused(browser, tmp_path):
    from playwright.sync_api import expect

    reports = tmp_path / "go_live_reports"
    publish_go_live_report(all_reports(), run_id=RUN_ID, generated_at=GENERATED_AT, window=WINDOW, base=reports)
    passwords = tmp_path / "passwords.json"
    passwords.write_text(json.dumps({"oncall": "oncall-password-1", "viewer": "viewer-password-1"}))
    env = {"AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "oncall:admin,viewer:viewer",
           "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
           "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True", "AIRFLOW__CORE__PARALLELISM": "2",
           "SHOPIFY_MAX_GO_LIVE_REPORTS_DIR": str(reports)}
    with airflow_standalone(tmp_path, all_admins=False, env=env) as live:
        token = httpx.post(f"{live.base_url}/auth/token", json={"username": "viewer", "password": "viewer-password-1"},
                           timeout=30).json()["access_token"]
        refused = httpx.get(f"{live.base_url}{MOUNT_PREFIX}/", headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert refused.status_code == 403 and RUN_ID not in refused.text
        assert httpx.get(f"{live.base_url}{MOUNT_PREFIX}/", timeout=30).status_code == 401

        page = browser.new_page(viewport={"width": 1600, "height": 1000}, accept_downloads=True)
        page.goto(f"{live.base_url}/")
        page.get_by_label("Username").fill("oncall")  # Airflow's own login page
        page.get_by_label("Password").fill("oncall-password-1")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{live.base_url}/", timeout=60_000)
        expect(page.get_by_role("link", name="Error queue")).to_be_visible()  # still in the nav, not in a menu
        page.get_by_role("link", name="Go-live report").click()
        frame = page.frame_locator("iframe")
        frame.get_by_role("link", name=RUN_ID).click()
        for section_id, heading in SECTIONS.items():
            expect(frame.locator(f"section#{section_id} > h2")).to_have_text(heading, timeout=30_000)
        expect(frame.locator("svg#chart-inventory-swings")).to_be_visible()
        shoot(page, "airflow-nav")
        with page.expect_download() as download:  # Airflow's iframe allows downloads: the CSVs open from the UI
            frame.locator("#section-overview").get_by_role("link", name="failures.csv").click()
        assert download.value.suggested_filename == "failures.csv"
        page.close()
