"""Totals reconcile to the cent in shop currency (DESIGN.md, correctness rules).

Two checks, both must hold before an order is exported:
1. Shopify's own arithmetic: line items − discounts + shipping + tax (unless included in prices) = total;
2. the MAX document as built: Σ PRICE × ORGQTY over its rows + Σ line taxes = the same total
   (less the lines a rule excluded, such as gift cards).
A difference becomes an error naming both figures and the difference.
"""

from __future__ import annotations

from decimal import Decimal

from shopify_max.exactmax.models import SalesOrder
from shopify_max.orders.outcome import MappingError
from shopify_max.shopify.models import Order


def shopify_total_check(order: Order, lines_gross: Decimal, total_discounts: Decimal) -> MappingError | None:
    shipping = order.total_shipping_price_set.shop_money.amount
    tax = order.total_tax_set.shop_money.amount if order.total_tax_set else Decimal(0)
    expected = lines_gross - total_discounts + shipping + (Decimal(0) if order.taxes_included else tax)
    total = order.total_price_set.shop_money.amount
    if expected != total:
        return MappingError(
            "total_price", "totals_mismatch",
            f"lines {lines_gross} − discounts {total_discounts} + shipping {shipping}"
            f"{'' if order.taxes_included else f' + tax {tax}'} = {expected}, but Shopify's total is {total} "
            f"(difference {total - expected})", str(total))
    return None


def max_document_total(sales_order: SalesOrder) -> Decimal:
    total = Decimal(0)
    for row in sales_order.lines:
        total += row.PRICE * row.ORGQTY
        total += sum((tax for tax in (row.TAX1, row.TAX2, row.TAX3) if tax is not None), Decimal(0))
    return total


def max_document_check(sales_order: SalesOrder, expected: Decimal) -> MappingError | None:
    built = max_document_total(sales_order)
    if built != expected:
        return MappingError("total_price", "totals_mismatch",
                            f"the MAX order adds up to {built} but should be {expected} (difference {expected - built})",
                            str(expected))
    return None
