"""Schema changes go through versioned migrations; several workers may start at once."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from shopify_max.sync_store import SyncStore, migrator
from shopify_max.sync_store.engine import create_sync_store_engine

EXPECTED_TABLES = {"id_map", "inbox", "error_queue", "audit_log", "watermarks", "inventory_shadow", "order_stage",
                   "inventory_item", "inventory_target", "order_line_map"}


def test_a_new_database_is_migrated_to_head_with_every_table(database_url):
    store = SyncStore.from_url(database_url)
    assert store.schema_revision() == migrator.head_revision()
    tables = set(sa.inspect(store.engine).get_table_names())
    assert EXPECTED_TABLES | {migrator.VERSION_TABLE} <= tables
    store.dispose()


def test_migrating_an_up_to_date_database_changes_nothing(database_url):
    store = SyncStore.from_url(database_url)
    store.record_id_mapping("order", "gid://shopify/Order/1", "00000001")
    again = SyncStore.from_url(database_url)
    assert again.max_key_for("order", "gid://shopify/Order/1") == "00000001"
    for s in (store, again):
        s.dispose()


def test_workers_starting_together_migrate_once_without_errors(database_url):
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def start_worker() -> None:
        try:
            barrier.wait()
            SyncStore.from_url(database_url).dispose()
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=start_worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    store = SyncStore(sa.create_engine(database_url))
    assert store.schema_revision() == migrator.head_revision()


def test_an_older_schema_with_data_is_upgraded_in_place(database_url):
    engine = create_sync_store_engine(database_url)
    migrator.upgrade_to(engine, "0001")
    old = SyncStore(engine)
    assert old.schema_revision() == "0001"
    old.record_id_mapping("order", "gid://shopify/Order/9", "00000009")
    assert "order_stage" not in sa.inspect(engine).get_table_names()

    upgraded = SyncStore.from_url(database_url)

    assert upgraded.schema_revision() == migrator.head_revision() != "0001"
    assert upgraded.max_key_for("order", "gid://shopify/Order/9") == "00000009"
    assert "order_stage" in sa.inspect(upgraded.engine).get_table_names()
    for store in (old, upgraded):
        store.dispose()


def test_0005_links_staged_orders_to_their_error_queue_items_named_in_the_reason(database_url):
    engine = create_sync_store_engine(database_url)
    migrator.upgrade_to(engine, "0004")
    old = SyncStore(engine)
    item_id = old.record_error(entity="order", record_key="#1001", stage="map", reason="SKU X-1 has no MAX part")
    now = "2026-11-29 10:00:00+00:00"
    with engine.begin() as conn:
        for gid, name, reason in (("gid://shopify/Order/1", "#1001", f"error queue item {item_id}: SKU X-1 ..."),
                                  ("gid://shopify/Order/2", "#1002", "error queue item 424242: gone since"),
                                  ("gid://shopify/Order/3", "#1003", "unchanged since last read (exported)")):
            conn.execute(sa.text(
                "INSERT INTO order_stage (order_gid, order_name, source, shopify_updated_at, payload_digest, "
                "material_digest, status, run_outcome, run_outcome_reason, captured_at, updated_at) VALUES "
                "(:gid, :name, 'poll', :now, 'p', 'm', 'failed', 'failed', :reason, :now, :now)"),
                {"gid": gid, "name": name, "reason": reason, "now": now})

    upgraded = SyncStore.from_url(database_url)

    rows = upgraded.staged_orders(["gid://shopify/Order/1", "gid://shopify/Order/2", "gid://shopify/Order/3"])
    assert {gid: row.error_queue_id for gid, row in rows.items()} == {
        "gid://shopify/Order/1": item_id, "gid://shopify/Order/2": None, "gid://shopify/Order/3": None}
    assert {row.run_outcome_code for row in rows.values()} == {None}
    for store in (old, upgraded):
        store.dispose()
