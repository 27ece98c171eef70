"""The error-queue page's queries (both backends), its JSON API (auth replaced by nothing: auth has its own
test, test_error_queue_security.py) and its buttons' conf."""

from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient

from shopify_max.error_queue_page import actions
from shopify_max.error_queue_page.app import create_app
from shopify_max.redaction import REDACTED
from shopify_max.sync_store import AuditEntry, ErrorStatus
from shopify_max.sync_store.error_queue_search import ErrorQueueFilter
from shopify_max.sync_store.tables import error_queue

SECRET_PAYLOAD = {"name": "#1008", "access_token": "shpat_0123456789abcdef0123456789abcdef",
                  "line_items": [{"sku": "SKU-UNKNOWN-404"}]}


def seed(store) -> dict[str, int]:
    ids = {
        "unknown_sku": store.record_error(entity="order", record_key="#1008", stage="map",
                                          reason="line_items[1].sku: SKU 'SKU-UNKNOWN-404' has no MAX part",
                                          payload=SECRET_PAYLOAD, detail={"order_gid": "gid://shopify/Order/8"}),
        "address": store.record_error(entity="order", record_key="#1013", stage="map",
                                      reason="address needs more than six lines"),
        "capture": store.record_error(entity="order", record_key="#broken", stage="capture",
                                      reason="not a list: line_items"),
        "location": store.record_error(entity="inventory", record_key="Pop-up Stand", stage="unmapped_location",
                                       reason="Shopify location 'Pop-up Stand' has no MAX stockroom"),
    }
    store.ignore_error(ids["capture"])
    store.write_audit([AuditEntry(entity="order", record_key="#1008", direction="shopify_read", outcome="captured",
                                  request={"authorization": "Bearer abc"}, response={"ok": True},
                                  run_id="manual__1", task_id="capture_orders", contains_pii=False),
                       AuditEntry(entity="order", record_key="#1013", direction="shopify_read", outcome="captured")])
    return ids


def test_filters_counts_pages_and_detail(sync_store):
    ids = seed(sync_store)
    page = sync_store.search_errors(ErrorQueueFilter(statuses=("open",)))
    assert page.total == 3 and {item["id"] for item in page.items} == {ids["unknown_sku"], ids["address"], ids["location"]}
    # Each count leaves its own dimension out: the status counts show what the other statuses hold.
    assert page.counts["by_status"] == {"ignored": 1, "open": 3}
    assert page.counts["by_entity"] == {"inventory": 1, "order": 2}
    assert page.counts["by_stage"] == {"inventory/unmapped_location": 1, "order/map": 2}

    narrowed = sync_store.search_errors(ErrorQueueFilter(entity="order", stage="map", text="sku-unknown"))
    assert [item["id"] for item in narrowed.items] == [ids["unknown_sku"]]
    assert sync_store.search_errors(ErrorQueueFilter(text="#10")).total == 2  # the record key too
    assert sync_store.search_errors(ErrorQueueFilter(text="100%_")).total == 0  # LIKE wildcards are literal
    assert sync_store.search_errors(ErrorQueueFilter(older_than=timedelta(hours=1))).total == 0
    assert sync_store.search_errors(ErrorQueueFilter(seen_within=timedelta(hours=1))).total == 4
    first, second = (sync_store.search_errors(offset=offset, limit=2) for offset in (0, 2))
    assert first.total == 4 and len(first.items) == len(second.items) == 2
    assert not {i["id"] for i in first.items} & {i["id"] for i in second.items}
    with pytest.raises(ValueError, match="error-queue entity"):
        ErrorQueueFilter(entity="supplier")

    item = sync_store.error_item(ids["unknown_sku"])
    assert item["record_key"] == "#1008" and "shpat_" not in item["payload"]
    trail = sync_store.audit_trail("order", "#1008")
    assert [(entry["direction"], entry["run_id"], entry["task_id"]) for entry in trail] == [
        ("shopify_read", "manual__1", "capture_orders")]
    assert sync_store.error_keys([ids["capture"], 999]) == {ids["capture"]: ("order", "ignored")}
    assert sync_store.error_item(999) is None


@pytest.fixture
def page_store(make_database_url):
    from shopify_max.sync_store import SyncStore

    store = SyncStore.from_url(make_database_url("sqlite"))
    yield store
    store.dispose()


@pytest.fixture
def client(page_store):
    triggered: list[tuple[list, str]] = []

    @contextmanager
    def opener():
        yield page_store

    def trigger(confs, token):
        triggered.append((confs, token))
        return [{"dag_id": "error_replay", "dag_run_id": f"manual__{n}", "state": "queued", "conf": conf,
                 "path": actions.run_path("error_replay", f"manual__{n}")} for n, conf in enumerate(confs)]

    paused = {"error_replay": False}
    app = create_app(store=opener, dependencies=[], trigger=trigger,
                     resolve_runs=lambda run_ids: {"manual__1": {"orders_to_max": {"capture_orders"}}},
                     dag_paused=lambda dag_id: paused.get(dag_id))
    with TestClient(app, cookies={"_token": "the-users-jwt"}) as test_client:
        test_client.triggered = triggered
        test_client.paused = paused
        yield test_client


def test_the_api_lists_filters_and_shows_an_item_redacted_with_its_runs(client, page_store):
    ids = seed(page_store)
    page = client.get("/api/items", params={"status": "open", "entity": "order"}).json()
    assert page["total"] == 2 and page["registry"]["entities"]["order"][0] == "capture"
    assert client.get("/api/items", params={"entity": "nope"}).status_code == 400

    item = client.get(f"/api/items/{ids['unknown_sku']}").json()
    assert item["reason"].startswith("line_items[1].sku") and item["detail"] == {"order_gid": "gid://shopify/Order/8"}
    assert "shpat_" not in json.dumps(item) and REDACTED in item["payload"]
    [entry] = item["audit_trail"]
    assert "abc" not in entry["request"] and entry["link"]["task_path"] == (
        "dags/orders_to_max/runs/manual__1/tasks/capture_orders")
    assert client.get("/api/items/999").status_code == 404

    html = client.get("/").text
    assert 'const APP = "/"' in html and "__AIRFLOW_ROOT__" not in html


def test_the_page_is_told_when_error_replay_is_paused_so_its_actions_would_wait(client, page_store):
    seed(page_store)
    assert client.get("/api/items").json()["actions_dag"] == {"dag_id": "error_replay", "paused": False}
    client.paused["error_replay"] = True
    assert client.get("/api/items").json()["actions_dag"] == {"dag_id": "error_replay", "paused": True}
    assert 'id="paused-warning"' in client.get("/").text


def test_a_note_is_required_to_resolve_or_ignore_and_the_conf_is_what_error_replay_takes(client, page_store):
    ids = seed(page_store)
    for body in ({"action": "ignore", "item_ids": [ids["address"]], "note": "  "},
                 {"action": "resolve", "item_ids": [ids["address"]]},
                 {"action": "delete", "item_ids": [ids["address"]], "note": "x"},
                 {"action": "replay", "item_ids": []}, {"action": "replay", "item_ids": ["1"]},
                 {"action": "replay", "item_ids": [999]}):
        answer = client.post("/api/actions", json=body)
        assert answer.status_code == 400, body
    assert client.post("/api/actions", content="action=replay", headers={
        "content-type": "application/x-www-form-urlencoded"}).status_code == 415
    assert client.triggered == []

    answer = client.post("/api/actions", json={"action": "ignore", "note": "known test location",
                                               "item_ids": [ids["location"], ids["address"], ids["unknown_sku"]]})
    assert answer.status_code == 201
    [(confs, token)] = client.triggered
    assert token == "the-users-jwt"  # the run is triggered as the user who pressed the button
    assert confs == [
        {"action": "ignore", "item_ids": [ids["location"]], "note": "known test location", "entity": "inventory",
         "status": "open"},
        {"action": "ignore", "item_ids": sorted([ids["unknown_sku"], ids["address"]]), "note": "known test location",
         "entity": "order", "status": "open"}]
    assert [run["path"] for run in answer.json()["runs"]] == [
        "dags/error_replay/runs/manual__0", "dags/error_replay/runs/manual__1"]


def test_runs_are_triggered_through_airflows_rest_api_with_the_users_token():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.headers["authorization"] != "Bearer user-jwt":
            return httpx.Response(403, json={"detail": "Forbidden"})
        return httpx.Response(200, json={"dag_run_id": "manual__2026", "state": "queued"})

    conf = {"action": "replay", "item_ids": [3], "note": None, "entity": "order", "status": "open"}
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        [run] = actions.trigger_runs([conf], "user-jwt", base_url="http://airflow", client=client)
        with pytest.raises(actions.AirflowRefused) as refused:
            actions.trigger_runs([conf], "someone-else", base_url="http://airflow", client=client)
    assert refused.value.status_code == 403
    assert seen[0].url.path == "/api/v2/dags/error_replay/dagRuns"
    body = json.loads(seen[0].content)
    assert body["conf"] == conf and body["logical_date"] is None
    assert run["path"] == "dags/error_replay/runs/manual__2026"


def test_action_columns_are_read_when_the_table_has_them(page_store):
    item_id = page_store.record_error(entity="order", record_key="#1", stage="map", reason="r")
    page_store.resolve_error(item_id)
    [row] = page_store.search_errors(ErrorQueueFilter(statuses=(ErrorStatus.RESOLVED,))).items
    assert {"note", "acted_by", "acted_at"} <= set(row) or "note" not in error_queue.c
