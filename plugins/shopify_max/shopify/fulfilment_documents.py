"""The GraphQL documents of fulfilment and order operations (SHOPIFY.md §6): read an order's fulfilment state,
create fulfilments, update tracking, move fulfillment orders, close, capture, mark as paid.

Listed in :data:`shopify_max.shopify.documents.ALL_DOCUMENTS`, so the contract test validates them against the
vendored 2026-07 schema like every other document.
"""

from __future__ import annotations

from shopify_max.shopify.document_base import Document, build_document

# Everything the fulfilment flow decides on, in one read. Connections are sized by variables so the requested
# cost stays under Shopify's 1,000-point single-query limit (SHOPIFY.md §2); what a page leaves out is read
# with the *_PAGE documents below. Plain lists (fulfillments, transactions, trackingInfo) are read whole.
ORDER_FULFILMENT_STATE = build_document("""
query OrderFulfilmentState($id: ID!, $fulfillmentOrdersFirst: Int!, $fulfillmentOrderLinesFirst: Int!,
                           $fulfillmentLinesFirst: Int!, $metafieldsFirst: Int!, $namespace: String,
                           $withMetafields: Boolean!) {
  order(id: $id) {
    id name closed displayFulfillmentStatus displayFinancialStatus tags currencyCode presentmentCurrencyCode
    capturable
    totalCapturableSet { ...MoneyBagFields }
    transactions { ...OrderTransactionFields }
    fulfillments {
      ...FulfillmentFields
      fulfillmentLineItems(first: $fulfillmentLinesFirst) {
        pageInfo { hasNextPage endCursor }
        nodes { ...FulfillmentLineFields }
      }
    }
    fulfillmentOrders(first: $fulfillmentOrdersFirst) {
      pageInfo { hasNextPage endCursor }
      nodes {
        ...FulfillmentOrderFields
        lineItems(first: $fulfillmentOrderLinesFirst) {
          pageInfo { hasNextPage endCursor }
          nodes { ...FulfillmentOrderLineFields }
        }
      }
    }
    metafields(first: $metafieldsFirst, namespace: $namespace) @include(if: $withMetafields) {
      pageInfo { hasNextPage endCursor }
      nodes { key value }
    }
  }
}""")

FULFILLMENT_ORDERS = build_document("""
query FulfillmentOrdersOfOrder($id: ID!, $first: Int!, $linesFirst: Int!, $after: String) {
  order(id: $id) {
    id displayFulfillmentStatus
    fulfillmentOrders(first: $first, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes {
        ...FulfillmentOrderFields
        lineItems(first: $linesFirst) {
          pageInfo { hasNextPage endCursor }
          nodes { ...FulfillmentOrderLineFields }
        }
      }
    }
  }
}""")

FULFILLMENT_ORDER_LINES_PAGE = build_document("""
query FulfillmentOrderLinesPage($id: ID!, $first: Int!, $after: String) {
  fulfillmentOrder(id: $id) {
    id
    lineItems(first: $first, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes { ...FulfillmentOrderLineFields }
    }
  }
}""")

FULFILLMENT_LINES_PAGE = build_document("""
query FulfillmentLinesPage($id: ID!, $first: Int!, $after: String) {
  fulfillment(id: $id) {
    id
    fulfillmentLineItems(first: $first, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes { ...FulfillmentLineFields }
    }
  }
}""")

ORDER_METAFIELDS_PAGE = build_document("""
query OrderMetafieldsPage($id: ID!, $namespace: String!, $first: Int!, $after: String) {
  order(id: $id) {
    id
    metafields(first: $first, after: $after, namespace: $namespace) {
      pageInfo { hasNextPage endCursor }
      nodes { key value }
    }
  }
}""")

FULFILLMENT_CREATE = build_document("""
mutation FulfillmentCreate($fulfillment: FulfillmentInput!, $message: String) {
  fulfillmentCreate(fulfillment: $fulfillment, message: $message) {
    fulfillment {
      ...FulfillmentFields
      totalQuantity
      order { id displayFulfillmentStatus }
    }
    userErrors { field message }
  }
}""")

FULFILLMENT_TRACKING_INFO_UPDATE = build_document("""
mutation FulfillmentTrackingInfoUpdate($fulfillmentId: ID!, $trackingInfoInput: FulfillmentTrackingInput!,
                                       $notifyCustomer: Boolean) {
  fulfillmentTrackingInfoUpdate(fulfillmentId: $fulfillmentId, trackingInfoInput: $trackingInfoInput,
                                notifyCustomer: $notifyCustomer) {
    fulfillment {
      ...FulfillmentFields
      order { id displayFulfillmentStatus }
    }
    userErrors { field message }
  }
}""")

FULFILLMENT_ORDER_MOVE = build_document("""
mutation FulfillmentOrderMove($id: ID!, $newLocationId: ID!, $lines: [FulfillmentOrderLineItemInput!]) {
  fulfillmentOrderMove(id: $id, newLocationId: $newLocationId, fulfillmentOrderLineItems: $lines) {
    originalFulfillmentOrder { id status }
    movedFulfillmentOrder {
      ...FulfillmentOrderFields
      lineItems(first: 250) {
        pageInfo { hasNextPage endCursor }
        nodes { ...FulfillmentOrderLineFields }
      }
    }
    userErrors { field message code }
  }
}""")

ORDER_CLOSE = build_document("""
mutation OrderClose($input: OrderCloseInput!) {
  orderClose(input: $input) { order { id closed closedAt } userErrors { field message } }
}""")

ORDER_CAPTURE = build_document("""
mutation OrderCapture($input: OrderCaptureInput!) {
  orderCapture(input: $input) {
    transaction {
      ...OrderTransactionFields
      order { id displayFinancialStatus capturable totalCapturableSet { ...MoneyBagFields } }
    }
    userErrors { field message }
  }
}""")

ORDER_MARK_AS_PAID = build_document("""
mutation OrderMarkAsPaid($input: OrderMarkAsPaidInput!) {
  orderMarkAsPaid(input: $input) {
    order { id displayFinancialStatus totalOutstandingSet { ...MoneyBagFields } }
    userErrors { field message }
  }
}""")

FULFILMENT_DOCUMENTS: tuple[Document, ...] = (
    ORDER_FULFILMENT_STATE, FULFILLMENT_ORDERS, FULFILLMENT_ORDER_LINES_PAGE, FULFILLMENT_LINES_PAGE,
    ORDER_METAFIELDS_PAGE, FULFILLMENT_CREATE, FULFILLMENT_TRACKING_INFO_UPDATE, FULFILLMENT_ORDER_MOVE, ORDER_CLOSE,
    ORDER_CAPTURE, ORDER_MARK_AS_PAID,
)
