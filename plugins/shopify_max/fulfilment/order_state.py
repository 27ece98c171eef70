"""A MAX order's state and invoices as Shopify shows them (pure): the status, the metafields, the tags, and the
check of an invoice against what Shopify expects for its lines (docs/fulfilment.md, "Order status and invoices").

MAX states, first match wins: ``cancelled`` (closed by a cancellation), ``closed`` (status 4), ``invoiced``
(everything ordered is invoiced), ``shipped`` (everything ordered is shipped), ``back_ordered`` (a back-order
quantity on any line), ``partially_shipped`` (something shipped), ``open``. Freight rows do not count: they never
ship.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from shopify_max.sync_store import OrderLineMapRow

CENT = Decimal("0.01")
MAX_CLOSED = "4"


def max_state(status: Any, cancelled: bool, freight_lines: set[tuple[str, str]]) -> str:
    """The state of one MAX order read by ``ExactMaxHook.order_statuses``."""
    if str(status.STATUS).strip() == MAX_CLOSED:
        return "cancelled" if cancelled else "closed"
    lines = [line for line in status.lines if (line.LINNUM, line.DELNUM) not in freight_lines] or list(status.lines)
    ordered = sum((Decimal(line.ORGQTY) for line in lines), Decimal(0))
    shipped = sum((Decimal(line.SHPQTY) for line in lines), Decimal(0))
    invoiced = sum((Decimal(line.INVQTY) for line in lines), Decimal(0))
    if ordered and invoiced >= ordered:
        return "invoiced"
    if ordered and shipped >= ordered:
        return "shipped"
    if any(Decimal(line.BCKQTY) > 0 for line in lines):
        return "back_ordered"
    if shipped > 0:
        return "partially_shipped"
    return "open"


def invoice_entry(invoice: dict[str, Any], terms_due_days: dict[str, int], terms: str | None) -> dict[str, str]:
    """One invoice as the ``invoices`` metafield lists it: number, date, amount, tax, due date."""
    invoiced_on = date.fromisoformat(str(invoice["INVDTE"]))
    net = Decimal(str(invoice["LNETOT"])) - Decimal(str(invoice.get("ORDDSC") or 0))
    tax = Decimal(str(invoice["TAX1"]))
    due = invoiced_on + timedelta(days=terms_due_days.get((terms or "").strip(), 0))
    return {"number": str(invoice["INVCE"]).strip(), "date": invoiced_on.isoformat(),
            "amount": str((net + tax).quantize(CENT)), "tax": str(tax.quantize(CENT)), "due_date": due.isoformat()}


def status_metafields(order_gid: str, namespace: str, ordnum: str, state: str,
                      invoices: list[dict[str, str]]) -> list[dict[str, str]]:
    fields = [
        {"ownerId": order_gid, "namespace": namespace, "key": "order_number", "type": "single_line_text_field",
         "value": ordnum},
        {"ownerId": order_gid, "namespace": namespace, "key": "status", "type": "single_line_text_field",
         "value": state},
    ]
    if invoices:
        fields.append({"ownerId": order_gid, "namespace": namespace, "key": "invoices", "type": "json",
                       "value": json.dumps(invoices, sort_keys=True)})
    return fields


def pushed_digest(metafields: list[dict[str, str]], tag: str | None) -> str:
    text = json.dumps({"metafields": metafields, "tag": tag}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class InvoiceCheck:
    expected: Decimal  # what Shopify expects for the invoiced lines, tax included, shop currency
    invoiced: Decimal  # the MAX invoice's total
    tolerance: Decimal
    problems: tuple[str, ...] = ()

    @property
    def difference(self) -> Decimal:
        return (self.invoiced - self.expected).quantize(CENT)

    @property
    def ok(self) -> bool:
        return not self.problems and abs(self.difference) <= self.tolerance


def _share(total: Decimal, part: Decimal, whole: Decimal) -> Decimal:
    return total * part / whole if whole else Decimal(0)


def check_invoice(invoice: dict[str, Any], order: Any, line_map: list[OrderLineMapRow],
                  tolerance_per_line: Decimal) -> InvoiceCheck:
    """The invoice's total against Shopify's own figures for the same lines and units: each line item's price after
    every discount, its taxes pro rata, and the shipping lines for the freight rows."""
    rows = {(row.linnum, row.delnum): row for row in line_map}
    items = {item.id: item for item in order.line_items}
    shipping_rows = sorted(row.key for row in line_map if row.line_kind == "shipping")
    expected, problems = Decimal(0), []
    lines = invoice.get("lines") or []
    for line in lines:
        key = (str(line["LINNUM"]).strip(), str(line["DELNUM"]).strip())
        row, quantity = rows.get(key), Decimal(str(line["INVQTY"]))
        if row is None:
            problems.append(f"invoice line {key[0]}/{key[1]} is not in the order's line map")
            continue
        if row.line_kind == "shipping":
            index = shipping_rows.index(row.key)
            shipping = order.shipping_lines[index] if index < len(order.shipping_lines) else None
            if shipping is None:
                problems.append(f"invoice line {key[0]}/{key[1]} is freight, and Shopify has no matching shipping line")
                continue
            net = Decimal(shipping.discounted_price_set.shop_money.amount)
            tax = sum((Decimal(t.price_set.shop_money.amount) for t in shipping.tax_lines), Decimal(0))
            expected += _share(net + tax, quantity, Decimal(row.max_quantity))
            continue
        item = items.get(row.line_item_gid)
        if item is None:
            problems.append(f"invoice line {key[0]}/{key[1]}: Shopify's order has no line item {row.line_item_gid}")
            continue
        units = quantity / row.uom_factor
        unit_price = Decimal(item.discounted_unit_price_after_all_discounts_set.shop_money.amount)
        tax = sum((Decimal(t.price_set.shop_money.amount) for t in item.tax_lines), Decimal(0))
        expected += unit_price * units + (Decimal(0) if order.taxes_included else _share(tax, units,
                                                                                       Decimal(item.quantity)))
    invoiced = (Decimal(str(invoice["LNETOT"])) - Decimal(str(invoice.get("ORDDSC") or 0))
                + Decimal(str(invoice["TAX1"])))
    return InvoiceCheck(expected.quantize(CENT), invoiced.quantize(CENT), tolerance_per_line * max(len(lines), 1),
                        tuple(problems))
