"""error_queue: bad records wait with a reason; two workers never claim the same item."""

from __future__ import annotations

import threading

import pytest

from shopify_max.sync_store import SyncStore


def _record(store, key: str, stage: str = "map", reason: str = "SKU 'X-1' has no MAX part in include/mappings"):
    return store.record_error(entity="order", record_key=key, stage=stage, reason=reason,
                              payload={"name": key}, detail={"field": "line_items[0].sku", "value": "X-1"})


def test_an_error_is_stored_open_with_its_reason_payload_and_detail(sync_store):
    item_id = _record(sync_store, "#1001")
    [item] = sync_store.list_errors()
    assert item.id == item_id
    assert (item.entity, item.record_key, item.stage, item.status, item.attempts) == ("order", "#1001", "map", "open", 1)
    assert "has no MAX part" in item.reason
    assert item.detail == {"field": "line_items[0].sku", "value": "X-1"}
    assert '"name": "#1001"' in item.payload
    assert item.first_seen <= item.last_seen


def test_the_same_record_failing_again_bumps_the_item_instead_of_adding_one(sync_store):
    first = _record(sync_store, "#1001", reason="first reason")
    second = _record(sync_store, "#1001", reason="second reason")
    assert first == second
    [item] = sync_store.list_errors()
    assert (item.attempts, item.reason) == (2, "second reason")


def test_a_resolved_item_that_fails_again_reopens(sync_store):
    item_id = _record(sync_store, "#1001")
    sync_store.resolve_error(item_id)
    _record(sync_store, "#1001")
    assert sync_store.list_errors()[0].status == "open"


def test_an_ignored_item_stays_ignored_when_it_fails_again(sync_store):
    item_id = _record(sync_store, "#1001")
    sync_store.ignore_error(item_id)
    _record(sync_store, "#1001")
    assert sync_store.list_errors()[0].status == "ignored"


def test_claim_filters_by_stage_reason_and_keys(sync_store):
    _record(sync_store, "#1", stage="map", reason="unknown SKU A")
    _record(sync_store, "#2", stage="validate", reason="CUSTPO too long")
    _record(sync_store, "#3", stage="map", reason="unknown tax title")
    assert [i.record_key for i in sync_store.claim_errors("w", stage="map", reason_contains="SKU")] == ["#1"]
    assert [i.record_key for i in sync_store.claim_errors("w", record_keys=["#3"])] == ["#3"]
    assert [i.record_key for i in sync_store.claim_errors("w")] == ["#2"]


def test_a_released_item_goes_back_to_open_with_one_more_attempt(sync_store):
    _record(sync_store, "#1")
    [claimed] = sync_store.claim_errors("worker-a")
    assert claimed.status == "retrying"
    sync_store.release_error(claimed.id, reason="still no MAX part for SKU X-1")
    [item] = sync_store.list_errors()
    assert (item.status, item.attempts, item.reason) == ("open", 2, "still no MAX part for SKU X-1")


def test_unknown_status_is_refused(sync_store):
    with pytest.raises(ValueError, match="unknown error-queue status"):
        sync_store.claim_errors("w", statuses=["pending"])


def test_two_workers_claiming_at_once_never_get_the_same_item(database_url):
    setup = SyncStore.from_url(database_url)
    for number in range(60):
        _record(setup, f"#{number}")
    workers = [SyncStore.from_url(database_url, migrate=False) for _ in range(2)]
    claimed: dict[str, list[int]] = {"a": [], "b": []}
    barrier = threading.Barrier(2)

    def work(name: str, store: SyncStore) -> None:
        barrier.wait()
        while batch := store.claim_errors(f"worker-{name}", limit=7):
            claimed[name].extend(item.id for item in batch)

    threads = [threading.Thread(target=work, args=(name, store)) for name, store in zip("ab", workers, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not set(claimed["a"]) & set(claimed["b"])
    assert sorted(claimed["a"] + claimed["b"]) == [item.id for item in setup.list_errors()]
    assert {item.status for item in setup.list_errors()} == {"retrying"}
    for store in (setup, *workers):
        store.dispose()


def test_a_complete_check_queues_bumps_and_resolves_in_one_go(sync_store):
    for sku in ("SKU-1", "SKU-2", "SKU-3"):
        sync_store.record_error(entity="inventory", record_key=sku, stage="unmapped_sku", reason=f"{sku} unmapped")
    ignored = sync_store.record_error(entity="inventory", record_key="SKU-3", stage="unmapped_sku", reason="x")
    sync_store.ignore_error(ignored)
    other = sync_store.record_error(entity="inventory", record_key="SKU-1", stage="duplicate_sku", reason="dup")

    ids, resolved = sync_store.sync_errors(entity="inventory", stage="unmapped_sku", found={
        "SKU-2": ("SKU-2 still unmapped", {"sku": "SKU-2"}), "SKU-3": ("SKU-3 still unmapped", {}),
        "SKU-4": ("SKU-4 unmapped token=shpat_0123456789abcdef0123456789abcdef", {"sku": "SKU-4"})})

    assert resolved == 1  # SKU-1 was mapped since
    items = {(item.stage, item.record_key): item for item in sync_store.list_errors(entity="inventory")}
    assert {key: item.status for key, item in items.items()} == {
        ("unmapped_sku", "SKU-1"): "resolved", ("unmapped_sku", "SKU-2"): "open",
        ("unmapped_sku", "SKU-3"): "ignored", ("unmapped_sku", "SKU-4"): "open", ("duplicate_sku", "SKU-1"): "open"}
    assert items[("unmapped_sku", "SKU-2")].attempts == 2 and items[("unmapped_sku", "SKU-2")].reason == "SKU-2 still unmapped"
    assert "shpat_0123456789abcdef" not in items[("unmapped_sku", "SKU-4")].reason  # redacted like record_error
    assert ids == {key: items[("unmapped_sku", key)].id for key in ("SKU-2", "SKU-3", "SKU-4")}
    assert items[("duplicate_sku", "SKU-1")].id == other
