"""Error-queue record keys of coverage and code findings stay within the column (255) however long a SKU or a
shipping title is, and two long values that share a beginning stay two items."""

from __future__ import annotations

from shopify_max.master_data.pipeline import record_key


def test_long_values_are_cut_with_a_digest_and_short_ones_kept():
    long_a, long_b = "shipping_methods.csv: " + "Express " * 60 + "A", "shipping_methods.csv: " + "Express " * 60 + "B"
    assert record_key("SKU-00001 (gid://shopify/ProductVariant/1)") == "SKU-00001 (gid://shopify/ProductVariant/1)"
    assert len(record_key(long_a)) <= 200 and len(record_key(long_b)) <= 200
    assert record_key(long_a) != record_key(long_b)
    assert record_key(long_a) == record_key(long_a)  # stable: the next run finds the same item


def test_a_poisoned_title_is_stored_on_both_backends(sync_store):
    title = "Overnight 🚚 " * 80
    key = record_key(f"shipping_methods.csv: {title}")
    ids, _resolved = sync_store.sync_errors(entity="code", stage="unmapped_shopify_value",
                                            found={key: (f"shipping title {title!r} is not mapped", {})})
    assert list(ids) == [key]
    assert [item.record_key for item in sync_store.select_errors(entity="code")] == [key]
