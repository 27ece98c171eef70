"""Typed operations against the sandbox's seeded store: what downstream DAGs rely on."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from shopify_max.clock import utcnow
from shopify_max.shopify.api import ShopifyAdminApi, idempotency_key_for
from shopify_max.shopify.bulk import BulkOperationRunner
from shopify_max.shopify.models import InventoryQuantity, Order, TrackingInfo


@pytest.fixture(scope="module")
def all_orders(sandbox) -> list[Order]:
    from shopify_helpers import make_client

    api = ShopifyAdminApi(make_client(sandbox))
    return list(api.iter_orders_updated(utcnow() - timedelta(days=3)))


def test_orders_window_returns_every_seeded_order_once_with_all_lines(sandbox, all_orders):
    assert len(all_orders) == len(sandbox.sandbox.store.orders)
    assert len({o.id for o in all_orders}) == len(all_orders)
    assert [o.updated_at for o in all_orders] == sorted(o.updated_at for o in all_orders)
    biggest = max(all_orders, key=lambda o: len(o.line_items))
    assert len(biggest.line_items) == 120  # more than 99 lines, fetched across line-item pages
    assert len({line.id for line in biggest.line_items}) == 120


def test_orders_window_is_half_open_on_updated_at(api, all_orders):
    pivot = all_orders[len(all_orders) // 2].updated_at
    before = list(api.iter_orders_updated(pivot - timedelta(days=3), pivot))
    after = list(api.iter_orders_updated(pivot))
    assert all(o.updated_at < pivot for o in before)
    assert all(o.updated_at >= pivot for o in after)
    assert len(before) + len(after) == len(all_orders)


def test_orders_cover_the_cases_an_erp_export_must_handle(all_orders):
    assert any(o.customer is None for o in all_orders), "guest checkout"
    assert any(o.company and o.company.name == "Acme B2B Holdings & Co." for o in all_orders), "company"
    assert any(o.discount_codes for o in all_orders)
    kinds = {d.kind for o in all_orders for d in o.discount_applications}
    assert {"DiscountCodeApplication", "AutomaticDiscountApplication", "ManualDiscountApplication"} <= kinds
    assert any(len(o.shipping_lines) > 1 for o in all_orders)
    assert any(len(o.tax_lines) > 1 for o in all_orders)
    assert any(o.taxes_included for o in all_orders) and any(not o.taxes_included for o in all_orders)
    assert any(o.tax_exempt and not o.tax_lines for o in all_orders)
    assert any(o.presentment_currency_code != o.currency_code for o in all_orders)
    lines = [line for o in all_orders for line in o.line_items]
    assert any(line.is_gift_card for line in lines)
    assert any(line.original_unit_price_set.shop_money.amount == 0 for line in lines)
    assert any(line.sku is None for line in lines), "custom line without SKU"
    assert any(line.sku == "SKU-UNKNOWN-404" for line in lines)
    assert any(o.cancelled_at for o in all_orders)
    assert any(o.display_financial_status == "REFUNDED" and o.refunds for o in all_orders)
    assert any(o.display_financial_status == "PARTIALLY_REFUNDED" for o in all_orders)
    assert any(o.display_fulfillment_status == "PARTIALLY_FULFILLED" for o in all_orders)
    assert any("gift_card" in o.payment_gateway_names and len(o.payment_gateway_names) > 1 for o in all_orders)
    names = {(o.customer.first_name or "") + " " + (o.customer.last_name or "") for o in all_orders if o.customer}
    assert any(len(name) > 80 for name in names)
    assert any("&" in name and "<" in name and '"' in name and "'" in name for name in names)
    assert any(any(ord(ch) > 0x2000 for ch in name) for name in names)


def test_order_totals_reconcile_to_the_cent_in_shop_currency(all_orders):
    """Lines − discounts + shipping + tax (when not included) = total: the rule the export checks."""
    for order in all_orders:
        lines = sum((line.original_unit_price_set.shop_money.amount * line.quantity for line in order.line_items),
                    Decimal(0))
        discounts = sum((a.allocated_amount_set.shop_money.amount for line in order.line_items
                         for a in line.discount_allocations), Decimal(0))
        shipping = sum((s.original_price_set.shop_money.amount for s in order.shipping_lines), Decimal(0))
        tax = sum((t.price_set.shop_money.amount for t in order.tax_lines), Decimal(0))
        expected = lines - discounts + shipping + (0 if order.taxes_included else tax)
        assert expected == order.total_price_set.shop_money.amount, order.name
        assert isinstance(order.total_price_set.shop_money.amount, Decimal)


def test_get_order_by_gid_and_missing_order(api, all_orders):
    order = api.get_order(all_orders[0].id)
    assert order is not None and order.id == all_orders[0].id and order.line_items
    assert api.get_order("gid://shopify/Order/1") is None


def test_locations_come_from_the_shared_catalogue(api):
    from sandboxes import catalog

    locations = api.list_locations()
    assert [loc.name for loc in locations] == [loc.name for loc in catalog.LOCATIONS]
    assert locations[0].id == f"gid://shopify/Location/{catalog.LOCATIONS[0].shopify_location_id}"


def test_sku_lookup_reports_duplicates_and_missing(api):
    lookup = api.find_variants_by_sku(["SKU-00001", "SKU-00013", "SKU-00010-CS12", "NO-SUCH-SKU"])
    assert lookup.missing == ["NO-SUCH-SKU"]
    assert lookup.duplicates == ["SKU-00013"]  # catalogue index 13: a second, legacy listing
    assert len(lookup.matches["SKU-00013"]) == 2
    assert all(ref.duplicate_sku_count == 1 for ref in lookup.matches["SKU-00013"])
    assert lookup.matches["SKU-00010-CS12"][0].inventory_item_id.startswith("gid://shopify/InventoryItem/")


def test_set_available_quantities_applies_and_replays_by_idempotency_key(api, admin):
    ref = api.find_variants_by_sku(["SKU-00002"]).matches["SKU-00002"][0]
    level = api.inventory_levels([ref.inventory_item_id])[0]
    quantity = InventoryQuantity(inventory_item_id=level.inventory_item_id, location_id=level.location_id,
                                 quantity=level.available + 5, change_from_quantity=level.available)
    first = api.set_available_quantities([quantity], "correction", "gid://erp-connector/SyncJob/1")
    assert first.ok and first.adjustment_group_id.startswith("gid://shopify/InventoryAdjustmentGroup/")
    replay = api.set_available_quantities([quantity], "correction", "gid://erp-connector/SyncJob/1")
    assert replay == first  # same content → same derived key → the first result, not a second change
    after = api.inventory_levels([ref.inventory_item_id], [level.location_id])[0]
    assert after.available == level.available + 5  # applied once


def test_a_stale_change_from_quantity_comes_back_as_a_typed_user_error(api, admin):
    ref = api.find_variants_by_sku(["SKU-00003"]).matches["SKU-00003"][0]
    level = api.inventory_levels([ref.inventory_item_id])[0]
    admin.post("inventory", {"inventory_item_id": level.inventory_item_id, "location_id": level.location_id,
                             "available": level.available + 1})  # a POS sale happened meanwhile
    result = api.set_available_quantities(
        [InventoryQuantity(inventory_item_id=level.inventory_item_id, location_id=level.location_id, quantity=50,
                           change_from_quantity=level.available)], "correction")
    assert not result.ok
    assert [e.code for e in result.stale] == ["CHANGE_FROM_QUANTITY_STALE"]
    assert result.stale[0].quantity_index == 0
    assert api.inventory_levels([ref.inventory_item_id], [level.location_id])[0].available == level.available + 1


def test_the_same_key_with_different_content_is_refused(api):
    ref = api.find_variants_by_sku(["SKU-00004"]).matches["SKU-00004"][0]
    level = api.inventory_levels([ref.inventory_item_id])[0]

    def quantity(value: int) -> InventoryQuantity:
        return InventoryQuantity(inventory_item_id=level.inventory_item_id, location_id=level.location_id,
                                 quantity=value, change_from_quantity=None)

    assert api.set_available_quantities([quantity(1)], "correction", idempotency_key="fixed-key-1").ok
    clash = api.set_available_quantities([quantity(2)], "correction", idempotency_key="fixed-key-1")
    assert [e.code for e in clash.user_errors] == ["IDEMPOTENCY_KEY_PARAMETER_MISMATCH"]


def test_idempotency_keys_are_deterministic_from_content():
    assert idempotency_key_for("run-1", [1, 2]) == idempotency_key_for("run-1", [1, 2])
    assert idempotency_key_for("run-1", [1, 2]) != idempotency_key_for("run-2", [1, 2])


def test_bulk_inventory_levels_streams_every_level(sandbox, api):
    runner = BulkOperationRunner(api.client, poll_interval=0.05)
    levels = list(api.bulk_inventory_levels(runner))
    assert len(levels) == len(sandbox.sandbox.store.levels)
    assert all(level.sku and level.available is not None for level in levels)
    assert len({(lv.inventory_item_id, lv.location_id) for lv in levels}) == len(levels)


def test_partial_fulfilment_with_tracking_updates_the_order(api, admin):
    created = admin.post("orders", {"lines": [{"sku": "SKU-00005", "quantity": 3},
                                              {"sku": "SKU-00006", "quantity": 1}]})
    [fulfillment_order] = api.fulfillment_orders(created["id"])
    assert fulfillment_order.can_create_fulfillment
    first_line = fulfillment_order.line_items[0]
    partial = api.create_fulfillment({fulfillment_order.id: [(first_line.id, 2)]},
                                     TrackingInfo(company="UPS", number="1Z999AA10123456784"))
    assert partial.ok and partial.order_fulfillment_status == "PARTIALLY_FULFILLED"
    assert partial.tracking[0].number == "1Z999AA10123456784"
    too_many = api.create_fulfillment({fulfillment_order.id: [(first_line.id, 2)]})
    assert not too_many.ok and "remaining 1" in too_many.user_errors[0].message
    rest = api.create_fulfillment({fulfillment_order.id: None})
    assert rest.ok and rest.order_fulfillment_status == "FULFILLED"
    assert api.get_order(created["id"]).display_fulfillment_status == "FULFILLED"


def test_tags_and_metafields_on_orders(api, all_orders):
    order_id = all_orders[0].id
    assert api.add_tags(order_id, ["exported-to-max", "MAX-SO-000123"]).ok
    result = api.set_metafields([{"ownerId": order_id, "namespace": "erp", "key": "max_order",
                                  "type": "single_line_text_field", "value": "SO-000123"}])
    assert result.ok and result.metafields[0].value == "SO-000123"
    assert {"exported-to-max", "MAX-SO-000123"} <= set(api.get_order(order_id).tags)
    bad = api.set_metafields([{"ownerId": "gid://shopify/Order/1", "namespace": "erp", "key": "x",
                               "type": "single_line_text_field", "value": "y"}])
    assert not bad.ok and bad.user_errors[0].element_index == 0


def test_customer_set_upserts_and_customer_read(api):
    created = api.set_customer({"email": "new.buyer@example.com", "firstName": "Nieuw", "lastName": "Klant",
                                "taxExempt": True}, identifier={"email": "new.buyer@example.com"})
    assert created.ok and created.customer.tax_exempt
    updated = api.set_customer({"note": "Net 30 in MAX"}, identifier={"id": created.node_id})
    assert updated.node_id == created.node_id
    read = api.get_customer(created.node_id)
    assert read.email == "new.buyer@example.com" and read.note == "Net 30 in MAX"
    missing = api.set_customer({"note": "x"}, identifier={"id": "gid://shopify/Customer/1"})
    assert [e.code for e in missing.user_errors] == ["NOT_FOUND"]


def test_bulk_orders_backfill_matches_the_paged_read(api, all_orders):
    """The bulk path reassembles each order from grouped JSONL rows into the same typed Order."""
    runner = BulkOperationRunner(api.client, poll_interval=0.05)
    bulk = {o.id: o for o in api.bulk_orders_updated(utcnow() - timedelta(days=3), None, runner)}
    paged = {o.id: o for o in all_orders}
    assert set(paged) <= set(bulk)  # other tests may have added orders since
    assert [o.updated_at for o in bulk.values()] == sorted(o.updated_at for o in bulk.values())
    for order_id, order in paged.items():
        from_bulk = bulk[order_id]
        assert [line.id for line in from_bulk.line_items] == [line.id for line in order.line_items]
        assert from_bulk.shipping_lines == order.shipping_lines
        assert from_bulk.discount_applications == order.discount_applications
        assert from_bulk.total_price_set == order.total_price_set
