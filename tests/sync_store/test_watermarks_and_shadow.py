"""watermarks (per-flow cursors) and inventory_shadow (last quantity pushed per item × location)."""

from __future__ import annotations


def test_a_watermark_is_absent_until_set_and_then_overwritten(sync_store):
    assert sync_store.get_watermark("orders.updated_at") is None
    sync_store.set_watermark("orders.updated_at", "2026-11-27T05:00:00Z", run_id="r1")
    sync_store.set_watermark("orders.updated_at", "2026-11-27T05:05:00Z", run_id="r2")
    assert sync_store.get_watermark("orders.updated_at") == "2026-11-27T05:05:00Z"


def test_shadow_upsert_updates_existing_pairs_and_adds_new_ones(sync_store):
    item, main, store = "gid://shopify/InventoryItem/1", "gid://shopify/Location/1", "gid://shopify/Location/2"
    sync_store.upsert_shadow({(item, main): 5})
    sync_store.upsert_shadow({(item, main): 3, (item, store): 0})
    assert sync_store.shadow_quantities() == {(item, main): 3, (item, store): 0}


def test_a_full_reconcile_replaces_the_shadow(sync_store):
    sync_store.upsert_shadow({("i1", "l1"): 5, ("i2", "l1"): 7})
    assert sync_store.replace_shadow({("i1", "l1"): 4}) == 1
    assert sync_store.shadow_quantities() == {("i1", "l1"): 4}


def test_shadow_handles_more_rows_than_one_statement_batch(sync_store):
    quantities = {(f"gid://shopify/InventoryItem/{n}", "gid://shopify/Location/1"): n % 40 for n in range(2500)}
    assert sync_store.upsert_shadow(quantities) == 2500
    assert sync_store.shadow_quantities() == quantities


def test_inventory_items_record_one_none_or_several_carriers_and_a_full_read_replaces_them(sync_store):
    sync_store.record_inventory_items({"SKU-1": ["gid://shopify/InventoryItem/1"], "SKU-2": [],
                                       "SKU-3": ["gid://shopify/InventoryItem/4", "gid://shopify/InventoryItem/3"]})
    items = sync_store.inventory_items()
    assert items["SKU-1"].inventory_item_gid == "gid://shopify/InventoryItem/1" and items["SKU-1"].match_count == 1
    assert items["SKU-2"].inventory_item_gid is None and items["SKU-2"].match_count == 0
    assert items["SKU-3"].inventory_item_gid is None  # duplicated: never guess which one
    assert items["SKU-3"].item_gids == ("gid://shopify/InventoryItem/3", "gid://shopify/InventoryItem/4")

    sync_store.record_inventory_items({"SKU-2": ["gid://shopify/InventoryItem/2"]})  # a lookup upserts
    assert sync_store.inventory_items()["SKU-2"].match_count == 1 and len(sync_store.inventory_items()) == 3
    sync_store.record_inventory_items({"SKU-9": ["gid://shopify/InventoryItem/9"]}, replace=True)  # a bulk read
    assert list(sync_store.inventory_items()) == ["SKU-9"]


def test_targets_belong_to_the_run_that_computed_them(sync_store):
    from shopify_max.sync_store import InventoryTarget

    targets = [InventoryTarget("SKU-1", "gid://shopify/Location/1", "PRT-1", 5),
               InventoryTarget("SKU-1", "gid://shopify/Location/2", "PRT-1", 0)]
    assert sync_store.inventory_targets(run_id="r1") is None
    sync_store.replace_inventory_targets(targets, run_id="r1")
    assert sync_store.inventory_targets(run_id="r1") == targets
    sync_store.replace_inventory_targets(targets[:1], run_id="r2")
    assert sync_store.inventory_targets(run_id="r1") is None  # a retried push of r1 must not push r2's figures
    assert sync_store.inventory_targets(run_id="r2") == targets[:1]
