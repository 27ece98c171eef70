"""Schema changes go through versioned migrations; several workers may start at once."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from shopify_max.sync_store import SyncStore, migrator
from shopify_max.sync_store.engine import create_sync_store_engine

EXPECTED_TABLES = {"id_map", "inbox", "error_queue", "audit_log", "watermarks", "inventory_shadow", "order_stage",
                   "inventory_item", "inventory_target"}


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
