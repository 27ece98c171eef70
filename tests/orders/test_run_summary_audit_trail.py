"""Run summaries are folded from the append-only run-outcome entries in ``audit_log``, so they stay true after a
run is cleared and run again, and an order a later run took over stays in its first run's summary (issue 12).

The orders go through the real capture, mapping and export steps; the export writes to the reference MAX gateway
over HTTP (``ExactMaxHook``); the sync store is real (SQLite and PostgreSQL).
"""

from __future__ import annotations

import copy
import json
import threading
import uuid
from datetime import timedelta

import pytest
from order_payloads import EXAMPLE_ORDER, ListSource

from max_gateway.app import GatewayAuth
from sandboxes.exactmax.server import GatewayConfig
from sandboxes.exactmax.server import run_in_thread as run_gateway
from shopify_max.exactmax.hook import ExactMaxHook
from shopify_max.orders.pipeline import capture_orders, export_staged_orders, map_staged_orders, summarise_orders_run
from shopify_max.orders.webhook_payload import order_from_webhook_payload
from shopify_max.sync_store import InboxDelivery, OrderStageStatus, RunOutcomeCode
from shopify_max.sync_store.run_outcome_log import DIRECTION

MAX_USER, MAX_PASSWORD = "max-summary", "max-summary-password"
CANCELLED_AT = "2022-01-02T10:00:00-05:00"


@pytest.fixture(scope="module")
def gateway_server(tmp_path_factory):
    config = GatewayConfig(database_url=f"sqlite:///{tmp_path_factory.mktemp('max') / 'max.sqlite'}", products=12,
                           auth=GatewayAuth(username=MAX_USER, password=MAX_PASSWORD))
    with run_gateway(config) as gateway:
        yield gateway


@pytest.fixture
def max_hook(gateway_server, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_EXACTMAX_DEFAULT", json.dumps({
        "conn_type": "http", "host": gateway_server.host, "port": gateway_server.port, "schema": "http",
        "login": MAX_USER, "password": MAX_PASSWORD, "extra": {"timeout": 5, "write_attempts": 2}}))
    return ExactMaxHook()


def _order(**changes):
    """Shopify's example order as an order of its own (a fresh id and name: the gateway keeps every CUSTPO)."""
    number = uuid.uuid4().int % 10**9
    payload = copy.deepcopy(EXAMPLE_ORDER)
    payload.update({"cancelled_at": None, "test": False, "name": f"#S{number}", "id": number,
                    "admin_graphql_api_id": f"gid://shopify/Order/{number}", **changes})
    return order_from_webhook_payload(payload)


def _lines_with_sku(sku):
    lines = copy.deepcopy(EXAMPLE_ORDER["line_items"])
    lines[0]["sku"] = sku
    return lines


def _capture(store, run_id, *orders):
    window = (orders[0].updated_at, orders[0].updated_at) if orders else None
    return capture_orders(store, ListSource(*orders) if orders else None, run_id=run_id, window=window).as_xcom()


def _run(store, mappings, hook, run_id, *orders):
    """One orders_to_max run: capture → map → (the GX suite has its own tests) validated → export → summary."""
    _capture(store, run_id, *orders)
    map_staged_orders(store, mappings, run_id=run_id)
    for staged in store.orders_in_stage(run_id=run_id, statuses=[OrderStageStatus.MAPPED]):
        assert store.set_stage_status(staged.order_gid, OrderStageStatus.VALIDATED, expected=["mapped"])
    export_staged_orders(store, hook, run_id=run_id, task_id="export")
    return summarise_orders_run(store, run_id=run_id)


def _outcome_entries(store, order_name):
    return [(entry["run_id"], entry["outcome"], json.loads(entry["response"]))
            for entry in store.audit_entries(entity="order", record_key=order_name) if entry["direction"] == DIRECTION]


def test_a_cleared_run_run_again_keeps_its_summary_and_a_later_run_does_not_take_it(sync_store, mappings, max_hook):
    order = _order()
    first = _run(sync_store, mappings, max_hook, "r1", order)
    assert (first["read"], first["exported"], first["skipped"], first["failed"]) == (1, 1, 0, 0)

    # The run is cleared and runs again: its capture reads the order again, which is now unchanged.
    again = _run(sync_store, mappings, max_hook, "r1", order)
    assert again == first
    # A later run reads it too: that run skips it, and the first run's summary is unchanged.
    later = _run(sync_store, mappings, max_hook, "r2", order)
    assert (later["read"], later["skipped"], later["skip_reasons"]) == (1, 1, {"unchanged": 1})
    assert summarise_orders_run(sync_store, run_id="r1") == first

    [(run_id, outcome, exported)] = [e for e in _outcome_entries(sync_store, order.name) if e[1] == "exported"]
    assert (run_id, exported["order_gid"], exported["code"]) == ("r1", order.id, "exported")
    assert exported["max_ordnum"] and exported["reason"] == f"exported as ORDNUM {exported['max_ordnum']}"


def test_a_cleared_run_keeps_its_failures_and_its_unreadable_deliveries(sync_store, mappings):
    unknown_sku = _order(line_items=_lines_with_sku("NOT-IN-MAX"))
    sync_store.add_inbox_delivery(InboxDelivery(webhook_id=f"wh-{uuid.uuid4().hex}", topic="orders/create",
                                                payload='{"name": "#broken", "line_items": "not a list"}'))
    _capture(sync_store, "r1", unknown_sku)
    map_staged_orders(sync_store, mappings, run_id="r1")
    first = summarise_orders_run(sync_store, run_id="r1")
    assert (first["read"], first["failed"], first["failure_kinds"]) == (2, 2, {"capture_failed": 1,
                                                                              "mapping_failed": 1})
    assert len(first["error_queue_ids"]) == 2

    capture_again = _capture(sync_store, "r1", unknown_sku)  # cleared: the delivery is not read twice
    map_staged_orders(sync_store, mappings, run_id="r1")
    assert capture_again["bad_payloads"] == 0
    assert summarise_orders_run(sync_store, run_id="r1") == first


def test_an_order_pending_in_one_run_and_adopted_by_the_next_stays_in_both_summaries(sync_store, mappings, max_hook):
    order = _order()
    _capture(sync_store, "run-a", order)  # run A dies after its capture: the order is pending in A

    b = _run(sync_store, mappings, max_hook, "run-b")  # run B reads nothing new, adopts the order and exports it
    a = summarise_orders_run(sync_store, run_id="run-a")

    assert (b["read"], b["exported"]) == (1, 1)
    assert (a["read"], a["skipped"], a["skip_reasons"]) == (1, 1, {"handed_over": 1})
    assert a["skip_examples"] == {"handed_over": [f"{order.name}: handed over to run run-b"]}
    [handover] = [data for run_id, outcome, data in _outcome_entries(sync_store, order.name) if run_id == "run-a"]
    assert (handover["code"], handover["handed_over_to"], handover["order_gid"]) == ("handed_over", "run-b", order.id)


def test_an_order_whose_expired_write_a_newer_version_takes_over_is_handed_over(sync_store):
    order = _order()
    _capture(sync_store, "run-a", order)
    staged = sync_store.staged_orders([order.id])[order.id]
    assert sync_store.set_stage_status(order.id, OrderStageStatus.VALIDATED)
    assert sync_store.take_write_lease(order.id, run_id="run-a", owner="a/export", ttl=timedelta(seconds=-1),
                                       from_status=OrderStageStatus.VALIDATED, to_status=OrderStageStatus.EXPORTING)
    newer = _order(id=order.legacy_resource_id, admin_graphql_api_id=order.id, name=order.name,
                   updated_at="2030-01-01T00:00:00+00:00")
    staged = sync_store.staged_orders([order.id])[order.id]

    assert sync_store.defer_newer_version(staged, order_json=newer.model_dump_json(), updated_at=newer.updated_at,
                                          adopt_run_id="run-b")
    assert not sync_store.defer_newer_version(staged, order_json=newer.model_dump_json(),  # the version read is gone
                                              updated_at=newer.updated_at, adopt_run_id="run-c")

    summary = summarise_orders_run(sync_store, run_id="run-a")
    assert summary["skip_examples"] == {"handed_over": [f"{order.name}: handed over to run run-b"]}
    assert [(run_id, data["handed_over_to"]) for run_id, _, data in _outcome_entries(sync_store, order.name)] == [
        ("run-a", "run-b")]


def test_each_adoption_is_handed_over_once_when_two_runs_adopt_at_once(sync_store):
    orders = [_order() for _ in range(12)]
    _capture(sync_store, "run-a", *orders)
    moved: dict[str, int] = {}
    start = threading.Barrier(2)

    def adopt(run_id):
        start.wait()
        moved[run_id] = sum(sync_store.adopt_unfinished_orders(run_id) for _ in range(3))

    threads = [threading.Thread(target=adopt, args=(run_id,)) for run_id in ("run-b", "run-c")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    handovers = [data for order in orders for _, _, data in _outcome_entries(sync_store, order.name)]
    assert len(handovers) == sum(moved.values()) >= len(orders)
    # Each order's hand-overs chain from run A: every move is recorded by the run that had the order.
    for order in orders:
        chain = [(run_id, data["handed_over_to"]) for run_id, _, data in _outcome_entries(sync_store, order.name)]
        assert chain[0][0] == "run-a"
        assert all(chain[i][1] == chain[i + 1][0] for i in range(len(chain) - 1)), chain
        assert sync_store.staged_orders([order.id])[order.id].run_id == chain[-1][1]


def test_skips_of_one_kind_group_under_one_key_with_examples_whose_colons_survive(sync_store, mappings):
    cancelled = [_order(cancelled_at=CANCELLED_AT, updated_at=CANCELLED_AT) for _ in range(4)]
    unknown_sku = _order(line_items=_lines_with_sku("NOT-IN-MAX"))

    _capture(sync_store, "r1", *cancelled, unknown_sku)
    map_staged_orders(sync_store, mappings, run_id="r1")
    summary = summarise_orders_run(sync_store, run_id="r1")

    assert summary["skip_reasons"] == {"cancelled_before_export": 4}
    reason = "cancelled in Shopify at 2022-01-02T10:00:00-05:00 before export"
    assert summary["skip_examples"] == {"cancelled_before_export": [f"{o.name}: {reason}" for o in cancelled[:3]]}
    [item] = sync_store.list_errors(stage="map")
    assert summary["failure_kinds"] == {"mapping_failed": 1} and summary["error_queue_ids"] == [item.id]
    assert summary["failure_examples"] == {"mapping_failed": [f"{unknown_sku.name}: {item.reason}"]}
    assert "line_items[0].sku: " in item.reason
    # The entry itself holds no personal data: it points at the error-queue item, which holds the reason.
    [(_, outcome, failed)] = _outcome_entries(sync_store, unknown_sku.name)
    assert (outcome, failed["error_queue_id"]) == ("failed", item.id)
    assert failed["reason"] == f"mapping failed: the reason is on error queue item {item.id}"
    assert RunOutcomeCode(failed["code"]) == RunOutcomeCode.MAPPING_FAILED
