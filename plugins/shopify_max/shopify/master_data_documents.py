"""The GraphQL documents of master data and the go-live check: customers (read, bulk read, ``customerSet``), variants
(bulk read, ``productVariantsBulkUpdate``) and the codes recent orders carry (taxes, gateways, shipping).

Page sizes keep one request under Shopify's 1,000-point single-query cost (SHOPIFY.md §2); the bulk queries keep to
Shopify's bulk rules (at most 5 connections, nested at most 2 deep) and take their one dynamic part, the search
string, inlined as a GraphQL string literal (bulk queries take no variables).

Listed in :data:`shopify_max.shopify.documents.ALL_DOCUMENTS`, so the contract test validates them against the
vendored 2026-07 schema like every other document.
"""

from __future__ import annotations

import json

from shopify_max.shopify.document_base import Document, build_document

CUSTOMERS_PAGE = build_document("""
query CustomersPage($first: Int!, $after: String, $query: String, $metafieldsFirst: Int!) {
  customers(first: $first, after: $after, query: $query, sortKey: ID) {
    pageInfo { hasNextPage endCursor }
    nodes {
      ...CustomerRecordFields
      metafields(first: $metafieldsFirst) {
        pageInfo { hasNextPage endCursor }
        nodes { ...MetafieldValueFields }
      }
    }
  }
}""")

# The rest of one customer's metafields, for a customer with more than the first page held.
CUSTOMER_METAFIELDS_PAGE = build_document("""
query CustomerMetafieldsPage($id: ID!, $first: Int!, $after: String) {
  customer(id: $id) {
    id
    metafields(first: $first, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes { ...MetafieldValueFields }
    }
  }
}""")

# customerSet with the customer read back as a record (its metafields included, to write only those that differ).
CUSTOMER_SET_ACCOUNT = build_document("""
mutation CustomerSetAccount($identifier: CustomerSetIdentifiers, $input: CustomerSetInput!, $metafieldsFirst: Int!) {
  customerSet(identifier: $identifier, input: $input) {
    customer {
      ...CustomerRecordFields
      metafields(first: $metafieldsFirst) {
        pageInfo { hasNextPage endCursor }
        nodes { ...MetafieldValueFields }
      }
    }
    userErrors { field message code }
  }
}""")

PRODUCT_VARIANTS_BULK_UPDATE = build_document("""
mutation ProductVariantsBulkUpdate($productId: ID!, $variants: [ProductVariantsBulkInput!]!) {
  productVariantsBulkUpdate(productId: $productId, variants: $variants) {
    productVariants { id price }
    userErrors { field message code }
  }
}""")

SEARCH_PLACEHOLDER = "__SEARCH__"

# Every customer (or those a search finds) with all their metafields: the metafields are child lines.
BULK_CUSTOMERS = build_document("""
query BulkCustomers {
  customers(query: "__SEARCH__") {
    edges {
      node {
        ...CustomerRecordFields
        metafields { edges { node { id ...MetafieldValueFields } } }
      }
    }
  }
}""")

BULK_VARIANTS = build_document("""
query BulkVariants {
  productVariants {
    edges { node { ...VariantRecordFields } }
  }
}""")

# What orders carry that must map to a MAX code: tax titles and rates (order, lines, shipping), payment gateways,
# shipping methods. Lines and shipping lines are child lines, told apart by __typename.
BULK_ORDER_CODES = build_document("""
query BulkOrderCodes {
  orders(query: "__SEARCH__", sortKey: CREATED_AT) {
    edges {
      node {
        id name createdAt test paymentGatewayNames
        taxLines { title rate }
        shippingLines { edges { node { __typename id title code taxLines { title rate } } } }
        lineItems { edges { node { __typename id taxLines { title rate } } } }
      }
    }
  }
}""")


def with_search(document: Document, search: str | None) -> Document:
    """``document`` with its search placeholder replaced by ``search`` (a GraphQL string literal, safely quoted);
    ``None`` drops the ``query`` argument, so the bulk operation reads everything."""
    placeholder = json.dumps(SEARCH_PLACEHOLDER)
    if search is None:
        text = document.text.replace(f"(query: {placeholder})", "", 1).replace(f"query: {placeholder}, ", "", 1)
    else:
        text = document.text.replace(placeholder, json.dumps(search), 1)  # a JSON string is a GraphQL string literal
    return Document(document.operation_name, text)


MASTER_DATA_DOCUMENTS: tuple[Document, ...] = (
    CUSTOMERS_PAGE, CUSTOMER_METAFIELDS_PAGE, CUSTOMER_SET_ACCOUNT, PRODUCT_VARIANTS_BULK_UPDATE, BULK_CUSTOMERS,
    BULK_VARIANTS, BULK_ORDER_CODES,
)
