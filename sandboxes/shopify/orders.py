"""Orders of the sandbox shop: what to build (:class:`OrderSpec`) and how its money adds up.

:func:`compose_order` allocates discounts to lines, computes taxes per line and shipping line (included or
excluded, skipped for tax-exempt customers), totals in shop and presentment currency, and payment transactions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING, Any

from shopify_max.clock import as_utc, utcnow

if TYPE_CHECKING:
    from sandboxes.shopify.store import SandboxStore

CENT = Decimal("0.01")
SHOP_CURRENCY = "USD"


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_EVEN)


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, as Shopify's DateTime scalar."""
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Currency:
    shop: str = SHOP_CURRENCY
    presentment: str = SHOP_CURRENCY
    rate: Decimal = Decimal(1)  # presentment amount = shop amount × rate

    def bag(self, amount: Decimal) -> dict[str, Any]:
        return {
            "shopMoney": {"amount": str(cents(amount)), "currencyCode": self.shop},
            "presentmentMoney": {"amount": str(cents(amount * self.rate)), "currencyCode": self.presentment},
        }


@dataclass
class LineSpec:
    """One line of an order to build: a catalogue variant, a custom line (no SKU) or an unknown SKU."""

    title: str
    quantity: int
    unit_price: Decimal
    sku: str | None = None
    variant_gid: str | None = None
    vendor: str | None = None
    gift_card: bool = False
    taxable: bool = True
    requires_shipping: bool = True
    manual_discount: Decimal = Decimal(0)  # a line-level discount on this line, total for the line
    location_gid: str | None = None  # the location the line is assigned to (None: the first location)


@dataclass
class OrderSpec:
    lines: list[LineSpec]
    created_at: Any = None
    customer_gid: str | None = None
    company: dict[str, Any] | None = None
    email: str | None = None
    billing_address: dict[str, Any] | None = None
    shipping_address: dict[str, Any] | None = None
    shipping: list[tuple[str, str, Decimal]] = field(default_factory=list)  # (title, code, price)
    tax_rates: list[tuple[str, Decimal]] = field(default_factory=list)  # (title, rate such as 0.0825)
    taxes_included: bool = False
    presentment_currency: str = SHOP_CURRENCY
    presentment_rate: Decimal = Decimal(1)
    discount_code: tuple[str, Decimal] | None = None  # (code, percentage of line totals)
    automatic_discount: tuple[str, Decimal] | None = None  # (title, fixed amount across lines)
    gateways: list[str] = field(default_factory=lambda: ["shopify_payments"])
    note: str | None = None
    tags: list[str] = field(default_factory=list)
    po_number: str | None = None
    source_name: str = "web"
    payment: str = "paid"  # "paid" (SALE), "authorized" (AUTHORIZATION, to capture) or "pending" (payment terms)


def compose_order(store: SandboxStore, spec: OrderSpec) -> dict[str, Any]:
    """Build an order dict from ``spec``: discounts allocated, taxes per line, totals, transactions."""
    currency = Currency(SHOP_CURRENCY, spec.presentment_currency, spec.presentment_rate)
    created = spec.created_at or utcnow()
    gid, legacy = store.new_id("Order")
    number = next(store._order_number)
    customer = store.customers.get(spec.customer_gid) if spec.customer_gid else None
    tax_exempt = bool(customer and customer.get("taxExempt"))
    applications: list[dict[str, Any]] = []
    line_totals = [cents(line.unit_price * line.quantity) for line in spec.lines]
    allocations: list[list[tuple[int, Decimal]]] = [[] for _ in spec.lines]

    def money_value(amount: Decimal) -> dict[str, Any]:
        return {"__typename": "MoneyV2", "amount": str(cents(amount)), "currencyCode": SHOP_CURRENCY}

    if spec.discount_code:
        code, percentage = spec.discount_code
        index = len(applications)
        applications.append({"__typename": "DiscountCodeApplication", "index": index, "code": code,
                             "allocationMethod": "ACROSS", "targetSelection": "ALL", "targetType": "LINE_ITEM",
                             "value": {"__typename": "PricingPercentageValue", "percentage": float(percentage)}})
        for position, total in enumerate(line_totals):
            if total > 0 and not spec.lines[position].gift_card:
                allocations[position].append((index, cents(total * percentage / 100)))
    if spec.automatic_discount:
        title, amount = spec.automatic_discount
        index = len(applications)
        applications.append({"__typename": "AutomaticDiscountApplication", "index": index, "title": title,
                             "allocationMethod": "ACROSS", "targetSelection": "ALL", "targetType": "LINE_ITEM",
                             "value": money_value(amount)})
        eligible = [p for p, t in enumerate(line_totals) if t > 0 and not spec.lines[p].gift_card]
        base = sum(line_totals[p] for p in eligible) or Decimal(1)
        remaining = min(amount, sum(line_totals[p] for p in eligible))
        for n, position in enumerate(eligible):
            share = remaining if n == len(eligible) - 1 else cents(amount * line_totals[position] / base)
            share = min(share, remaining)
            remaining -= share
            allocations[position].append((index, share))
    for position, line in enumerate(spec.lines):
        if line.manual_discount > 0:
            index = len(applications)
            applications.append({"__typename": "ManualDiscountApplication", "index": index,
                                 "title": "Line discount", "description": f"Discount on {line.title}",
                                 "allocationMethod": "EACH", "targetSelection": "EXPLICIT",
                                 "targetType": "LINE_ITEM", "value": money_value(line.manual_discount)})
            allocations[position].append((index, cents(line.manual_discount)))

    def tax_lines_for(net: Decimal, taxable: bool) -> list[dict[str, Any]]:
        if not taxable or tax_exempt:
            return []
        lines = []
        for title, rate in spec.tax_rates:
            amount = cents(net - net / (1 + rate)) if spec.taxes_included else cents(net * rate)
            lines.append({"title": title, "rate": float(rate), "ratePercentage": float(rate * 100),
                          "channelLiable": False, "priceSet": currency.bag(amount), "_amount": amount})
        return lines

    line_items = []
    subtotal = Decimal(0)
    total_discounts = Decimal(0)
    tax_by_title: dict[str, tuple[Decimal, Decimal]] = {}
    for position, line in enumerate(spec.lines):
        line_gid, _ = store.new_id("LineItem")
        discount = sum((amount for _, amount in allocations[position]), Decimal(0))
        net = line_totals[position] - discount
        taxes = tax_lines_for(net, line.taxable and not line.gift_card)
        for tax in taxes:
            rate, amount = tax_by_title.get(tax["title"], (Decimal(str(tax["rate"])), Decimal(0)))
            tax_by_title[tax["title"]] = (rate, amount + tax["_amount"])
        subtotal += net
        total_discounts += discount
        variant = store.variants.get(line.variant_gid) if line.variant_gid else None
        line_items.append({
            "__typename": "LineItem", "id": line_gid, "sku": line.sku, "name": line.title, "title": line.title,
            "variantTitle": variant["title"] if variant else None, "vendor": line.vendor,
            "quantity": line.quantity, "currentQuantity": line.quantity, "isGiftCard": line.gift_card,
            "requiresShipping": line.requires_shipping and not line.gift_card,
            "taxable": line.taxable and not line.gift_card, "variant": variant,
            "originalUnitPriceSet": currency.bag(line.unit_price),
            "discountedUnitPriceAfterAllDiscountsSet": currency.bag(
                cents(net / line.quantity) if line.quantity else Decimal(0)),
            "originalTotalSet": currency.bag(line_totals[position]),
            "taxLines": taxes,
            "discountAllocations": [{"allocatedAmountSet": currency.bag(amount),
                                     "discountApplication": applications[index]}
                                    for index, amount in allocations[position]],
            "_unit_price": line.unit_price, "_net": net,
        })
    shipping_lines = []
    shipping_total = Decimal(0)
    for title, code, price in spec.shipping:
        ship_gid, _ = store.new_id("ShippingLine")
        taxes = tax_lines_for(price, True)
        for tax in taxes:
            rate, amount = tax_by_title.get(tax["title"], (Decimal(str(tax["rate"])), Decimal(0)))
            tax_by_title[tax["title"]] = (rate, amount + tax["_amount"])
        shipping_total += price
        shipping_lines.append({"id": ship_gid, "title": title, "code": code, "source": "shopify",
                               "carrierIdentifier": None, "originalPriceSet": currency.bag(price),
                               "discountedPriceSet": currency.bag(price), "taxLines": taxes,
                               "discountAllocations": [], "_price": price})
    total_tax = sum((amount for _, amount in tax_by_title.values()), Decimal(0))
    total = subtotal + shipping_total + (Decimal(0) if spec.taxes_included else total_tax)
    transactions = []
    remaining = total
    for n, gateway in enumerate(spec.gateways):
        amount = remaining if n == len(spec.gateways) - 1 else min(remaining, Decimal("10.00"))
        remaining -= amount
        tx_gid, _ = store.new_id("OrderTransaction")
        kind, status = {"authorized": ("AUTHORIZATION", "SUCCESS"), "pending": ("SALE", "PENDING")}.get(
            spec.payment, ("SALE", "SUCCESS"))
        transactions.append({"id": tx_gid, "kind": kind, "status": status, "gateway": gateway, "parentTransaction": None,
                             "amountSet": currency.bag(amount), "createdAt": iso(created), "_amount": amount})
    order: dict[str, Any] = {
        "__typename": "Order", "id": gid, "legacyResourceId": legacy, "name": f"#{number}", "number": number,
        "createdAt": iso(created), "updatedAt": iso(created), "processedAt": iso(created),
        "cancelledAt": None, "cancelReason": None, "closed": False, "currencyCode": SHOP_CURRENCY,
        "presentmentCurrencyCode": spec.presentment_currency, "taxesIncluded": spec.taxes_included,
        "taxExempt": tax_exempt, "test": False, "closedAt": None,
        "displayFinancialStatus": {"authorized": "AUTHORIZED", "pending": "PENDING"}.get(spec.payment, "PAID"),
        "displayFulfillmentStatus": "UNFULFILLED", "paymentGatewayNames": list(dict.fromkeys(spec.gateways)),
        "email": spec.email or ((customer or {}).get("defaultEmailAddress") or {}).get("emailAddress"),
        "phone": None, "note": spec.note, "tags": list(spec.tags), "poNumber": spec.po_number,
        "sourceName": spec.source_name,
        "discountCodes": [spec.discount_code[0]] if spec.discount_code else [],
        "customer": customer,
        "purchasingEntity": ({"__typename": "PurchasingCompany", "company": spec.company}
                             if spec.company else customer),
        "billingAddress": spec.billing_address, "shippingAddress": spec.shipping_address,
        "subtotalPriceSet": currency.bag(subtotal), "totalDiscountsSet": currency.bag(total_discounts),
        "totalShippingPriceSet": currency.bag(shipping_total), "totalTaxSet": currency.bag(total_tax),
        "totalPriceSet": currency.bag(total), "currentTotalPriceSet": currency.bag(total),
        "totalRefundedSet": currency.bag(Decimal(0)),
        "taxLines": [{"title": title, "rate": float(rate), "ratePercentage": float(rate * 100),
                      "channelLiable": False, "priceSet": currency.bag(amount)}
                     for title, (rate, amount) in tax_by_title.items()],
        "discountApplications": applications, "shippingLines": shipping_lines, "lineItems": line_items,
        "transactions": transactions, "refunds": [], "returns": [], "returnStatus": "NO_RETURN", "fulfillments": [],
        "metafields": [],
        "_currency": currency, "_total": total, "_subtotal": subtotal, "_tax": total_tax,
        "_shipping": shipping_total, "_discounts": total_discounts,
    }
    order["fulfillmentOrders"] = store.add_fulfillment_orders(order, {
        item["id"]: line.location_gid for item, line in zip(line_items, spec.lines, strict=True) if line.location_gid})
    order["fulfillable"] = bool(order["fulfillmentOrders"])
    refresh_payment(order)
    return order


def refresh_payment(order: dict[str, Any]) -> None:
    """Capturable and outstanding amounts from the order's transactions (after a capture, a payment…)."""
    currency: Currency = order["_currency"]
    done = [t for t in order["transactions"] if t["status"] == "SUCCESS"]
    captured = {t["parentTransaction"]["id"]: Decimal(0) for t in done if t["kind"] == "CAPTURE"}
    for transaction in done:
        if transaction["kind"] == "CAPTURE":
            captured[transaction["parentTransaction"]["id"]] += transaction["_amount"]
    capturable = Decimal(0)
    for transaction in done:
        if transaction["kind"] == "AUTHORIZATION":
            left = transaction["_amount"] - captured.get(transaction["id"], Decimal(0))
            transaction["totalUnsettledSet"] = currency.bag(left)
            transaction["manuallyCapturable"] = left > 0
            capturable += left
    paid = sum((t["_amount"] for t in done if t["kind"] in ("SALE", "CAPTURE")), Decimal(0))
    outstanding = max(Decimal(0), order["_total"] - paid)
    order.update(capturable=capturable > 0, totalCapturableSet=currency.bag(capturable),
                 totalCapturable=str(cents(capturable)), totalOutstandingSet=currency.bag(outstanding),
                 fullyPaid=outstanding == 0, unpaid=paid == 0,
                 canMarkAsPaid=outstanding > 0 and capturable == 0 and order["cancelledAt"] is None)
