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
