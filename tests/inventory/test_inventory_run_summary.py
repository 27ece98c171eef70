"""The inventory run summary names each kind of problem with its count and its error-queue items (README: "each
kind of problem ... with its error-queue items"); the sections come from the real checks' ``Problems.record``."""

from __future__ import annotations

from shopify_max.airflow_glue import inventory_tasks
from shopify_max.inventory.problems import LISTED, Problems
from shopify_max.sync_store.states import InventoryErrorStage


def _section(store, stage, keys):
    problems = Problems(stage)
    for key in keys:
        problems.add(key, f"{key}: found by the {stage} check")
    return problems.record(store)


def test_each_kind_of_problem_lists_its_error_queue_items(sync_store):
    skus = [f"SKU-{n:05d}" for n in range(LISTED + 5)]
    shopify = {"unmapped_locations": _section(sync_store, InventoryErrorStage.UNMAPPED_LOCATION, ["Pop-up Stand"]),
               "unmapped_sku": _section(sync_store, InventoryErrorStage.UNMAPPED_SKU, skus),
               "sku_not_in_shopify": _section(sync_store, InventoryErrorStage.SKU_NOT_IN_SHOPIFY, []),
               "duplicate_sku": _section(sync_store, InventoryErrorStage.DUPLICATE_SKU, ["SKU-00013"])}
    targets = {"targets": 80, "parts_without_stock": _section(sync_store, InventoryErrorStage.PART_WITHOUT_STOCK, [])}
    pushed = {"matched": 80, "unchanged": 1, "pushed": 79, "found_already_right": 0, "failed": 0,
              "push_seconds": 1.0, "lower_bound_seconds": 0.5, "ratio_to_lower_bound": 2.0,
              "not_stocked": _section(sync_store, InventoryErrorStage.NOT_STOCKED, ["SKU-00021 @ Store"]),
              "push_errors": _section(sync_store, InventoryErrorStage.PUSH, [])}

    summary = inventory_tasks.summarise({"mode": "full", "reason": "nightly"}, targets, shopify, pushed)

    ids = {(item.stage, item.record_key): item.id for item in sync_store.list_errors(entity="inventory")}
    unmapped = summary["problems"]["unmapped_skus"]
    assert unmapped == {"count": LISTED + 5, "error_queue_ids": [ids[("unmapped_sku", sku)] for sku in skus[:LISTED]],
                        "first": skus[:LISTED], "not_listed": 5}
    assert summary["problems"]["unmapped_locations"] == {
        "count": 1, "error_queue_ids": [ids[("unmapped_location", "Pop-up Stand")]], "first": ["Pop-up Stand"],
        "not_listed": 0}
    assert summary["problems"]["push_errors"] == {"count": 0, "error_queue_ids": [], "first": [], "not_listed": 0}
    assert {name: problem["count"] for name, problem in summary["problems"].items()} == {
        "unmapped_locations": 1, "unmapped_skus": LISTED + 5, "skus_not_in_shopify": 0, "duplicate_skus": 1,
        "parts_without_stock": 0, "not_stocked": 1, "push_errors": 0}


def test_at_most_fifty_ids_per_kind_whatever_the_upstream_lists():
    section = {"count": 500, "first": [f"SKU-{n}" for n in range(80)], "error_queue_ids": list(range(1, 81))}
    problem = inventory_tasks.problem_summary(section)
    assert problem["error_queue_ids"] == list(range(1, 51)) and problem["not_listed"] == 450
    assert len(problem["first"]) == 50
