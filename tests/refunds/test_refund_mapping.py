"""A Shopify refund as a MAX credit memo (pure rules of docs/refunds.md): lines back through the line map with the
UOM factor, prices to the cent, tax on the original codes, restock, shipping, adjustments and the totals check."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from shopify_max.exactmax.models import SalesOrder
from shopify_max.refunds.mapper import map_refund
from shopify_max.refunds.rules import RefundRules
from shopify_max.shopify.models import ShopifyRefund
from shopify_max.sync_store import OrderLineMapRow
from shopify_max.sync_store.states import RefundErrorStage

ORDER = "gid://shopify/Order/7001"
ITEM_1, ITEM_2 = "gid://shopify/LineItem/1", "gid://shopify/LineItem/2"
RULES = RefundRules()
MAX_ORDER = SalesOrder.model_validate({
    "ORDNUM": "00100001", "CUSTID": "C00042", "CUSTPO": "SHOP#1001", "ORDDTE": "2026-11-01", "INVCE": "00000007",
    "CURR": "USD", "lines": [
        {"LINNUM": "01", "DELNUM": "01", "PRTNUM": "PRT-00001", "SLSUOM": "EA", "PRICE": "10.00", "ORGQTY": "3",
         "STK": "MAIN", "TAXCDE1": "IL", "TAX1": "1.88", "TAXCDE2": "ILCOOK", "TAX2": "0.52"},
        {"LINNUM": "02", "DELNUM": "01", "PRTNUM": "PRT-00010", "SLSUOM": "EA", "PRICE": "0.9167", "ORGQTY": "12",
         "STK": "MAIN"},
        {"LINNUM": "03", "DELNUM": "01", "PRTNUM": "FREIGHT", "PRICE": "7.50", "ORGQTY": "1", "TAXCDE1": "IL",
         "TAX1": "0.47"}]})
LINE_MAP = [OrderLineMapRow("00100001", "01", "01", ORDER, "line_item", "PRT-00001", 1, 3, ITEM_1, "SKU-00001", "EA"),
            OrderLineMapRow("00100001", "02", "01", ORDER, "line_item", "PRT-00010", 12, 12, ITEM_2, "SKU-00010-CS12",
                            "EA"),
            OrderLineMapRow("00100001", "03", "01", ORDER, "shipping", "FREIGHT", 1, 1)]


def refund(lines=(), shipping=(), adjustments=(), paid: str | None = None) -> ShopifyRefund:
    lines = [{"line_item_id": item, "sku": None, "quantity": qty, "restock_type": restock, "subtotal": sub,
              "total_tax": tax} for item, qty, restock, sub, tax in lines]
    shipping = [{"title": "Standard", "subtotal": sub, "tax": tax} for sub, tax in shipping]
    adjustments = [{"amount": amount, "tax": "0", "reason": "REFUND_DISCREPANCY"} for amount in adjustments]
    total = sum(Decimal(x["subtotal"]) + Decimal(x.get("total_tax", x.get("tax", "0"))) for x in [*lines, *shipping])
    total += sum(Decimal(a["amount"]) for a in adjustments)
    return ShopifyRefund.model_validate({
        "id": "gid://shopify/Refund/555", "order_id": ORDER, "created_at": datetime(2026, 11, 30, tzinfo=UTC),
        "currency": "USD", "total_refunded": paid or str(total), "lines": lines, "shipping": shipping,
        "adjustments": adjustments, "transactions": [{"id": "gid://shopify/OrderTransaction/9", "kind": "REFUND",
                                                      "status": "SUCCESS", "gateway": "shopify_payments",
                                                      "amount": paid or str(total)}]})


def test_a_partial_refund_with_restock_credits_its_lines_to_the_cent_on_the_original_tax_codes():
    mapped = map_refund(refund(lines=[(ITEM_1, 2, "RETURN", "20.00", "1.60"), (ITEM_2, 1, "NO_RESTOCK", "11.00", "0")]),
                        MAX_ORDER, LINE_MAP, RULES)
    assert not mapped.problems and mapped.total == mapped.refunded == Decimal("32.60")
    memo = mapped.memo
    assert (memo.STYPE, memo.APPINV, memo.CUSTID, memo.CUSTPO, memo.ORDDTE) == (
        "CR", "00000007", "C00042", "SHOPR555", date(2026, 11, 30))
    first, *case = memo.lines
    assert (first.PRTNUM, first.ORGQTY, first.PRICE, first.STK, first.RESTCK) == ("PRT-00001", 2, Decimal("10.00"),
                                                                                 "MAIN", "Y")
    assert (first.TAXCDE1, first.TAX1, first.TAXCDE2, first.TAX2) == ("IL", Decimal("1.25"), "ILCOOK", Decimal("0.35"))
    # a case of 12 refunded for 11.00: 12 EA, split into two deliveries a cent apart that add up to 11.00 exactly
    assert [(line.ORGQTY, line.PRICE) for line in case] == [(Decimal(4), Decimal("0.91")), (Decimal(8), Decimal("0.92"))]
    assert sum(line.PRICE * line.ORGQTY for line in case) == Decimal("11.00")
    assert all(line.RESTCK == "N" for line in case)


def test_shipping_refunds_credit_the_freight_part_and_adjustments_follow_the_rule():
    mapped = map_refund(refund(shipping=[("7.50", "0.47")], adjustments=["5.00"]), MAX_ORDER, LINE_MAP, RULES)
    assert not mapped.problems
    assert [(line.PRTNUM, line.PRICE, line.TAXCDE1, line.TAX1) for line in mapped.memo.lines] == [
        ("FREIGHT", Decimal("7.50"), "IL", Decimal("0.47")), ("MISC", Decimal("5.00"), None, None)]
    strict = map_refund(refund(adjustments=["5.00"]), MAX_ORDER, LINE_MAP, RefundRules(adjustments="error_queue"))
    assert strict.memo is None and strict.problems[0].field == "order_adjustments[0]"
    short = map_refund(refund(lines=[(ITEM_1, 1, "RETURN", "10.00", "0.80")], adjustments=["-2.00"]), MAX_ORDER,
                       LINE_MAP, RULES)
    assert short.problems[0].field == "order_adjustments[0]"  # a refund short of its lines: a person credits it


def test_a_refund_whose_transactions_differ_from_its_lines_goes_to_the_error_queue_with_the_difference():
    mapped = map_refund(refund(lines=[(ITEM_1, 1, "NO_RESTOCK", "10.00", "0.80")], paid="9.80"), MAX_ORDER, LINE_MAP,
                        RULES)
    assert mapped.memo is None and mapped.difference == Decimal("1.00")
    [problem] = mapped.problems
    assert problem.stage == RefundErrorStage.TOTALS and "difference 1.00" in problem.message


def test_a_refunded_line_the_export_never_sent_is_named_not_guessed():
    mapped = map_refund(refund(lines=[("gid://shopify/LineItem/404", 1, "NO_RESTOCK", "5.00", "0")]), MAX_ORDER,
                        LINE_MAP, RULES)
    assert mapped.memo is None and mapped.problems[0].field == "refund_line_items[0].line_item_id"
