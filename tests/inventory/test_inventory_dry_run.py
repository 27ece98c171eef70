"""The inventory dry run against both sandboxes over HTTP and a real sync store (SQLite and PostgreSQL): it sends
nothing and stores nothing (the sandboxes' write logs and every table of the store say so), and a full reconcile run
right after sets exactly the levels it reported, to its targets, and queues exactly the problems it reported."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Iterator
from types import SimpleNamespace

import httpx
import pytest
import sqlalchemy as sa

from max_gateway.app import GatewayAuth
from sandboxes import catalog
from sandboxes.exactmax.server import GatewayConfig
from sandboxes.exactmax.server import run_in_thread as run_gateway
from sandboxes.shopify.app import RunningSandbox, SandboxConfig
from sandboxes.shopify.app import run_in_thread as run_shop
from shopify_max.airflow_glue import inventory_tasks
from shopify_max.paths import MAPPINGS_DIR
from shopify_max.sync_store import SyncStore

PRODUCTS = 40
MAIN, STORE, POPUP = ("gid://shopify/Location/64001001", "gid://shopify/Location/64001002",
                      "gid://shopify/Location/64001003")
MAX_USER, MAX_PASSWORD = "max-dry-run", "max-dry-run-password"
# The run summary's names for the error-queue stages.
SUMMARY_NAMES = {"unmapped_location": "unmapped_locations", "unmapped_sku": "unmapped_skus",
                 "sku_not_in_shopify": "skus_not_in_shopify", "duplicate_sku": "duplicate_skus",
                 "part_without_stock": "parts_without_stock", "not_stocked": "not_stocked"}


@pytest.fixture(scope="module")
def shop() -> Iterator[RunningSandbox]:
    with run_shop(SandboxConfig(products=PRODUCTS, orders=0, plan="plus")) as running:
        yield running


@pytest.fixture
def sides(shop, database_url, tmp_path, monkeypatch) -> Iterator[SimpleNamespace]:
    """A freshly seeded shop and MAX, an empty sync store, the mapping files for the 40-product shop, and the
    Airflow connections the task bodies open."""
    mappings = tmp_path / "mappings"
    shutil.copytree(MAPPINGS_DIR, mappings)
    catalog.write_sku_mapping(mappings / "sku_to_part.csv", PRODUCTS)
    monkeypatch.setenv("SHOPIFY_MAX_MAPPINGS_DIR", str(mappings))
    token = shop.sandbox.config.token
    shop_admin = httpx.Client(base_url=shop.base_url, headers={"X-Shopify-Access-Token": token}, timeout=30)
    shop_admin.post("/_sandbox/reset", json={"products": PRODUCTS, "orders": 0}).raise_for_status()
    store = SyncStore.from_url(database_url)
    config = GatewayConfig(database_url=f"sqlite:///{tmp_path / 'max.sqlite'}", products=PRODUCTS,
                           auth=GatewayAuth(username=MAX_USER, password=MAX_PASSWORD))
    with run_gateway(config) as gateway, httpx.Client(base_url=gateway.base_url, auth=(MAX_USER, MAX_PASSWORD),
                                                      timeout=30) as max_admin:
        monkeypatch.setenv("AIRFLOW_CONN_SHOPIFY_DEFAULT", json.dumps({
            "conn_type": "http", "host": shop.host, "port": shop.port, "schema": "http", "password": token,
            "extra": {"api_version": "2026-07"}}))
        monkeypatch.setenv("AIRFLOW_CONN_EXACTMAX_DEFAULT", json.dumps({
            "conn_type": "http", "host": gateway.host, "port": gateway.port, "schema": "http", "login": MAX_USER,
            "password": MAX_PASSWORD, "extra": {"timeout": 5}}))
        monkeypatch.setenv("AIRFLOW_CONN_SYNC_STORE_DEFAULT", json.dumps(
            {"conn_type": "sqlite", "extra": {"sqlalchemy_url": database_url}}))
        yield SimpleNamespace(shop=shop_admin, max=max_admin, store=store)
    shop_admin.close()
    store.dispose()


def store_rows(store: SyncStore) -> dict[str, list[str]]:
    """Every row of every table of the sync store."""
    with store.engine.connect() as conn:
        return {name: sorted(repr(tuple(row)) for row in conn.execute(sa.text(f'SELECT * FROM "{name}"')))
                for name in sa.inspect(conn).get_table_names()}


def shopify_levels(sides) -> dict[tuple[str, str, str], int]:
    levels = sides.shop.get("/_sandbox/inventory").json()["levels"]
    return {(level["sku"], level["inventory_item_id"], level["location_id"]): level["available"] for level in levels}


def level(sides, sku: str, location: str) -> dict:
    return next(row for row in sides.shop.get("/_sandbox/inventory", params={"sku": sku}).json()["levels"]
                if row["location_id"] == location)


def writes(sides) -> tuple[dict, dict]:
    """What each sandbox's write log holds: Shopify's mutations, MAX's write requests."""
    return sides.shop.get("/_sandbox/writes").json(), sides.max.get("/_sandbox/writes").json()


def full_reconcile(run_id: str) -> dict:
    """A real run's task bodies, one after the other, as the DAG runs them with mode = full."""
    targets = inventory_tasks.compute_available_quantities(run_id)
    shopify = inventory_tasks.read_shopify_inventory("full", run_id)
    pushed = inventory_tasks.push_changed_quantities("full", run_id, "push_changed_quantities", None)
    return inventory_tasks.summarise({"mode": "full", "reason": "test"}, targets, shopify, pushed)


def test_a_dry_run_changes_nothing_and_the_next_full_reconcile_sets_exactly_what_it_reported(sides):
    # A store with a history: a first run set the shadow, queued the problems and moved the watermark.
    full_reconcile("run-1")
    # Then MAX receives and issues stock, MAX holds stock in a stockroom no location shows, and a person changes a
    # level in Shopify by hand.
    for part, stockroom, quantity, kind in (("PRT-00003", "MAIN", 25, "R"), ("PRT-00004", "STORE", 500, "I"),
                                            ("PRT-00001", "QA", 7, "R")):
        sides.max.post("/_sandbox/stock", json={"PRTNUM": part, "STK": stockroom, "quantity": quantity,
                                                "kind": kind}).raise_for_status()
    by_hand = level(sides, "SKU-00005", MAIN)
    sides.shop.post("/_sandbox/inventory", json={"inventory_item_id": by_hand["inventory_item_id"], "location_id": MAIN,
                                                 "available": by_hand["available"] + 40}).raise_for_status()
    store_before, levels_before, (shop_writes, max_writes) = store_rows(sides.store), shopify_levels(sides), writes(sides)

    report = inventory_tasks.inventory_dry_run()

    # Nothing stored, nothing sent: every table, every level and both write logs as they were.
    assert store_rows(sides.store) == store_before
    assert shopify_levels(sides) == levels_before
    shop_after, max_after = writes(sides)
    assert shop_after["total"] == shop_writes["total"] and max_after["total"] == max_writes["total"]
    assert max_after["received"] == max_writes["received"]
    # What would change: the two SKUs MAX moved (the store's SKU-00004 to the floor of 0) and the level changed by
    # hand, largest swing first.
    changes = report.tables["inventory_changes"]
    assert {(row["sku"], row["location_id"]) for row in changes} == {
        ("SKU-00003", MAIN), ("SKU-00004", STORE), ("SKU-00005", MAIN)}
    assert report.would_write == {"inventory_levels": 3}
    assert [abs(row["delta"]) for row in changes] == sorted((abs(row["delta"]) for row in changes), reverse=True)
    hand = next(row for row in changes if row["sku"] == "SKU-00005")
    assert (hand["location"], hand["shopify_quantity"], hand["delta"]) == ("Main Warehouse",
                                                                           by_hand["available"] + 40, -40)
    assert next(row for row in changes if row["sku"] == "SKU-00004")["target"] == 0
    assert report.read["compared"] == report.read["unchanged"] + 3
    # What no mapping connects, each with what to do.
    unmapped = {(row["kind"], row["value"]) for row in report.tables["unmapped"]}
    assert unmapped == {("sku", "SKU-00007"), ("sku", "SKU-00032"), ("location", f"Pop-up Stand ({POPUP})"),
                        ("stockroom", "QA")}
    failures = {(failure.reason, failure.record): failure for failure in report.would_fail}
    not_stocked = failures[("not_stocked", "SKU-00021 @ Retail Store")]
    assert not_stocked.field == "inventoryLevel.location" and "not stocked" in not_stocked.message
    assert failures[("unmapped_location", f"Pop-up Stand ({POPUP})")].field == "locations.csv:max_stockrooms"
    assert failures[("duplicate_sku", "SKU-00013")].field == "variant.sku"

    summary = full_reconcile("run-2")

    # The real run sets exactly the levels reported, to the reported targets, in the mutations it counts.
    assert summary["pushed"] == report.would_write["inventory_levels"] and summary["failed"] == 0
    for row in changes:
        assert level(sides, row["sku"], row["location_id"])["available"] == row["target"], row["sku"]
    shop_real, _max_real = writes(sides)
    assert shop_real["counts"].get("inventorySetQuantities", 0) - shop_after["counts"].get(
        "inventorySetQuantities", 0) == 1  # 3 quantities, one batch
    # ... and queues exactly the problems reported, kind by kind.
    reported = Counter(failure.reason for failure in report.would_fail)
    assert {SUMMARY_NAMES[reason]: count for reason, count in reported.items()} == {
        name: problem["count"] for name, problem in summary["problems"].items() if problem["count"]}
    assert sum(reported.values()) == len(report.would_fail) == 5


def test_a_dry_run_on_an_empty_sync_store_compares_with_shopify_not_with_a_shadow(sides):
    """Before any run (go-live): no shadow, no watermark. The dry run still compares every managed level."""
    store_before = store_rows(sides.store)

    report = inventory_tasks.inventory_dry_run()

    assert store_rows(sides.store) == store_before
    summary = full_reconcile("first")
    assert summary["pushed"] == report.would_write["inventory_levels"] == summary["matched"] - summary["unchanged"]
    assert report.read["compared"] == summary["matched"]
    for row in report.tables["inventory_changes"]:
        assert level(sides, row["sku"], row["location_id"])["available"] == row["target"]
