"""Every route of the error-queue page requires an Airflow user allowed to trigger DAGs, on a real
``airflow standalone`` with the simple auth manager (no ALL_ADMINS): anonymous → 401/403 and no data, a viewer
→ 403, an admin → the data. The routes are read from the app itself, so a new one cannot slip through."""

from __future__ import annotations

import re

import pytest
from starlette.routing import Route

from shopify_max.error_queue_page import MOUNT_PREFIX
from shopify_max.error_queue_page.app import create_app

pytestmark = pytest.mark.e2e


def plugin_requests() -> list[tuple[str, str]]:
    """(method, path) of every route of the page's app as Airflow mounts it; path parameters filled in."""
    found = []
    for route in create_app().routes:
        assert isinstance(route, Route), f"unexpected route type {route!r}: check its protection, then this test"
        path = MOUNT_PREFIX + re.sub(r"\{[^}]+\}", "1", route.path)
        found += [(method, path) for method in sorted(route.methods or ()) if method != "HEAD"]
    return found


def test_the_routes_are_what_this_test_knows(ui_stack):
    assert plugin_requests() == [
        ("GET", "/error-queue/"), ("GET", "/error-queue/api/items"), ("GET", "/error-queue/api/items/1"),
        ("POST", "/error-queue/api/actions")]


@pytest.mark.parametrize("user", [None, "viewer", "forged"])
def test_anonymous_viewers_and_forged_tokens_get_no_data_from_any_route(ui_stack, user):
    with ui_stack.client(None if user == "forged" else user) as client:
        if user == "forged":
            client.headers["Authorization"] = "Bearer eyJhbGciOiJIUzUxMiJ9.eyJzdWIiOiJvbmNhbGwifQ.c2lnbmF0dXJl"
        for method, path in plugin_requests():
            body = {"action": "replay", "item_ids": [1], "note": None} if method == "POST" else None
            answer = client.request(method, path, json=body)
            expected = {None: (401,), "viewer": (403,), "forged": (401, 403)}[user]
            assert answer.status_code in expected, (user, method, path, answer.status_code, answer.text[:200])
            assert "#1008" not in answer.text and "SKU" not in answer.text and "<html" not in answer.text
        # The same for a browser that only has a cookie (the viewer's, or none).
        if user == "viewer":
            client.cookies.set("_token", client.headers.pop("Authorization").split()[1])
            assert client.get(f"{MOUNT_PREFIX}/api/items").status_code == 403


def test_an_oncall_user_reads_the_queue_and_the_server_refuses_ignore_without_a_note(ui_stack):
    with ui_stack.client("oncall") as client:
        assert client.get(f"{MOUNT_PREFIX}/").status_code == 200
        page = client.get(f"{MOUNT_PREFIX}/api/items", params={"text": "SKU-UNKNOWN-404"}).json()
        assert [item["record_key"] for item in page["items"]] == ["#1008"]
        # The page reads the paused flag from Airflow's metadata DB: it warns when its actions would wait.
        paused = client.get("/api/v2/dags/error_replay").json()["is_paused"]
        assert page["actions_dag"] == {"dag_id": "error_replay", "paused": paused}
        runs_before = client.get("/api/v2/dags/error_replay/dagRuns").json()["total_entries"]
        answer = client.post(f"{MOUNT_PREFIX}/api/actions",
                             json={"action": "ignore", "item_ids": [page["items"][0]["id"]], "note": ""})
        assert answer.status_code == 400 and "note is required" in answer.json()["detail"]
        assert client.get("/api/v2/dags/error_replay/dagRuns").json()["total_entries"] == runs_before
