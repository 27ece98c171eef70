"""``customer_sync`` and the id_map re-point the master-data sync uses, on SQLite and PostgreSQL: one pass
replaces the last, two attempts of one run at once never fail on the key, a re-point is refused when the key is
another customer's."""

from __future__ import annotations

import threading

import pytest

from shopify_max.sync_store import SyncStore
from shopify_max.sync_store.customer_sync import CustomerDecisionRow
from shopify_max.sync_store.id_map import IdMappingConflict


def _rows(prefix: str, count: int) -> list[CustomerDecisionRow]:
    return [CustomerDecisionRow(f"{prefix}{n:04d}", f"gid://shopify/Customer/{n}", "matched", "email", (), None, None)
            for n in range(count)]


def test_a_pass_replaces_the_last_one(sync_store):
    sync_store.record_customer_decisions(_rows("A", 3) + _rows("B", 2), run_id="r1")
    sync_store.record_customer_decisions(_rows("A", 2), run_id="r2")
    assert sorted(sync_store.customer_decisions()) == ["A0000", "A0001"]
    sync_store.record_customer_decisions([], run_id="r3")
    assert sync_store.customer_decisions() == {}


def test_two_attempts_of_one_run_at_once_never_fail_on_the_key(sync_store, database_url):
    """A retry beside its zombie: both write the same decisions at the same moment."""
    other = SyncStore.from_url(database_url)
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def attempt(store: SyncStore, rows: list[CustomerDecisionRow]) -> None:
        try:
            for _ in range(15):
                barrier.wait(timeout=30)
                store.record_customer_decisions(rows, run_id="same-run")
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=attempt, args=(sync_store, _rows("C", 300))),
               threading.Thread(target=attempt, args=(other, _rows("C", 300)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    other.dispose()
    assert errors == []
    assert len(sync_store.customer_decisions()) == 300


def test_repointing_a_customer_to_the_account_a_person_chose(sync_store):
    sync_store.record_id_mapping("customer", "gid://shopify/Customer/1", "S1")
    sync_store.record_id_mapping("customer", "gid://shopify/Customer/2", "ACME")
    assert sync_store.repoint_id_mapping("customer", "gid://shopify/Customer/1", "GLOBEX") == "S1"
    assert sync_store.max_key_for("customer", "gid://shopify/Customer/1") == "GLOBEX"
    with pytest.raises(IdMappingConflict, match="already mapped"):
        sync_store.repoint_id_mapping("customer", "gid://shopify/Customer/1", "ACME")
    with pytest.raises(IdMappingConflict, match="not mapped"):
        sync_store.repoint_id_mapping("customer", "gid://shopify/Customer/9", "NEW")
    assert sync_store.max_key_for("customer", "gid://shopify/Customer/1") == "GLOBEX"
