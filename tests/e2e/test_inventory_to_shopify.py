"""End to end: real ``inventory_to_shopify`` DAG runs against both sandboxes and the sync store (SQLite and
PostgreSQL). After every scenario Shopify's levels must equal the figures worked out here, independently of
the library, from the gateway's stock rows and the mapping files: no quantity negative, safety stock held.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import defaultdict
from datetime import timedelta
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path

import psutil
import pytest
from conftest import PRODUCTS, xcom_return

from sandboxes import catalog
from shopify_max.paths import MAPPINGS_DIR

pytestmark = pytest.mark.e2e

MAIN, STORE, POPUP = ("gid://shopify/Location/64001001", "gid://shopify/Location/64001002",
                      "gid://shopify/Location/64001003")
STOCKROOMS = {MAIN: ("MAIN", "OVERFLOW"), STORE: ("STORE",)}
# The levels the flow manages in the 40-product shop (sandboxes/catalog.py, sandboxes/shopify/seed.py): 38 mapped
# products (7 and 32 are Shopify-only) and 4 case variants make 42 SKUs; SKU-00013 is carried by two items, so it is
# reported, not managed: 41 SKUs at the 2 mapped locations, less SKU-00021, which has no level at the store.
MANAGED_LEVELS = 41 * 2 - 1
PROJECT_ROOT = MAPPINGS_DIR.parents[1]


@pytest.fixture(autouse=True)
def mappings_for_the_sandbox_shop(tmp_path, monkeypatch):
    """The mapping files as shipped, with sku_to_part.csv written for the 40-product shop the sandboxes hold
    (the shipped one maps 500 products: most of them would rightly be reported missing here)."""
    directory = tmp_path / "mappings"
    shutil.copytree(MAPPINGS_DIR, directory)
    catalog.write_sku_mapping(directory / "sku_to_part.csv", PRODUCTS)
    monkeypatch.setenv("SHOPIFY_MAX_MAPPINGS_DIR", str(directory))
    return directory


def run_inventory_dag(dag_bag, *, retries: int = 0, **params):
    dag = dag_bag.dags["inventory_to_shopify"]
    for task in dag.tasks:
        task.retries = retries
        task.retry_delay = timedelta(0)
    # Every param, every time: dag.test() keeps the last run's conf as the DAG's params otherwise.
    dag_run = dag.test(run_conf={"mode": "auto", "batch_size": None, **params})
    assert dag_run.state == "success", f"inventory_to_shopify run {dag_run.run_id} ended {dag_run.state}"
    return dag_run, xcom_return(dag_run, "summarise_run")


def safety(sku: str, location: str) -> int:
    """include/mappings/safety_stock.csv, read by hand: the case SKU holds 1 back everywhere, the store 2."""
    if sku == "SKU-00010-CS12":
        return 1
    return 2 if location == STORE else 0


def mapped_parts() -> dict[str, tuple[str, int]]:
    with open(Path(os.environ["SHOPIFY_MAX_MAPPINGS_DIR"]) / "sku_to_part.csv", encoding="utf-8") as handle:
        rows = csv.DictReader(line for line in handle if not line.startswith("#"))
        return {row["sku"]: (row["part_number"], int(row["uom_factor"])) for row in rows}


def expected_levels(stack) -> dict[tuple[str, str], int]:
    """(sku, location) → available, from the gateway's stock rows: on hand − open demand over the location's
    stockrooms, in the variant's units rounded down, minus safety stock, never below 0."""
    stock: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    cursor = None
    while True:
        page = stack.gateway_admin.get("/stock", params={"limit": 1000, **({"cursor": cursor} if cursor else {})})
        page.raise_for_status()
        body = page.json()
        for row in body["items"]:
            stock[(row["PRTNUM"], row["STK"])] = Decimal(row["on_hand"]) - Decimal(row["open_demand"])
        cursor = body["next_cursor"]
        if not cursor:
            break
    parts_in_stock = {part for part, _stk in stock}
    expected = {}
    for sku, (part, factor) in mapped_parts().items():
        if part not in parts_in_stock:
            continue
        for location, stockrooms in STOCKROOMS.items():
            units = max(sum(stock[(part, stk)] for stk in stockrooms), Decimal(0))
            shown = int((units / factor).to_integral_value(ROUND_FLOOR))
            expected[(sku, location)] = max(shown - safety(sku, location), 0)
    return expected


def shopify_levels(stack) -> dict[tuple[str, str, str], int]:
    """(sku, inventory item, location) → available, as the Shopify sandbox holds it."""
    levels = stack.shop_admin.get("/_sandbox/inventory").json()["levels"]
    return {(level["sku"], level["inventory_item_id"], level["location_id"]): level["available"] for level in levels}


def assert_converged(stack, before: dict | None = None) -> dict[tuple[str, str], int]:
    """Every stocked, uniquely carried mapped SKU shows MAX's figure; nothing else was touched."""
    expected = expected_levels(stack)
    levels = shopify_levels(stack)
    carriers = defaultdict(set)
    for sku, item, _location in levels:
        carriers[sku].add(item)
    checked = 0
    for (sku, item, location), available in levels.items():
        assert available >= 0, f"{sku} at {location} went negative: {available}"
        managed = (sku, location) in expected and len(carriers[sku]) == 1
        if managed:
            assert available == expected[(sku, location)], f"{sku} at {location}: {available} ≠ MAX's " \
                                                            f"{expected[(sku, location)]}"
            checked += 1
        elif before is not None:
            assert available == before[(sku, item, location)], f"{sku} at {location} is not managed, yet changed"
    assert checked == MANAGED_LEVELS
    return expected


def kill_with_children(process: subprocess.Popen) -> None:
    """SIGKILL the run and every process it started (Airflow runs each task in a child of its own)."""
    try:
        family = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        family = []
    for member in [psutil.Process(process.pid), *family] if process.poll() is None else family:
        with contextlib.suppress(psutil.NoSuchProcess):
            member.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


def receive_or_issue(stack, part: str, stockroom: str, quantity: int) -> None:
    body = {"PRTNUM": part, "STK": stockroom, "quantity": abs(quantity), "kind": "R" if quantity > 0 else "I"}
    stack.gateway_admin.post("/_sandbox/stock", json=body).raise_for_status()


def level_of(stack, sku: str, location: str) -> dict:
    levels = stack.shop_admin.get("/_sandbox/inventory", params={"sku": sku}).json()["levels"]
    return next(level for level in levels if level["location_id"] == location)


def test_first_run_reconciles_everything_and_reports_what_it_cannot_map(airflow_metadata_db, dag_bag, stack):
    before = shopify_levels(stack)
    dag_run, summary = run_inventory_dag(dag_bag)

    assert summary["mode"] == "full" and "no full reconcile" in summary["why"]
    expected = assert_converged(stack, before)
    # The two sandboxes seed their quantities independently: all managed levels but one differ at first.
    assert (summary["matched"], summary["pushed"], summary["unchanged"]) == (MANAGED_LEVELS, MANAGED_LEVELS - 1, 1)
    assert summary["failed"] == 0
    assert summary["matched"] == summary["unchanged"] + summary["pushed"] + summary["found_already_right"]
    # Safety stock held: the store keeps 2 back, the case SKU 1 case, and a level can sit at the floor of 0.
    assert level_of(stack, "SKU-00010-CS12", MAIN)["available"] == expected[("SKU-00010-CS12", MAIN)]
    pushed = xcom_return(dag_run, "push_changed_quantities")
    assert pushed["batches"] == 1 and pushed["mutations"] == 1  # 80 quantities fit one batch of at most 250
    # Reported, never guessed: each kind in the summary and on the error queue.
    assert {name: problem["count"] for name, problem in summary["problems"].items()} == {
        "unmapped_locations": 1, "unmapped_skus": 2, "skus_not_in_shopify": 0, "duplicate_skus": 1,
        "parts_without_stock": 0, "not_stocked": 1, "push_errors": 0}
    queued = {(item.stage, item.record_key): item.reason for item in stack.store.list_errors(entity="inventory")}
    # Each kind names its error-queue items.
    items = {(item.stage, item.record_key): item.id for item in stack.store.list_errors(entity="inventory")}
    assert summary["problems"]["unmapped_skus"]["error_queue_ids"] == [
        items[("unmapped_sku", "SKU-00007")], items[("unmapped_sku", "SKU-00032")]]
    assert summary["problems"]["not_stocked"]["error_queue_ids"] == [items[("not_stocked", f"SKU-00021 @ {STORE}")]]
    assert set(queued) == {("unmapped_location", POPUP), ("unmapped_sku", "SKU-00007"), ("unmapped_sku", "SKU-00032"),
                           ("duplicate_sku", "SKU-00013"), ("not_stocked", f"SKU-00021 @ {STORE}")}
    assert "2 Shopify inventory items" in queued[("duplicate_sku", "SKU-00013")]
    assert level_of(stack, "SKU-00001", POPUP)["available"] == before[
        ("SKU-00001", level_of(stack, "SKU-00001", POPUP)["inventory_item_id"], POPUP)]  # unmapped location untouched
    # The audit log has each mutation, with its idempotency key and no personal data flag.
    audit = stack.store.audit_entries(entity="inventory")
    assert len(audit) == pushed["mutations"] and all(entry["outcome"] == "applied" for entry in audit)

    # A second run right after is a delta with nothing to do, and the problems are bumped, not queued twice.
    _dag_run, again = run_inventory_dag(dag_bag)
    assert again["mode"] == "delta" and again["pushed"] == 0 and again["unchanged"] == again["matched"]
    assert len(stack.store.list_errors(entity="inventory")) == 5


def test_a_delta_pushes_only_what_changed_in_max(airflow_metadata_db, dag_bag, stack):
    run_inventory_dag(dag_bag, mode="full")
    receive_or_issue(stack, "PRT-00003", "MAIN", 25)  # +25 at the warehouse
    receive_or_issue(stack, "PRT-00004", "STORE", -500)  # more issued than held: the store shows 0, not less
    receive_or_issue(stack, "PRT-00010", "OVERFLOW", 24)  # two more cases of the case variant

    dag_run, summary = run_inventory_dag(dag_bag, mode="delta")

    assert summary["mode"] == "delta"
    assert summary["pushed"] == 4  # SKU-00003 main, SKU-00004 store, SKU-00010 and SKU-00010-CS12 main
    expected = assert_converged(stack)
    assert level_of(stack, "SKU-00004", STORE)["available"] == 0 == expected[("SKU-00004", STORE)]
    shopify = xcom_return(dag_run, "read_shopify_inventory")
    assert shopify["read_by"] == "lookup" and shopify["skus_looked_up"] == 0


def test_a_fault_storm_still_converges_and_applies_each_batch_once(airflow_metadata_db, dag_bag, stack):
    run_inventory_dag(dag_bag, mode="full")
    for index in range(1, 41):
        if index % 25 != 7:
            receive_or_issue(stack, f"PRT-{index:05d}", "MAIN", 3 + index % 4)
    stack.shop_admin.post("/_sandbox/faults", json={
        "storm_rate": 0.25, "error_5xx_rate": 0.1, "drop_rate": 0.05, "drop_after_commit_rate": 0.25,
    }).raise_for_status()

    dag_run, summary = run_inventory_dag(dag_bag, mode="delta", batch_size=2, retries=2)

    stack.shop_admin.post("/_sandbox/faults", json={"storm_rate": 0, "error_5xx_rate": 0, "drop_rate": 0,
                                                     "drop_after_commit_rate": 0}).raise_for_status()
    assert_converged(stack)
    pushed = xcom_return(dag_run, "push_changed_quantities")
    stats = stack.shop_admin.get("/_sandbox/state").json()["stats"]
    assert stats.get("dropped_after_commit", 0) >= 1 and stats.get("errors_5xx", 0) >= 1
    # The client retried through the storm; when a batch outlasted its retries the task was retried by Airflow,
    # and then the XCom is the last attempt's, which may have found little left to send.
    push_attempts = dag_run.get_task_instance("push_changed_quantities").try_number
    assert pushed["throttled_retries"] + pushed["transient_retries"] >= 3 or push_attempts > 1, (pushed, push_attempts)
    assert summary["failed"] == 0
    # A batch whose answer was lost was resent with the same key: Shopify replayed it, never applied it twice
    # (a second application would have failed its compare and shown up as stale).
    assert pushed["stale_retried"] == 0


def test_a_run_killed_half_way_is_finished_by_the_next_run(airflow_metadata_db, dag_bag, stack, tmp_path):
    stack.shop_admin.post("/_sandbox/faults", json={"latency_ms": 400}).raise_for_status()
    env = {**os.environ}
    log_path = tmp_path / "killed-run.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "airflow", "dags", "test", "inventory_to_shopify", "--conf",
             json.dumps({"mode": "full", "batch_size": 5})], env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120
        while len(stack.store.audit_entries(entity="inventory")) < 3:  # three batches landed
            assert process.poll() is None, f"the run ended before it could be killed:\n{log_path.read_text()[-3000:]}"
            assert time.monotonic() < deadline, "the push never started"
            time.sleep(0.05)
    finally:
        kill_with_children(process)
    stack.shop_admin.post("/_sandbox/faults", json={"latency_ms": 0}).raise_for_status()
    landed = len(stack.store.audit_entries(entity="inventory"))
    expected = expected_levels(stack)
    levels = shopify_levels(stack)
    carriers = defaultdict(set)
    for sku, item, _location in levels:
        carriers[sku].add(item)
    off = [key for key in levels if (key[0], key[2]) in expected and len(carriers[key[0]]) == 1
           and levels[key] != expected[(key[0], key[2])]]
    assert off, "the kill came too late to leave anything undone"
    time.sleep(1)
    assert len(stack.store.audit_entries(entity="inventory")) == landed, "something survived the kill"

    _dag_run, summary = run_inventory_dag(dag_bag)  # auto: the reconcile never completed, so it runs again

    assert summary["mode"] == "full" and "no full reconcile" in summary["why"]
    assert_converged(stack)
    assert summary["failed"] == 0


def test_a_change_made_by_hand_in_shopify_is_found_by_the_full_reconcile(airflow_metadata_db, dag_bag, stack):
    run_inventory_dag(dag_bag, mode="full")
    level = level_of(stack, "SKU-00005", MAIN)
    right = level["available"]
    stack.shop_admin.post("/_sandbox/inventory", json={"inventory_item_id": level["inventory_item_id"],
                                                        "location_id": MAIN, "available": right + 40})

    _run, delta = run_inventory_dag(dag_bag, mode="delta")
    assert delta["pushed"] == 0  # a delta compares with the shadow: a hand change to an unchanged SKU is not seen
    assert level_of(stack, "SKU-00005", MAIN)["available"] == right + 40

    _run, full = run_inventory_dag(dag_bag, mode="full")
    assert full["pushed"] == 1
    assert level_of(stack, "SKU-00005", MAIN)["available"] == right
    assert_converged(stack)


def test_a_stale_compare_is_read_again_and_decided(airflow_metadata_db, dag_bag, stack):
    run_inventory_dag(dag_bag, mode="full")
    receive_or_issue(stack, "PRT-00006", "MAIN", 10)
    receive_or_issue(stack, "PRT-00008", "MAIN", 10)
    sold = level_of(stack, "SKU-00006", MAIN)  # a POS sale in Shopify meanwhile: our shadow is now stale
    stack.shop_admin.post("/_sandbox/inventory", json={"inventory_item_id": sold["inventory_item_id"],
                                                        "location_id": MAIN, "available": sold["available"] - 1})
    already = level_of(stack, "SKU-00008", MAIN)  # someone already set what MAX will say
    stack.shop_admin.post("/_sandbox/inventory", json={"inventory_item_id": already["inventory_item_id"],
                                                        "location_id": MAIN, "available": already["available"] + 10})

    dag_run, summary = run_inventory_dag(dag_bag, mode="delta")

    pushed = xcom_return(dag_run, "push_changed_quantities")
    assert pushed["stale_retried"] == 1 and summary["found_already_right"] == 1 and summary["failed"] == 0
    assert_converged(stack)
    refused = [entry for entry in stack.store.audit_entries(entity="inventory") if entry["outcome"] == "refused"]
    assert len(refused) == 1 and "CHANGE_FROM_QUANTITY_STALE" in refused[0]["response"]


def test_a_delta_asked_for_before_any_reconcile_looks_every_sku_up_and_converges(airflow_metadata_db, dag_bag, stack):
    dag_run, summary = run_inventory_dag(dag_bag, mode="delta")

    shopify = xcom_return(dag_run, "read_shopify_inventory")
    assert shopify["read_by"] == "lookup" and shopify["skus_looked_up"] == len(mapped_parts())
    assert shopify["items_found"] == len(mapped_parts()) - 1  # SKU-00013 has two carriers: not guessed
    assert summary["problems"]["duplicate_skus"]["count"] == 1 and summary["problems"]["not_stocked"]["count"] == 1
    assert_converged(stack)
