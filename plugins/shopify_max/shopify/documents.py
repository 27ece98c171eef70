"""Every GraphQL document the project sends to Shopify, in one place.

Each :class:`Document` has an operation name (logged per request) and its text; fragments are appended
automatically where a document spreads them. ``tests/shopify/test_contract.py`` validates every entry of
:data:`ALL_DOCUMENTS` against the vendored 2026-07 schema.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

FRAGMENTS: dict[str, str] = {
    "InventoryLevelFields": """
fragment InventoryLevelFields on InventoryLevel {
  id location { id } quantities(names: ["available", "on_hand", "committed"]) { name quantity }
}""",
    "MoneyBagFields": """
fragment MoneyBagFields on MoneyBag {
  shopMoney { amount currencyCode }
  presentmentMoney { amount currencyCode }
}""",
    "AddressFields": """
fragment AddressFields on MailingAddress {
  firstName lastName name company address1 address2 city province provinceCode zip country countryCodeV2 phone
}""",
    "TaxLineFields": """
fragment TaxLineFields on TaxLine {
  title rate ratePercentage channelLiable priceSet { ...MoneyBagFields }
}""",
    "DiscountAllocationFields": """
fragment DiscountAllocationFields on DiscountAllocation {
  allocatedAmountSet { ...MoneyBagFields }
  discountApplication { index }
}""",
    "CustomerFields": """
fragment CustomerFields on Customer {
  id legacyResourceId firstName lastName displayName note tags taxExempt taxExemptions locale updatedAt
  defaultEmailAddress { emailAddress }
  defaultPhoneNumber { phoneNumber }
  defaultAddress { ...AddressFields }
}""",
    "LineItemFields": """
fragment LineItemFields on LineItem {
  id sku name title variantTitle vendor quantity currentQuantity isGiftCard requiresShipping taxable
  variant { id sku }
  originalUnitPriceSet { ...MoneyBagFields }
  discountedUnitPriceAfterAllDiscountsSet { ...MoneyBagFields }
  taxLines { ...TaxLineFields }
  discountAllocations { ...DiscountAllocationFields }
}""",
    "OrderHeaderFields": """
fragment OrderHeaderFields on Order {
  id legacyResourceId name number createdAt updatedAt processedAt cancelledAt cancelReason closed
  currencyCode presentmentCurrencyCode taxesIncluded taxExempt test
  displayFinancialStatus displayFulfillmentStatus paymentGatewayNames
  email phone note tags poNumber sourceName discountCodes
  customer { ...CustomerFields }
  purchasingEntity { __typename ... on PurchasingCompany { company { id name externalId } } }
  billingAddress { ...AddressFields }
  shippingAddress { ...AddressFields }
  subtotalPriceSet { ...MoneyBagFields }
  totalDiscountsSet { ...MoneyBagFields }
  totalShippingPriceSet { ...MoneyBagFields }
  totalTaxSet { ...MoneyBagFields }
  totalPriceSet { ...MoneyBagFields }
  currentTotalPriceSet { ...MoneyBagFields }
  totalRefundedSet { ...MoneyBagFields }
  taxLines { ...TaxLineFields }
}""",
    "DiscountApplicationFields": """
fragment DiscountApplicationFields on DiscountApplication {
  __typename index allocationMethod targetSelection targetType
  value { __typename ... on MoneyV2 { amount currencyCode } ... on PricingPercentageValue { percentage } }
  ... on DiscountCodeApplication { code }
  ... on AutomaticDiscountApplication { title }
  ... on ManualDiscountApplication { title description }
  ... on ScriptDiscountApplication { title }
}""",
    "ShippingLineFields": """
fragment ShippingLineFields on ShippingLine {
  id title code source carrierIdentifier
  originalPriceSet { ...MoneyBagFields }
  discountedPriceSet { ...MoneyBagFields }
  taxLines { ...TaxLineFields }
  discountAllocations { ...DiscountAllocationFields }
}""",
    "OrderFields": """
fragment OrderFields on Order {
  ...OrderHeaderFields
  discountApplications(first: 10) {
    nodes {
      ...DiscountApplicationFields
    }
  }
  shippingLines(first: 5) {
    nodes {
      ...ShippingLineFields
    }
  }
  transactions { id kind status gateway amountSet { ...MoneyBagFields } }
  refunds {
    id createdAt note
    totalRefundedSet { ...MoneyBagFields }
    refundLineItems(first: 10) { nodes { quantity lineItem { id sku } subtotalSet { ...MoneyBagFields } } }
  }
  lineItems(first: $linesFirst) {
    pageInfo { hasNextPage endCursor }
    nodes { ...LineItemFields }
  }
}""",
}


@dataclass(frozen=True)
class Document:
    """One GraphQL operation: its name (as logged) and its full text, fragments included."""

    operation_name: str
    text: str
    is_mutation: bool = False

    @property
    def uses_idempotent_key(self) -> bool:
        return "@idempotent" in self.text


def _with_fragments(body: str) -> str:
    """Append every fragment that ``body`` spreads, transitively, once each."""
    included: list[str] = []
    pending = list(dict.fromkeys(re.findall(r"\.\.\.(\w+)", body)))
    while pending:
        name = pending.pop(0)
        if name in included or name not in FRAGMENTS:
            continue
        included.append(name)
        pending.extend(re.findall(r"\.\.\.(\w+)", FRAGMENTS[name]))
    return body.strip() + "\n" + "".join(FRAGMENTS[name] for name in included)


def _document(body: str) -> Document:
    match = re.match(r"\s*(query|mutation)\s+(\w+)", body)
    if not match:
        raise ValueError("every document must be a named query or mutation")
    return Document(match.group(2), _with_fragments(body), match.group(1) == "mutation")


SHOP = _document("""
query ShopInfo {
  shop { id name myshopifyDomain currencyCode ianaTimezone enabledPresentmentCurrencies }
}""")

LOCATIONS = _document("""
query Locations($first: Int!, $after: String) {
  locations(first: $first, after: $after, includeInactive: true) {
    pageInfo { hasNextPage endCursor }
    nodes { id legacyResourceId name isActive fulfillsOnlineOrders }
  }
}""")

ORDERS_UPDATED = _document("""
query OrdersUpdated($first: Int!, $after: String, $query: String!, $linesFirst: Int!) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes { ...OrderFields }
  }
}""")

ORDER_BY_ID = _document("""
query OrderById($id: ID!, $linesFirst: Int!) {
  order(id: $id) { ...OrderFields }
}""")

ORDER_LINE_ITEMS_PAGE = _document("""
query OrderLineItemsPage($id: ID!, $first: Int!, $after: String) {
  order(id: $id) {
    id
    lineItems(first: $first, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes { ...LineItemFields }
    }
  }
}""")

VARIANTS_BY_SKU = _document("""
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

INVENTORY_LEVELS_FOR_ITEMS = _document("""
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
INVENTORY_ITEM_LEVELS_PAGE = _document("""
query InventoryItemLevelsPage($id: ID!, $first: Int!, $after: String) {
  inventoryItem(id: $id) {
    id sku
    inventoryLevels(first: $first, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes { ...InventoryLevelFields }
    }
  }
}""")

INVENTORY_SET_QUANTITIES = _document("""
mutation InventorySetQuantities($input: InventorySetQuantitiesInput!, $idempotencyKey: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $idempotencyKey) {
    inventoryAdjustmentGroup { id reason referenceDocumentUri }
    userErrors { field message code }
  }
}""")

FULFILLMENT_ORDERS = _document("""
query FulfillmentOrdersOfOrder($id: ID!, $first: Int!, $linesFirst: Int!) {
  order(id: $id) {
    id displayFulfillmentStatus
    fulfillmentOrders(first: $first) {
      pageInfo { hasNextPage endCursor }
      nodes {
        id status
        assignedLocation { name location { id } }
        supportedActions { action }
        lineItems(first: $linesFirst) {
          pageInfo { hasNextPage endCursor }
          nodes { id sku totalQuantity remainingQuantity lineItem { id sku } }
        }
      }
    }
  }
}""")

FULFILLMENT_ORDER_LINES_PAGE = _document("""
query FulfillmentOrderLinesPage($id: ID!, $first: Int!, $after: String) {
  fulfillmentOrder(id: $id) {
    id
    lineItems(first: $first, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes { id sku totalQuantity remainingQuantity lineItem { id sku } }
    }
  }
}""")

FULFILLMENT_CREATE = _document("""
mutation FulfillmentCreate($fulfillment: FulfillmentInput!, $message: String) {
  fulfillmentCreate(fulfillment: $fulfillment, message: $message) {
    fulfillment {
      id status name totalQuantity
      trackingInfo { company number url }
      order { id displayFulfillmentStatus }
    }
    userErrors { field message }
  }
}""")

TAGS_ADD = _document("""
mutation TagsAdd($id: ID!, $tags: [String!]!) {
  tagsAdd(id: $id, tags: $tags) {
    node { id }
    userErrors { field message }
  }
}""")

METAFIELDS_SET = _document("""
mutation MetafieldsSet($metafields: [MetafieldsSetInput!]!) {
  metafieldsSet(metafields: $metafields) {
    metafields { id namespace key type value }
    userErrors { field message code elementIndex }
  }
}""")

TAGS_REMOVE = _document("""
mutation TagsRemove($id: ID!, $tags: [String!]!) {
  tagsRemove(id: $id, tags: $tags) { node { id } userErrors { field message } }
}""")

ORDER_FULFILLMENTS = _document("""
query OrderFulfillments($id: ID!) {
  order(id: $id) {
    id displayFulfillmentStatus
    fulfillments(first: 250) {
      id name status createdAt updatedAt location { id }
      trackingInfo(first: 10) { company number url }
      fulfillmentLineItems(first: 250) { nodes { id quantity lineItem { id sku } } }
    }
  }
}""")

FULFILLMENT_TRACKING_INFO_UPDATE = _document("""
mutation FulfillmentTrackingInfoUpdate($fulfillmentId: ID!, $trackingInfoInput: FulfillmentTrackingInput!,
                                       $notifyCustomer: Boolean) {
  fulfillmentTrackingInfoUpdate(fulfillmentId: $fulfillmentId, trackingInfoInput: $trackingInfoInput,
                                notifyCustomer: $notifyCustomer) {
    fulfillment { id status trackingInfo { company number url } }
    userErrors { field message }
  }
}""")

FULFILLMENT_ORDER_MOVE = _document("""
mutation FulfillmentOrderMove($id: ID!, $newLocationId: ID!, $lines: [FulfillmentOrderLineItemInput!]) {
  fulfillmentOrderMove(id: $id, newLocationId: $newLocationId, fulfillmentOrderLineItems: $lines) {
    originalFulfillmentOrder { id status }
    movedFulfillmentOrder {
      id status assignedLocation { location { id } } supportedActions { action }
      lineItems(first: 250) { nodes { id sku totalQuantity remainingQuantity lineItem { id sku } } }
    }
    userErrors { field message code }
  }
}""")

ORDER_CLOSE = _document("""
mutation OrderClose($input: OrderCloseInput!) {
  orderClose(input: $input) { order { id closed closedAt } userErrors { field message } }
}""")

ORDER_CAPTURE = _document("""
mutation OrderCapture($input: OrderCaptureInput!) {
  orderCapture(input: $input) {
    transaction {
      id kind status amountSet { ...MoneyBagFields } parentTransaction { id }
      order { id displayFinancialStatus capturable totalCapturableSet { ...MoneyBagFields } }
    }
    userErrors { field message }
  }
}""")

ORDER_MARK_AS_PAID = _document("""
mutation OrderMarkAsPaid($input: OrderMarkAsPaidInput!) {
  orderMarkAsPaid(input: $input) {
    order { id displayFinancialStatus totalOutstandingSet { ...MoneyBagFields } }
    userErrors { field message }
  }
}""")

CUSTOMER_BY_ID = _document("""
query CustomerById($id: ID!) {
  customer(id: $id) { ...CustomerFields }
}""")

CUSTOMER_SET = _document("""
mutation CustomerSet($identifier: CustomerSetIdentifiers, $input: CustomerSetInput!) {
  customerSet(identifier: $identifier, input: $input) {
    customer { ...CustomerFields }
    userErrors { field message code }
  }
}""")

BULK_OPERATION_RUN_QUERY = _document("""
mutation BulkOperationRunQuery($query: String!, $groupObjects: Boolean!) {
  bulkOperationRunQuery(query: $query, groupObjects: $groupObjects) {
    bulkOperation { id status createdAt }
    userErrors { field message code }
  }
}""")

BULK_OPERATION_STATUS = _document("""
query BulkOperationStatus($id: ID!) {
  bulkOperation(id: $id) { id status errorCode objectCount rootObjectCount fileSize url partialDataUrl completedAt }
}""")

# The query a bulk operation runs (sent as a string argument, validated like any other document).
BULK_ALL_INVENTORY_LEVELS = _document("""
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
BULK_ORDERS = _document("""
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
        INVENTORY_LEVELS_FOR_ITEMS, INVENTORY_ITEM_LEVELS_PAGE, INVENTORY_SET_QUANTITIES, FULFILLMENT_ORDERS, FULFILLMENT_ORDER_LINES_PAGE,
        FULFILLMENT_CREATE, ORDER_FULFILLMENTS, FULFILLMENT_TRACKING_INFO_UPDATE, FULFILLMENT_ORDER_MOVE, TAGS_ADD,
        TAGS_REMOVE, ORDER_CLOSE, ORDER_CAPTURE, ORDER_MARK_AS_PAID, METAFIELDS_SET, CUSTOMER_BY_ID, CUSTOMER_SET, BULK_OPERATION_RUN_QUERY, BULK_OPERATION_STATUS,
        BULK_ALL_INVENTORY_LEVELS, BULK_ORDERS,
    )
}
