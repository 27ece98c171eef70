"""The "Go-live report" page in the Airflow UI: it lists the reports newest first and serves each one's HTML and
CSV files, only by names from its own listing. Auth is replaced by nothing here except in the last tests, which
run Airflow's own checks in process (simple auth manager, a migrated metadata DB)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from shopify_max.go_live import DAG_ID, MOUNT_PREFIX
from shopify_max.go_live.app import create_app
from shopify_max.go_live.report import publish_go_live_report
from tests.go_live.dry_run_reports import GENERATED_AT, HOSTILE_NAME, WINDOW, all_reports


@pytest.fixture
def reports_dir(tmp_path):
    base = tmp_path / "go_live_reports"
    publish_go_live_report(all_reports(), run_id="manual__2026-11-28T09:00:00+00:00",
                           generated_at=GENERATED_AT - timedelta(days=1), window=WINDOW, base=base)
    publish_go_live_report(all_reports()[:2], run_id="manual__2026-11-29T16:40:00+00:00",
                           generated_at=GENERATED_AT, window=WINDOW, base=base)
    (tmp_path / "secret.txt").write_text("outside the reports folder")
    return base


@pytest.fixture
def client(reports_dir):
    return TestClient(create_app(reports_dir=lambda: reports_dir, dependencies=[]))


def test_the_index_lists_reports_newest_first_with_their_verdicts(client):
    answer = client.get("/")
    assert answer.status_code == 200 and "no-store" in answer.headers["cache-control"]
    page = answer.text
    newest, older = page.index("manual__2026-11-29T16:40:00+00:00"), page.index("manual__2026-11-28T09:00:00+00:00")
    assert newest < older
    assert "no report from fulfilment, inventory, master_data" in page
    assert 'href="reports/manual__2026-11-29T16-40-00+00-00/"' in page
    assert "Kept: the newest 20 reports" in page


def test_an_empty_folder_says_how_to_make_a_report(tmp_path):
    answer = TestClient(create_app(reports_dir=lambda: tmp_path / "none", dependencies=[])).get("/")
    assert answer.status_code == 200 and "No go-live report yet: trigger the go_live_check DAG" in answer.text


def test_a_report_is_served_with_its_csv_files_and_no_script_allowed(client):
    answer = client.get("/reports/manual__2026-11-28T09-00-00+00-00/")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    assert 'id="section-overview"' in answer.text and "Smith &amp; &lt;Sons&gt;" in answer.text
    assert "default-src 'none'" in answer.headers["content-security-policy"]
    assert "script-src" not in answer.headers["content-security-policy"]
    assert answer.headers["x-content-type-options"] == "nosniff"

    csv_answer = client.get("/reports/manual__2026-11-28T09-00-00+00-00/orders__new_customers.csv")
    assert csv_answer.status_code == 200 and csv_answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv_answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(csv_answer.content.decode("utf-8-sig"))))
    assert rows[0]["name"] == HOSTILE_NAME

    moved = client.get("/reports/manual__2026-11-28T09-00-00+00-00", follow_redirects=False)
    assert moved.status_code == 307 and moved.headers["location"] == "manual__2026-11-28T09-00-00+00-00/"


@pytest.mark.parametrize("path", [
    "/reports/../secret.txt", "/reports/..%2Fsecret.txt/", "/reports/%2E%2E/secret.txt",
    "/reports/manual__2026-11-28T09-00-00+00-00/..%2F..%2Fsecret.txt",
    "/reports/manual__2026-11-28T09-00-00+00-00/%2E%2E",
    "/reports/manual__2026-11-28T09-00-00+00-00/summary.json",  # in the folder, not in the listing
    "/reports/manual__2026-11-29T16-40-00+00-00/inventory__inventory_changes.csv",  # not in this report
    "/reports/no-such-run/", "/reports/manual__2026-11-29T16:40:00+00:00/",
])
def test_only_names_from_the_listing_are_served(client, path):
    answer = client.get(path)
    assert answer.status_code == 404, (path, answer.status_code)
    assert "outside the reports folder" not in answer.text and "run_id" not in answer.text


def test_the_plugin_mounts_the_page_under_go_live_with_a_nav_entry():
    from go_live_report_plugin import GoLiveReportPlugin

    [app] = GoLiveReportPlugin.fastapi_apps
    [view] = GoLiveReportPlugin.external_views
    assert app["url_prefix"] == MOUNT_PREFIX == "/go-live" and app["name"] == "Go-live report"
    assert (view["name"], view["href"], view["destination"]) == ("Go-live report", "go-live/", "nav")
    assert view["nav_top_level"] is True  # else it and the error queue's entry fold into a "Plugins" menu


@pytest.fixture
def airflow_users(airflow_metadata_db, monkeypatch):
    """Airflow's simple auth manager in this process, and a JWT per role (what Airflow's login hands out)."""
    from airflow.api_fastapi import app as airflow_app
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    monkeypatch.setenv("AIRFLOW__CORE__AUTH_MANAGER",
                       "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager")
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "oncall:admin,viewer:viewer")
    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "go-live-test-secret-" + "0123456789abcdef" * 4)
    before = airflow_app._AuthManagerState.instance
    manager = airflow_app.init_auth_manager()
    try:
        yield {role: manager.generate_jwt(SimpleAuthManagerUser(username=role, role=role))
               for role in ("admin", "viewer")}
    finally:
        airflow_app._AuthManagerState.instance = before


def test_every_route_needs_a_user_who_may_trigger_the_go_live_check(airflow_users, reports_dir):
    """A report holds customer names: anonymous → 401, a read-only viewer → 403, an admin → the report."""
    app = create_app(reports_dir=lambda: reports_dir)  # Airflow's own checks, as the plugin mounts it
    client = TestClient(app)
    routes = ["/", "/reports/manual__2026-11-28T09-00-00+00-00/",
              "/reports/manual__2026-11-28T09-00-00+00-00/failures.csv"]
    assert DAG_ID == "go_live_check"
    for path in routes:
        assert client.get(path).status_code == 401, path
        viewer = client.get(path, headers={"Authorization": f"Bearer {airflow_users['viewer']}"})
        assert viewer.status_code == 403 and "Smith" not in viewer.text, path
        admin = client.get(path, headers={"Authorization": f"Bearer {airflow_users['admin']}"})
        assert admin.status_code == 200, path
    client.cookies.set("_token", airflow_users["admin"])  # the browser's way: Airflow's cookie
    assert client.get(routes[1]).status_code == 200
    client.cookies.set("_token", airflow_users["viewer"])
    assert client.get(routes[1]).status_code == 403
