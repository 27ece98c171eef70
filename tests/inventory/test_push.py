"""The push against a real Shopify sandbox over HTTP and a real sync store (SQLite and PostgreSQL): stale
compares decided, a second stale queued while the rest of the batch goes on, whole-batch refusals loud, and
concurrent senders that never overdraw the cost bucket."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest

from sandboxes.shopify.app import RunningSandbox, SandboxConfig, run_in_thread
from shopify_max.inventory.push import InventoryPushError, PushSettings, push_quantities
from shopify_max.shopify.api import ShopifyAdminApi
from shopify_max.shopify.client import ShopifyClient
from shopify_max.sync_store import InventoryTarget

MAIN = "gid://shopify/Location/64001001"
SKUS = [f"SKU-{index:05d}" for index in (1, 2, 3, 4, 5, 6, 8, 9)]


@pytest.fixture(scope="module")
def shop() -> Iterator[RunningSandbox]:
    with run_in_thread(SandboxConfig(products=12, orders=2, plan="plus")) as running:
        yield running


@pytest.fixture
def admin(shop) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=shop.base_url, headers={"X-Shopify-Access-Token": shop.sandbox.config.token}) as client:
        client.post("/_sandbox/reset", json={"products": 12, "orders": 2}).raise_for_status()
        client.post("/_sandbox/bucket", json={"preset": "plus"}).raise_for_status()
        yield client


def level(admin, sku: str) -> dict:
    return next(row for row in admin.get("/_sandbox/inventory", params={"sku": sku}).json()["levels"]
                if row["location_id"] == MAIN)


def set_by_hand(admin, row: dict, available: int) -> None:
    admin.post("/_sandbox/inventory", json={"inventory_item_id": row["inventory_item_id"], "location_id": MAIN,
                                            "available": available}).raise_for_status()


def prepare(store, admin, run_id: str, new_quantity) -> dict[str, dict]:  # noqa: ANN001
    """Shadow = Shopify's levels now; targets = ``new_quantity(current)`` for each SKU at the main location."""
    rows = {sku: level(admin, sku) for sku in SKUS}
    store.record_inventory_items({sku: [row["inventory_item_id"]] for sku, row in rows.items()})
    store.replace_shadow({(row["inventory_item_id"], MAIN): row["available"] for row in rows.values()})
    store.replace_inventory_targets([InventoryTarget(sku, MAIN, f"PRT-{sku[4:]}", new_quantity(row["available"]))
                                     for sku, row in rows.items()], run_id=run_id)
    return rows


class SaleAfterEveryRead(ShopifyAdminApi):
    """A shop where a POS sale lands right after each read of ``victim``: its compare is stale every time."""

    def __init__(self, client: ShopifyClient, admin: httpx.Client, victim: str) -> None:
        super().__init__(client)
        self.admin, self.victim = admin, victim

    def inventory_levels(self, inventory_item_ids, location_ids=None):  # noqa: ANN001, ANN201
        levels = super().inventory_levels(inventory_item_ids, location_ids)
        row = level(self.admin, self.victim)
        if row["inventory_item_id"] in inventory_item_ids:
            set_by_hand(self.admin, row, row["available"] - 1)
        return levels


def test_a_second_stale_goes_to_the_error_queue_and_the_rest_of_the_batch_is_set(shop, admin, sync_store):
    rows = prepare(sync_store, admin, "run-1", lambda current: current + 3)
    set_by_hand(admin, rows["SKU-00004"], rows["SKU-00004"]["available"] - 1)  # stale before the first try
    client = ShopifyClient(shop.base_url, shop.sandbox.config.token)

    summary = push_quantities(sync_store, lambda: SaleAfterEveryRead(client.clone(), admin, "SKU-00004"),
                              run_id="run-1", settings=PushSettings(senders=1))

    assert summary["planned"] == 8 and summary["pushed"] == 7 and summary["failed"] == 1
    assert summary["mutations"] == 3  # stale → read again → stale again → the other seven on their own
    for sku in SKUS:
        if sku != "SKU-00004":
            assert level(admin, sku)["available"] == rows[sku]["available"] + 3
    [queued] = sync_store.list_errors(entity="inventory", stage="push")
    assert queued.record_key == f"SKU-00004 @ {MAIN}"
    assert "changeFromQuantity was stale twice" in queued.reason and "SKU-00004" in queued.reason
    assert queued.detail["quantity"] == rows["SKU-00004"]["available"] + 3
    shadow = sync_store.shadow_quantities()
    assert shadow[(rows["SKU-00001"]["inventory_item_id"], MAIN)] == rows["SKU-00001"]["available"] + 3
    assert shadow[(rows["SKU-00004"]["inventory_item_id"], MAIN)] == rows["SKU-00004"]["available"]  # unchanged

    # The next run sets it (the sale storm is over) and the queue item resolves itself.
    rows = prepare(sync_store, admin, "run-2", lambda current: 40)
    again = push_quantities(sync_store, lambda: ShopifyAdminApi(client.clone()), run_id="run-2")
    assert again["failed"] == 0 and level(admin, "SKU-00004")["available"] == 40
    assert sync_store.list_errors(entity="inventory", stage="push")[0].status == "resolved"


def test_a_batch_refused_as_a_whole_fails_the_task_and_names_the_setting(shop, admin, sync_store):
    prepare(sync_store, admin, "run-1", lambda current: current + 1)
    client = ShopifyClient(shop.base_url, shop.sandbox.config.token)
    with pytest.raises(InventoryPushError, match=r"refused the whole batch \(INVALID_REASON.*check the reason ''"):
        push_quantities(sync_store, lambda: ShopifyAdminApi(client.clone()), run_id="run-1",
                        settings=PushSettings(reason=""))


def test_concurrent_senders_share_the_budget_and_are_never_throttled(shop, admin, sync_store):
    admin.post("/_sandbox/bucket", json={"bucket_size": 40, "restore_rate": 100}).raise_for_status()
    prepare(sync_store, admin, "run-1", lambda current: current + 2)
    throttled_before = admin.get("/_sandbox/state").json()["stats"].get("throttled", 0)
    client = ShopifyClient(shop.base_url, shop.sandbox.config.token)

    summary = push_quantities(sync_store, lambda: ShopifyAdminApi(client.clone()), run_id="run-1",
                              settings=PushSettings(batch_size=1, senders=4))

    assert summary["batches"] == summary["mutations"] == 8 and summary["pushed"] == 8
    assert summary["points_planned"] == 80  # computed ahead: 8 mutations × 10 points
    assert summary["restore_rate"] == 100 and summary["lower_bound_seconds"] is not None
    assert admin.get("/_sandbox/state").json()["stats"].get("throttled", 0) == throttled_before
    assert summary["throttled_retries"] == 0


class WatchesTheBucket(ShopifyAdminApi):
    """Notes what the bucket held after each of its mutations, as Shopify reported it."""

    seen: list[float] = []

    def set_available_quantities(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
        result = super().set_available_quantities(*args, **kwargs)
        self.seen.append(self.client.pacer.state.currently_available)
        return result


def test_spare_points_are_left_in_the_bucket_for_the_other_flows(shop, admin, sync_store):
    admin.post("/_sandbox/bucket", json={"bucket_size": 100, "restore_rate": 100}).raise_for_status()
    prepare(sync_store, admin, "run-1", lambda current: current + 4)
    client = ShopifyClient(shop.base_url, shop.sandbox.config.token)
    WatchesTheBucket.seen = []

    summary = push_quantities(sync_store, lambda: WatchesTheBucket(client.clone()), run_id="run-1",
                              settings=PushSettings(batch_size=1, senders=2, spare_points=60))

    assert summary["pushed"] == 8 and summary["throttled_retries"] == 0
    assert len(WatchesTheBucket.seen) == 8 and min(WatchesTheBucket.seen) >= 59  # never dipped into the 60 spare


def test_an_item_stocked_at_more_locations_than_one_page_holds_has_all_its_levels_read(shop, admin):
    store = shop.sandbox.store
    with store.lock:  # a shop with 12 locations more; the next test's reset removes them
        extra = [store.add_location(f"Outlet {n}", 64_002_000 + n)["id"] for n in range(12)]
        product = store.add_product("Widely stocked widget", "Acme Manufacturing")
        store.add_variant(product, "SKU-WIDE", "Each", Decimal("5.00"), {gid: n for n, gid in enumerate(extra)})
    api = ShopifyAdminApi(ShopifyClient(shop.base_url, shop.sandbox.config.token))
    item = api.find_variants_by_sku(["SKU-WIDE"]).matches["SKU-WIDE"][0].inventory_item_id

    levels = api.inventory_levels([item])

    assert sorted(level.location_id for level in levels) == sorted(extra)  # 12 > the 8 of the first page
    assert {level.location_id: level.available for level in levels}[extra[11]] == 11
