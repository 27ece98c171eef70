"""The orders dry run (``order_tasks.orders_dry_run``) against both sandboxes over HTTP and a real sync store
(SQLite and PostgreSQL): it writes nothing anywhere, proven by every row of the sync store and by both sandboxes'
own write logs, and what it says a real run would do, order by order, is what the next real run (the
``orders_to_max`` task bodies, in order) then does."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from sandboxes.shopify.app import SandboxConfig
from sandboxes.shopify.app import run_in_thread as run_shop
from shopify_max.airflow_glue import order_tasks
from shopify_max.clock import utcnow
from shopify_max.orders.summary import fold_run_outcomes
from shopify_max.sync_store import InboxDelivery, OrderStageStatus
from tests.orders.dry_run_stack import PRODUCTS, delta, sandboxes, sync_store_rows

SEEDED_ORDERS = 30
RECORD = re.compile(r"^order #\d+ \(gid://shopify/Order/\d+\)$")
# A real run's outcome of an order (outcome, kind) as the dry run names it; every other skip is "skipped".
# The reason a dry run gives a failure the real run puts on the error queue at these stages.
REASON_AT_STAGE = {"capture": "capture_failed", "update_after_export": "edited_after_export",
                   "export": "duplicate_custpo", "cancel": "cannot_cancel"}
AS_DRY_RUN_OUTCOME = {("exported", "exported"): "would_export", ("exported", "cancelled_in_max"): "would_cancel",
                      ("skipped", "unchanged"): "unchanged", ("skipped", "exported_earlier"): "already_exported",
                      ("skipped", "already_exported"): "already_exported",
                      ("skipped", "found_in_max"): "already_exported"}


@pytest.fixture(scope="module")
def shop():
    with run_shop(SandboxConfig(products=PRODUCTS, orders=SEEDED_ORDERS, plan="plus")) as running:
        yield running


@pytest.fixture
def stack(shop, database_url, tmp_path, monkeypatch):
    with sandboxes(shop, database_url, str(tmp_path / "max.sqlite"), monkeypatch, orders=SEEDED_ORDERS) as running:
        yield running


def real_run(run_id: str, window) -> dict:
    """One orders_to_max run over ``window`` (its backfill params): the task bodies, in the DAG's order."""
    params = {"window_start": window[0].isoformat(), "window_end": window[1].isoformat()}
    order_tasks.capture_orders(run_id, params, None, None, "capture_orders")
    order_tasks.map_orders(run_id, params)
    order_tasks.validate_orders(run_id, "validate_sales_orders", params)
    order_tasks.export_orders(run_id, "export_sales_orders_to_max", params)
    order_tasks.cancel_orders(run_id, "cancel_orders_cancelled_after_export", params)
    return order_tasks.summarise(run_id, params)


def outcomes_of_run(store, run_id: str) -> dict[str, str]:
    """Each order's outcome in a real run, named as the dry run names it."""
    final = fold_run_outcomes(store.run_outcome_entries(run_id)).values()
    return {entry.order_name: "would_fail" if entry.outcome == "failed" else
            AS_DRY_RUN_OUTCOME.get((str(entry.outcome), str(entry.code)), "skipped") for entry in final}


def assert_the_run_did_what_the_dry_run_said(stack, report, summary, run_id, writes_before) -> None:
    written = delta(stack.writes(), writes_before)
    assert {kind: written[kind] for kind in ("sales_orders", "customers", "cancellations")} == report.would_write
    assert written["credit_memos"] == 0
    assert summary["exported"] == report.would_write["sales_orders"] + report.would_write["cancellations"]
    assert summary["failed"] == len(report.would_fail)
    assert outcomes_of_run(stack.store, run_id) == {row["order"]: row["outcome"] for row in report.tables["orders"]}
    # Each failure is an error-queue item of the run, with the same reason, field and rule.
    items = [item for item in stack.store.list_errors(entity="order") if item.id in summary["error_queue_ids"]]
    assert sorted(failure.message for failure in report.would_fail) == sorted(item.reason for item in items)
    by_reason = {item.reason: item for item in items}
    for failure in report.would_fail:
        item = by_reason[failure.message]
        if item.stage == "map":
            assert (failure.field, failure.reason) == (item.detail["errors"][0]["field"],
                                                       item.detail["errors"][0]["rule"])
        elif item.stage == "validate":
            assert (failure.field, failure.reason) == (item.detail["failures"][0]["column"],
                                                       item.detail["failures"][0]["expectation"])
        else:
            assert failure.reason == REASON_AT_STAGE[item.stage]


def test_a_dry_run_writes_nothing_and_the_next_run_does_order_by_order_what_it_said(stack):
    now = utcnow()
    window = (now - timedelta(hours=5, minutes=30), now + timedelta(minutes=30))  # under 6 hours: page by page
    first = real_run("first", window)
    assert first["read"] == SEEDED_ORDERS and first["exported"] > 0 and first["failed"] > 0
    exported = [row for row in stack.store.orders_in_stage(run_id="first", statuses=[OrderStageStatus.EXPORTED])]
    cancelled, retagged = ({"id": row.order_gid} for row in exported[:2])
    stack.order_action(cancelled, "cancel")  # cancelled in Shopify after export: MAX cancels it
    stack.order_action(retagged, "update", note="gift wrap", tags=["vip"])  # nothing the MAX order carries
    guest = stack.new_order([{"sku": "SKU-00001", "quantity": 2}])
    unknown = stack.new_order([{"sku": "SKU-NOT-IN-MAX", "quantity": 1}])
    # A delivery waiting in the inbox whose body is no order: a real run claims it and fails it at capture.
    assert stack.store.add_inbox_delivery(InboxDelivery(webhook_id="wh-broken", topic="orders/create",
                                                        payload='{"name": "#broken", "line_items": "not a list"}'))
    rows_before, writes_before = sync_store_rows(stack.store), stack.writes()

    report = order_tasks.orders_dry_run(*window)

    assert sync_store_rows(stack.store) == rows_before  # no stage row, item, audit entry, watermark or lease
    assert stack.writes() == writes_before  # neither sandbox received a write
    assert report.would_write == {"sales_orders": 1, "customers": 0, "cancellations": 1}
    outcomes = {row["shopify_id"]: row["outcome"] for row in report.tables["orders"]}
    assert (outcomes[guest["id"]], outcomes[unknown["id"]]) == ("would_export", "would_fail")
    assert (outcomes[cancelled["id"]], outcomes[retagged["id"]]) == ("would_cancel", "already_exported")
    assert sum(outcome == "unchanged" for outcome in outcomes.values()) == SEEDED_ORDERS - 2
    unmapped, unreadable = sorted(report.would_fail, key=lambda failure: failure.reason, reverse=True)
    assert (unmapped.record, unmapped.field, unmapped.reason) == (
        f"order {unknown['name']} ({unknown['id']})", "line_items[0].sku", "unmapped_sku")
    assert "SKU 'SKU-NOT-IN-MAX'" in unmapped.message
    assert (unreadable.record, unreadable.field, unreadable.reason) == (
        "webhook wh-broken (orders/create)", "body", "capture_failed")
    assert {reason: group["count"] for reason, group in report.as_xcom()["would_fail_by_reason"].items()} == {
        "unmapped_sku": 1, "capture_failed": 1}

    writes_before = stack.writes()
    summary = real_run("second", window)
    assert_the_run_did_what_the_dry_run_said(stack, report, summary, "second", writes_before)


def test_a_sixty_day_dry_run_reads_in_bulk_validates_once_and_names_new_accounts_and_rules(stack, monkeypatch):
    import shopify_max.validation.sales_orders as suite

    batches: list[int] = []
    validate = suite.validate_sales_orders

    def counted(orders, codes):
        batches.append(len(orders))
        return validate(orders, codes)

    monkeypatch.setattr(suite, "validate_sales_orders", counted)
    now = utcnow()
    window = (now - timedelta(days=60), now + timedelta(minutes=30))
    rows_before, writes_before = sync_store_rows(stack.store), stack.writes()

    report = order_tasks.orders_dry_run(*window)

    assert sync_store_rows(stack.store) == rows_before
    assert stack.writes() == writes_before  # the bulk operation is a read: Shopify's log counts no write
    assert "read with a bulk operation" in report.notes
    assert report.read["orders"] == SEEDED_ORDERS == len(report.tables["orders"])
    failed_validation = sum(row["reason"].startswith("validation_failed") for row in report.tables["orders"])
    assert batches == [report.would_write["sales_orders"] + failed_validation]  # one suite run for every order
    assert report.would_write["sales_orders"] > 0 and report.would_fail
    assert all(RECORD.match(f.record) and f.field and f.reason and f.message for f in report.would_fail)
    new_accounts = report.tables["new_customers"]
    assert report.would_write["customers"] == len(new_accounts) > 0
    assert len({row["shopify_customer_id"] for row in new_accounts}) == len(new_accounts)  # one per customer
    assert all(row["custid"].startswith("S") and row["name"] for row in new_accounts)
    rules = report.tables["rules_applied"]
    assert rules and all(rule["before"] != rule["after"] for rule in rules)
    exporting = {row["order"] for row in report.tables["orders"] if row["outcome"] == "would_export"}
    assert {rule["order"] for rule in rules} <= exporting  # what the exports would record, and only theirs

    batches.clear()
    writes_before = stack.writes()
    summary = real_run("real", window)
    assert_the_run_did_what_the_dry_run_said(stack, report, summary, "real", writes_before)
