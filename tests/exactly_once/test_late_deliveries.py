"""Versions only move forward: late, repeated and out-of-order webhooks never export a cancelled order and never
replace a newer version of an order with an older one.

Shopify retries a failed delivery for hours with its original payload, and does not promise any order (SHOPIFY.md
§7). Here three versions of one order arrive through the real inbox in every order: created (10:00), edited
(10:02, a new shipping address) and cancelled (10:05). The gateway is the real one, in its own process.
"""

from __future__ import annotations

import copy
import itertools
import json
import time
import uuid
from datetime import timedelta

import pytest
from conftest import EXAMPLE_ORDER, ListSource

from shopify_max.exactmax.hook import ExactMaxHook
from shopify_max.orders.pipeline import (
    apply_cancellations,
    capture_orders,
    export_staged_orders,
    map_staged_orders,
    summarise_orders_run,
)
from shopify_max.orders.webhook_payload import order_from_webhook_payload
from shopify_max.sync_store import InboxDelivery

CREATED, EDITED, CANCELLED = "orders/create", "orders/updated", "orders/cancelled"
UPDATED_AT = {CREATED: "2026-11-29T10:00:00+00:00", EDITED: "2026-11-29T10:02:00+00:00",
              CANCELLED: "2026-11-29T10:05:00+00:00"}
NEW_ADDRESS = "77 Late Delivery Lane"


def versions_of_one_order() -> dict[str, dict]:
    """Three webhook bodies of one order, as Shopify would send them."""
    number = uuid.uuid4().int % 10**9
    created = copy.deepcopy(EXAMPLE_ORDER)
    created.update({"id": number, "admin_graphql_api_id": f"gid://shopify/Order/{number}", "name": f"#L{number}",
                    "order_number": number, "test": False, "cancelled_at": None, "cancel_reason": None,
                    "updated_at": UPDATED_AT[CREATED]})
    edited = copy.deepcopy(created)
    edited["updated_at"] = UPDATED_AT[EDITED]
    edited["shipping_address"]["address1"] = NEW_ADDRESS
    cancelled = copy.deepcopy(edited)
    cancelled.update({"updated_at": UPDATED_AT[CANCELLED], "cancelled_at": UPDATED_AT[CANCELLED],
                      "cancel_reason": "customer"})
    return {CREATED: created, EDITED: edited, CANCELLED: cancelled}


def deliver(store, topic: str, body: dict) -> None:
    assert store.add_inbox_delivery(InboxDelivery(
        webhook_id=f"wh-{uuid.uuid4().hex}", event_id=f"evt-{uuid.uuid4().hex}", topic=topic,
        payload=json.dumps(body), resource_gid=body["admin_graphql_api_id"]))


def run_orders_flow(store, mappings, run_id: str) -> dict:
    """The orders DAG's steps in order (the GX suite aside: validation has its own tests)."""
    capture_orders(store, None, run_id=run_id, window=None)
    map_staged_orders(store, mappings, run_id=run_id)
    for row in store.orders_in_stage(run_id=run_id, statuses=["mapped"]):
        store.set_stage_status(row.order_gid, "validated", expected=["mapped"], owned_by=run_id)
    hook = ExactMaxHook(backoff_base=0.05, max_retry_wait=0.2)
    export_staged_orders(store, hook, run_id=run_id, task_id="export")
    apply_cancellations(store, hook, run_id=run_id, task_id="cancel")
    return summarise_orders_run(store, run_id=run_id)


def held_version(store, gid: str) -> str:
    return store.staged_orders([gid])[gid].shopify_updated_at.isoformat()


def assert_cancelled_everywhere(store, gateway, versions: dict[str, dict]) -> None:
    gid = versions[CREATED]["admin_graphql_api_id"]
    row = store.staged_orders([gid])[gid]
    assert row.shopify_updated_at.isoformat() == UPDATED_AT[CANCELLED]
    assert json.loads(row.order_json)["cancelled_at"] is not None
    assert row.deferred_json is None
    in_max = gateway.orders_for(f"SHOP{versions[CREATED]['name']}")
    assert len(in_max) <= 1
    if in_max:  # exported before the cancellation was known: cancelled in MAX since
        assert in_max[0]["STATUS_27"] == "4", f"MAX holds an open order for a cancelled Shopify order: {in_max[0]}"
    else:
        assert row.status == "skipped" and "cancelled in Shopify" in row.run_outcome_reason


@pytest.mark.parametrize("arrival", list(itertools.permutations([CREATED, EDITED, CANCELLED])),
                         ids=lambda arrival: "-then-".join(topic.split("/")[1] for topic in arrival))
def test_out_of_order_deliveries_one_run_each_never_leave_an_open_order_for_a_cancelled_one(
        sync_store, mappings, gateway, arrival):
    versions = versions_of_one_order()
    gid = versions[CREATED]["admin_graphql_api_id"]
    seen: list[str] = []
    older = 0
    for step, topic in enumerate(arrival):
        deliver(sync_store, topic, versions[topic])
        summary = run_orders_flow(sync_store, mappings, f"run-{step}")
        seen.append(held_version(sync_store, gid))
        assert seen == sorted(seen), f"an older version replaced a newer one: {seen}"
        if max(seen) != UPDATED_AT[topic]:  # this delivery was older than what was held: recorded, changed nothing
            older += 1
            assert summary["read"] == 0
        assert sync_store.inbox_counts().get("ignored", 0) == older  # every older delivery, and only those
    assert_cancelled_everywhere(sync_store, gateway, versions)
    exported = [entry for entry in sync_store.audit_entries(entity="order", record_key=versions[CREATED]["name"])
                if (entry["direction"], entry["outcome"]) == ("shopify_to_max", "exported")]
    # Only the first delivery can be exported (every later one is newer, or stale); what went to MAX is that
    # version: the edited address exactly when the edit came first, and nothing when the cancellation did.
    assert len(exported) == (0 if arrival[0] == CANCELLED else 1)
    if exported:
        assert (NEW_ADDRESS in exported[0]["request"]) == (arrival[0] == EDITED)


@pytest.mark.parametrize("arrival", list(itertools.permutations([CREATED, EDITED, CANCELLED])),
                         ids=lambda arrival: "-then-".join(topic.split("/")[1] for topic in arrival))
def test_out_of_order_deliveries_in_one_run_export_nothing(sync_store, mappings, gateway, arrival):
    versions = versions_of_one_order()
    for topic in arrival:
        deliver(sync_store, topic, versions[topic])
    summary = run_orders_flow(sync_store, mappings, "one-run")
    assert summary == {**summary, "read": 1, "exported": 0, "skipped": 1}
    assert gateway.orders_for(f"SHOP{versions[CREATED]['name']}") == []
    assert_cancelled_everywhere(sync_store, gateway, versions)


def test_a_retried_create_after_the_cancellation_is_recorded_as_stale_and_changes_nothing(
        sync_store, mappings, gateway):
    """The case the adversarial test found: cancelled (10:05) processed first, then Shopify's retry of the
    original create (10:00) arrives. It must not be taken as 'changed since it was skipped'."""
    versions = versions_of_one_order()
    deliver(sync_store, CANCELLED, versions[CANCELLED])
    run_orders_flow(sync_store, mappings, "first")
    deliver(sync_store, CREATED, versions[CREATED])
    deliver(sync_store, CREATED, versions[CREATED] | {"note": "a second retry"})  # a repeat with its own webhook id

    report = capture_orders(sync_store, ListSource(order_from_webhook_payload(versions[CREATED])), run_id="late",
                            window=(order_from_webhook_payload(versions[CREATED]).updated_at,) * 2)

    assert report.decided == {"stale: older than the version held (skipped), ignored": 1}
    assert report.stale_deliveries == 2
    assert sync_store.inbox_counts() == {"processed": 1, "ignored": 2}
    [stale] = [e for e in sync_store.audit_entries(entity="order") if e["outcome"] == "stale_ignored"]
    assert UPDATED_AT[CANCELLED][:16] in stale["response"]
    assert_cancelled_everywhere(sync_store, gateway, versions)


@pytest.mark.slow  # waits out a 1.5 s MAX write
def test_a_cancellation_that_arrives_while_the_export_is_in_flight_cancels_the_max_order_after_it(
        sync_store, mappings, gateway):
    """The write to MAX settles with the document it started with; the newer version waits for it, then decides:
    the order exported a moment before is cancelled in MAX by the next run. Nothing is lost in between."""
    from concurrent.futures import ThreadPoolExecutor

    versions = versions_of_one_order()
    gid = versions[CREATED]["admin_graphql_api_id"]
    deliver(sync_store, CREATED, versions[CREATED])
    capture_orders(sync_store, None, run_id="exporting-run", window=None)
    map_staged_orders(sync_store, mappings, run_id="exporting-run")
    sync_store.set_stage_status(gid, "validated", expected=["mapped"])
    gateway.set_faults([{"kind": "delay", "seconds": 1.5, "method": "POST", "path": "/sales-orders"}])
    with ThreadPoolExecutor(1) as pool:
        exporting = pool.submit(export_staged_orders, sync_store, ExactMaxHook(backoff_base=0.05),
                                run_id="exporting-run", task_id="export", write_lease=timedelta(seconds=30))
        deadline = time.monotonic() + 30
        while sync_store.staged_orders([gid])[gid].lease_owner is None:
            assert time.monotonic() < deadline, "the export never took its write lease"
            time.sleep(0.02)
        deliver(sync_store, CANCELLED, versions[CANCELLED])
        during = capture_orders(sync_store, None, run_id="run-during-export", window=None)
        assert exporting.result() == {"exported": 1}
    gateway.set_faults()

    assert during.decided == {"in flight (exporting): newer version waits until the MAX write settles": 1}
    row = sync_store.staged_orders([gid])[gid]
    assert row.status == "exported" and row.deferred_json is not None
    assert held_version(sync_store, gid) == UPDATED_AT[CREATED]  # the exported version is what the row holds

    summary = run_orders_flow(sync_store, mappings, "next-run")

    assert summary["exported"] == 1  # the cancellation, written to MAX
    assert_cancelled_everywhere(sync_store, gateway, versions)
