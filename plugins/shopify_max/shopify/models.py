"""Typed results of the Shopify client (pydantic). Ids are strings (gids), money is ``money.Amount`` (floats refused).

Models parse the GraphQL response shape directly (camelCase aliases); connections are flattened to lists
before parsing by :func:`flatten_connections`. The shared base is in :mod:`.model_base`; the fulfilment and
order-operation results live in :mod:`.fulfilment_models`, refunds in :mod:`.refund_models`, master data in
:mod:`.master_data_models`; all are re-exported here.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import AliasPath, Field, field_validator, model_validator

from shopify_max.money import Amount
from shopify_max.shopify.fulfilment_models import (  # noqa: F401 - re-exported: import results from here
    CaptureResult,
    Fulfillment,
    FulfillmentLine,
    FulfillmentOrder,
    FulfillmentOrderLine,
    FulfillmentResult,
    MoveResult,
    OrderFulfilmentState,
    OrderTransaction,
    TrackingInfo,
)
from shopify_max.shopify.master_data_models import (  # noqa: F401 - re-exported: import results from here
    CustomerSetOutcome,
    FieldError,
    OrderCodesRecord,
    ShopifyCustomerRecord,
    ShopifyVariantRecord,
    TaxRateCode,
)
from shopify_max.shopify.model_base import ShopifyModel, UserError, flatten_connections  # noqa: F401
from shopify_max.shopify.refund_models import (  # noqa: F401 - re-exported: import results from here
    RefundAdjustment,
    RefundCreateResult,
    RefundedOrder,
    RefundLine,
    RefundShippingLine,
    RefundTransaction,
    ShopifyRefund,
)
from shopify_max.shopify.text_repairs import TextRepair, replace_lone_surrogates


def _decimal_or_none(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))  # GraphQL Float → exact decimal via its repr


class Money(ShopifyModel):
    amount: Amount
    currency_code: str


class MoneyBag(ShopifyModel):
    shop_money: Money
    presentment_money: Money


class TaxLine(ShopifyModel):
    title: str
    rate: Decimal | None = None
    rate_percentage: Decimal | None = None
    channel_liable: bool | None = None
    price_set: MoneyBag

    _decimals = field_validator("rate", "rate_percentage", mode="before")(_decimal_or_none)


class DiscountApplication(ShopifyModel):
    kind: str = Field(validation_alias="__typename")  # DiscountCodeApplication, AutomaticDiscountApplication…
    index: int
    allocation_method: str
    target_selection: str
    target_type: str
    code: str | None = None
    title: str | None = None
    description: str | None = None
    value_amount: Amount | None = Field(default=None, validation_alias=AliasPath("value", "amount"))
    value_currency: str | None = Field(default=None, validation_alias=AliasPath("value", "currencyCode"))
    value_percentage: Decimal | None = Field(default=None, validation_alias=AliasPath("value", "percentage"))

    _decimals = field_validator("value_percentage", mode="before")(_decimal_or_none)


class DiscountAllocation(ShopifyModel):
    allocated_amount_set: MoneyBag
    discount_application_index: int = Field(validation_alias=AliasPath("discountApplication", "index"))


class MailingAddress(ShopifyModel):
    first_name: str | None = None
    last_name: str | None = None
    name: str | None = None
    company: str | None = None
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    province: str | None = None
    province_code: str | None = None
    zip: str | None = None
    country: str | None = None
    country_code: str | None = Field(default=None, validation_alias="countryCodeV2")
    phone: str | None = None


class Customer(ShopifyModel):
    id: str
    legacy_resource_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    display_name: str | None = None
    email: str | None = Field(default=None, validation_alias=AliasPath("defaultEmailAddress", "emailAddress"))
    phone: str | None = Field(default=None, validation_alias=AliasPath("defaultPhoneNumber", "phoneNumber"))
    note: str | None = None
    tags: list[str] = []
    tax_exempt: bool = False
    tax_exemptions: list[str] = []
    locale: str | None = None
    default_address: MailingAddress | None = None
    updated_at: datetime | None = None


class Company(ShopifyModel):
    id: str
    name: str
    external_id: str | None = None


class LineItem(ShopifyModel):
    id: str
    sku: str | None = None
    name: str
    title: str | None = None
    variant_title: str | None = None
    vendor: str | None = None
    quantity: int
    current_quantity: int
    is_gift_card: bool
    requires_shipping: bool
    taxable: bool
    variant_id: str | None = Field(default=None, validation_alias=AliasPath("variant", "id"))
    original_unit_price_set: MoneyBag
    discounted_unit_price_after_all_discounts_set: MoneyBag
    tax_lines: list[TaxLine] = []
    discount_allocations: list[DiscountAllocation] = []


class ShippingLine(ShopifyModel):
    id: str | None = None
    title: str
    code: str | None = None
    source: str | None = None
    carrier_identifier: str | None = None
    original_price_set: MoneyBag
    discounted_price_set: MoneyBag
    tax_lines: list[TaxLine] = []
    discount_allocations: list[DiscountAllocation] = []


class Transaction(ShopifyModel):
    id: str
    kind: str
    status: str
    gateway: str | None = None
    amount_set: MoneyBag


class RefundLineItem(ShopifyModel):
    quantity: int
    line_item_id: str = Field(validation_alias=AliasPath("lineItem", "id"))
    sku: str | None = Field(default=None, validation_alias=AliasPath("lineItem", "sku"))
    subtotal_set: MoneyBag


class Refund(ShopifyModel):
    id: str
    created_at: datetime | None = None
    note: str | None = None
    total_refunded_set: MoneyBag
    refund_line_items: list[RefundLineItem] = []


class Order(ShopifyModel):
    """An order as both capture paths read it (GraphQL poll and REST webhook, see orders/webhook_payload.py).

    Any lone surrogate in its input is replaced by U+FFFD on the way in, so an Order can always be serialised
    and stored; each replacement is listed in ``text_repairs``. The list is part of the order (and of its
    payload digest): it follows from the input alone, and the staged copy the mapping reads must keep it.
    """

    id: str
    legacy_resource_id: str
    name: str
    number: int
    created_at: datetime
    updated_at: datetime
    processed_at: datetime
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    closed: bool
    currency_code: str
    presentment_currency_code: str
    taxes_included: bool
    tax_exempt: bool
    test: bool
    display_financial_status: str | None = None
    display_fulfillment_status: str
    payment_gateway_names: list[str]
    email: str | None = None
    phone: str | None = None
    note: str | None = None
    tags: list[str] = []
    po_number: str | None = None
    source_name: str | None = None
    discount_codes: list[str] = []
    customer: Customer | None = None
    company: Company | None = Field(default=None, validation_alias=AliasPath("purchasingEntity", "company"))
    billing_address: MailingAddress | None = None
    shipping_address: MailingAddress | None = None
    subtotal_price_set: MoneyBag | None = None
    total_discounts_set: MoneyBag | None = None
    total_shipping_price_set: MoneyBag
    total_tax_set: MoneyBag | None = None
    total_price_set: MoneyBag
    current_total_price_set: MoneyBag
    total_refunded_set: MoneyBag
    tax_lines: list[TaxLine] = []
    discount_applications: list[DiscountApplication] = []
    shipping_lines: list[ShippingLine] = []
    transactions: list[Transaction] = []
    refunds: list[Refund] = []
    line_items: list[LineItem] = []
    text_repairs: list[TextRepair] = []

    @model_validator(mode="before")
    @classmethod
    def _replace_lone_surrogates(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        repaired, repairs = replace_lone_surrogates(data)
        if repairs:
            earlier = repaired.pop("textRepairs", None) or repaired.get("text_repairs") or []
            repaired["text_repairs"] = [*earlier, *repairs]
        return repaired


class Location(ShopifyModel):
    id: str
    legacy_resource_id: str | None = None
    name: str
    is_active: bool = True
    fulfills_online_orders: bool | None = None


class InventoryItemRef(ShopifyModel):
    """A variant found by SKU, with its inventory item. ``duplicate_sku_count`` > 0 means the SKU is not unique."""

    variant_id: str = Field(validation_alias="id")
    sku: str | None = None
    title: str | None = None
    price: Amount | None = None
    product_id: str = Field(validation_alias=AliasPath("product", "id"))
    product_title: str | None = Field(default=None, validation_alias=AliasPath("product", "title"))
    inventory_item_id: str = Field(validation_alias=AliasPath("inventoryItem", "id"))
    tracked: bool = Field(default=True, validation_alias=AliasPath("inventoryItem", "tracked"))
    duplicate_sku_count: int = Field(default=0, validation_alias=AliasPath("inventoryItem", "duplicateSkuCount"))


class SkuLookup(ShopifyModel):
    """Result of a SKU lookup: every match per SKU, plus which SKUs are missing or duplicated."""

    matches: dict[str, list[InventoryItemRef]]
    missing: list[str]
    duplicates: list[str]


class InventoryLevel(ShopifyModel):
    inventory_item_id: str
    location_id: str
    sku: str | None = None
    available: int | None = None
    on_hand: int | None = None
    committed: int | None = None


class InventoryQuantity(ShopifyModel):
    """One quantity to set: the ERP's target and the value we believe Shopify has now (compare-and-set)."""

    inventory_item_id: str
    location_id: str
    quantity: int
    change_from_quantity: int | None  # None skips the check; required explicitly on every quantity (2026-04+)


class SetQuantitiesResult(ShopifyModel):
    """``inventorySetQuantities`` outcome: the adjustment group applied, or userErrors (e.g. CHANGE_FROM_QUANTITY_STALE)."""

    idempotency_key: str
    adjustment_group_id: str | None = None
    user_errors: list[UserError] = []

    @property
    def ok(self) -> bool:
        return not self.user_errors

    @property
    def stale(self) -> list[UserError]:
        return [e for e in self.user_errors if e.code == "CHANGE_FROM_QUANTITY_STALE"]


class Metafield(ShopifyModel):
    id: str
    namespace: str
    key: str
    type: str
    value: str


class MutationResult(ShopifyModel):
    """Outcome of a simple mutation (tagsAdd, metafieldsSet, customerSet): the node id or userErrors."""

    node_id: str | None = None
    user_errors: list[UserError] = []
    metafields: list[Metafield] = []
    customer: Customer | None = None

    @property
    def ok(self) -> bool:
        return not self.user_errors


class BulkOperation(ShopifyModel):
    id: str
    status: str
    error_code: str | None = None
    object_count: int = 0
    root_object_count: int = 0
    file_size: int | None = None
    url: str | None = None
    partial_data_url: str | None = None
    completed_at: datetime | None = None

