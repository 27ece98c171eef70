"""What every document module builds on: the :class:`Document` type, the shared fragments, and ``_document``.

:mod:`.documents` (orders, inventory, customers, bulk), :mod:`.fulfilment_documents` (fulfilment and order
operations), :mod:`.refund_documents` (refunds and returns) and :mod:`.master_data_documents` (customers, variants,
order codes) build their documents here;
:data:`shopify_max.shopify.documents.ALL_DOCUMENTS` lists them all.
"""

from __future__ import annotations

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
    "CustomerRecordFields": """
fragment CustomerRecordFields on Customer {
  id legacyResourceId firstName lastName displayName numberOfOrders taxExempt taxExemptions tags updatedAt
  defaultEmailAddress { emailAddress }
  defaultPhoneNumber { phoneNumber }
  defaultAddress { company city provinceCode zip countryCodeV2 }
}""",
    "MetafieldValueFields": """
fragment MetafieldValueFields on Metafield {
  namespace key value
}""",
    "VariantRecordFields": """
fragment VariantRecordFields on ProductVariant {
  id legacyResourceId sku title price taxable
  selectedOptions { name value }
  product { id title status }
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
    "FulfillmentOrderFields": """
fragment FulfillmentOrderFields on FulfillmentOrder {
  id status
  assignedLocation { name location { id } }
  supportedActions { action }
}""",
    "FulfillmentOrderLineFields": """
fragment FulfillmentOrderLineFields on FulfillmentOrderLineItem {
  id sku totalQuantity remainingQuantity lineItem { id sku }
}""",
    "FulfillmentFields": """
fragment FulfillmentFields on Fulfillment {
  id name status createdAt
  location { id }
  trackingInfo { company number url }
}""",
    "FulfillmentLineFields": """
fragment FulfillmentLineFields on FulfillmentLineItem {
  id quantity lineItem { id sku }
}""",
    "ShopMoneyFields": """
fragment ShopMoneyFields on MoneyBag {
  shopMoney { amount currencyCode }
}""",
    "RefundLineItemFields": """
fragment RefundLineItemFields on RefundLineItem {
  quantity restockType
  location { id }
  subtotalSet { ...ShopMoneyFields }
  totalTaxSet { ...ShopMoneyFields }
  lineItem { id sku name }
}""",
    "RefundShippingLineFields": """
fragment RefundShippingLineFields on RefundShippingLine {
  shippingLine { id title }
  subtotalAmountSet { ...ShopMoneyFields }
  taxAmountSet { ...ShopMoneyFields }
}""",
    "OrderAdjustmentFields": """
fragment OrderAdjustmentFields on OrderAdjustment {
  amountSet { ...ShopMoneyFields }
  taxAmountSet { ...ShopMoneyFields }
  reason
}""",
    "RefundTransactionFields": """
fragment RefundTransactionFields on OrderTransaction {
  id kind status gateway
  amountSet { ...ShopMoneyFields }
  parentTransaction { id }
}""",
    "ReturnLineFields": """
fragment ReturnLineFields on ReturnLineItemType {
  id quantity
  ... on ReturnLineItem { fulfillmentLineItem { lineItem { id } } }
}""",
    "OrderTransactionFields": """
fragment OrderTransactionFields on OrderTransaction {
  id kind status createdAt
  amountSet { ...MoneyBagFields }
  parentTransaction { id }
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


def build_document(body: str) -> Document:
    """A :class:`Document` from a named query or mutation, with every fragment it spreads appended."""
    match = re.match(r"\s*(query|mutation)\s+(\w+)", body)
    if not match:
        raise ValueError("every document must be a named query or mutation")
    return Document(match.group(2), _with_fragments(body), match.group(1) == "mutation")
