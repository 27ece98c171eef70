"""Every GraphQL document the project sends to Shopify, in one place (with :mod:`.fulfilment_documents`,
:mod:`.refund_documents` and :mod:`.master_data_documents`).

Each :class:`Document` has an operation name (logged per request) and its text; fragments
(:mod:`.document_base`) are appended automatically where a document spreads them.
``tests/shopify/test_shopify_contract.py`` validates every entry of :data:`ALL_DOCUMENTS` against the vendored
2026-07 schema.
"""

from __future__ import annotations

import json

from shopify_max.shopify import fulfilment_documents, master_data_documents, refund_documents
from shopify_max.shopify.document_base import FRAGMENTS, Document, build_document

__all__ = ["ALL_DOCUMENTS", "FRAGMENTS", "Document", "bulk_orders_query"]


SHOP = build_document("""
query ShopInfo {
  shop { id name myshopifyDomain currencyCode ianaTimezone enabledPresentmentCurrencies }
}""")

LOCATIONS = build_document("""
query Locations($first: Int!, $after: String) {
  locations(first: $first, after: $after, includeInactive: true) {
    pageInfo { hasNextPage endCursor }
    nodes { id legacyResourceId name isActive fulfillsOnlineOrders }
  }
}""")

ORDERS_UPDATED = build_document("""
query OrdersUpdated($first: Int!, $after: String, $query: String!, $linesFirst: Int!) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes { ...OrderFields }
  }
}""")

ORDER_BY_ID = build_document("""
query OrderById($id: ID!, $linesFirst: Int!) {
  order(id: $id) { ...OrderFields }
}""")

ORDER_LINE_ITEMS_PAGE = build_document("""
query OrderLineItemsPage($id: ID!, $first: Int!, $after: String) {
  order(id: $id) {
    id
    lineItems(first: $first, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes { ...LineItemFields }
    }
  }
}""")

VARIANTS_BY_SKU = build_document("""
query VariantsBySku($first: Int!, $after: String, $query: String!) {
  productVariants(first: $first, after: $after, query: $query) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id sku title price
      product { id title vendor }
      inventoryItem { id sku tracked duplicateSkuCount }
    }
  }
}""")

INVENTORY_LEVELS_FOR_ITEMS = build_document("""
query InventoryLevelsForItems($ids: [ID!]!, $levelsFirst: Int!) {
  nodes(ids: $ids) {
    __typename
    ... on InventoryItem {
      id sku
      inventoryLevels(first: $levelsFirst) {
        pageInfo { hasNextPage endCursor }
        nodes { ...InventoryLevelFields }
      }
    }
  }
}""")

# The rest of one item's levels, for an item stocked at more locations than the first page held.
INVENTORY_ITEM_LEVELS_PAGE = build_document("""
query InventoryItemLevelsPage($id: ID!, $first: Int!, $after: String) {
  inventoryItem(id: $id) {
    id sku
    inventoryLevels(first: $first, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes { ...InventoryLevelFields }
    }
  }
}""")

INVENTORY_SET_QUANTITIES = build_document("""
mutation InventorySetQuantities($input: InventorySetQuantitiesInput!, $idempotencyKey: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $idempotencyKey) {
    inventoryAdjustmentGroup { id reason referenceDocumentUri }
    userErrors { field message code }
  }
}""")

TAGS_ADD = build_document("""
mutation TagsAdd($id: ID!, $tags: [String!]!) {
  tagsAdd(id: $id, tags: $tags) {
    node { id }
    userErrors { field message }
  }
}""")

METAFIELDS_SET = build_document("""
mutation MetafieldsSet($metafields: [MetafieldsSetInput!]!) {
  metafieldsSet(metafields: $metafields) {
    metafields { id namespace key type value }
    userErrors { field message code elementIndex }
  }
}""")

TAGS_REMOVE = build_document("""
mutation TagsRemove($id: ID!, $tags: [String!]!) {
  tagsRemove(id: $id, tags: $tags) { node { id } userErrors { field message } }
}""")

CUSTOMER_BY_ID = build_document("""
query CustomerById($id: ID!) {
  customer(id: $id) { ...CustomerFields }
}""")

CUSTOMER_SET = build_document("""
mutation CustomerSet($identifier: CustomerSetIdentifiers, $input: CustomerSetInput!) {
  customerSet(identifier: $identifier, input: $input) {
    customer { ...CustomerFields }
    userErrors { field message code }
  }
}""")

BULK_OPERATION_RUN_QUERY = build_document("""
mutation BulkOperationRunQuery($query: String!, $groupObjects: Boolean!) {
  bulkOperationRunQuery(query: $query, groupObjects: $groupObjects) {
    bulkOperation { id status createdAt }
    userErrors { field message code }
  }
}""")

BULK_OPERATION_STATUS = build_document("""
query BulkOperationStatus($id: ID!) {
  bulkOperation(id: $id) { id status errorCode objectCount rootObjectCount fileSize url partialDataUrl completedAt }
}""")

# The query a bulk operation runs (sent as a string argument, validated like any other document).
BULK_ALL_INVENTORY_LEVELS = build_document("""
query BulkAllInventoryLevels {
  inventoryItems {
    edges {
      node {
        id sku
        inventoryLevels {
          edges { node { id location { id } quantities(names: ["available"]) { name quantity } } }
        }
      }
    }
  }
}""")

# Orders for a backfill window: the search string is the one dynamic part, inlined as a GraphQL string literal
# by bulk_orders_query() (bulk queries take no variables). At most 5 connections, nested 2 deep (Shopify's rule).
BULK_ORDERS_SEARCH_PLACEHOLDER = "__SEARCH__"
BULK_ORDERS = build_document("""
query BulkOrders {
  orders(query: "__SEARCH__", sortKey: UPDATED_AT) {
    edges {
      node {
        ...OrderHeaderFields
        transactions { id kind status gateway amountSet { ...MoneyBagFields } }
        refunds { id createdAt note totalRefundedSet { ...MoneyBagFields } }
        discountApplications {
          edges {
            node {
              ...DiscountApplicationFields
            }
          }
        }
        shippingLines {
          edges {
            node {
              __typename ...ShippingLineFields
            }
          }
        }
        lineItems { edges { node { __typename ...LineItemFields } } }
      }
    }
  }
}""")


def bulk_orders_query(search: str) -> Document:
    """:data:`BULK_ORDERS` for one search (e.g. ``updated_at:>='2026-01-01T00:00:00Z'``), safely quoted."""
    literal = json.dumps(search)  # a JSON string is a valid GraphQL string literal
    text = BULK_ORDERS.text.replace(json.dumps(BULK_ORDERS_SEARCH_PLACEHOLDER), literal, 1)
    return Document(BULK_ORDERS.operation_name, text)


ALL_DOCUMENTS: dict[str, Document] = {
    doc.operation_name: doc
    for doc in (
        SHOP, LOCATIONS, ORDERS_UPDATED, ORDER_BY_ID, ORDER_LINE_ITEMS_PAGE, VARIANTS_BY_SKU,
        INVENTORY_LEVELS_FOR_ITEMS, INVENTORY_ITEM_LEVELS_PAGE, INVENTORY_SET_QUANTITIES, TAGS_ADD, TAGS_REMOVE,
        METAFIELDS_SET, CUSTOMER_BY_ID, CUSTOMER_SET, BULK_OPERATION_RUN_QUERY, BULK_OPERATION_STATUS,
        BULK_ALL_INVENTORY_LEVELS, BULK_ORDERS, *fulfilment_documents.FULFILMENT_DOCUMENTS,
        *refund_documents.REFUND_DOCUMENTS, *master_data_documents.MASTER_DATA_DOCUMENTS,
    )
}
