"""id_map: Shopify gid ⇄ MAX key, unique both ways (exactly-once export rests on it)."""

from __future__ import annotations

import pytest

from shopify_max.sync_store import IdMappingConflict


def test_recording_a_mapping_returns_true_and_can_be_read_both_ways(sync_store):
    assert sync_store.record_id_mapping("order", "gid://shopify/Order/820982911946154508", "00001001") is True
    assert sync_store.max_key_for("order", "gid://shopify/Order/820982911946154508") == "00001001"
    assert sync_store.shopify_gid_for("order", "00001001") == "gid://shopify/Order/820982911946154508"


def test_recording_the_same_mapping_twice_is_a_no_op(sync_store):
    sync_store.record_id_mapping("order", "gid://shopify/Order/1", "00001001")
    assert sync_store.record_id_mapping("order", "gid://shopify/Order/1", "00001001") is False
    assert sync_store.max_keys_for("order", ["gid://shopify/Order/1"]) == {"gid://shopify/Order/1": "00001001"}


def test_a_gid_mapped_to_a_second_max_key_is_a_conflict(sync_store):
    sync_store.record_id_mapping("order", "gid://shopify/Order/1", "00001001")
    with pytest.raises(IdMappingConflict, match="gid://shopify/Order/1 ⇄ 00001001"):
        sync_store.record_id_mapping("order", "gid://shopify/Order/1", "00001002")
    assert sync_store.max_key_for("order", "gid://shopify/Order/1") == "00001001"


def test_a_max_key_claimed_by_a_second_gid_is_a_conflict(sync_store):
    sync_store.record_id_mapping("order", "gid://shopify/Order/1", "00001001")
    with pytest.raises(IdMappingConflict):
        sync_store.record_id_mapping("order", "gid://shopify/Order/2", "00001001")
    assert sync_store.max_key_for("order", "gid://shopify/Order/2") is None


def test_the_same_key_may_exist_for_different_entities(sync_store):
    assert sync_store.record_id_mapping("customer", "gid://shopify/Customer/7", "C0007")
    assert sync_store.record_id_mapping("order", "gid://shopify/Order/7", "C0007")


def test_max_keys_are_compared_trimmed_because_max_pads_char_columns(sync_store):
    sync_store.record_id_mapping("order", "gid://shopify/Order/1", "00001001   ")
    assert sync_store.record_id_mapping("order", "gid://shopify/Order/1", "00001001") is False
    assert sync_store.shopify_gid_for("order", "00001001  ") == "gid://shopify/Order/1"


def test_unknown_entity_is_refused(sync_store):
    with pytest.raises(ValueError, match="unknown id_map entity"):
        sync_store.record_id_mapping("invoice-ish", "gid://x/1", "1")


def test_batch_lookup_returns_only_known_gids(sync_store):
    for number in range(1, 1203):
        sync_store.record_id_mapping("order", f"gid://shopify/Order/{number}", f"{number:08d}")
    wanted = [f"gid://shopify/Order/{n}" for n in (1, 600, 1202, 5000)]
    assert sync_store.max_keys_for("order", wanted) == {
        "gid://shopify/Order/1": "00000001",
        "gid://shopify/Order/600": "00000600",
        "gid://shopify/Order/1202": "00001202",
    }
