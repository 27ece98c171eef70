"""The GraphQL documents of refunds and returns: find refunded orders, read an order's refunds whole, read its
returns, create a refund.

``Order.refunds`` is a plain list (``first`` only truncates it), so an order's refunds are read in two steps: their
ids (cheap), then the refunds themselves through ``nodes(ids:)``, a few at a time, with their four connections
(lines, shipping lines, adjustments, transactions) sized so one request stays under Shopify's 1,000-point
single-query cost (SHOPIFY.md §2); what a page leaves out is read with :data:`REFUND_CONNECTIONS_PAGE`.

Listed in :data:`shopify_max.shopify.documents.ALL_DOCUMENTS`, so the contract test validates them against the
vendored 2026-07 schema like every other document.
"""

from __future__ import annotations

from shopify_max.shopify.document_base import Document, build_document

# Orders updated in a window, each with its refunds' ids: the poll's lean look for refunds webhooks missed.
REFUNDED_ORDERS = build_document("""
query RefundedOrders($first: Int!, $after: String, $query: String!) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes { id name updatedAt cancelledAt returnStatus refunds { id } }
  }
}""")

REFUND_IDS_OF_ORDER = build_document("""
query RefundIdsOfOrder($id: ID!) {
  order(id: $id) { id refunds { id } }
}""")

REFUNDS_BY_ID = build_document("""
query RefundsById($ids: [ID!]!, $linesFirst: Int!, $shippingFirst: Int!, $adjustmentsFirst: Int!,
                  $transactionsFirst: Int!) {
  nodes(ids: $ids) {
    __typename
    ... on Refund {
      id createdAt updatedAt note
      order { id }
      totalRefundedSet { ...ShopMoneyFields }
      refundLineItems(first: $linesFirst) {
        pageInfo { hasNextPage endCursor }
        nodes { ...RefundLineItemFields }
      }
      refundShippingLines(first: $shippingFirst) {
        pageInfo { hasNextPage endCursor }
        nodes { ...RefundShippingLineFields }
      }
      orderAdjustments(first: $adjustmentsFirst) {
        pageInfo { hasNextPage endCursor }
        nodes { ...OrderAdjustmentFields }
      }
      transactions(first: $transactionsFirst) {
        pageInfo { hasNextPage endCursor }
        nodes { ...RefundTransactionFields }
      }
    }
  }
}""")

# The rest of one refund's connections, one connection per request (the others skipped with @include).
REFUND_CONNECTIONS_PAGE = build_document("""
query RefundConnectionsPage($id: ID!, $first: Int!, $after: String, $lines: Boolean!, $shipping: Boolean!,
                            $adjustments: Boolean!, $transactions: Boolean!) {
  node(id: $id) {
    __typename
    ... on Refund {
      id
      refundLineItems(first: $first, after: $after) @include(if: $lines) {
        pageInfo { hasNextPage endCursor }
        nodes { ...RefundLineItemFields }
      }
      refundShippingLines(first: $first, after: $after) @include(if: $shipping) {
        pageInfo { hasNextPage endCursor }
        nodes { ...RefundShippingLineFields }
      }
      orderAdjustments(first: $first, after: $after) @include(if: $adjustments) {
        pageInfo { hasNextPage endCursor }
        nodes { ...OrderAdjustmentFields }
      }
      transactions(first: $first, after: $after) @include(if: $transactions) {
        pageInfo { hasNextPage endCursor }
        nodes { ...RefundTransactionFields }
      }
    }
  }
}""")

ORDER_RETURNS = build_document("""
query OrderReturns($id: ID!, $first: Int!, $after: String, $linesFirst: Int!) {
  order(id: $id) {
    id
    returns(first: $first, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes {
        id name status
        returnLineItems(first: $linesFirst) {
          pageInfo { hasNextPage endCursor }
          nodes { ...ReturnLineFields }
        }
      }
    }
  }
}""")

RETURN_LINES_PAGE = build_document("""
query ReturnLinesPage($id: ID!, $first: Int!, $after: String) {
  return(id: $id) {
    id
    returnLineItems(first: $first, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes { ...ReturnLineFields }
    }
  }
}""")

# refundCreate takes @idempotent(key:), required from 2026-04 (SHOPIFY.md §5): a resend replays the first result.
REFUND_CREATE = build_document("""
mutation RefundCreate($input: RefundInput!, $idempotencyKey: String!) {
  refundCreate(input: $input) @idempotent(key: $idempotencyKey) {
    refund { id totalRefundedSet { ...ShopMoneyFields } }
    order { id displayFinancialStatus totalRefundedSet { ...ShopMoneyFields } }
    userErrors { field message }
  }
}""")

REFUND_DOCUMENTS: tuple[Document, ...] = (
    REFUNDED_ORDERS, REFUND_IDS_OF_ORDER, REFUNDS_BY_ID, REFUND_CONNECTIONS_PAGE, ORDER_RETURNS, RETURN_LINES_PAGE,
    REFUND_CREATE,
)
