"""Typed results of the fulfilment and order operations (:mod:`.fulfilment_api`); importable from :mod:`.models`.

:class:`OrderFulfilmentState` is one read of everything the fulfilment flow decides on: what was shipped
(fulfillments with their lines and tracking), what is left (fulfillment orders with remaining quantities), the
payments (transactions with their parents) and the order's tags and metafields. Money is shop money.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AliasPath, Field, field_validator

from shopify_max.money import Amount
from shopify_max.shopify.model_base import ShopifyModel, UserError


class FulfillmentOrderLine(ShopifyModel):
    id: str
    sku: str | None = None
    total_quantity: int
    remaining_quantity: int
    line_item_id: str = Field(validation_alias=AliasPath("lineItem", "id"))


class FulfillmentOrder(ShopifyModel):
    id: str
    status: str
    location_id: str | None = Field(default=None, validation_alias=AliasPath("assignedLocation", "location", "id"))
    location_name: str | None = Field(default=None, validation_alias=AliasPath("assignedLocation", "name"))
    supported_actions: list[str] = []
    line_items: list[FulfillmentOrderLine] = []

    @field_validator("supported_actions", mode="before")
    @classmethod
    def _actions(cls, value: Any) -> list[str]:
        return [item["action"] if isinstance(item, dict) else item for item in value or []]

    @property
    def can_create_fulfillment(self) -> bool:
        return "CREATE_FULFILLMENT" in self.supported_actions


class TrackingInfo(ShopifyModel):
    """Tracking to send (``FulfillmentTrackingInput``) or one tracking number read back.

    To send several numbers fill ``numbers`` (and ``urls``, matched by position); Shopify reads back one
    ``TrackingInfo`` per number, each with ``number`` and ``url`` set.
    """

    company: str | None = None
    number: str | None = None
    url: str | None = None
    numbers: list[str] = []
    urls: list[str] = []

    def as_input(self) -> dict[str, Any]:
        """``FulfillmentTrackingInput``: ``numbers``/``urls`` when given, else ``number``/``url`` (never both,
        as the schema's note on the input asks)."""
        values: dict[str, Any] = {"company": self.company} if self.company is not None else {}
        if self.numbers:
            values["numbers"] = list(self.numbers)
            if self.urls:
                values["urls"] = list(self.urls)
            return values
        if self.number is not None:
            values["number"] = self.number
        if self.url is not None:
            values["url"] = self.url
        return values


class FulfillmentResult(ShopifyModel):
    """``fulfillmentCreate`` / ``fulfillmentTrackingInfoUpdate``: the fulfilment, with every tracking number."""

    fulfillment_id: str | None = None
    status: str | None = None
    order_fulfillment_status: str | None = None
    tracking: list[TrackingInfo] = []
    user_errors: list[UserError] = []

    @property
    def ok(self) -> bool:
        return not self.user_errors and self.fulfillment_id is not None


class FulfillmentLine(ShopifyModel):
    """One line of a fulfilment: which order line, how many."""

    id: str | None = None
    line_item_id: str = Field(validation_alias=AliasPath("lineItem", "id"))
    sku: str | None = Field(default=None, validation_alias=AliasPath("lineItem", "sku"))
    quantity: int


class Fulfillment(ShopifyModel):
    id: str
    name: str
    status: str  # FulfillmentStatus: SUCCESS, CANCELLED, ERROR, FAILURE, OPEN, PENDING
    created_at: datetime
    location_id: str | None = Field(default=None, validation_alias=AliasPath("location", "id"))
    tracking: list[TrackingInfo] = Field(default=[], validation_alias="trackingInfo")
    lines: list[FulfillmentLine] = Field(default=[], validation_alias="fulfillmentLineItems")


class OrderTransaction(ShopifyModel):
    """A payment transaction; ``amount``/``currency`` in shop money, the presentment side kept beside it."""

    id: str
    kind: str  # AUTHORIZATION, CAPTURE, SALE, REFUND, VOID…
    status: str  # SUCCESS, PENDING, FAILURE…
    amount: Amount = Field(validation_alias=AliasPath("amountSet", "shopMoney", "amount"))
    currency: str = Field(validation_alias=AliasPath("amountSet", "shopMoney", "currencyCode"))
    presentment_amount: Amount | None = Field(
        default=None, validation_alias=AliasPath("amountSet", "presentmentMoney", "amount"))
    presentment_currency: str | None = Field(
        default=None, validation_alias=AliasPath("amountSet", "presentmentMoney", "currencyCode"))
    parent_id: str | None = Field(default=None, validation_alias=AliasPath("parentTransaction", "id"))
    created_at: datetime


class OrderFulfilmentState(ShopifyModel):
    """An order's fulfilment and payment state, read by ``ShopifyAdminApi.order_fulfilment_state``."""

    id: str
    name: str
    closed: bool
    display_fulfillment_status: str
    display_financial_status: str | None = None
    tags: list[str] = []
    currency_code: str
    presentment_currency_code: str | None = None
    capturable: bool
    total_capturable: Amount = Field(validation_alias=AliasPath("totalCapturableSet", "shopMoney", "amount"))
    total_capturable_presentment: Amount | None = Field(
        default=None, validation_alias=AliasPath("totalCapturableSet", "presentmentMoney", "amount"))
    fulfillments: list[Fulfillment] = []
    fulfillment_orders: list[FulfillmentOrder] = []
    transactions: list[OrderTransaction] = []
    metafields: dict[str, str] = {}  # key → value, in the namespace asked for


class MoveResult(ShopifyModel):
    """``fulfillmentOrderMove``: the fulfillment order now at the new location (the original one itself when it
    moved whole) and what became of the original."""

    moved: FulfillmentOrder | None = None
    original_id: str | None = None
    original_status: str | None = None
    user_errors: list[UserError] = []

    @property
    def ok(self) -> bool:
        return not self.user_errors and self.moved is not None


class CaptureResult(ShopifyModel):
    """``orderCapture``: the CAPTURE transaction (its ``parent_id`` is the authorisation) or userErrors."""

    transaction: OrderTransaction | None = None
    user_errors: list[UserError] = []

    @property
    def ok(self) -> bool:
        return not self.user_errors and self.transaction is not None
