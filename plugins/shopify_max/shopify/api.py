"""Typed Shopify operations the DAGs use: orders, locations, SKUs, inventory, fulfilment, tags, customers.

:class:`ShopifyAdminApi` needs only a :class:`~shopify_max.shopify.client.ShopifyClient`; the Airflow
:class:`~shopify_max.shopify.hook.ShopifyHook` builds that client from a connection and inherits these methods.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from shopify_max.clock import as_utc
from shopify_max.shopify import documents
from shopify_max.shopify.bulk import BulkOperationRunner
from shopify_max.shopify.client import ShopifyClient
from shopify_max.shopify.errors import ShopifyBulkOperationError
from shopify_max.shopify.fulfilment_api import FulfilmentApi
from shopify_max.shopify.limits import MAX_INPUT_ARRAY_ITEMS
from shopify_max.shopify.master_data_api import MasterDataApi
from shopify_max.shopify.model_base import parse_user_errors
from shopify_max.shopify.models import (
    Customer,
    InventoryItemRef,
    InventoryLevel,
    InventoryQuantity,
    Location,
    Metafield,
    MutationResult,
    Order,
    SetQuantitiesResult,
    SkuLookup,
    flatten_connections,
)
from shopify_max.shopify.pacing import BucketState
from shopify_max.shopify.refund_api import RefundApi

SKUS_PER_LOOKUP = 50
ITEMS_PER_LEVEL_READ = 25
LEVELS_PER_ITEM_PAGE = 8  # 25 items × 8 levels keeps one read well under the 1,000-point query limit


def idempotency_key_for(*parts: Any) -> str:
    """A deterministic ``@idempotent`` key derived from content: the same content always gives the same key.

    Pass what makes the request unique (e.g. the sync run id and the quantities), so a retried or re-run
    request replays the first result instead of applying twice.
    """
    canonical = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return str(uuid.UUID(hashlib.sha256(canonical.encode()).hexdigest()[:32]))


def _search_time(moment: datetime) -> str:
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


class ShopifyAdminApi(FulfilmentApi, RefundApi, MasterDataApi):
    """Typed operations over a client. Subclasses (the hook) may provide ``client`` lazily.

    The fulfilment and order operations (state, fulfilments, tracking, moves, close, capture, mark as paid) come
    from :class:`~shopify_max.shopify.fulfilment_api.FulfilmentApi`; refunds and returns from
    :class:`~shopify_max.shopify.refund_api.RefundApi`; master data (customers, variants, order codes) from
    :class:`~shopify_max.shopify.master_data_api.MasterDataApi`.
    """

    def __init__(self, client: ShopifyClient | None = None) -> None:
        self._client = client

    @property
    def client(self) -> ShopifyClient:
        if self._client is None:
            raise ValueError("ShopifyAdminApi needs a ShopifyClient")
        return self._client

    # ----- shop and locations -----
    def shop_info(self) -> dict[str, Any]:
        return self.client.execute(documents.SHOP).data["shop"]

    def bucket_state(self) -> BucketState | None:
        """The cost bucket as Shopify reports it now, from one cheap query (1 point)."""
        self.client.execute(documents.SHOP)
        return self.client.pacer.state

    def list_locations(self) -> list[Location]:
        nodes = self.client.paginate(documents.LOCATIONS, {}, ("locations",), page_size=50)
        return [Location.model_validate(node) for node in nodes]

    # ----- orders -----
    def iter_orders_updated(self, updated_at_min: datetime, updated_at_max: datetime | None = None, *,
                            page_size: int = 2, lines_per_page: int = 10) -> Iterator[Order]:
        """Orders with ``updated_at`` in [min, max), oldest update first, each with all its line items.

        Page sizes keep one request under Shopify's 1,000-point single-query cost; orders with more lines
        than ``lines_per_page`` get their remaining lines fetched page by page.
        """
        query = f"updated_at:>='{_search_time(updated_at_min)}'"
        if updated_at_max is not None:
            query += f" AND updated_at:<'{_search_time(updated_at_max)}'"
        variables = {"query": query, "linesFirst": lines_per_page}
        for node in self.client.paginate(documents.ORDERS_UPDATED, variables, ("orders",), page_size):
            yield self._complete_order(node)

    def get_order(self, order_id: str, *, lines_per_page: int = 40) -> Order | None:
        data = self.client.execute(documents.ORDER_BY_ID, {"id": order_id, "linesFirst": lines_per_page}).data
        return self._complete_order(data["order"]) if data.get("order") else None

    def _complete_order(self, node: dict[str, Any]) -> Order:
        line_items = node["lineItems"]
        lines = list(line_items["nodes"])
        page_info = line_items["pageInfo"]
        while page_info["hasNextPage"]:
            page = self.client.execute(documents.ORDER_LINE_ITEMS_PAGE,
                                       {"id": node["id"], "first": 40, "after": page_info["endCursor"]})
            connection = page.data["order"]["lineItems"]
            lines.extend(connection["nodes"])
            page_info = connection["pageInfo"]
        return Order.model_validate(flatten_connections({**node, "lineItems": lines}))

    def bulk_orders_updated(self, updated_at_min: datetime, updated_at_max: datetime | None = None,
                            runner: BulkOperationRunner | None = None) -> Iterator[Order]:
        """Orders updated in [min, max) through a bulk operation (for large backfills), streamed one by one.

        Uses grouped output, so each order's line items, shipping lines and discount applications follow it.
        """
        runner = runner or BulkOperationRunner(self.client)
        search = f"updated_at:>='{_search_time(updated_at_min)}'"
        if updated_at_max is not None:
            search += f" AND updated_at:<'{_search_time(updated_at_max)}'"
        children_keys = {"LineItem": "lineItems", "ShippingLine": "shippingLines"}
        current: dict[str, Any] | None = None
        for row in runner.run(documents.bulk_orders_query(search), group_objects=True):
            if "__parentId" not in row:
                if current is not None:
                    yield Order.model_validate(current)
                current = {**row, "lineItems": [], "shippingLines": [], "discountApplications": []}
                continue
            if current is None or row["__parentId"] != current["id"]:
                raise ShopifyBulkOperationError(f"bulk orders: a child of {row['__parentId']} is out of its group")
            current[children_keys.get(row.get("__typename"), "discountApplications")].append(row)
        if current is not None:
            yield Order.model_validate(current)

    # ----- SKUs and inventory -----
    def find_variants_by_sku(self, skus: Iterable[str]) -> SkuLookup:
        """Every variant per SKU; SKUs are not unique in Shopify, so duplicates are reported, not hidden."""
        wanted = list(dict.fromkeys(skus))
        matches: dict[str, list[InventoryItemRef]] = {sku: [] for sku in wanted}
        for start in range(0, len(wanted), SKUS_PER_LOOKUP):
            batch = wanted[start:start + SKUS_PER_LOOKUP]
            query = " OR ".join(f"sku:{json.dumps(sku)}" for sku in batch)
            for node in self.client.paginate(documents.VARIANTS_BY_SKU, {"query": query}, ("productVariants",),
                                             page_size=100):
                ref = InventoryItemRef.model_validate(node)
                if ref.sku in matches:  # Shopify search is fuzzy: keep exact matches only
                    matches[ref.sku].append(ref)
        return SkuLookup(matches=matches, missing=[s for s, refs in matches.items() if not refs],
                         duplicates=[s for s, refs in matches.items() if len(refs) > 1])

    def inventory_levels(self, inventory_item_ids: Sequence[str],
                         location_ids: Iterable[str] | None = None) -> list[InventoryLevel]:
        """Named quantities (available, on_hand, committed) for items × locations (all locations if None)."""
        wanted_locations = set(location_ids) if location_ids is not None else None
        levels: list[InventoryLevel] = []
        for start in range(0, len(inventory_item_ids), ITEMS_PER_LEVEL_READ):
            batch = list(inventory_item_ids[start:start + ITEMS_PER_LEVEL_READ])
            data = self.client.execute(documents.INVENTORY_LEVELS_FOR_ITEMS,
                                       {"ids": batch, "levelsFirst": LEVELS_PER_ITEM_PAGE}).data
            for item in data["nodes"]:
                if not item or item.get("__typename") != "InventoryItem":
                    continue
                for level in self._all_levels(item):
                    if wanted_locations is not None and level["location"]["id"] not in wanted_locations:
                        continue
                    quantities = {q["name"]: q["quantity"] for q in level["quantities"]}
                    levels.append(InventoryLevel(inventory_item_id=item["id"], location_id=level["location"]["id"],
                                                 sku=item.get("sku"), **quantities))
        return levels

    def _all_levels(self, item: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """An item's levels: the first page came with the item; an item stocked at more locations pages on."""
        connection = item["inventoryLevels"]
        yield from connection["nodes"]
        while connection["pageInfo"]["hasNextPage"]:
            page = self.client.execute(documents.INVENTORY_ITEM_LEVELS_PAGE, {
                "id": item["id"], "first": 50, "after": connection["pageInfo"]["endCursor"]}).data
            connection = page["inventoryItem"]["inventoryLevels"]
            yield from connection["nodes"]

    def set_available_quantities(self, quantities: Sequence[InventoryQuantity], reason: str,
                                 reference_document_uri: str | None = None,
                                 idempotency_key: str | None = None) -> SetQuantitiesResult:
        """``inventorySetQuantities`` (name "available") with ``changeFromQuantity`` on every quantity.

        Returns userErrors (e.g. CHANGE_FROM_QUANTITY_STALE) as data. Without a key, one is derived from the
        content, so resending the same batch can never apply twice.
        """
        if not quantities:
            raise ValueError("no quantities to set")
        if len(quantities) > MAX_INPUT_ARRAY_ITEMS:
            raise ValueError(f"at most {MAX_INPUT_ARRAY_ITEMS} quantities per call, got {len(quantities)}")
        payload_quantities = [{"inventoryItemId": q.inventory_item_id, "locationId": q.location_id,
                               "quantity": q.quantity, "changeFromQuantity": q.change_from_quantity}
                              for q in quantities]
        input_ = {"name": "available", "reason": reason, "referenceDocumentUri": reference_document_uri,
                  "quantities": payload_quantities}
        key = idempotency_key or idempotency_key_for("inventorySetQuantities", input_)
        data = self.client.execute(documents.INVENTORY_SET_QUANTITIES,
                                   {"input": input_, "idempotencyKey": key}).data["inventorySetQuantities"]
        group = data.get("inventoryAdjustmentGroup") or {}
        return SetQuantitiesResult.model_validate({
            "idempotency_key": key, "adjustment_group_id": group.get("id"),
            "user_errors": data.get("userErrors") or []})

    def bulk_inventory_levels(self, runner: BulkOperationRunner | None = None) -> Iterator[InventoryLevel]:
        """Every inventory level of the shop (available), streamed from a bulk operation's JSONL."""
        runner = runner or BulkOperationRunner(self.client)
        skus: dict[str, str | None] = {}
        orphans: list[dict[str, Any]] = []
        for row in runner.run(documents.BULK_ALL_INVENTORY_LEVELS):
            parent = row.get("__parentId")
            if parent is None:
                skus[row["id"]] = row.get("sku")
                continue
            if parent not in skus:  # ungrouped output may put a child before its parent
                orphans.append(row)
                continue
            yield _level_from_row(row, skus[parent])
        for row in orphans:
            yield _level_from_row(row, skus.get(row["__parentId"]))

    # ----- tags, metafields, customers -----
    def add_tags(self, node_id: str, tags: Sequence[str]) -> MutationResult:
        data = self.client.execute(documents.TAGS_ADD, {"id": node_id, "tags": list(tags)}).data["tagsAdd"]
        return MutationResult(node_id=(data.get("node") or {}).get("id"), user_errors=parse_user_errors(data["userErrors"]))

    def remove_tags(self, node_gid: str, tags: Sequence[str]) -> MutationResult:
        data = self.client.execute(documents.TAGS_REMOVE, {"id": node_gid, "tags": list(tags)}).data["tagsRemove"]
        return MutationResult(node_id=(data.get("node") or {}).get("id"), user_errors=parse_user_errors(data["userErrors"]))

    def set_metafields(self, metafields: Sequence[dict[str, Any]]) -> MutationResult:
        """``metafieldsSet``: each dict has ownerId, namespace, key, type, value (≤ 25 per call)."""
        data = self.client.execute(documents.METAFIELDS_SET, {"metafields": list(metafields)}).data["metafieldsSet"]
        return MutationResult(metafields=[Metafield.model_validate(m) for m in data.get("metafields") or []],
                              user_errors=parse_user_errors(data["userErrors"]))

    def get_customer(self, customer_id: str) -> Customer | None:
        data = self.client.execute(documents.CUSTOMER_BY_ID, {"id": customer_id}).data
        return Customer.model_validate(data["customer"]) if data.get("customer") else None

    def set_customer(self, values: dict[str, Any], identifier: dict[str, Any] | None = None) -> MutationResult:
        """``customerSet`` upsert; ``identifier`` is {"id": gid} or {"email": ...}; ``values`` is CustomerSetInput."""
        data = self.client.execute(documents.CUSTOMER_SET, {"identifier": identifier, "input": values}).data
        payload = data["customerSet"]
        customer = Customer.model_validate(flatten_connections(payload["customer"])) if payload.get("customer") \
            else None
        return MutationResult(node_id=customer.id if customer else None, customer=customer,
                              user_errors=parse_user_errors(payload["userErrors"]))


def _level_from_row(row: dict[str, Any], sku: str | None) -> InventoryLevel:
    quantities = {q["name"]: q["quantity"] for q in row.get("quantities") or []}
    item_id = row["__parentId"]
    return InventoryLevel(inventory_item_id=item_id, location_id=row["location"]["id"], sku=sku,
                          available=quantities.get("available"))
