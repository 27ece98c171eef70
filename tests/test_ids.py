"""Shopify gids are built, split and checked in one place (``shopify_max.ids``); ids stay text (SHOPIFY.md §4)."""

from __future__ import annotations

import pytest

from shopify_max.ids import (
    InvalidShopifyGid,
    ShopifyGid,
    as_shopify_gid,
    is_shopify_gid,
    legacy_id,
    shopify_gid,
    split_gid,
)

BEYOND_DOUBLES = "820982911946154508"  # > 2^53: a JSON number would round it


def test_a_gid_is_built_from_a_type_and_a_legacy_id_kept_as_text():
    assert shopify_gid("Order", BEYOND_DOUBLES) == f"gid://shopify/Order/{BEYOND_DOUBLES}"
    assert shopify_gid("Location", 64001001) == "gid://shopify/Location/64001001"


@pytest.mark.parametrize("bad", ["", "abc", "-1", "12²", "٣٤", "1.5", True, 1.5, None])
def test_a_gid_is_never_built_from_something_that_is_not_a_legacy_id(bad):
    with pytest.raises(InvalidShopifyGid):
        shopify_gid("Customer", bad)


def test_a_gid_splits_into_its_type_and_legacy_id():
    assert split_gid(f"gid://shopify/Order/{BEYOND_DOUBLES}") == ShopifyGid("Order", BEYOND_DOUBLES)
    assert split_gid("gid://shopify/InventoryLevel/7?inventory_item_id=9").legacy_id == "7"


@pytest.mark.parametrize("bad", ["gid://shopify/Customer/abc", "gid://shopify/Customer/", "/", "",
                                 "gid://other/Order/1", "gid://shopify/Order/1/2", 123, None])
def test_what_is_not_a_shopify_gid_does_not_split(bad):
    with pytest.raises(InvalidShopifyGid):
        split_gid(bad)
    assert not is_shopify_gid(bad)


def test_a_gid_of_another_type_is_refused_where_a_type_is_expected():
    with pytest.raises(InvalidShopifyGid, match="not a Shopify Customer gid"):
        split_gid("gid://shopify/Order/1", "Customer")
    assert is_shopify_gid("gid://shopify/Order/1", "Order") and not is_shopify_gid("gid://shopify/Order/1", "Customer")


def test_a_legacy_id_is_read_from_a_gid_its_digits_or_an_int():
    assert legacy_id("gid://shopify/Customer/115310627314723954", "Customer") == "115310627314723954"
    assert legacy_id(" 115310627314723954 ", "Customer") == legacy_id(115310627314723954, "Customer")
    assert as_shopify_gid("64001001", "Location") == as_shopify_gid("gid://shopify/Location/64001001", "Location")
