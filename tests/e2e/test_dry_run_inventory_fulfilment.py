"""End to end: ``inventory_to_shopify`` and ``fulfilment_to_shopify`` triggered with ``dry_run`` on, as real DAG runs
against both sandboxes and the sync store (SQLite and PostgreSQL). The dry run leaves Shopify, MAX and the store as
they were (the sandboxes' write logs, the levels, the cursors); the real run after it writes exactly the figures the
dry run's summary gave."""

from __future__ import annotations

import shutil

import pytest
from conftest import PRODUCTS, run_dag

from sandboxes import catalog
from shopify_max.fulfilment.shipments import SHIPMENTS_WATERMARK
from shopify_max.inventory.mode import FULL_RECONCILE_WATERMARK
from shopify_max.paths import MAPPINGS_DIR

pytestmark = pytest.mark.e2e


@pytest.fixture
def mappings(tmp_path, monkeypatch):
    """The shipped mapping files, with sku_to_part.csv for the 40-product shop the sandboxes hold."""
    directory = tmp_path / "mappings"
    shutil.copytree(MAPPINGS_DIR, directory)
    catalog.write_sku_mapping(directory / "sku_to_part.csv", PRODUCTS)
    monkeypatch.setenv("SHOPIFY_MAX_MAPPINGS_DIR", str(directory))
    return directory


@pytest.fixture(autouse=True)
def dry_run_off_afterwards(dag_bag):
    """``dag.test()`` leaves a run's conf in the DAG's params: whatever happens here, later tests run for real."""
    yield
    for dag_id in ("inventory_to_shopify", "fulfilment_to_shopify"):
        dag_bag.dags[dag_id].params["dry_run"] = False


def shopify_writes(stack) -> dict:
    return stack.shop_admin.get("/_sandbox/writes").json()


def max_writes(stack) -> dict:
    return stack.gateway_admin.get("/_sandbox/writes").json()


def levels(stack) -> dict[tuple[str, str], int]:
    return {(level["inventory_item_id"], level["location_id"]): level["available"]
            for level in stack.shop_admin.get("/_sandbox/inventory").json()["levels"]}


def test_an_inventory_dry_run_sets_nothing_and_the_real_run_sets_what_it_said(airflow_metadata_db, dag_bag, stack,
                                                                                mappings):
    before, shop_before, max_before = levels(stack), shopify_writes(stack), max_writes(stack)

    dry = run_dag(dag_bag, "inventory_to_shopify", mode="auto", batch_size=None, dry_run=True)

    assert dry["dry_run"] is True and dry["flow"] == "inventory"
    assert levels(stack) == before
    assert shopify_writes(stack)["total"] == shop_before["total"]
    assert (max_writes(stack)["total"], max_writes(stack)["received"]) == (max_before["total"], max_before["received"])
    assert stack.store.get_watermark(FULL_RECONCILE_WATERMARK) is None and not stack.store.shadow_quantities()
    assert not stack.store.list_errors(entity="inventory")
    would_set = dry["would_write"]["inventory_levels"]
    assert would_set > 0 and dry["would_fail_by_reason"]["not_stocked"]["count"] == 1

    real = run_dag(dag_bag, "inventory_to_shopify", mode="auto", batch_size=None, dry_run=False)

    assert real["mode"] == "full" and real["pushed"] == would_set and real["failed"] == 0
    changed = {key for key, available in levels(stack).items() if available != before[key]}
    assert len(changed) == would_set
    assert sum(problem["count"] for problem in real["problems"].values()) == dry["would_fail"]


def test_a_fulfilment_dry_run_fulfils_nothing_and_the_real_run_creates_what_it_said(airflow_metadata_db, dag_bag,
                                                                                    stack):
    stack.shop_admin.post("/_sandbox/reset", json={"products": PRODUCTS, "orders": 0}).raise_for_status()
    orders = [stack.shop_admin.post("/_sandbox/orders", json={"lines": [{"sku": sku, "quantity": 2}]}).json()
              for sku in ("SKU-00001", "SKU-00002")]
    assert run_dag(dag_bag, "orders_to_max")["exported"] == 2
    for number, order in enumerate(orders):
        stack.gateway_admin.post("/_sandbox/ship", json={
            "ORDNUM": stack.store.max_key_for("order", order["id"]), "SHPVIA": "UP", "carrier": "UPS",
            "tracking_number": f"1Z999AA1000000010{number}"}).raise_for_status()
    shop_before, max_before = shopify_writes(stack), max_writes(stack)

    dry = run_dag(dag_bag, "fulfilment_to_shopify", since_shipment=None, dry_run=True)

    assert dry["dry_run"] is True and dry["would_write"]["fulfilments"] == 2
    assert shopify_writes(stack)["total"] == shop_before["total"]
    assert (max_writes(stack)["total"], max_writes(stack)["received"]) == (max_before["total"], max_before["received"])
    assert stack.store.get_watermark(SHIPMENTS_WATERMARK) is None and not stack.store.open_shipments()

    real = run_dag(dag_bag, "fulfilment_to_shopify", since_shipment=None, dry_run=False)

    assert real["fulfilments"]["created"] == 2 and real["fulfilled"] == 2
    created = shopify_writes(stack)["counts"].get("fulfillmentCreate", 0) - shop_before["counts"].get(
        "fulfillmentCreate", 0)
    assert created == dry["would_write"]["fulfilments"]
    assert real["order_status"].get("statuses_pushed", 0) == dry["would_write"]["order_updates"]
