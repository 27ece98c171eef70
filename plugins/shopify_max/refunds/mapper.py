"""A Shopify refund as an Exact MAX credit memo (pure): lines, shipping, adjustments, taxes, stock effect, totals.

Rules (docs/refunds.md):

- **Lines.** Each refunded line item goes back to its MAX line through the order's line map: the same part, UOM
  and stockroom, quantity x the UOM factor; ``PRICE`` is the refunded subtotal per MAX unit, split into two
  deliveries when cents do not divide evenly, so the memo credits the subtotal exactly; the line's tax is spread
  over the original line's MAX tax codes in their proportions. ``RETURN`` (and ``LEGACY_RESTOCK``) restocks
  (``RESTCK`` Y: the goods come back into the stockroom); ``CANCEL`` and ``NO_RESTOCK`` do not.
- **Shipping refunds** credit the freight part, with the original freight line's tax codes.
- **Order adjustments** (refund discrepancy, goodwill) follow ``adjustments``: a line on the MISC part, or the
  error queue. Nothing is dropped silently.
- **Totals.** The memo's total (lines + tax) equals the refund's successful REFUND transactions to the cent, or the
  refund goes to the error queue with the difference. Gift-card refunds follow ``gift_card_refunds``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from shopify_max.exactmax.models import CreditMemo, SalesOrderLine
from shopify_max.exactmax_limits import FIELD_LENGTHS, MAX_LINES_PER_ORDER, TAX_CODE_SLOTS
from shopify_max.money import CENT
from shopify_max.orders.allocation import allocate_to_cents, split_to_cents
from shopify_max.refunds.rules import RefundRules
from shopify_max.shopify.refund_payload import storable_text
from shopify_max.sync_store import OrderLineMapRow
from shopify_max.sync_store.states import RefundErrorStage

RESTOCKING = ("RETURN", "LEGACY_RESTOCK")
MAX_AMOUNT = Decimal("9999999999.99")  # MAX's money columns: 14 digits, 4 after the point
MAX_QUANTITY = 99_999_999  # ORGQTY, MAX units


def _out_of_range(refund: Any) -> list[RefundProblem]:
    """Amounts and quantities MAX cannot hold (or that are not numbers at all), each named."""
    problems = []
    amounts = [(f"refund_line_items[{i}].{name}", getattr(line, name)) for i, line in enumerate(refund.lines)
               for name in ("subtotal", "total_tax")]
    amounts += [(f"refund_shipping_lines[{i}].{name}", getattr(line, name)) for i, line in enumerate(refund.shipping)
                for name in ("subtotal", "tax")]
    amounts += [(f"order_adjustments[{i}].{name}", getattr(a, name)) for i, a in enumerate(refund.adjustments)
                for name in ("amount", "tax")]
    amounts += [(f"transactions[{i}].amount", t.amount) for i, t in enumerate(refund.transactions)]
    for where, amount in amounts:
        if not amount.is_finite() or abs(amount) > MAX_AMOUNT:
            problems.append(RefundProblem(RefundErrorStage.MAP, where, f"{amount} is beyond what MAX holds "
                                                                      f"({MAX_AMOUNT})"))
    for i, line in enumerate(refund.lines):
        if abs(line.quantity) > MAX_QUANTITY:
            problems.append(RefundProblem(RefundErrorStage.MAP, f"refund_line_items[{i}].quantity",
                                          f"{line.quantity} is beyond what MAX holds ({MAX_QUANTITY})"))
    return problems
GIFT_CARD_GATEWAYS = ("gift_card",)


@dataclass(frozen=True)
class RefundProblem:
    stage: RefundErrorStage
    field: str
    message: str

    def __post_init__(self) -> None:  # text from a body may hold what a reason cannot store (a lone surrogate)
        object.__setattr__(self, "message", storable_text(self.message))
        object.__setattr__(self, "field", storable_text(self.field))

    def text(self) -> str:
        return f"{self.field}: {self.message}"


@dataclass
class MappedRefund:
    memo: CreditMemo | None = None
    total: Decimal = Decimal(0)  # what the memo credits, tax included
    refunded: Decimal = Decimal(0)  # the refund's successful transactions
    problems: list[RefundProblem] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)  # rules applied, for the audit entry

    @property
    def difference(self) -> Decimal:
        return (self.total - self.refunded).quantize(CENT)


def _tax_slots(original: list[SalesOrderLine]) -> list[tuple[str, Decimal]]:
    """The original line's MAX tax codes with their amounts (the weights a refund's tax is spread by)."""
    amounts: dict[str, Decimal] = defaultdict(Decimal)
    for line in original:
        for slot in range(1, TAX_CODE_SLOTS + 1):
            code = getattr(line, f"TAXCDE{slot}")
            if code:
                amounts[code] += getattr(line, f"TAX{slot}") or Decimal(0)
    return list(amounts.items())


def _rows(linnum: int, part: str, uom: str | None, stk: str | None, quantity: int, net: Decimal, tax: Decimal,
          original: list[SalesOrderLine], restock: bool, where: str, problems: list[RefundProblem]) -> list[SalesOrderLine]:
    if net < 0 or net != net.quantize(CENT) or tax != tax.quantize(CENT):
        problems.append(RefundProblem(RefundErrorStage.MAP, where, f"amount {net} / tax {tax} is not whole cents ≥ 0"))
        return []
    deliveries = split_to_cents(quantity, net)
    slots = _tax_slots(original)
    if tax and not slots:
        problems.append(RefundProblem(RefundErrorStage.MAP, f"{where}.total_tax", (
            f"refunds {tax} of tax, and the original MAX line has no tax code to credit it to")))
        return []
    by_code = dict(zip([code for code, _ in slots], allocate_to_cents(tax, [amount for _, amount in slots]) if slots
                       else [], strict=True))
    extended = [price * qty for qty, price in deliveries]
    shares = {code: allocate_to_cents(amount, extended) for code, amount in by_code.items()}
    rows = []
    for index, (qty, price) in enumerate(deliveries):
        values: dict[str, Any] = {"LINNUM": f"{linnum:02d}", "DELNUM": f"{index + 1:02d}", "PRTNUM": part,
                                  "SLSUOM": uom, "PRICE": price, "ORGQTY": Decimal(qty), "STK": stk,
                                  "TAXABL": "Y" if by_code else "N", "RESTCK": "Y" if restock else "N"}
        for slot, code in enumerate(by_code, start=1):
            values[f"TAXCDE{slot}"], values[f"TAX{slot}"] = code, shares[code][index]
        rows.append(SalesOrderLine(**values))
    return rows


def map_refund(refund: Any, max_order: Any, line_map: list[OrderLineMapRow], rules: RefundRules) -> MappedRefund:
    """The credit memo for ``refund`` of the MAX order ``max_order`` (read from the gateway), or its problems."""
    result = MappedRefund()
    problems = result.problems
    problems += _out_of_range(refund)
    credited = (sum(1 for line in refund.lines if line.quantity > 0 and (line.subtotal or line.total_tax))
                + sum(1 for line in refund.shipping if line.subtotal or line.tax)
                + sum(1 for adjustment in refund.adjustments if adjustment.amount or adjustment.tax))
    if credited > MAX_LINES_PER_ORDER:
        problems.append(RefundProblem(RefundErrorStage.MAP, "refund_line_items", (
            f"the credit memo would need {credited} lines; MAX holds {MAX_LINES_PER_ORDER} per order: credit it by "
            "hand")))
    if problems:
        return result
    by_item: dict[str, list[OrderLineMapRow]] = defaultdict(list)
    for row in line_map:
        if row.line_item_gid:
            by_item[row.line_item_gid].append(row)
    max_lines = {(line.LINNUM, line.DELNUM): line for line in max_order.lines}
    freight = [line for line in max_order.lines if line.PRTNUM == rules.freight_part]
    lines: list[SalesOrderLine] = []
    linnum = 0
    for index, refunded in enumerate(refund.lines):
        where = f"refund_line_items[{index}]"
        rows = by_item.get(refunded.line_item_id)
        if not rows:
            problems.append(RefundProblem(RefundErrorStage.MAP, f"{where}.line_item_id", (
                f"line item {refunded.line_item_id} (SKU {refunded.sku}) is not in MAX order "
                f"{max_order.ORDNUM}'s line map: it was not exported (a gift card, a line a rule skipped)")))
            continue
        if refunded.quantity <= 0 or (refunded.subtotal == 0 and refunded.total_tax == 0):
            result.applied.append(f"{where}: nothing refunded (quantity {refunded.quantity}, 0.00): no line")
            continue
        original = [max_lines[(row.linnum, row.delnum)] for row in rows if (row.linnum, row.delnum) in max_lines]
        first = rows[0]
        linnum += 1
        lines += _rows(linnum, first.part_number, first.sales_uom, original[0].STK if original else rules.stockroom,
                       refunded.quantity * first.uom_factor, refunded.subtotal, refunded.total_tax, original,
                       refunded.restock_type in RESTOCKING, where, problems)
    for index, shipping in enumerate(refund.shipping):
        if shipping.subtotal == 0 and shipping.tax == 0:
            continue
        linnum += 1
        lines += _rows(linnum, rules.freight_part, None, None, 1, shipping.subtotal, shipping.tax, freight, False,
                       f"refund_shipping_lines[{index}]", problems)
    for index, adjustment in enumerate(refund.adjustments):
        where = f"order_adjustments[{index}]"
        if adjustment.amount == 0 and adjustment.tax == 0:
            continue
        if rules.adjustments == "error_queue" or adjustment.amount < 0:
            problems.append(RefundProblem(RefundErrorStage.MAP, where, (
                f"an order adjustment of {adjustment.amount} ({adjustment.reason}) "
                + ("reduces the refund: credit the lines by hand in MAX" if adjustment.amount < 0 else
                   "and the rule adjustments: error_queue sends it here; credit it by hand"))))
            continue
        if adjustment.tax:
            problems.append(RefundProblem(RefundErrorStage.MAP, f"{where}.tax", (
                f"an order adjustment ({adjustment.reason}) carries {adjustment.tax} of tax, and no MAX line names a "
                "tax code for it; credit it by hand")))
            continue
        linnum += 1
        result.applied.append(f"{where}: {adjustment.reason} {adjustment.amount} credited on part {rules.misc_part}")
        lines += _rows(linnum, rules.misc_part, None, None, 1, adjustment.amount, Decimal(0), [], False, where,
                       problems)
    result.total = sum((line.PRICE * line.ORGQTY + sum((getattr(line, f"TAX{s}") or Decimal(0)
                                                        for s in range(1, TAX_CODE_SLOTS + 1)), Decimal(0))
                        for line in lines), Decimal(0)).quantize(CENT)
    successful = [t for t in refund.transactions if t.kind == "REFUND" and t.status == "SUCCESS"]
    if rules.gift_card_refunds == "error_queue" and any(t.gateway in GIFT_CARD_GATEWAYS for t in successful):
        problems.append(RefundProblem(RefundErrorStage.MAP, "transactions", (
            "part of it was refunded to a gift card, and gift_card_refunds: error_queue sends such refunds here")))
    result.refunded = sum((t.amount for t in successful), Decimal(0)).quantize(CENT)
    if not problems and result.difference:
        problems.append(RefundProblem(RefundErrorStage.TOTALS, "transactions", (
            f"the credit memo would credit {result.total} but the refund's successful transactions total "
            f"{result.refunded} (difference {result.difference}): the refund does not reconcile; credit it by hand")))
    custpo = rules.custpo_format.format(refund_id=refund.legacy_id)
    if len(custpo) > FIELD_LENGTHS["CUSTPO"]:
        problems.append(RefundProblem(RefundErrorStage.MAP, "id", (
            f"CUSTPO {custpo!r} is longer than MAX's {FIELD_LENGTHS['CUSTPO']} (custpo_format in refund_rules.yaml)")))
    if problems or not lines:
        return result
    result.memo = CreditMemo(
        CUSTID=max_order.CUSTID, CUSTPO=custpo, APPINV=max_order.INVCE, ORDDTE=refund.created_at.date(),
        CURR=max_order.CURR, EXCRTE=max_order.EXCRTE, TAXABL="Y" if any(line.TAXABL == "Y" for line in lines) else "N",
        COMNT1=f"Shopify refund {refund.legacy_id}"[:FIELD_LENGTHS["COMNT"]], lines=lines)
    return result
