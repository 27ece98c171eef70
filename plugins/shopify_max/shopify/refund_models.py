"""A Shopify refund, the same from both capture paths: ``refunds/create`` webhooks (:mod:`.refund_payload`) and the
Admin API (``ShopifyAdminApi.refunds_of_order``, :mod:`.refund_api`). Importable from :mod:`.models`.

Every amount is **shop money** (``currency`` is the shop's). Fields are snake_case, so ``model_dump(mode="json")``
and ``model_validate`` round-trip (the sync store keeps refunds as JSON).

Reconciling a refund: what its successful REFUND transactions paid back equals the lines' ``subtotal`` (+
``total_tax`` unless the order's taxes were included in its prices), plus shipping (``subtotal`` + ``tax``), plus
the adjustments' ``amount``.
"""

from __future__ import annotations

from datetime import datetime

from shopify_max.money import Amount
from shopify_max.shopify.model_base import ShopifyModel, UserError


class RefundLine(ShopifyModel):
    """One refunded order line: how many units, what they came to, and what happened to the goods."""

    line_item_id: str  # gid://shopify/LineItem/…
    sku: str | None = None
    quantity: int
    restock_type: str  # RETURN, CANCEL, NO_RESTOCK, LEGACY_RESTOCK (RefundLineItemRestockType)
    location_id: str | None = None  # where the units were restocked (None for NO_RESTOCK)
    subtotal: Amount  # the units' share of the line's discounted total
    total_tax: Amount


class RefundShippingLine(ShopifyModel):
    title: str | None = None
    subtotal: Amount
    tax: Amount


class RefundAdjustment(ShopifyModel):
    """An ``OrderAdjustment``: money refunded beyond (positive) or short of (negative) the lines and shipping.

    Shopify records the opposite sign (calculated minus refunded: an extra 5.00 refunded is ``-5.00``); both readers
    turn it round, so ``amount`` adds to the refund like every other part.
    """

    amount: Amount
    tax: Amount
    reason: str  # OrderAdjustmentDiscrepancyReason: REFUND_DISCREPANCY, CUSTOMER, DAMAGE, RESTOCK…


class RefundTransaction(ShopifyModel):
    id: str  # gid://shopify/OrderTransaction/…
    kind: str  # REFUND (OrderTransactionKind)
    status: str  # SUCCESS, PENDING, FAILURE, ERROR… (OrderTransactionStatus)
    gateway: str | None = None
    amount: Amount


class ShopifyRefund(ShopifyModel):
    id: str  # gid://shopify/Refund/…
    order_id: str  # gid://shopify/Order/…
    created_at: datetime
    updated_at: datetime | None = None  # the Admin API's; a webhook body has none
    note: str | None = None
    currency: str  # the shop's currency: every amount below is in it
    total_refunded: Amount  # Refund.totalRefundedSet: what the refund's successful transactions paid back
    lines: list[RefundLine] = []
    shipping: list[RefundShippingLine] = []
    adjustments: list[RefundAdjustment] = []
    transactions: list[RefundTransaction] = []

    @property
    def legacy_id(self) -> str:
        """The refund's REST id: the number after the gid's last ``/``."""
        return self.id.rsplit("/", 1)[-1]


class RefundedOrder(ShopifyModel):
    """An order updated in a window that has refunds: what ``iter_refunded_orders`` finds (ids only)."""

    order_gid: str
    name: str
    updated_at: datetime
    refund_ids: list[str]
    cancelled_at: datetime | None = None
    return_status: str | None = None  # OrderReturnStatus: IN_PROGRESS, RETURN_REQUESTED… (a return not refunded yet)


class RefundCreateResult(ShopifyModel):
    """``refundCreate``: the refund made (or replayed for the same idempotency key), or userErrors."""

    idempotency_key: str
    refund_id: str | None = None
    total_refunded: Amount | None = None
    order_financial_status: str | None = None
    user_errors: list[UserError] = []

    @property
    def ok(self) -> bool:
        return not self.user_errors and self.refund_id is not None
